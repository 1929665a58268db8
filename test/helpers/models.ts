// Small deterministic ONNX models for tests, each with the float64 reference of every tensor computed by
// test/helpers/reference.ts.
import { GraphBuilder, float, rng } from '../../src/engine/onnx/builder';
import type { ModelProto } from '../../src/engine/onnx/proto';
import * as R from './reference';

export interface RefModel {
  model: ModelProto;
  input: string;
  inputShape: number[];
  /** Reference activations by tensor name for `x`. */
  reference(x: Float32Array): Map<string, R.T>;
  /** Tensor names by role. */
  names: Record<string, string>;
}

/**
 * x[N,4,9,9] → conv_a (3x3, pads 1 1 2 0 asymmetric, stride 1, groups 2, bias) → bn → relu
 * relu ─┬→ conv_b (3x3 dil 2 pad 2) → add(res) → relu2
 *       └────────────────────────────┘
 * relu2 → maxpool(3, stride 2, pads 1) ; relu2 → avgpool(3, stride 2, count_include_pad=1, pads 1) ;
 * concat(axis 1) of the two
 * → conv_s (1x1 stride 2) → globalavgpool → flatten → gemm(transB, alpha 0.5, beta 2) → logits[N,5]
 */
export function zooModel(opset = 13): RefModel {
  const r = rng(42);
  const rand = (n: number, s = 0.5, off = 0) => Float32Array.from({ length: n }, () => off + (r() * 2 - 1) * s);
  const b = new GraphBuilder('zoo', opset, 7);
  const x = b.input('x', ['batch', 4, 9, 9]);
  const W = {
    wa: rand(6 * 2 * 3 * 3),
    ba: rand(6),
    scale: rand(6, 0.3, 1),
    bias: rand(6, 0.2),
    mean: rand(6, 0.1),
    var: rand(6, 0.2, 0.8),
    wb: rand(6 * 6 * 3 * 3, 0.2),
    ws: rand(4 * 12, 0.4),
    bs: rand(4),
    wg: rand(5 * 4),
    bg: rand(5),
  };
  b.init('wa', [6, 2, 3, 3], W.wa);
  b.init('ba', [6], W.ba);
  b.init('bn.scale', [6], W.scale);
  b.init('bn.bias', [6], W.bias);
  b.init('bn.mean', [6], W.mean);
  b.init('bn.var', [6], W.var);
  b.init('wb', [6, 6, 3, 3], W.wb);
  b.init('ws', [4, 12, 1, 1], W.ws);
  b.init('bs', [4], W.bs);
  b.init('fc.weight', [5, 4], W.wg);
  b.init('fc.bias', [5], W.bg);
  const ca = b.node(
    'Conv',
    [x, 'wa', 'ba'],
    { kernel_shape: [3, 3], pads: [1, 1, 2, 0], group: 2 },
    { name: '/block/conv_a/Conv' },
  );
  const bn = b.node(
    'BatchNormalization',
    [ca, 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var'],
    { epsilon: float(1e-5) },
    { name: '/block/bn/BatchNormalization' },
  );
  const r1 = b.node('Relu', [bn], {}, { name: '/block/relu/Relu' });
  const cb = b.node(
    'Conv',
    [r1, 'wb'],
    { kernel_shape: [3, 3], pads: [2, 2, 2, 2], dilations: [2, 2] },
    { name: '/block/conv_b/Conv' },
  );
  const ad = b.node('Add', [cb, r1], {}, { name: '/block/Add' });
  const r2 = b.node('Relu', [ad], {}, { name: '/block/relu_1/Relu' });
  const mp = b.node(
    'MaxPool',
    [r2],
    { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    { name: '/pool/MaxPool' },
  );
  const ap = b.node(
    'AveragePool',
    [r2],
    { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 },
    { name: '/avg/AveragePool' },
  );
  const cc = b.node('Concat', [mp, ap], { axis: 1 }, { name: '/Concat' });
  const cs = b.node('Conv', [cc, 'ws', 'bs'], { kernel_shape: [1, 1], strides: [2, 2] }, { name: '/head/conv_s/Conv' });
  const gp = b.node('GlobalAveragePool', [cs], {}, { name: '/head/GlobalAveragePool' });
  const fl = b.node('Flatten', [gp], { axis: 1 }, { name: '/Flatten' });
  b.node(
    'Gemm',
    [fl, 'fc.weight', 'fc.bias'],
    { transB: 1, alpha: float(0.5), beta: float(2) },
    { name: '/fc/Gemm', outputs: ['logits'] },
  );
  b.output('logits', ['batch', 5]);
  const model = b.build();
  const T = (shape: number[], d: Float32Array) => R.t(shape, d);
  return {
    model,
    input: x,
    inputShape: [4, 9, 9],
    names: { ca, bn, r1, cb, ad, r2, mp, ap, cc, cs, gp, fl, logits: 'logits' },
    reference(xd: Float32Array) {
      const n = xd.length / (4 * 81);
      const X = T([n, 4, 9, 9], xd);
      const m = new Map<string, R.T>();
      const A = R.conv(X, T([6, 2, 3, 3], W.wa), T([6], W.ba), { pads: [1, 1, 2, 0], group: 2 });
      m.set(ca, A);
      const B = R.batchNorm(A, T([6], W.scale), T([6], W.bias), T([6], W.mean), T([6], W.var));
      m.set(bn, B);
      const R1 = R.relu(B);
      m.set(r1, R1);
      const CB = R.conv(R1, T([6, 6, 3, 3], W.wb), null, { pads: [2, 2, 2, 2], dilations: [2, 2] });
      m.set(cb, CB);
      const AD = R.add(CB, R1);
      m.set(ad, AD);
      const R2 = R.relu(AD);
      m.set(r2, R2);
      const MP = R.pool('max', R2, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
      m.set(mp, MP);
      const AP = R.pool('avg', R2, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], countIncludePad: true });
      m.set(ap, AP);
      const CC = R.concat([MP, AP], 1);
      m.set(cc, CC);
      const CS = R.conv(CC, T([4, 12, 1, 1], W.ws), T([4], W.bs), { strides: [2, 2] });
      m.set(cs, CS);
      const GP = R.globalAvg(CS);
      m.set(gp, { shape: [n, 4, 1, 1], data: GP.data });
      const FL = R.flatten(GP);
      m.set(fl, FL);
      m.set('logits', R.gemm(FL, T([5, 4], W.wg), T([5], W.bg), { transB: true, alpha: 0.5, beta: 2 }));
      return m;
    },
  };
}

export function randomInput(n: number, shape: number[], seed = 3): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
}
