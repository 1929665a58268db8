// Gradient rules of the shape op family, in every attribute/input form PyTorch exports at opsets 11–21: central
// finite differences (gradCheck), plus exact checks. The rearrangement ops (Transpose, Reshape, Slice, Gather, …)
// copy each output element from one input element (or write a pad value), so the forward op itself, run on inputs
// holding their own element ids, tells where every output came from: the exact gradient of Σ W ⊙ y is W summed
// back onto those sources. With small integer weights that sum is exact in floating point, so the comparison is ===.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, rng } from '../src/engine/onnx/builder';
import { make, onnx, type ModelProto } from '../src/engine/onnx/proto';
import { buildGradientModel, runGradient } from '../src/engine/autodiff/gradient';
import { runSession, type Feed } from '../src/engine/runtime/session';
import { gradCheck, gradPool, randomFeed } from './helpers/gradcheck';

const D = onnx.TensorProto.DataType.DOUBLE;
const F = onnx.TensorProto.DataType.FLOAT;
const INT64_MAX = 9223372036854775807n,
  INT64_MIN = -9223372036854775808n;

let key = 0;
const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

/** Runs the gradient of Σ W ⊙ tensor (W given) and returns the gradients. */
async function gradOf(
  model: ModelProto,
  feeds: Record<string, Feed>,
  wrt: string[],
  tensor: string,
  weights: number[],
) {
  const k = `shape-${key++}`;
  const gm = await buildGradientModel(model, { objective: { kind: 'dot', tensor, weights }, wrt }, feeds, gradPool, k);
  const r = await runGradient(gm, gradPool, `${k}#g`, feeds);
  return { gm, grads: new Map([...r.gradients].map(([w, o]) => [w, Array.from(o.data as Float64Array, Number)])) };
}

/** Forward run of the model: every output. */
async function forward(model: ModelProto, feeds: Record<string, Feed>) {
  const ms = await gradPool.get(`shape-fwd-${key++}`, model, 'forward');
  return runSession(ms, feeds, 'forward');
}

/** Integer weights in ±[1, 5]. */
function intWeights(n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => (1 + Math.floor(r() * 5)) * (r() < 0.5 ? -1 : 1));
}

function idFeed(f: Feed, offset: number): Feed {
  const n = f.data.length;
  const data = f.type === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = offset + i + 1;
  return { ...f, data };
}

/**
 * Exact adjoint check of a rearrangement: every float input holds its element ids (1-based, distinct across
 * inputs; 0 or negative means "not from any input", e.g. a zero pad or a negative constant), the forward output
 * tells the source of each element, and the gradient of each `wrt` must equal the integer weights summed onto the
 * sources, exactly.
 */
async function exactAdjoint(
  model: ModelProto,
  feeds: Record<string, Feed>,
  wrt: string[],
  what: string,
  tensor?: string,
) {
  const out = tensor ?? model.graph!.output[0].name;
  const ids: Record<string, Feed> = {};
  const owner: { name: string; from: number; n: number }[] = [];
  let offset = 0;
  for (const [name, f] of Object.entries(feeds)) {
    if (f.type === 'float64' || f.type === 'float32' || f.type === undefined) {
      ids[name] = idFeed(f, offset);
      owner.push({ name, from: offset + 1, n: f.data.length });
      offset += f.data.length;
    } else ids[name] = f;
  }
  const y = (await forward(model, ids))[out].data as Float64Array;
  const W = intWeights(
    y.length,
    [...what].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 100003, 97),
  );
  const want = new Map(wrt.map((w) => [w, new Array(feeds[w].data.length).fill(0)]));
  const hits = new Map<string, number>();
  y.forEach((id, p) => {
    if (id <= 0) return; // a pad or constant value, not an input element
    assert.ok(Number.isInteger(id), `${what}: output ${p} is not a copied element (${id})`);
    const o = owner.find((q) => id >= q.from && id < q.from + q.n);
    assert.ok(o, `${what}: output ${p} holds unknown id ${id}`);
    const acc = want.get(o.name);
    if (acc) {
      acc[id - o.from] += W[p];
      hits.set(o.name, (hits.get(o.name) ?? 0) + 1);
    }
  });
  const { grads } = await gradOf(model, feeds, wrt, out, W);
  for (const w of wrt) {
    const g = grads.get(w)!.map((v) => v + 0);
    const exp = want.get(w)!;
    assert.ok((hits.get(w) ?? 0) > 0, `${what}: no output comes from ${w}: the check would be vacuous`);
    assert.deepEqual(g, exp, `${what}: gradient of ${w} is not the exact adjoint`);
  }
  return { y, W, grads };
}

