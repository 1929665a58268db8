// Issue 13: the default layers are the main path's block outputs — residual-branch and squeeze-and-excitation
// internals are left out, a global ReduceMean pool is kept — with and without PyTorch module paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../src/engine/onnx/builder';
import type { ModelProto } from '../src/engine/onnx/proto';
import { listLayers } from '../src/engine/onnx/layers';
import { activationTaps, defaultTaps, mainPathTensors } from '../src/engine/onnx/mainpath';

/**
 * stem (conv → relu) → block0 (residual: conv → relu → conv, + skip → Add → relu) → block1 (squeeze-and-excitation:
 * conv → relu → gate = sigmoid(conv(relu(conv(mean(x))))) → Mul) → x.mean((2, 3)) at the root → flatten by a Reshape
 * computed from Shape (as exporters write view(x.size(0), -1)) → fc → y.
 * With `scoped`, node names carry torch's module scopes (/block0/conv1/Conv …).
 */
function model(scoped: boolean): ModelProto {
  const g = new GraphBuilder('net', 13, 5);
  const name = (scope: string, op: string, k = '') =>
    scoped ? `/${scope.split('.').join('/')}/${op}${k}` : `${op}_${scope}${k}`;
  const conv = (x: string, cin: number, cout: number, scope: string, k1 = 3) =>
    g.node(
      'Conv',
      [x, g.randomInit(`${scope}.w`, [cout, cin, k1, k1]), g.randomInit(`${scope}.b`, [cout])],
      k1 === 3 ? { pads: [1, 1, 1, 1] } : {},
      { name: name(scope, 'Conv') },
    );
  const x = g.input('x', ['N', 2, 6, 6]);
  const stem = g.node('Relu', [conv(x, 2, 4, 'stem.conv')], {}, { name: name('stem.relu', 'Relu') });
  // block0: residual
  const r1 = g.node('Relu', [conv(stem, 4, 4, 'block0.conv1')], {}, { name: name('block0.relu', 'Relu') });
  const add = g.node('Add', [conv(r1, 4, 4, 'block0.conv2'), stem], {}, { name: name('block0', 'Add') });
  const b0 = g.node('Relu', [add], {}, { name: name('block0.relu', 'Relu', '_1') });
  // block1: squeeze-and-excitation
  const h = g.node('Relu', [conv(b0, 4, 4, 'block1.conv')], {}, { name: name('block1.relu', 'Relu') });
  const sq = g.node('ReduceMean', [h], { axes: [2, 3], keepdims: 1 }, { name: name('block1.se.pool', 'ReduceMean') });
  const ex = g.node('Relu', [conv(sq, 4, 2, 'block1.se.fc1', 1)], {}, { name: name('block1.se.relu', 'Relu') });
  const gate = g.node('Sigmoid', [conv(ex, 2, 4, 'block1.se.fc2', 1)], {}, { name: name('block1.se.gate', 'Sigmoid') });
  const b1 = g.node('Mul', [h, gate], {}, { name: name('block1', 'Mul') });
  // root: global mean pool written in forward(), then a Shape-computed flatten
  const pooled = g.node(
    'ReduceMean',
    [b1],
    { axes: [2, 3], keepdims: 0 },
    { name: scoped ? '/ReduceMean' : 'ReduceMean_root' },
  );
  const shape = g.node('Shape', [pooled], {}, { name: scoped ? '/Shape' : 'Shape_root' });
  const n = g.node(
    'Gather',
    [shape, g.initInt64('zero', [1], [0])],
    { axis: 0 },
    { name: scoped ? '/Gather' : 'Gather_root' },
  );
  const target = g.node(
    'Concat',
    [n, g.initInt64('minus1', [1], [-1])],
    { axis: 0 },
    { name: scoped ? '/Concat' : 'Concat_root' },
  );
  const flat = g.node('Reshape', [pooled, target], {}, { name: scoped ? '/Reshape' : 'Reshape_root' });
  g.node(
    'Gemm',
    [flat, g.randomInit('fc.w', [3, 4]), g.randomInit('fc.b', [3])],
    { transB: 1 },
    { name: name('fc', 'Gemm'), outputs: ['y'] },
  );
  g.output('y', ['N', 3]);
  return g.build();
}

const byName = (m: ModelProto) => new Map(m.graph!.node.map((n) => [n.output[0], n.name]));

