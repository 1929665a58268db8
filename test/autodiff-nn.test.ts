// Gradient rules of the nn family (Conv, ConvTranspose, Gemm, MatMul, MaxPool, AveragePool, BatchNormalization)
// against central finite differences, at opsets 11–21, for input, weight and bias.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, float, rng, type AttrValue } from '../src/engine/onnx/builder';
import { gradCheck, randomFeed } from './helpers/gradcheck';
import type { Feed } from '../src/engine/runtime/session';
import { convGradPaths } from '../src/engine/autodiff/rules/nn';

const D = 11;
const worst: Record<string, number> = {};

/** Distinct values spaced 0.05 apart in random order (no near-ties for max pooling under h = 1e-2). */
function distinctFeed(dims: number[], seed: number): Feed {
  const n = dims.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return { data: Float32Array.from(v), dims, type: 'float32' };
}

interface Case {
  what: string;
  opset: number;
  op: string;
  x: number[];
  /** Initializer operands after x: name → dims. */
  inits?: [string, number[]][];
  attrs?: Record<string, AttrValue>;
  outputs?: number;
  wrt?: string[];
  xFeed?: Feed;
  elemType?: number;
}

async function run(c: Case) {
  const b = new GraphBuilder(c.what, c.opset, 7);
  const et = c.elemType ?? 1;
  b.input('x', c.x, et);
  // Weights are graph inputs (fed), so the check covers them exactly like x.
  const feeds: Record<string, Feed> = {};
  (c.inits ?? []).forEach(([name, dims], i) => {
    b.input(name, dims, et);
    feeds[name] = randomFeed(dims, 100 + i * 17 + dims[0], et === D ? 'float64' : 'float32');
  });
  const outs = Array.from({ length: c.outputs ?? 1 }, (_, i) => (i ? `aux${i}` : 'y'));
  b.node(c.op, ['x', ...(c.inits ?? []).map(([n]) => n)], c.attrs ?? {}, { outputs: outs });
  b.output('y', null, et);
  const x = c.xFeed ?? randomFeed(c.x, c.x.length * 31 + c.x[0], et === D ? 'float64' : 'float32');
  const wrt = c.wrt ?? ['x', ...(c.inits ?? []).map(([n]) => n)];
  const r = await gradCheck(b.build(), { inputs: { x, ...feeds }, wrt, what: c.what, coords: 24 });
  worst[c.op] = Math.max(worst[c.op] ?? 0, r.worst);
  return r;
}

// ---------------------------------------------------------------- Conv