/** Finite differences plus the exact adjoint check. */
async function both(model: ModelProto, inputs: Record<string, Feed>, wrt: string[], what: string, tensor?: string) {
  const fd = await gradCheck(model, { inputs, wrt, what, tensor });
  assert.ok(fd.worst < 1e-7, `${what}: worst ${fd.worst}`);
  return exactAdjoint(model, inputs, wrt, what, tensor);
}

const f64 = (dims: number[], seed = 1) => randomFeed(dims, seed, 'float64');

function int64Const(b: GraphBuilder, name: string, values: bigint[], dims = [values.length]): string {
  const t = make.tensor({
    name: `${name}_t`,
    dims,
    dataType: onnx.TensorProto.DataType.INT64,
    rawData: new Uint8Array(BigInt64Array.from(values).buffer),
  });
  return b.node('Constant', [], { value: t }, { outputs: [name] });
}

/** A one-op model x (double) → op → y, extra int64 inputs given as initializers. */
function oneOp(
  op: string,
  opset: number,
  dims: number[],
  attrs: Record<string, number | number[] | string> = {},
  ints: (number[] | null)[] = [],
) {
  const b = new GraphBuilder(op, opset);
  b.input('x', dims, D);
  const extra = ints.map((v, i) => (v === null ? '' : b.initInt64(`p${i}`, [v.length], v)));
  while (extra.length && extra[extra.length - 1] === '') extra.pop();
  b.node(op, ['x', ...extra], attrs, { outputs: ['y'] });
  b.output('y', null, D);
  return b.build();
}

// ---- Transpose, Reshape, Flatten, Squeeze, Unsqueeze ----

test('Transpose: explicit perm and the default (reversed) perm give the inverse-permuted weights exactly', async () => {
  const x = f64([2, 3, 4]);
  const { y, W, grads } = await both(
    oneOp('Transpose', 13, [2, 3, 4], { perm: [2, 0, 1] }),
    { x },
    ['x'],
    'transpose perm',
  );
  // Direct closed form: y[k, i, j] = x[i, j, k] (y shape 4×2×3), so dx[i, j, k] = W[k, i, j].
  assert.equal(y.length, 24);
  const g = grads.get('x')!;
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) assert.equal(g[i * 12 + j * 4 + k], W[k * 6 + i * 3 + j]);
  await both(oneOp('Transpose', 11, [2, 3, 4]), { x }, ['x'], 'transpose default');
});

test('Reshape (0 and −1 entries) and Flatten (axis 0, 2, −1) reshape the gradient back', async () => {
  const x = f64([2, 3, 4]);
  await both(oneOp('Reshape', 13, [2, 3, 4], {}, [[0, -1]]), { x }, ['x'], 'reshape 0,-1');
  await both(oneOp('Reshape', 11, [2, 3, 4], {}, [[4, 0, -1]]), { x }, ['x'], 'reshape 4,0,-1');
  for (const axis of [0, 2, -1]) await both(oneOp('Flatten', 13, [2, 3, 4], { axis }), { x }, ['x'], `flatten ${axis}`);
  await both(oneOp('Flatten', 11, [2, 3, 4]), { x }, ['x'], 'flatten default');
});

