// Gradient rules of the elementwise family against central finite differences (float64 where onnxruntime's CPU
// kernels take double, float32 otherwise) and closed forms, including numpy broadcasting both ways, initializer
// operands (promoted when in wrt, constant otherwise), opset variants and the conventions at kinks and ties.
//
// No double kernel in onnxruntime-node 1.30 CPU (checked in float32): Erf, Gelu, LeakyRelu, PRelu, Elu, Selu,
// Softplus, HardSigmoid, HardSwish, Mean, and Clip at opset 11 (Clip 13 has one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, rng, type AttrValue } from '../src/engine/onnx/builder';
import { make, type ModelProto } from '../src/engine/onnx/proto';
import { float32Tensor } from '../src/engine/onnx/tensor';
import type { Objective } from '../src/engine/autodiff/objective';
import { gradCheck, randomFeed } from './helpers/gradcheck';
import type { Feed } from '../src/engine/runtime/session';

const D = 11,
  F = 1;
const prod = (d: number[]) => d.reduce((a, b) => a * b, 1);

/** A model with graph inputs of one element type; `body` adds nodes; output `y`. */
function model(
  opset: number,
  et: number,
  inputs: Record<string, number[]>,
  body: (b: GraphBuilder) => void,
): ModelProto {
  const b = new GraphBuilder('t', opset, 3);
  for (const [n, d] of Object.entries(inputs)) b.input(n, d, et);
  body(b);
  b.output('y', null, et);
  return b.build();
}

/** One-node model: y = op(inputs…). */
function single(
  op: string,
  opset: number,
  et: number,
  inputs: Record<string, number[]>,
  attrs: Record<string, AttrValue> = {},
  nodeInputs?: string[],
): ModelProto {
  return model(opset, et, inputs, (b) => b.node(op, nodeInputs ?? Object.keys(inputs), attrs, { outputs: ['y'] }));
}

/** Adds a float or double initializer to a built model. */
function addInit(m: ModelProto, name: string, dims: number[], data: ArrayLike<number>, et: number): ModelProto {
  m.graph!.initializer.push(
    et === D
      ? make.tensor({ name, dims, dataType: D, doubleData: Array.from(data) })
      : float32Tensor(name, dims, Float32Array.from(data)),
  );
  return m;
}

/** Random values in [lo, hi) kept at least `margin` away from every kink. */
function feed(
  dims: number[],
  seed: number,
  et = D,
  lo = -1,
  hi = 1,
  kinks: number[] = [],
  margin = et === D ? 0.01 : 0.15,
): Feed {
  const f = randomFeed(dims, seed, et === D ? 'float64' : 'float32', lo, hi);
  const d = f.data as Float64Array;
  for (let i = 0; i < d.length; i++)
    for (const k of kinks) if (Math.abs(d[i] - k) < margin) d[i] = k + (d[i] >= k ? margin : -margin);
  return f;
}

/** A feed holding exact values. */
function vals(dims: number[], v: number[], et = D): Feed {
  return { data: et === D ? Float64Array.from(v) : Float32Array.from(v), dims, type: et === D ? 'float64' : 'float32' };
}