const convCases: Case[] = [
  {
    what: 'conv groups=1 pad 1',
    opset: 13,
    op: 'Conv',
    x: [2, 3, 7, 6],
    inits: [
      ['W', [4, 3, 3, 3]],
      ['B', [4]],
    ],
    attrs: { pads: [1, 1, 1, 1] },
  },
  {
    what: 'conv groups=2',
    opset: 11,
    op: 'Conv',
    x: [2, 4, 6, 5],
    inits: [
      ['W', [6, 2, 3, 3]],
      ['B', [6]],
    ],
    attrs: { group: 2 },
  },
  {
    what: 'conv depthwise stride 2 pad 1',
    opset: 17,
    op: 'Conv',
    x: [1, 4, 6, 6],
    inits: [
      ['W', [4, 1, 3, 3]],
      ['B', [4]],
    ],
    attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    what: 'conv dilation 2',
    opset: 21,
    op: 'Conv',
    x: [1, 2, 9, 8],
    inits: [
      ['W', [3, 2, 3, 3]],
      ['B', [3]],
    ],
    attrs: { dilations: [2, 2], pads: [2, 1, 2, 1] },
  },
  {
    what: 'conv stride 2',
    opset: 13,
    op: 'Conv',
    x: [2, 2, 8, 7],
    inits: [
      ['W', [3, 2, 3, 3]],
      ['B', [3]],
    ],
    attrs: { strides: [2, 2] },
  },
  {
    what: 'conv asymmetric pads [0,1,1,2]',
    opset: 13,
    op: 'Conv',
    x: [1, 2, 6, 7],
    inits: [
      ['W', [2, 2, 3, 3]],
      ['B', [2]],
    ],
    attrs: { pads: [0, 1, 1, 2] },
  },
  {
    what: 'conv SAME_UPPER stride 2',
    opset: 11,
    op: 'Conv',
    x: [1, 2, 7, 8],
    inits: [
      ['W', [3, 2, 3, 3]],
      ['B', [3]],
    ],
    attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] },
  },
  {
    what: 'conv SAME_LOWER stride 2',
    opset: 13,
    op: 'Conv',
    x: [1, 2, 7, 8],
    inits: [
      ['W', [3, 2, 4, 3]],
      ['B', [3]],
    ],
    attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] },
  },
  {
    what: 'conv VALID',
    opset: 13,
    op: 'Conv',
    x: [1, 2, 6, 5],
    inits: [['W', [2, 2, 2, 3]]],
    attrs: { auto_pad: 'VALID' },
  },
  {
    what: 'conv kernel 1x3',
    opset: 13,
    op: 'Conv',
    x: [2, 2, 5, 6],
    inits: [
      ['W', [3, 2, 1, 3]],
      ['B', [3]],
    ],
    attrs: { kernel_shape: [1, 3], pads: [0, 1, 0, 1] },
  },
  {
    what: 'conv kernel 3x1 stride [1,2]',
    opset: 17,
    op: 'Conv',
    x: [2, 2, 6, 5],
    inits: [
      ['W', [3, 2, 3, 1]],
      ['B', [3]],
    ],
    attrs: { kernel_shape: [3, 1], strides: [1, 2] },
  },
  {
    what: 'conv remainder (stride 3, dilation 2, grouped)',
    opset: 13,
    op: 'Conv',
    x: [2, 4, 11, 10],
    inits: [
      ['W', [4, 2, 3, 2]],
      ['B', [4]],
    ],
    attrs: { strides: [3, 2], dilations: [2, 2], pads: [1, 0, 0, 1], group: 2 },
  },
  {
    what: 'conv stride 2 remainder',
    opset: 11,
    op: 'Conv',
    x: [1, 3, 8, 9],
    inits: [
      ['W', [2, 3, 3, 3]],
      ['B', [2]],
    ],
    attrs: { strides: [2, 2] },
  },
  {
    what: 'conv 1-D',
    opset: 13,
    op: 'Conv',
    x: [2, 3, 10],
    inits: [
      ['W', [4, 3, 3]],
      ['B', [4]],
    ],
    attrs: { strides: [2], pads: [1, 0] },
  },
  {
    what: 'conv 1-D dilated depthwise',
    opset: 18,
    op: 'Conv',
    x: [2, 3, 12],
    inits: [['W', [3, 1, 3]]],
    attrs: { group: 3, dilations: [3], pads: [2, 2] },
  },
];

// Extra shapes for the GEMM weight gradient and the input-gradient Conv (wide enough that 'auto' picks them).
const convWideCases: Case[] = [
  {
    what: 'conv wide 8→8 pad 1',
    opset: 13,
    op: 'Conv',
    x: [4, 8, 6, 5],
    inits: [
      ['W', [8, 8, 3, 3]],
      ['B', [8]],
    ],
    attrs: { pads: [1, 1, 1, 1] },
  },
  {
    what: 'conv wide stride 2 pad 1',
    opset: 13,
    op: 'Conv',
    x: [4, 8, 7, 8],
    inits: [['W', [8, 8, 3, 3]]],
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    what: 'conv wide groups 2 asymmetric kernel 2x3 pads [1,0,0,2]',
    opset: 11,
    op: 'Conv',
    x: [2, 16, 5, 6],
    inits: [
      ['W', [16, 8, 2, 3]],
      ['B', [16]],
    ],
    attrs: { group: 2, pads: [1, 0, 0, 2] },
  },
  {
    what: 'conv wide dilation [2,1] asymmetric pads [2,0,1,1]',
    opset: 17,
    op: 'Conv',
    x: [2, 8, 8, 6],
    inits: [['W', [8, 8, 3, 2]]],
    attrs: { dilations: [2, 1], pads: [2, 0, 1, 1] },
  },
  {
    what: 'conv wide stride [1,2] dilation 2 groups 2',
    opset: 13,
    op: 'Conv',
    x: [4, 16, 9, 10],
    inits: [['W', [16, 8, 3, 3]]],
    attrs: { strides: [1, 2], dilations: [2, 2], pads: [1, 2, 2, 1], group: 2 },
  },
  {
    what: 'conv pads beyond the kernel extent (input-grad Conv falls back)',
    opset: 13,
    op: 'Conv',
    x: [2, 8, 4, 4],
    inits: [['W', [8, 8, 3, 3]]],
    attrs: { pads: [3, 1, 1, 3] },
  },
  {
    what: 'conv wide 1-D stride 1 pads [2,0]',
    opset: 13,
    op: 'Conv',
    x: [8, 8, 12],
    inits: [
      ['W', [8, 8, 3]],
      ['B', [8]],
    ],
    attrs: { pads: [2, 0] },
  },
  {
    what: 'conv wide 3-D',
    opset: 13,
    op: 'Conv',
    x: [2, 8, 4, 5, 4],
    inits: [['W', [8, 8, 2, 3, 2]]],
    attrs: { pads: [1, 1, 0, 0, 1, 1] },
  },
  {
    what: 'conv wide depthwise stride 1 pad 1',
    opset: 13,
    op: 'Conv',
    x: [2, 8, 6, 6],
    inits: [
      ['W', [8, 1, 3, 3]],
      ['B', [8]],
    ],
    attrs: { group: 8, pads: [1, 1, 1, 1] },
  },
  {
    what: 'conv channel multiplier 2 (groups = C)',
    opset: 13,
    op: 'Conv',
    x: [2, 4, 6, 5],
    inits: [['W', [8, 1, 3, 3]]],
    attrs: { group: 4, pads: [1, 1, 1, 1] },
  },
  { what: 'conv 1x1 kernel', opset: 13, op: 'Conv', x: [4, 8, 5, 5], inits: [['W', [8, 8, 1, 1]]] },
];