test('PyTorch flatten x.view(x.size(0), -1): Shape→Gather→Unsqueeze→Concat→Reshape at opsets 11 and 13', async () => {
  for (const opset of [11, 13]) {
    const b = new GraphBuilder('view', opset);
    b.input('x', [2, 3, 4], D);
    const s = b.node('Shape', ['x']);
    const zero = int64Const(b, 'zero', [0n], []);
    const n = b.node('Gather', [s, zero], { axis: 0 });
    const u =
      opset >= 13 ? b.node('Unsqueeze', [n, b.initInt64('ax0', [1], [0])]) : b.node('Unsqueeze', [n], { axes: [0] });
    const shape = b.node('Concat', [u, b.initInt64('m1', [1], [-1])], { axis: 0 });
    const r = b.node('Reshape', ['x', shape]);
    b.node('Relu', [r], {}, { outputs: ['y'] });
    b.output('y', null, D);
    const x = randomFeed([2, 3, 4], 3, 'float64', 0.1, 1); // positive: Relu passes everything through
    const res = await both(b.build(), { x }, ['x'], `dynamic flatten ${opset}`);
    assert.equal(res.y.length, 24);
  }
});

test('Squeeze/Unsqueeze: axes attribute (11), axes input (13, 18), negative axes, Squeeze without axes', async () => {
  const x = f64([2, 1, 3, 1]);
  await both(oneOp('Squeeze', 11, [2, 1, 3, 1], { axes: [1, -1] }), { x }, ['x'], 'squeeze attr');
  await both(oneOp('Squeeze', 13, [2, 1, 3, 1], {}, [[-3]]), { x }, ['x'], 'squeeze input');
  await both(oneOp('Squeeze', 18, [2, 1, 3, 1], {}, [[1, 3]]), { x }, ['x'], 'squeeze input 18');
  for (const opset of [11, 13]) {
    const r = await both(oneOp('Squeeze', opset, [2, 1, 3, 1]), { x }, ['x'], `squeeze all ${opset}`);
    assert.equal(r.y.length, 6);
  }
  const z = f64([2, 3]);
  await both(oneOp('Unsqueeze', 11, [2, 3], { axes: [0, -1] }), { x: z }, ['x'], 'unsqueeze attr');
  await both(oneOp('Unsqueeze', 13, [2, 3], {}, [[1, -1]]), { x: z }, ['x'], 'unsqueeze input');
  await both(oneOp('Unsqueeze', 21, [2, 3], {}, [[0]]), { x: z }, ['x'], 'unsqueeze input 21');
});

// ---- Concat, Split ----

test('Concat: negative axis, only the differentiated inputs get a gradient, Constant inputs are skipped', async () => {
  const b = new GraphBuilder('concat', 13);
  b.input('a', [2, 3], D);
  b.input('b', [2, 1], D);
  b.input('c', [2, 4], D);
  const k = b.node('Constant', [], {
    value: make.tensor({ name: 'k_t', dims: [2, 2], dataType: D, doubleData: [-5, -6, -7, -8] }),
  });
  b.node('Concat', ['a', 'b', k, 'c'], { axis: -1 }, { outputs: ['y'] });
  b.output('y', null, D);
  const m = b.build();
  const inputs = { a: f64([2, 3], 1), b: f64([2, 1], 2), c: f64([2, 4], 3) };
  await both(m, inputs, ['a', 'c'], 'concat a,c');
  await both(m, inputs, ['b'], 'concat b');
  const b0 = new GraphBuilder('concat0', 11);
  b0.input('a', [1, 3], D);
  b0.input('b', [2, 3], D);
  b0.node('Concat', ['a', 'b'], { axis: 0 }, { outputs: ['y'] });
  b0.output('y', null, D);
  await both(b0.build(), { a: f64([1, 3], 4), b: f64([2, 3], 5) }, ['a', 'b'], 'concat axis 0');
});

/** x [2, 7] → Split → Concat(outputs 0 and 2, output 1 unused: its gradient is zeros). */
function splitModel(opset: number, form: 'attr' | 'input' | 'equal' | 'num_outputs', outputs: number) {
  const b = new GraphBuilder('split', opset);
  b.input('x', [2, 7], D);
  const outs = Array.from({ length: outputs }, (_, i) => `s${i}`);
  const sizes = outputs === 3 ? [2, 4, 1] : [3, 4];
  if (form === 'attr') b.node('Split', ['x'], { axis: -1, split: sizes }, { outputs: outs });
  else if (form === 'input')
    b.node('Split', ['x', b.initInt64('sp', [sizes.length], sizes)], { axis: 1 }, { outputs: outs });
  else if (form === 'num_outputs') b.node('Split', ['x'], { axis: 1, num_outputs: outputs }, { outputs: outs });
  else b.node('Split', ['x'], { axis: 1 }, { outputs: outs });
  b.node('Concat', outputs === 3 ? ['s2', 's0'] : ['s1'], { axis: 1 }, { outputs: ['y'] });
  b.output('y', null, D);
  return b.build();
}