test('main-path tensors: block outputs are, branch/gate internals not; shape computations do not break a cut', () => {
  const m = model(false);
  const cuts = [...mainPathTensors(m)].map((t) => byName(m).get(t));
  assert.ok(
    cuts.includes('Relu_stem.relu') &&
      cuts.includes('Add_block0') &&
      cuts.includes('Relu_block0.relu_1') &&
      cuts.includes('Mul_block1'),
  );
  assert.ok(
    cuts.includes('ReduceMean_root') && cuts.includes('Reshape_root'),
    'the Shape → Gather → Concat path does not keep the pooled tensor alive',
  );
  for (const inside of [
    'Relu_block0.relu',
    'Conv_block0.conv2',
    'ReduceMean_block1.se.pool',
    'Relu_block1.se.relu',
    'Sigmoid_block1.se.gate',
  ])
    assert.ok(!cuts.includes(inside), inside);
});

test('taps without module paths: main-path activations, pools, merges; a merge just before its activation: out', () => {
  const m = model(false);
  const taps = defaultTaps(m, listLayers(m).layers);
  assert.deepEqual(
    taps.map((t) => byName(m).get(t.tensor)),
    ['Relu_stem.relu', 'Relu_block0.relu_1', 'Relu_block1.relu', 'ReduceMean_root', 'Gemm_fc'],
  );
  // The full selection keeps every activation and pool, gate internals included.
  assert.equal(activationTaps(listLayers(m).layers, ['y']).length, 9);
});

test('default taps with module paths: one tap per block, labelled by the block, plus the root pool and output', () => {
  const m = model(true);
  const taps = defaultTaps(m, listLayers(m).layers);
  assert.deepEqual(
    taps.map((t) => [byName(m).get(t.tensor), t.block]),
    [
      ['/stem/relu/Relu', 'stem'],
      ['/block0/relu/Relu_1', 'block0'],
      ['/block1/Mul', 'block1'],
      ['/ReduceMean', null],
      ['/fc/Gemm', 'fc'],
    ],
  );
});

test('rule 4: a Linear followed by a Hardswish written as x · HardSigmoid(x) gives one tap, not two', () => {
  // classifier = Sequential(Linear, Hardswish, Linear) as mobilenet_v3 exports it at opset 13: classifier.0 (Gemm) →
  // classifier.1 (HardSigmoid, Mul) → classifier.2 (Gemm). The Gemm's output only feeds the hardswish: dropped.
  const g = new GraphBuilder('head', 13, 5);
  const x = g.input('x', ['N', 4]);
  const fc0 = g.node(
    'Gemm',
    [x, g.randomInit('c0.w', [6, 4]), g.randomInit('c0.b', [6])],
    { transB: 1 },
    { name: '/classifier/classifier.0/Gemm' },
  );
  const hs = g.node('HardSigmoid', [fc0], { alpha: 1 / 6 }, { name: '/classifier/classifier.1/HardSigmoid' });
  const act = g.node('Mul', [fc0, hs], {}, { name: '/classifier/classifier.1/Mul' });
  g.node(
    'Gemm',
    [act, g.randomInit('c2.w', [3, 6]), g.randomInit('c2.b', [3])],
    { transB: 1 },
    { name: '/classifier/classifier.2/Gemm', outputs: ['y'] },
  );
  g.output('y', ['N', 3]);
  const m = g.build();
  const taps = defaultTaps(m, listLayers(m).layers);
  assert.deepEqual(
    taps.map((t) => [byName(m).get(t.tensor), t.block]),
    [
      ['/classifier/classifier.1/Mul', 'classifier.1'],
      ['/classifier/classifier.2/Gemm', 'classifier.2'],
    ],
  );
});

test('rule 4 keeps a tap if the next one is not a pointwise function of it (a Conv between or a second branch)', () => {
  const g = new GraphBuilder('two', 13, 5);
  const x = g.input('x', ['N', 4]);
  const a = g.node('Relu', [x], {}, { name: 'Relu_a' });
  const b = g.node(
    'Gemm',
    [a, g.randomInit('w', [4, 4]), g.randomInit('bias', [4])],
    { transB: 1 },
    { name: 'Gemm_b' },
  );
  const c = g.node('Relu', [b], {}, { name: 'Relu_c' });
  g.node('Mul', [c, a], {}, { name: 'Mul_d', outputs: ['y'] });
  g.output('y', ['N', 4]);
  const m = g.build();
  const taps = defaultTaps(m, listLayers(m).layers);
  assert.deepEqual(
    taps.map((t) => byName(m).get(t.tensor)),
    ['Relu_a', 'Mul_d'],
  );
});