for (const c of [...convCases, ...convWideCases])
  test(`Conv: ${c.what}`, async () => {
    await run(c);
  });

// Every case again with each construction forced: GEMM / transposed-tensor-trick weight gradient, Conv /
// ConvTranspose input gradient (the Conv form only applies at stride 1 and non-negative derived pads).
// The second forced run also compares every gradient element against the first (not just the sampled coordinates).
const forced: [typeof convGradPaths.weight, typeof convGradPaths.input][] = [
  ['gemm', 'conv'],
  ['window', 'convTranspose'],
];
const forcedGrads = new Map<string, Map<string, Float32Array | Float64Array>>();
for (const [weight, input] of forced) {
  test(`Conv (forced weight=${weight}, input=${input}): every case`, async () => {
    Object.assign(convGradPaths, { weight, input });
    try {
      for (const c of [...convCases, ...convWideCases]) {
        const r = await run({ ...c, what: `${c.what} [${weight}/${input}]` });
        const ops = new Set(r.gm.proto.graph!.node.map((n) => n.opType));
        const stride1 = !((c.attrs?.strides as number[] | undefined) ?? []).some((v) => v !== 1);
        assert.equal(ops.has('MatMul'), weight === 'gemm', `${c.what}: MatMul in the backward graph`);
        if (input === 'convTranspose' || !stride1)
          assert.ok(ops.has('ConvTranspose'), `${c.what}: ConvTranspose expected`);
        else if (!c.what.includes('falls back'))
          assert.ok(!ops.has('ConvTranspose'), `${c.what}: no ConvTranspose expected`);
        else assert.ok(ops.has('ConvTranspose'), `${c.what}: fallback ConvTranspose expected`);
        const other = forcedGrads.get(c.what);
        if (!other) {
          forcedGrads.set(c.what, r.grads);
          continue;
        }
        for (const [name, g] of r.grads) {
          const h = other.get(name)!;
          let scale = 1e-6,
            diff = 0;
          for (let i = 0; i < g.length; i++) {
            scale = Math.max(scale, Math.abs(h[i]));
            diff = Math.max(diff, Math.abs(g[i] - h[i]));
          }
          assert.ok(
            diff <= 1e-5 * scale,
            `${c.what}: d/d${name} differs between the forced paths by ${diff} (scale ${scale})`,
          );
        }
      }
    } finally {
      Object.assign(convGradPaths, { weight: 'auto', input: 'auto' });
    }
  });
}