test('Split: attr (11), input (13, 18), num_outputs (18, uneven), equal parts; unused outputs get zeros', async () => {
  const x = f64([2, 7]);
  const cases: [number, 'attr' | 'input' | 'equal' | 'num_outputs', number][] = [
    [11, 'attr', 3],
    [13, 'input', 3],
    [18, 'input', 2],
    [18, 'num_outputs', 3],
    [18, 'num_outputs', 2],
  ];
  for (const [opset, form, n] of cases) {
    const r = await both(splitModel(opset, form, n), { x }, ['x'], `split ${form} ${opset} ×${n}`);
    const g = r.grads.get('x')!;
    // num_outputs 3 on 7 → sizes 3, 3, 1; otherwise the explicit sizes: the middle output's columns get zero.
    const sizes = form === 'num_outputs' ? (n === 3 ? [3, 3, 1] : [4, 3]) : n === 3 ? [2, 4, 1] : [3, 4];
    const unusedFrom = n === 3 ? sizes[0] : 0,
      unusedTo = n === 3 ? sizes[0] + sizes[1] : sizes[0];
    for (let i = 0; i < 2; i++)
      for (let j = unusedFrom; j < unusedTo; j++) assert.equal(g[i * 7 + j], 0, `${form} ${opset}: unused column ${j}`);
  }
  // opset 13 without split input: equal parts (7 is not divisible, use [2, 6])
  const b = new GraphBuilder('spliteq', 13);
  b.input('x', [2, 6], D);
  b.node('Split', ['x'], { axis: 1 }, { outputs: ['s0', 's1', 's2'] });
  b.node('Concat', ['s2', 's1'], { axis: 0 }, { outputs: ['y'] });
  b.output('y', null, D);
  await both(b.build(), { x: f64([2, 6]) }, ['x'], 'split equal');
});

// ---- Slice ----

function sliceModel(
  opset: number,
  dims: number[],
  starts: bigint[],
  ends: bigint[],
  axes: bigint[] | null,
  steps: bigint[] | null,
) {
  const b = new GraphBuilder('slice', opset);
  b.input('x', dims, D);
  const ins = ['x', int64Const(b, 'st', starts), int64Const(b, 'en', ends)];
  if (axes || steps) ins.push(axes ? int64Const(b, 'ax', axes) : '');
  if (steps) ins.push(int64Const(b, 'sp', steps));
  b.node('Slice', ins, {}, { outputs: ['y'] });
  b.output('y', null, D);
  return b.build();
}

test('Slice: steps ±1, ±2, 3; negative starts; clamped INT64_MAX/MIN ends; no axes/steps (11, 13, 18)', async () => {
  const x = f64([4, 7, 5]);
  const cases: [string, bigint[], bigint[], bigint[] | null, bigint[] | null][] = [
    ['step 1, default axes', [1n, 2n], [3n, 6n], null, null],
    ['step 2', [1n], [INT64_MAX], [1n], [2n]],
    ['step 3 and 2', [0n, 1n], [7n, 5n], [1n, -1n], [3n, 2n]],
    ['step -1 reverse', [-1n], [INT64_MIN], [1n], [-1n]],
    ['step -2 from the middle', [5n, -2n], [0n, 1n], [-2n, 0n], [-2n, -1n]],
    ['negative start, clamped end', [-3n], [100n], [2n], [1n]],
    ['three axes, mixed', [3n, 0n, -1n], [0n, INT64_MAX, -6n], [0n, 1n, 2n], [-2n, 4n, -2n]],
  ];
  for (const opset of [11, 13, 18]) {
    for (const [what, s, e, a, st] of cases) {
      const r = await both(sliceModel(opset, [4, 7, 5], s, e, a, st), { x }, ['x'], `slice ${what} @${opset}`);
      assert.ok(r.y.length > 0 && r.y.length <= 140);
    }
  }
  // Known sizes: x[:, 1::2] keeps 3 of 7 columns; x[:, ::-1] all 7 reversed.
  const r2 = await exactAdjoint(
    sliceModel(13, [4, 7, 5], [1n], [INT64_MAX], [1n], [2n]),
    { x },
    ['x'],
    'slice step 2 size',
  );
  assert.equal(r2.y.length, 4 * 3 * 5);
  const rev = await exactAdjoint(sliceModel(13, [4, 7, 5], [-1n], [INT64_MIN], [1n], [-1n]), { x }, ['x'], 'reverse');
  const g = rev.grads.get('x')!;
  for (let j = 0; j < 7; j++) assert.equal(g[j * 5], rev.W[(6 - j) * 5], `reverse column ${j}`);
});