/** Σ y (weights all 1): the gradient is the elementwise derivative for unary ops. */
function sumOf(n: number, tensor = 'y'): Objective {
  return { kind: 'dot', tensor, weights: new Float64Array(n).fill(1) };
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(Number(actual[i]) - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

/** Backward ops written by the rule of forward node `node` (names are grad/<node>/<op>_k). */
const backwardOps = (r: { gm: { proto: ModelProto } }, node: string) =>
  r.gm.proto.graph!.node.filter((n) => n.name.startsWith(`grad/${node}/`)).map((n) => n.opType);

/**
 * The analytic gradient for a closed-form comparison (Σ y objective). Finite differences are not asserted here
 * (tol ∞): these inputs sit on purpose at kinks and ties, where only the documented convention is checked.
 */
async function exact(m: ModelProto, inputs: Record<string, Feed>, wrt: string[], n: number) {
  return (await gradCheck(m, { inputs, wrt, objective: sumOf(n), tol: Infinity, coords: 1 })).grads;
}

// ---------------------------------------------------------------- Add, Sub, Mul, Div

const BCAST: [string, number[], number[]][] = [
  ['(2,3,4,5) ∘ (3,1,1)', [2, 3, 4, 5], [3, 1, 1]],
  ['(2,3,4,5) ∘ (5,)', [2, 3, 4, 5], [5]],
  ['(2,3,4,5) ∘ scalar', [2, 3, 4, 5], []],
  ['(3,1,1) ∘ (2,3,4,5)', [3, 1, 1], [2, 3, 4, 5]],
  ['(2,1,4,1) ∘ (3,1,5) both ways', [2, 1, 4, 1], [3, 1, 5]],
  ['same shape (2,3)', [2, 3], [2, 3]],
];

for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
  test(`${op}: broadcasting both ways in float64, both operands as graph inputs`, async () => {
    for (const [what, as, bs] of BCAST) {
      const m = single(op, 13, D, { a: as, b: bs });
      const a = feed(as, 1 + as.length, D, -1, 1);
      // Divisors kept away from 0.
      const b = op === 'Div' ? feed(bs, 2 + bs.length, D, 0.5, 1.5) : feed(bs, 2 + bs.length, D, -1, 1);
      const r = await gradCheck(m, { inputs: { a, b }, wrt: ['a', 'b'], what: `${op} ${what}`, coords: 24 });
      assert.deepEqual([...r.grads.get('a')!].length, prod(as));
      assert.deepEqual([...r.grads.get('b')!].length, prod(bs));
    }
  });
}

test('Add/Mul/Div with an initializer operand: promoted when in wrt, nothing emitted for a constant one', async () => {
  for (const op of ['Add', 'Mul', 'Div']) {
    const c = Array.from({ length: 3 }, (_, i) => 0.6 + 0.3 * i);
    const mk = () => addInit(single(op, 13, D, { x: [2, 3, 4, 5] }, {}, ['x', 'c']), 'c', [3, 1, 1], c, D);
    const x = feed([2, 3, 4, 5], 3);
    await gradCheck(mk(), { inputs: { x }, wrt: ['x', 'c'], what: `${op} promoted initializer` });
    const onlyX = await gradCheck(mk(), { inputs: { x }, wrt: ['x'], what: `${op} constant initializer` });
    // dx has x's shape already: no reduction, and nothing for the constant.
    const m0 = mk().graph!.node[0].name;
    assert.deepEqual(
      backwardOps(onlyX, m0),
      op === 'Add' ? [] : [op],
      `${op}: only dx is written for a constant operand`,
    );
    const both = await gradCheck(mk(), { inputs: { x }, wrt: ['x', 'c'], what: `${op} promoted initializer (ops)` });
    assert.ok(backwardOps(both, m0).includes('ReduceSum'), `${op}: dc is reduced to (3,1,1)`);
    // And with the constant on the left (x as operand 1).
    const left = addInit(single(op, 13, D, { x: [2, 3, 4, 5] }, {}, ['c', 'x']), 'c', [3, 1, 1], c, D);
    await gradCheck(left, {
      inputs: { x: op === 'Div' ? feed([2, 3, 4, 5], 4, D, 0.5, 2) : x },
      wrt: ['x', 'c'],
      what: `${op} constant left`,
    });
  }
});

test('arithmetic closed forms: Σ(a·b), Σ(a/b), Σ(a−b) with b of shape (3,) against a (2,3)', async () => {
  const a = vals([2, 3], [1, 2, 3, 4, 5, 6]),
    b = vals([3], [0.5, 2, 4]);
  const mul = await gradCheck(single('Mul', 13, D, { a: [2, 3], b: [3] }), {
    inputs: { a, b },
    wrt: ['a', 'b'],
    objective: sumOf(6),
  });
  close(mul.grads.get('a')!, [0.5, 2, 4, 0.5, 2, 4], 1e-15, 'd(a·b)/da');
  close(mul.grads.get('b')!, [5, 7, 9], 1e-15, 'd(a·b)/db');
  const div = await gradCheck(single('Div', 13, D, { a: [2, 3], b: [3] }), {
    inputs: { a, b },
    wrt: ['a', 'b'],
    objective: sumOf(6),
  });
  close(div.grads.get('a')!, [2, 0.5, 0.25, 2, 0.5, 0.25], 1e-15, 'd(a/b)/da');
  close(div.grads.get('b')!, [-5 / 0.25, -7 / 4, -9 / 16], 1e-14, 'd(a/b)/db');
  const sub = await gradCheck(single('Sub', 11, D, { a: [2, 3], b: [3] }), {
    inputs: { a, b },
    wrt: ['a', 'b'],
    objective: sumOf(6),
  });
  close(sub.grads.get('a')!, [1, 1, 1, 1, 1, 1], 0, 'd(a−b)/da');
  close(sub.grads.get('b')!, [-2, -2, -2], 0, 'd(a−b)/db (opset 11: axes as attributes)');
});

test('binary ops at opset 11 and 17 (ReduceSum axes attribute vs input)', async () => {
  for (const opset of [11, 17])
    for (const op of ['Add', 'Mul']) {
      await gradCheck(single(op, opset, D, { a: [2, 3, 4, 5], b: [3, 1, 1] }), {
        inputs: { a: feed([2, 3, 4, 5], 5), b: feed([3, 1, 1], 6) },
        wrt: ['a', 'b'],
        what: `${op} opset ${opset}`,
      });
    }
});

// ---------------------------------------------------------------- Pow

test('Pow: base and exponent gradients (exponent broadcast, promoted initializer, integer constant)', async () => {
  const x = feed([2, 3, 4], 7, D, 0.5, 2);
  await gradCheck(single('Pow', 13, D, { x: [2, 3, 4], b: [3, 1] }), {
    inputs: { x, b: feed([3, 1], 8, D, -2, 3) },
    wrt: ['x', 'b'],
    what: 'pow both inputs',
  });
  await gradCheck(addInit(single('Pow', 13, D, { x: [2, 3, 4] }, {}, ['x', 'e']), 'e', [], [2.5], D), {
    inputs: { x },
    wrt: ['x', 'e'],
    what: 'pow scalar initializer exponent',
  });
  // Integer exponent constant (int64, opset 13 allows it): gradient for the base only.
  const mi = single('Pow', 13, D, { x: [2, 3, 4] }, {}, ['x', 'n']);
  mi.graph!.initializer.push(make.tensor({ name: 'n', dims: [], dataType: 7, int64Data: [3] }));
  await gradCheck(mi, { inputs: { x }, wrt: ['x'], what: 'pow int64 exponent' });
  await gradCheck(addInit(single('Pow', 11, D, { x: [2, 3, 4] }, {}, ['x', 'e']), 'e', [], [3], D), {
    inputs: { x },
    wrt: ['x', 'e'],
    what: 'pow opset 11',
  });
  // Closed forms: d x³/dx at 2 = 12; d 2^b/db at b = 3 is 8·ln 2.
  const c = await gradCheck(single('Pow', 13, D, { x: [1], b: [1] }), {
    inputs: { x: vals([1], [2]), b: vals([1], [3]) },
    wrt: ['x', 'b'],
    objective: sumOf(1),
  });
  close(c.grads.get('x')!, [12], 1e-14, 'd x^b/dx');
  close(c.grads.get('b')!, [8 * Math.LN2], 1e-14, 'd x^b/db');
});

// ---------------------------------------------------------------- unary math (float64)

const UNARY_F64: {
  op: string;
  lo: number;
  hi: number;
  kinks?: number[];
  opset?: number;
  at: number[];
  want: (x: number) => number;
}[] = [
  { op: 'Neg', lo: -1, hi: 1, at: [0.3], want: () => -1 },
  { op: 'Abs', lo: -1, hi: 1, kinks: [0], at: [-0.5, 0, 0.7], want: (x) => Math.sign(x) },
  { op: 'Exp', lo: -1, hi: 1, at: [0, 1], want: Math.exp },
  { op: 'Log', lo: 0.3, hi: 2, at: [0.5, 4], want: (x) => 1 / x },
  { op: 'Sqrt', lo: 0.3, hi: 2, at: [4, 0.25], want: (x) => 0.5 / Math.sqrt(x) },
  { op: 'Reciprocal', lo: 0.4, hi: 2, at: [2, -0.5], want: (x) => -1 / (x * x) },
  { op: 'Sigmoid', lo: -3, hi: 3, at: [0], want: () => 0.25 },
  { op: 'Tanh', lo: -2, hi: 2, at: [0, 1], want: (x) => 1 - Math.tanh(x) ** 2 },
  {
    op: 'Mish',
    lo: -3,
    hi: 3,
    opset: 18,
    at: [0, 1, -40, 40],
    want: (x) => {
      const sp = Math.log1p(Math.exp(x)),
        t = Math.tanh(sp);
      return t + (x * (1 - t * t)) / (1 + Math.exp(-x));
    },
  },
];

for (const u of UNARY_F64) {
  test(`${u.op}: float64 finite differences and closed form`, async () => {
    const dims = [2, 3, 4];
    await gradCheck(single(u.op, u.opset ?? 13, D, { x: dims }), {
      inputs: { x: feed(dims, 11, D, u.lo, u.hi, u.kinks) },
      wrt: ['x'],
      what: u.op,
      coords: 24,
    });
    const c = await exact(
      single(u.op, u.opset ?? 13, D, { x: [u.at.length] }),
      { x: vals([u.at.length], u.at) },
      ['x'],
      u.at.length,
    );
    close(c.get('x')!, u.at.map(u.want), 1e-12, `${u.op} closed form`);
  });
}

// ---------------------------------------------------------------- float32-only activations

const F32: {
  what: string;
  op: string;
  opset: number;
  attrs?: Record<string, AttrValue>;
  lo: number;
  hi: number;
  kinks?: number[];
  at: number[];
  want: (x: number) => number;
}[] = [
  {
    what: 'Erf',
    op: 'Erf',
    opset: 13,
    lo: -2,
    hi: 2,
    at: [0, 1],
    want: (x) => (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x),
  },
  {
    what: 'LeakyRelu default alpha',
    op: 'LeakyRelu',
    opset: 13,
    lo: -2,
    hi: 2,
    kinks: [0],
    at: [-1, 0, 1],
    want: (x) => (x > 0 ? 1 : 0.01),
  },
  {
    what: 'LeakyRelu alpha 0.2',
    op: 'LeakyRelu',
    opset: 16,
    attrs: { alpha: 0.2 },
    lo: -2,
    hi: 2,
    kinks: [0],
    at: [-1, 0, 1],
    want: (x) => (x > 0 ? 1 : 0.2),
  },
  {
    what: 'Elu alpha 0.7',
    op: 'Elu',
    opset: 13,
    attrs: { alpha: 0.7 },
    lo: -2,
    hi: 2,
    kinks: [0],
    at: [-1, 0, 1],
    want: (x) => (x > 0 ? 1 : 0.7 * Math.exp(x)),
  },
  {
    what: 'Selu',
    op: 'Selu',
    opset: 13,
    lo: -2,
    hi: 2,
    kinks: [0],
    at: [-1, 2],
    want: (x) => 1.0507009873554805 * (x > 0 ? 1 : 1.6732632423543772 * Math.exp(x)),
  },
  { what: 'Softplus', op: 'Softplus', opset: 13, lo: -3, hi: 3, at: [0, 2], want: (x) => 1 / (1 + Math.exp(-x)) },
  {
    what: 'HardSigmoid default',
    op: 'HardSigmoid',
    opset: 13,
    lo: -4,
    hi: 4,
    kinks: [-2.5, 2.5],
    at: [0, 10, -10, 2],
    want: (x) => (Math.abs(x) < 2.5 ? 0.2 : 0),
  },
  {
    what: 'HardSigmoid alpha 0.5 beta 0.3',
    op: 'HardSigmoid',
    opset: 13,
    attrs: { alpha: 0.5, beta: 0.3 },
    lo: -2,
    hi: 3,
    kinks: [-0.6, 1.4],
    at: [0, 1.3, -0.7, 2],
    want: (x) => (x > -0.6 && x < 1.4 ? 0.5 : 0),
  },
  // torch's hardswish_backward: 0 below −3, (2x + 3)/6 on [−3, 3] (boundaries included), 1 above 3.
  {
    what: 'HardSwish',
    op: 'HardSwish',
    opset: 14,
    lo: -5,
    hi: 5,
    kinks: [-3, 3],
    at: [0, 1, -4, 4, 3, -3],
    want: (x) => (x < -3 ? 0 : x <= 3 ? (2 * x + 3) / 6 : 1),
  },
  {
    what: 'Gelu exact',
    op: 'Gelu',
    opset: 20,
    lo: -3,
    hi: 3,
    at: [0, 1],
    want: (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp((-x * x) / 2)) / Math.sqrt(2 * Math.PI),
  },
  {
    what: 'Gelu tanh',
    op: 'Gelu',
    opset: 20,
    attrs: { approximate: 'tanh' },
    lo: -3,
    hi: 3,
    at: [0, 1],
    want: geluTanhGrad,
  },
];

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse; integrate the series (|x| ≤ 3 here).
  let s = 0,
    term = x;
  for (let n = 0; n < 200; n++) {
    s += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * s;
}

function geluTanhGrad(x: number): number {
  const k = Math.sqrt(2 / Math.PI),
    u = k * (x + 0.044715 * x ** 3),
    t = Math.tanh(u);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
}

for (const u of F32) {
  test(`${u.what}: float32 finite differences and closed form`, async () => {
    const dims = [2, 3, 4];
    await gradCheck(single(u.op, u.opset, F, { x: dims }, u.attrs), {
      inputs: { x: feed(dims, 13, F, u.lo, u.hi, u.kinks) },
      wrt: ['x'],
      what: u.what,
      coords: 24,
    });
    const c = await exact(
      single(u.op, u.opset, F, { x: [u.at.length] }, u.attrs),
      { x: vals([u.at.length], u.at, F) },
      ['x'],
      u.at.length,
    );
    close(c.get('x')!, u.at.map(u.want), 1e-6, `${u.what} closed form`);
  });
}

test('PRelu: slope (C,1,1), (C,), (5,) and (1) reduced to the slope shape; closed form', async () => {
  const xs = [2, 3, 4, 5];
  const x = feed(xs, 17, F, -2, 2, [0]);
  for (const sd of [[3, 1, 1], [5], [1]]) {
    const m = model(13, F, { x: xs }, (b) => {
      b.randomInit('slope', sd, 0.5, 0.3);
      b.node('PRelu', ['x', 'slope'], {}, { outputs: ['y'] });
    });
    await gradCheck(m, { inputs: { x }, wrt: ['x', 'slope'], what: `prelu slope (${sd.join(',')})` });
  }
  for (const opset of [11, 16]) {
    const m = model(opset, F, { x: [2, 3], slope: [3] }, (b) =>
      b.node('PRelu', ['x', 'slope'], {}, { outputs: ['y'] }),
    );
    const c = {
      grads: await exact(
        m,
        { x: vals([2, 3], [-1, 2, -3, 4, -5, 0], F), slope: vals([3], [0.1, 0.2, 0.3], F) },
        ['x', 'slope'],
        6,
      ),
    };
    close(c.grads.get('x')!, [0.1, 1, 0.3, 1, 0.2, 0.3], 1e-6, 'dprelu/dx (slope at x = 0)');
    close(c.grads.get('slope')!, [-1, -5, -3], 1e-6, 'dprelu/dslope');
  }
});

// ---------------------------------------------------------------- Clip

test("Clip @13 (float64): min and max, one missing via '', none; min/max as wrt inputs; inclusive bounds", async () => {
  const x = feed([2, 3, 4], 19, D, -2, 2, [-0.5, 0.8]);
  const lo = vals([], [-0.5]),
    hi = vals([], [0.8]);
  const cases: [string, string[], Record<string, Feed>][] = [
    ['min and max', ['x', 'lo', 'hi'], { lo, hi }],
    ["max only (min '')", ['x', '', 'hi'], { hi }],
    ['min only', ['x', 'lo'], { lo }],
    ['no bounds', ['x'], {}],
  ];
  for (const [what, ins, extra] of cases) {
    const inputs: Record<string, number[]> = { x: [2, 3, 4] };
    for (const k of Object.keys(extra)) inputs[k] = [];
    const m = model(13, D, inputs, (b) => b.node('Clip', ins, {}, { outputs: ['y'] }));
    await gradCheck(m, { inputs: { x, ...extra }, wrt: ['x', ...Object.keys(extra)], what: `clip ${what}` });
  }
  // Closed form at and around the bounds: min ≤ x ≤ max passes (torch.clamp), the bounds collect the rest.
  const m = model(13, D, { x: [6], lo: [], hi: [] }, (b) => b.node('Clip', ['x', 'lo', 'hi'], {}, { outputs: ['y'] }));
  const c = await exact(m, { x: vals([6], [-1, -0.5, 0, 0.8, 1, 2]), lo, hi }, ['x', 'lo', 'hi'], 6);
  close(c.get('x')!, [0, 1, 1, 1, 0, 0], 0, 'dclip/dx');
  close(c.get('lo')!, [1], 0, 'dclip/dmin');
  close(c.get('hi')!, [2], 0, 'dclip/dmax');
});

test('Clip opset 11 (float32: no double kernel) with initializer bounds and a missing min', async () => {
  const x = feed([2, 3, 4], 23, F, -2, 2, [-0.5, 0.8]);
  const both = model(11, F, { x: [2, 3, 4] }, (b) => {
    b.init('lo', [], [-0.5]);
    b.init('hi', [], [0.8]);
    b.node('Clip', ['x', 'lo', 'hi'], {}, { outputs: ['y'] });
  });
  await gradCheck(both, { inputs: { x }, wrt: ['x'], what: 'clip 11' });
  const maxOnly = model(11, F, { x: [2, 3, 4] }, (b) => {
    b.init('hi', [], [0.8]);
    b.node('Clip', ['x', '', 'hi'], {}, { outputs: ['y'] });
  });
  const r = await gradCheck(maxOnly, { inputs: { x }, wrt: ['x'], what: 'clip 11 max only', objective: sumOf(24) });
  const xd = x.data as Float32Array;
  close(
    r.grads.get('x')!,
    Array.from(xd, (v) => (v <= 0.8 ? 1 : 0)),
    0,
    'clip 11 max only mask',
  );
});

// ---------------------------------------------------------------- Softmax, LogSoftmax

const SOFTMAX_CASES: [number, Record<string, AttrValue>][] = [
  [11, {}],
  [11, { axis: 2 }],
  [11, { axis: -1 }],
  [11, { axis: 0 }],
  [13, {}],
  [13, { axis: 1 }],
  [17, { axis: -2 }],
];

for (const op of ['Softmax', 'LogSoftmax']) {
  test(`${op}: opset 11 coerced-2D axis semantics vs opset 13/17 single axis (float64)`, async () => {
    for (const [opset, attrs] of SOFTMAX_CASES) {
      await gradCheck(single(op, opset, D, { x: [2, 3, 4] }, attrs), {
        inputs: { x: feed([2, 3, 4], 29, D, -2, 2) },
        wrt: ['x'],
        what: `${op} opset ${opset} ${JSON.stringify(attrs)}`,
        coords: 24,
      });
    }
  });
}

test('Softmax/LogSoftmax closed forms: row VJPs, and opset 11 default axis covers dims 1..', async () => {
  const xv = [0.1, -0.4, 0.7, 1.2, 0.3, -1];
  const x = vals([2, 3], xv);
  const sm = (row: number[]) => {
    const e = row.map(Math.exp),
      z = e.reduce((a, b) => a + b);
    return e.map((v) => v / z);
  };
  // Objective y[0, 1] of Softmax: dx = y1 (δ1j − yj) on row 0, 0 on row 1.
  const w = new Float64Array(6);
  w[1] = 1;
  const s = await gradCheck(single('Softmax', 13, D, { x: [2, 3] }), {
    inputs: { x },
    wrt: ['x'],
    objective: { kind: 'dot', tensor: 'y', weights: w },
  });
  const y0 = sm(xv.slice(0, 3));
  close(s.grads.get('x')!, [...y0.map((v, j) => y0[1] * ((j === 1 ? 1 : 0) - v)), 0, 0, 0], 1e-13, 'softmax vjp');
  // Σ LogSoftmax: dx = 1 − n·softmax(x) per row.
  const l = await gradCheck(single('LogSoftmax', 13, D, { x: [2, 3] }), {
    inputs: { x },
    wrt: ['x'],
    objective: sumOf(6),
  });
  close(
    l.grads.get('x')!,
    [...sm(xv.slice(0, 3)), ...sm(xv.slice(3))].map((v) => 1 - 3 * v),
    1e-13,
    'logsoftmax vjp',
  );
  // Opset 11, axis 1 on (1,2,3): the softmax runs over all 6 values, so Σ LogSoftmax gives 1 − 6·softmax(all).
  const l11 = await gradCheck(single('LogSoftmax', 11, D, { x: [1, 2, 3] }), {
    inputs: { x: vals([1, 2, 3], xv) },
    wrt: ['x'],
    objective: sumOf(6),
  });
  close(
    l11.grads.get('x')!,
    sm(xv).map((v) => 1 - 6 * v),
    1e-13,
    'logsoftmax opset 11 coerced',
  );
});

// ---------------------------------------------------------------- Sum, Mean, Max, Min

test('Sum (float64) and Mean (float32): n-ary with broadcasting; closed forms', async () => {
  const ins = { a: [2, 3, 4], b: [3, 1], c: [4] };
  const feeds = { a: feed([2, 3, 4], 31), b: feed([3, 1], 32), c: feed([4], 33) };
  const s = await gradCheck(single('Sum', 13, D, ins), { inputs: feeds, wrt: ['a', 'b', 'c'], what: 'sum 3-ary' });
  await gradCheck(single('Sum', 11, D, ins), { inputs: feeds, wrt: ['a', 'b', 'c'], what: 'sum opset 11' });
  const sc = await gradCheck(single('Sum', 13, D, ins), { inputs: feeds, wrt: ['a', 'b', 'c'], objective: sumOf(24) });
  close(sc.grads.get('b')!, [8, 8, 8], 0, 'dsum/db');
  close(sc.grads.get('c')!, [6, 6, 6, 6], 0, 'dsum/dc');
  assert.ok(s.worst < 1e-8);
  const f32 = { a: feed([2, 3, 4], 31, F), b: feed([3, 1], 32, F), c: feed([4], 33, F) };
  await gradCheck(single('Mean', 13, F, ins), { inputs: f32, wrt: ['a', 'b', 'c'], what: 'mean 3-ary' });
  const mc = await gradCheck(single('Mean', 13, F, ins), { inputs: f32, wrt: ['a', 'b', 'c'], objective: sumOf(24) });
  close(mc.grads.get('a')!, new Array(24).fill(1 / 3), 1e-7, 'dmean/da');
  close(mc.grads.get('c')!, [2, 2, 2, 2], 1e-6, 'dmean/dc');
});

/** Values spaced 0.1 apart, shuffled: no near-ties between operands built from disjoint offsets. */
function spread(dims: number[], seed: number, offset: number): Feed {
  const n = prod(dims),
    r = rng(seed);
  const v = Array.from({ length: n }, (_, i) => offset + i * 0.1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return vals(
    dims,
    v.map((t) => t - 1.2),
  );
}

for (const op of ['Max', 'Min']) {
  test(`${op}: gradient to the selected operand (n-ary, broadcast); ties split equally`, async () => {
    const ins = { a: [2, 3, 4], b: [3, 1], c: [4] };
    // Offsets 0.03 / 0.065 keep every pair of values ≥ 0.03 apart (≫ 10·h).
    const feeds = { a: spread([2, 3, 4], 41, 0), b: spread([3, 1], 42, 0.03), c: spread([4], 43, 0.065) };
    for (const opset of [11, 13])
      await gradCheck(single(op, opset, D, ins), { inputs: feeds, wrt: ['a', 'b', 'c'], what: `${op} opset ${opset}` });
    await gradCheck(single(op, 13, D, { a: [2, 3] }), {
      inputs: { a: feed([2, 3], 44) },
      wrt: ['a'],
      what: `${op} unary`,
    });
    const x = vals([4], [1, 2, 3, 4]),
      z = vals([4], op === 'Max' ? [0, 2, 5, 4] : [2, 2, 1, 4]);
    const t = await exact(single(op, 13, D, { x: [4], z: [4] }), { x, z }, ['x', 'z'], 4);
    close(t.get('x')!, [1, 0.5, 0, 0.5], 0, `${op} ties dx`);
    close(t.get('z')!, [0, 0.5, 1, 0.5], 0, `${op} ties dz`);
    // Three-way tie: a third each.
    const t3 = await exact(
      single(op, 13, D, { x: [1], z: [1], w: [1] }),
      { x: vals([1], [2]), z: vals([1], [2]), w: vals([1], [2]) },
      ['x', 'z', 'w'],
      1,
    );
    for (const k of ['x', 'z', 'w']) close(t3.get(k)!, [1 / 3], 1e-15, `${op} three-way tie d${k}`);
  });
}

// ---------------------------------------------------------------- Cast, Where

test('Cast: float ↔ double carry the gradient back in the input type; a cast to int64 carries none', async () => {
  // x float32 → double, times w (double).
  const m = model(13, D, { w: [2, 3] }, (b) => {
    b.input('x', [2, 3], F);
    const xd = b.node('Cast', ['x'], { to: D });
    b.node('Mul', [xd, 'w'], {}, { outputs: ['y'] });
  });
  const x = feed([2, 3], 51, F),
    w = feed([2, 3], 52, D);
  await gradCheck(m, { inputs: { x, w }, wrt: ['x', 'w'], what: 'cast float→double' });
  const c = await gradCheck(m, { inputs: { x, w }, wrt: ['x'], objective: sumOf(6), coords: 1 });
  assert.ok(c.grads.get('x') instanceof Float32Array, 'gradient of a float input is float');
  close(
    c.grads.get('x')!,
    Array.from(w.data as Float64Array, (v) => Math.fround(v)),
    0,
    'dcast/dx',
  );
  // double → float → (Sigmoid) → float output.
  const m2 = model(13, F, {}, (b) => {
    b.input('x', [2, 3], D);
    b.node('Sigmoid', [b.node('Cast', ['x'], { to: F })], {}, { outputs: ['y'] });
  });
  const c2 = await gradCheck(m2, {
    inputs: { x: vals([2, 3], [0, 0, 0, 0, 0, 0]) },
    wrt: ['x'],
    objective: sumOf(6),
    h: 1e-2,
    tol: 1e-3,
  });
  assert.ok(c2.grads.get('x') instanceof Float64Array);
  close(c2.grads.get('x')!, [0.25, 0.25, 0.25, 0.25, 0.25, 0.25], 0, 'dcast(double→float)/dx');
  // y = x + double(int64(x)): the integer path carries no gradient, dx = 1.
  const m3 = model(13, D, { x: [2, 3] }, (b) => {
    const i = b.node('Cast', ['x'], { to: 7 });
    b.node('Add', ['x', b.node('Cast', [i], { to: D })], {}, { outputs: ['y'] });
  });
  const x3 = feed([2, 3], 53, D, 0.1, 0.9);
  await gradCheck(m3, { inputs: { x: x3 }, wrt: ['x'], what: 'cast to int64' });
  const c3 = await gradCheck(m3, { inputs: { x: x3 }, wrt: ['x'], objective: sumOf(6), coords: 1 });
  close(c3.grads.get('x')!, [1, 1, 1, 1, 1, 1], 0, 'dcast-int/dx');
});

test("Where: dy to X where the condition holds, to Y elsewhere, reduced to each operand's shape", async () => {
  // cond = c > 0 (c of shape (3,1)), X (2,3,4), Y (4,).
  const mk = (opset: number) =>
    model(opset, D, { c: [3, 1], X: [2, 3, 4], Y: [4] }, (b) => {
      const cond = b.node('Greater', ['c', 'z']);
      b.node('Where', [cond, 'X', 'Y'], {}, { outputs: ['y'] });
    });
  const withZ = (m: ModelProto) => addInit(m, 'z', [], [0], D);
  const c = vals([3, 1], [0.5, -0.5, 0.2]);
  const feeds = { c, X: feed([2, 3, 4], 61), Y: feed([4], 62) };
  for (const opset of [11, 16])
    await gradCheck(withZ(mk(opset)), { inputs: feeds, wrt: ['X', 'Y'], what: `where opset ${opset}` });
  const r = await gradCheck(withZ(mk(16)), { inputs: feeds, wrt: ['X', 'Y'], objective: sumOf(24), coords: 1 });
  close(
    r.grads.get('X')!,
    Array.from({ length: 24 }, (_, i) => (Math.floor(i / 4) % 3 === 1 ? 0 : 1)),
    0,
    'dwhere/dX',
  );
  close(r.grads.get('Y')!, [2, 2, 2, 2], 0, 'dwhere/dY');
});

// ---------------------------------------------------------------- a chain

test('elementwise chain (Mul → Add → Tanh → Exp → Div by Sqrt) in float64, with a promoted scale', async () => {
  const m = addInit(
    model(13, D, { x: [2, 3, 4, 5] }, (b) => {
      const s = b.node('Mul', ['x', 'scale']);
      const t = b.node('Tanh', [b.node('Add', [s, 'x'])]);
      const e = b.node('Exp', [t]);
      b.node('Div', [e, b.node('Sqrt', [b.node('Add', [b.node('Mul', [t, t]), 'scale'])])], {}, { outputs: ['y'] });
    }),
    'scale',
    [3, 1, 1],
    [0.5, 1, 1.5],
    D,
  );
  const r = await gradCheck(m, {
    inputs: { x: feed([2, 3, 4, 5], 71) },
    wrt: ['x', 'scale'],
    what: 'chain',
    coords: 32,
  });
  assert.ok(r.worst < 1e-6);
});