test('Conv: auto path (GEMM for wide groups, window for depthwise; Conv input grad unless few channels)', async () => {
  const ops = async (c: Case) => new Set((await run(c)).gm.proto.graph!.node.map((n) => n.opType));
  const wide = await ops(convWideCases[0]);
  assert.ok(wide.has('MatMul') && !wide.has('ConvTranspose'));
  const dw = await ops(convWideCases[8]);
  assert.ok(!dw.has('MatMul') && !dw.has('ConvTranspose'));
  const narrow = await ops(convCases[0]); // C = 3: ConvTranspose input gradient, window weight gradient (3·4 < 64)
  assert.ok(narrow.has('ConvTranspose') && !narrow.has('MatMul'));
});

// ---------------------------------------------------------------- ConvTranspose

const ctCases: Case[] = [
  {
    what: 'convT stride 2 output_padding 1',
    opset: 13,
    op: 'ConvTranspose',
    x: [2, 3, 4, 5],
    inits: [
      ['W', [3, 2, 3, 3]],
      ['B', [2]],
    ],
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] },
  },
  {
    what: 'convT groups 2 dilation',
    opset: 11,
    op: 'ConvTranspose',
    x: [1, 4, 3, 4],
    inits: [
      ['W', [4, 3, 3, 2]],
      ['B', [6]],
    ],
    attrs: { group: 2, strides: [2, 1], dilations: [1, 2] },
  },
  {
    what: 'convT asymmetric pads',
    opset: 17,
    op: 'ConvTranspose',
    x: [2, 2, 4, 3],
    inits: [['W', [2, 3, 3, 3]]],
    attrs: { strides: [2, 3], pads: [0, 2, 1, 1], output_padding: [1, 2] },
  },
  {
    what: 'convT output_shape',
    opset: 13,
    op: 'ConvTranspose',
    x: [1, 2, 3, 3],
    inits: [['W', [2, 2, 3, 3]]],
    attrs: { strides: [2, 2], output_shape: [6, 7] },
  },
  {
    what: 'convT output_shape SAME_UPPER',
    opset: 13,
    op: 'ConvTranspose',
    x: [1, 2, 3, 3],
    inits: [['W', [2, 2, 3, 3]]],
    attrs: { strides: [2, 2], output_shape: [6, 7], auto_pad: 'SAME_UPPER' },
  },
  {
    what: 'convT auto_pad SAME_UPPER',
    opset: 11,
    op: 'ConvTranspose',
    x: [1, 2, 3, 4],
    inits: [['W', [2, 2, 3, 4]]],
    attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' },
  },
  {
    what: 'convT auto_pad SAME_LOWER',
    opset: 17,
    op: 'ConvTranspose',
    x: [1, 2, 3, 4],
    inits: [['W', [2, 2, 3, 4]]],
    attrs: { strides: [2, 2], auto_pad: 'SAME_LOWER' },
  },
  {
    what: 'convT 1-D',
    opset: 13,
    op: 'ConvTranspose',
    x: [2, 3, 5],
    inits: [
      ['W', [3, 2, 4]],
      ['B', [2]],
    ],
    attrs: { strides: [3], pads: [1, 2] },
  },
];
for (const c of ctCases)
  test(`ConvTranspose: ${c.what}`, async () => {
    await run(c);
  });

// ---------------------------------------------------------------- Gemm

test('Gemm: every transA/transB with alpha/beta and C of shapes (M,N), (N,), scalar', async () => {
  const M = 3,
    K = 4,
    N = 5;
  let i = 0;
  for (const tA of [0, 1])
    for (const tB of [0, 1])
      for (const cShape of [[M, N], [N], []]) {
        const alpha = [1, 0.7, -1.5][i % 3],
          beta = [1.3, 1, 0.5][(i + tB) % 3];
        const opset = [11, 13, 17, 21][i % 4];
        i++;
        const b = new GraphBuilder('gemm', opset, i);
        b.input('x', tA ? [K, M] : [M, K]);
        b.input('Bw', tB ? [N, K] : [K, N]);
        b.input('C', cShape);
        b.node(
          'Gemm',
          ['x', 'Bw', 'C'],
          { transA: tA, transB: tB, alpha: float(alpha), beta: float(beta) },
          { outputs: ['y'] },
        );
        b.output('y');
        const r = await gradCheck(b.build(), {
          inputs: {
            x: randomFeed(tA ? [K, M] : [M, K], i),
            Bw: randomFeed(tB ? [N, K] : [K, N], i + 50),
            C: randomFeed(cShape, i + 99),
          },
          wrt: ['x', 'Bw', 'C'],
          what: `gemm tA=${tA} tB=${tB} C=(${cShape.join(',')})`,
        });
        worst.Gemm = Math.max(worst.Gemm ?? 0, r.worst);
      }
});