// ---- Pad ----

function padModel(opset: number, dims: number[], pads: number[], opts: { value?: boolean; axes?: number[] } = {}) {
  const b = new GraphBuilder('pad', opset);
  b.input('x', dims, D);
  const ins = ['x', b.initInt64('pads', [pads.length], pads)];
  if (opts.value || opts.axes) {
    if (opts.value) b.input('v', [], D);
    ins.push(opts.value ? 'v' : '');
  }
  if (opts.axes) ins.push(b.initInt64('axes', [opts.axes.length], opts.axes));
  b.node('Pad', ins, { mode: 'constant' }, { outputs: ['y'] });
  b.output('y', null, D);
  return b.build();
}

test('Pad (constant): positive, negative (crop), mixed pads; constant_value input and grad; axes (18)', async () => {
  const x = f64([3, 4, 5]);
  const v: Feed = { data: Float64Array.from([0.7]), dims: [], type: 'float64' };
  for (const opset of [11, 13, 18]) {
    await both(padModel(opset, [3, 4, 5], [1, 0, 2, 0, 3, 1]), { x }, ['x'], `pad positive @${opset}`);
    await both(padModel(opset, [3, 4, 5], [-1, 0, -2, 0, -1, -1]), { x }, ['x'], `pad negative @${opset}`);
    // The value's exact gradient is the weight sum over the padded positions.
    await both(
      padModel(opset, [3, 4, 5], [2, -1, 1, -1, 3, -2], { value: true }),
      { x, v },
      ['x', 'v'],
      `pad mixed + value @${opset}`,
    );
  }
  await both(padModel(18, [3, 4, 5], [2, -1, 1, 3], { axes: [-1, 0] }), { x }, ['x'], 'pad axes input');
  await both(
    padModel(18, [3, 4, 5], [1, 2, 0, 1], { value: true, axes: [1, 2] }),
    { x, v },
    ['x', 'v'],
    'pad axes + value',
  );
});

// ---- Expand, Tile, Gather ----

test('Expand sums over broadcast axes; Tile sums over repeats', async () => {
  const x = f64([3, 1]);
  for (const opset of [11, 13]) {
    await both(oneOp('Expand', opset, [3, 1], {}, [[2, 3, 4]]), { x }, ['x'], `expand @${opset}`);
    await both(oneOp('Expand', opset, [3, 1], {}, [[1, 1]]), { x }, ['x'], `expand identity-shaped @${opset}`);
  }
  const t = f64([2, 3, 2]);
  await both(oneOp('Tile', 13, [2, 3, 2], {}, [[2, 1, 3]]), { x: t }, ['x'], 'tile 2,1,3');
  await both(oneOp('Tile', 11, [2, 3, 2], {}, [[1, 1, 1]]), { x: t }, ['x'], 'tile ones');
});

function gatherModel(opset: number, dims: number[], idx: number[], idxDims: number[], axis: number) {
  const b = new GraphBuilder('gather', opset);
  b.input('x', dims, D);
  b.node('Gather', ['x', b.initInt64('idx', idxDims, idx)], { axis }, { outputs: ['y'] });
  b.output('y', null, D);
  return b.build();
}

test('Gather: duplicate and negative indices accumulate; one-hot MatMul (11, 13), ScatterND add (16, 18)', async () => {
  const x = f64([3, 5, 2]);
  for (const opset of [11, 13, 16, 18]) {
    const r = await both(
      gatherModel(opset, [3, 5, 2], [4, 0, -1, 2, 0, 0], [2, 3], -2),
      { x },
      ['x'],
      `gather axis -2 @${opset}`,
    );
    const g = r.grads.get('x')!;
    for (let i = 0; i < 3; i++)
      for (let c = 0; c < 2; c++) assert.equal(g[i * 10 + 1 * 2 + c], 0, 'row 1 is never gathered');
    await both(gatherModel(opset, [3, 5, 2], [-1], [], 0), { x }, ['x'], `gather scalar @${opset}`);
    await both(gatherModel(opset, [3, 5, 2], [1, 1], [2], 2), { x }, ['x'], `gather last axis @${opset}`);
  }
});

// ---- Reductions ----

/** Maps each flat x index to its flat output index for a reduction over `axes`. */
function reducedIndex(dims: number[], axes: number[]): number[] {
  const keep = dims.map((d, i) => (axes.includes(i) ? 1 : d));
  const out: number[] = [];
  for (let f = 0; f < prod(dims); f++) {
    let rem = f,
      o = 0,
      stride = 1;
    const idx: number[] = new Array(dims.length);
    for (let a = dims.length - 1; a >= 0; a--) {
      idx[a] = rem % dims[a];
      rem = Math.floor(rem / dims[a]);
    }
    for (let a = dims.length - 1; a >= 0; a--) {
      o += (axes.includes(a) ? 0 : idx[a]) * stride;
      stride *= keep[a];
    }
    out.push(o);
  }
  return out;
}

function reduceModel(
  op: string,
  opset: number,
  dims: number[],
  axes: number[] | null,
  form: 'attr' | 'input',
  attrs: Record<string, number> = {},
) {
  const b = new GraphBuilder(op, opset);
  b.input('x', dims, D);
  const ins = ['x'];
  const a: Record<string, number | number[]> = { ...attrs };
  if (axes && form === 'attr') a.axes = axes;
  if (axes && form === 'input') ins.push(b.initInt64('axes', [axes.length], axes));
  b.node(op, ins, a, { outputs: ['y'] });
  b.output('y', null, D);
  return b.build();
}

test('ReduceSum/ReduceMean: axes as attribute or input (11, 13, 18), keepdims, negative/empty axes, noop', async () => {
  const dims = [2, 3, 4];
  const x = f64(dims);
  const cases: [string, number, number[] | null, 'attr' | 'input', Record<string, number>, number[]][] = [
    ['ReduceSum', 11, [1, -1], 'attr', { keepdims: 0 }, [1, 2]],
    ['ReduceSum', 11, null, 'attr', {}, [0, 1, 2]],
    ['ReduceSum', 13, [-2], 'input', {}, [1]],
    ['ReduceSum', 13, [0, 2], 'input', { keepdims: 0 }, [0, 2]],
    ['ReduceSum', 13, null, 'input', { keepdims: 0 }, [0, 1, 2]],
    ['ReduceSum', 18, [2], 'input', {}, [2]],
    ['ReduceMean', 11, [0], 'attr', { keepdims: 0 }, [0]],
    ['ReduceMean', 13, [-1, 1], 'attr', {}, [1, 2]],
    ['ReduceMean', 13, null, 'attr', { keepdims: 0 }, [0, 1, 2]],
    ['ReduceMean', 18, [1], 'input', { keepdims: 0 }, [1]],
    ['ReduceMean', 18, [-3, 2], 'input', {}, [0, 2]],
  ];
  for (const [op, opset, axes, form, attrs, red] of cases) {
    const what = `${op} @${opset} ${form} ${axes === null ? 'null' : axes.join(',')}`;
    const m = reduceModel(op, opset, dims, axes, form, attrs);
    const fd = await gradCheck(m, { inputs: { x }, wrt: ['x'], what });
    assert.ok(fd.worst < 1e-7, what);
    const map = reducedIndex(dims, red);
    const W = intWeights(Math.max(...map) + 1, 5);
    const { grads } = await gradOf(m, { x }, ['x'], 'y', W);
    const n = op === 'ReduceMean' ? prod(red.map((a) => dims[a])) : 1;
    grads
      .get('x')!
      .forEach((g, i) => assert.ok(Math.abs(g - W[map[i]] / n) < 1e-15, `${what}: dx[${i}] ${g} vs ${W[map[i]] / n}`));
  }
  // noop_with_empty_axes (ReduceSum ≥ 13, ReduceMean ≥ 18): y = x, the gradient is W itself.
  for (const [op, opset] of [
    ['ReduceSum', 13],
    ['ReduceMean', 18],
  ] as const) {
    const m = reduceModel(op, opset, dims, null, 'input', { noop_with_empty_axes: 1 });
    const W = intWeights(24, 6);
    const { grads } = await gradOf(m, { x }, ['x'], 'y', W);
    assert.deepEqual(grads.get('x'), W, `${op} noop`);
  }
});