test('Gemm: double precision, no C', async () => {
  const b = new GraphBuilder('gemm64', 13);
  b.input('x', [3, 4], D);
  b.input('w', [5, 4], D);
  b.node('Gemm', ['x', 'w'], { transB: 1, alpha: float(0.5) }, { outputs: ['y'] });
  b.output('y', null, D);
  const r = await gradCheck(b.build(), {
    inputs: { x: randomFeed([3, 4], 1, 'float64'), w: randomFeed([5, 4], 2, 'float64') },
    wrt: ['x', 'w'],
    what: 'gemm f64',
  });
  assert.ok(r.worst < 1e-6);
});

// ---------------------------------------------------------------- MatMul

const mmCases: [string, number[], number[]][] = [
  ['2-D', [3, 4], [4, 5]],
  ['batched 3-D × 2-D', [2, 3, 4], [4, 5]],
  ['2-D × batched 3-D', [3, 4], [2, 4, 5]],
  ['broadcast 4-D × 3-D', [2, 1, 3, 4], [3, 4, 2]],
  ['1-D × 2-D', [4], [4, 5]],
  ['2-D × 1-D', [3, 4], [4]],
  ['1-D × 3-D', [4], [2, 4, 3]],
  ['1-D × 1-D', [4], [4]],
];
for (const [what, as, bs] of mmCases) {
  test(`MatMul: ${what}`, async () => {
    for (const opset of [11, 13]) {
      const b = new GraphBuilder('mm', opset, 3);
      b.input('x', as);
      b.input('w', bs);
      b.node('MatMul', ['x', 'w'], {}, { outputs: ['y'] });
      b.output('y');
      const r = await gradCheck(b.build(), {
        inputs: { x: randomFeed(as, 5), w: randomFeed(bs, 6) },
        wrt: ['x', 'w'],
        what: `matmul ${what}`,
      });
      worst.MatMul = Math.max(worst.MatMul ?? 0, r.worst);
    }
  });
}

// ---------------------------------------------------------------- pools

const poolCases: Case[] = [
  {
    what: 'maxpool 3x3 stride 2 pad 1 (overlapping)',
    opset: 13,
    op: 'MaxPool',
    x: [2, 3, 7, 8],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    what: 'maxpool 3x3 stride 1 (heavy overlap)',
    opset: 11,
    op: 'MaxPool',
    x: [1, 2, 6, 6],
    attrs: { kernel_shape: [3, 3] },
  },
  {
    what: 'maxpool ceil_mode',
    opset: 17,
    op: 'MaxPool',
    x: [1, 2, 7, 6],
    attrs: { kernel_shape: [3, 2], strides: [2, 2], ceil_mode: 1 },
  },
  {
    what: 'maxpool dilation 2',
    opset: 13,
    op: 'MaxPool',
    x: [1, 2, 9, 8],
    attrs: { kernel_shape: [2, 3], dilations: [2, 2], pads: [1, 0, 1, 1] },
  },
  {
    what: 'maxpool with Indices output',
    opset: 21,
    op: 'MaxPool',
    x: [2, 2, 6, 5],
    attrs: { kernel_shape: [2, 2], strides: [2, 1] },
    outputs: 2,
  },
  {
    what: 'maxpool SAME_UPPER',
    opset: 11,
    op: 'MaxPool',
    x: [1, 2, 7, 6],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' },
  },
  {
    what: 'maxpool 1-D',
    opset: 13,
    op: 'MaxPool',
    x: [2, 3, 11],
    attrs: { kernel_shape: [3], strides: [2], pads: [1, 1] },
  },
  {
    what: 'avgpool include_pad=0 pads',
    opset: 13,
    op: 'AveragePool',
    x: [2, 3, 7, 6],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    what: 'avgpool include_pad=1 pads',
    opset: 11,
    op: 'AveragePool',
    x: [2, 3, 7, 6],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 },
  },
  {
    what: 'avgpool ceil_mode include_pad=0',
    opset: 17,
    op: 'AveragePool',
    x: [1, 2, 7, 8],
    attrs: { kernel_shape: [3, 3], strides: [2, 3], pads: [0, 1, 1, 0], ceil_mode: 1 },
  },
  {
    what: 'avgpool ceil_mode include_pad=1',
    opset: 17,
    op: 'AveragePool',
    x: [1, 2, 7, 8],
    attrs: { kernel_shape: [3, 3], strides: [2, 3], pads: [0, 1, 1, 0], ceil_mode: 1, count_include_pad: 1 },
  },
  {
    what: 'avgpool no pads',
    opset: 13,
    op: 'AveragePool',
    x: [2, 2, 6, 6],
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
  },
  {
    what: 'avgpool 1-D include_pad=1',
    opset: 13,
    op: 'AveragePool',
    x: [2, 3, 9],
    attrs: { kernel_shape: [4], strides: [2], pads: [2, 1], count_include_pad: 1 },
  },
  {
    what: 'avgpool dilation (opset 19)',
    opset: 19,
    op: 'AveragePool',
    x: [1, 2, 9, 8],
    attrs: { kernel_shape: [2, 3], dilations: [2, 2], pads: [1, 1, 1, 1], strides: [2, 1] },
  },
];
for (const c of poolCases) {
  test(`${c.op}: ${c.what}`, async () => {
    await run({
      ...c,
      xFeed: distinctFeed(
        c.x,
        c.x.reduce((a, b) => a + b, 0),
      ),
    });
  });
}