test('ReduceMax/ReduceMin: gradient at the extremes, ties share it evenly (attr 11/13, input 18)', async () => {
  const dims = [3, 4];
  for (const [op, opset, form] of [
    ['ReduceMax', 11, 'attr'],
    ['ReduceMin', 13, 'attr'],
    ['ReduceMax', 18, 'input'],
    ['ReduceMin', 18, 'input'],
  ] as const) {
    const what = `${op} @${opset}`;
    const fd = await gradCheck(reduceModel(op, opset, dims, [1], form, { keepdims: 0 }), {
      inputs: { x: f64(dims, 9) },
      wrt: ['x'],
      what,
    });
    assert.ok(fd.worst < 1e-7, what);
    // Ties: row 0 has its extreme twice, row 1 three times, row 2 once.
    const big = op === 'ReduceMax' ? 5 : -5;
    const xs = Float64Array.from([big, 1, big, 0, big, big, 2, big, 0, 1, 2, big]);
    const m = reduceModel(op, opset, dims, [-1], form, {});
    const W = [3, -6, 4];
    const { grads } = await gradOf(m, { x: { data: xs, dims, type: 'float64' } }, ['x'], 'y', W);
    const want = [1.5, 0, 1.5, 0, -2, -2, 0, -2, 0, 0, 0, 4];
    assert.deepEqual(
      grads.get('x')!.map((v) => v + 0),
      want,
      what,
    );
  }
  // All axes (no axes given): one maximum over the whole tensor.
  const xs = f64([2, 3], 4);
  const { grads } = await gradOf(
    reduceModel('ReduceMax', 13, [2, 3], null, 'attr', { keepdims: 0 }),
    { x: xs },
    ['x'],
    'y',
    [2],
  );
  const arg = Array.from(xs.data as Float64Array).indexOf(Math.max(...(xs.data as Float64Array)));
  assert.deepEqual(
    grads.get('x')!.map((v) => v + 0),
    [0, 1, 2, 3, 4, 5].map((i) => (i === arg ? 2 : 0)),
  );
});

test('ReduceL2, ReduceSumSquare, ReduceL1, ReduceLogSumExp: finite differences and closed forms', async () => {
  const dims = [2, 3, 4];
  const x = f64(dims, 12);
  const xs = Array.from(x.data as Float64Array);
  for (const [op, opset, form] of [
    ['ReduceL2', 13, 'attr'],
    ['ReduceSumSquare', 11, 'attr'],
    ['ReduceL1', 13, 'attr'],
    ['ReduceLogSumExp', 18, 'input'],
    ['ReduceSumSquare', 18, 'input'],
  ] as const) {
    const what = `${op} @${opset}`;
    const m = reduceModel(op, opset, dims, [0, -1], form, { keepdims: 0 });
    const fd = await gradCheck(m, { inputs: { x }, wrt: ['x'], what });
    assert.ok(fd.worst < 1e-6, `${what}: ${fd.worst}`);
    const map = reducedIndex(dims, [0, 2]);
    const W = intWeights(3, 8);
    const y = (await forward(m, { x })).y.data as Float64Array;
    const { grads } = await gradOf(m, { x }, ['x'], 'y', W);
    grads.get('x')!.forEach((g, i) => {
      const o = map[i],
        v = xs[i];
      const want =
        op === 'ReduceL2'
          ? (v / y[o]) * W[o]
          : op === 'ReduceSumSquare'
            ? 2 * v * W[o]
            : op === 'ReduceL1'
              ? Math.sign(v) * W[o]
              : Math.exp(v - y[o]) * W[o];
      assert.ok(Math.abs(g - want) < 1e-13, `${what}: dx[${i}] ${g} vs ${want}`);
    });
  }
  // ReduceL2 of an all-zero row: gradient 0, not NaN.
  const z = { data: new Float64Array(24), dims, type: 'float64' } as Feed;
  const { grads } = await gradOf(
    reduceModel('ReduceL2', 13, dims, [2], 'attr', {}),
    { x: z },
    ['x'],
    'y',
    intWeights(6, 3),
  );
  assert.ok(grads.get('x')!.every((v) => v === 0));
});

// ---- Global pooling ----

test('GlobalAveragePool/GlobalMaxPool (float32): finite diffs, dy/spatial broadcast, argmax mask, ties', async () => {
  const dims = [2, 3, 2, 3];
  const mk = (op: string, opset: number) => {
    const b = new GraphBuilder(op, opset);
    b.input('x', dims, F);
    b.node(op, ['x'], {}, { outputs: ['y'] });
    b.output('y', null, F);
    return b.build();
  };
  const x = randomFeed(dims, 21);
  for (const opset of [11, 13]) {
    for (const op of ['GlobalAveragePool', 'GlobalMaxPool']) {
      const fd = await gradCheck(mk(op, opset), { inputs: { x }, wrt: ['x'], what: `${op} @${opset}` });
      assert.ok(fd.worst < 1e-2, `${op}: ${fd.worst}`);
    }
  }
  const W = intWeights(6, 2);
  const avg = await gradOf(mk('GlobalAveragePool', 13), { x }, ['x'], 'y', W);
  avg.grads.get('x')!.forEach((g, i) => assert.equal(g, Math.fround(W[Math.floor(i / 6)] / 6)));
  // Max with a tie in channel (0, 0): two positions share the gradient.
  const xs = Float32Array.from(x.data as Float32Array);
  xs[1] = 9;
  xs[4] = 9;
  xs[6 + 2] = 8;
  const mx = await gradOf(mk('GlobalMaxPool', 13), { x: { ...x, data: xs } }, ['x'], 'y', W);
  const g = mx.grads.get('x')!;
  assert.equal(g[1], W[0] / 2);
  assert.equal(g[4], W[0] / 2);
  assert.equal(g[8], W[1]);
  for (let c = 0; c < 6; c++) {
    const block = g.slice(c * 6, c * 6 + 6);
    assert.equal(block.filter((v) => v !== 0).length, c === 0 ? 2 : 1, `channel ${c}`);
    assert.equal(
      block.reduce((a, b) => a + b, 0),
      W[c],
    );
  }
});

test('float32 models: Transpose/Slice/Gather/Pad chain in single precision', async () => {
  const b = new GraphBuilder('chain32', 13);
  b.input('x', [4, 6], F);
  const t = b.node('Transpose', ['x']);
  const s = b.node('Slice', [
    t,
    b.initInt64('st', [1], [5]),
    b.initInt64('en', [1], [0]),
    b.initInt64('ax', [1], [0]),
    b.initInt64('sp', [1], [-2]),
  ]);
  const g = b.node('Gather', [s, b.initInt64('i', [3], [0, 3, 0])], { axis: 1 });
  b.node('Pad', [g, b.initInt64('p', [4], [1, 0, 0, 2])], {}, { outputs: ['y'] });
  b.output('y');
  const x = randomFeed([4, 6], 7);
  const fd = await gradCheck(b.build(), { inputs: { x }, wrt: ['x'], what: 'chain32' });
  assert.ok(fd.worst < 1e-3);
  await exactAdjoint(b.build(), { x }, ['x'], 'chain32');
});

test('Pad with mode reflect is refused with a clear error', async () => {
  const b = new GraphBuilder('reflect', 13);
  b.input('x', [3, 4], D);
  b.node('Pad', ['x', b.initInt64('p', [4], [0, 1, 0, 1])], { mode: 'reflect' }, { outputs: ['y'] });
  b.output('y', null, D);
  await assert.rejects(gradCheck(b.build(), { inputs: { x: f64([3, 4]) }, wrt: ['x'] }), /mode 'reflect'/);
});