// ---------------------------------------------------------------- BatchNormalization

/** Feeds of the BN parameters (var positive). */
function bnFeeds(C: number): Record<string, Feed> {
  return {
    scale: randomFeed([C], 21, 'float32', 0.3, 1.5),
    bias: randomFeed([C], 22),
    mean: randomFeed([C], 23, 'float32', -0.3, 0.3),
    var: randomFeed([C], 24, 'float32', 0.4, 1.2),
  };
}

function bnModel(opset: number, x: number[], attrs: Record<string, AttrValue>, outputs: number, et = 1) {
  const C = x[1];
  const b = new GraphBuilder('bn', opset, 4);
  b.input('x', x, et);
  for (const n of ['scale', 'bias', 'mean', 'var']) b.input(n, [C], et);
  const outs = Array.from({ length: outputs }, (_, i) => (i ? `aux${i}` : 'y'));
  b.node('BatchNormalization', ['x', 'scale', 'bias', 'mean', 'var'], attrs, { outputs: outs });
  b.output('y', null, et);
  return b.build();
}

for (const opset of [11, 14, 15, 21]) {
  test(`BatchNormalization inference: x, scale, bias, mean, var (opset ${opset})`, async () => {
    const r = await gradCheck(bnModel(opset, [2, 3, 4, 5], { epsilon: float(1e-3) }, 1), {
      inputs: { x: randomFeed([2, 3, 4, 5], 9), ...bnFeeds(3) },
      wrt: ['x', 'scale', 'bias', 'mean', 'var'],
      what: `bn inference ${opset}`,
    });
    worst.BatchNormalization = Math.max(worst.BatchNormalization ?? 0, r.worst);
  });
}

test('BatchNormalization inference on 2-D input', async () => {
  const r = await gradCheck(bnModel(13, [6, 4], {}, 1), {
    inputs: { x: randomFeed([6, 4], 9), ...bnFeeds(4) },
    wrt: ['x', 'scale', 'bias', 'mean', 'var'],
    what: 'bn 2-D',
  });
  worst.BatchNormalization = Math.max(worst.BatchNormalization ?? 0, r.worst);
});

test('BatchNormalization training form: training_mode=1 (opset 15) and 5 outputs (opset 11)', async () => {
  for (const [opset, attrs, outputs] of [
    [15, { training_mode: 1, epsilon: float(1e-2) }, 3],
    [14, { training_mode: 1 }, 3],
    [11, { epsilon: float(1e-2) }, 5],
  ] as [number, Record<string, AttrValue>, number][]) {
    const r = await gradCheck(bnModel(opset, [3, 2, 3, 4], attrs, outputs), {
      inputs: { x: randomFeed([3, 2, 3, 4], 19), ...bnFeeds(2) },
      wrt: ['x', 'scale', 'bias'],
      what: `bn training opset ${opset} (${outputs} outputs)`,
      coords: 24,
    });
    worst.BatchNormalization = Math.max(worst.BatchNormalization ?? 0, r.worst);
  }
});

test('summary of worst finite-difference errors', () => {
  console.log('worst relative FD error per op:', JSON.stringify(worst));
});
