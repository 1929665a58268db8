// Issue 13: weights stored as Constant nodes (Paddle and other exporters) are parameters, and Constant rows stay
// out of the layer listing unless asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { make, onnx } from '../src/engine/onnx/proto';
import { GraphBuilder } from '../src/engine/onnx/builder';
import { float32Tensor, int64Tensor } from '../src/engine/onnx/tensor';
import { listLayers } from '../src/engine/onnx/layers';

const A = onnx.AttributeProto.AttributeType;
const constant = (name: string, t: ReturnType<typeof float32Tensor>) =>
  make.node({
    name,
    opType: 'Constant',
    output: [`${name}_out`],
    attribute: [make.attribute({ name: 'value', type: A.TENSOR, t })],
  });

test('Constant weights are parameters (once if shared), shape constants not; Constant rows hidden by default', () => {
  const g = new GraphBuilder('paddle-like', 13, 1);
  g.input('x', ['N', 2, 4, 4]);
  g.node('Conv', ['x', 'w_out', 'b_out'], { pads: [1, 1, 1, 1] }, { name: 'conv2d_0', outputs: ['c'] });
  g.node('Conv', ['c', 'w2_out'], { pads: [1, 1, 1, 1] }, { name: 'conv2d_1', outputs: ['c2'] });
  g.node('Add', ['c2', 'b_out'], {}, { name: 'add_0', outputs: ['s'] }); // b shared with conv2d_0
  g.node('Reshape', ['s', 'shape_out'], {}, { name: 'reshape_0', outputs: ['y'] });
  g.output('y', ['N', 48]);
  const m = g.build();
  m.graph!.node.unshift(
    constant('w', float32Tensor('', [3, 2, 3, 3], new Float32Array(54))),
    constant('b', float32Tensor('', [3], new Float32Array(3))),
    constant('w2', float32Tensor('', [3, 3, 3, 3], new Float32Array(81))),
    constant('shape', int64Tensor('', [2], [-1, 48])),
  );
  const s = listLayers(m);
  assert.deepEqual(
    s.layers.map((l) => [l.name, l.params]),
    [
      ['conv2d_0', 57],
      ['conv2d_1', 81],
      ['add_0', 3],
      ['reshape_0', 0],
    ],
  );
  assert.equal(s.totalParams, 54 + 3 + 81, 'each Constant weight once; the int64 shape is not a parameter');
  assert.deepEqual(s.layers[0].inputs, ['x'], 'Constant weights are not activations feeding the node');
  const all = listLayers(m, undefined, { constants: true });
  assert.deepEqual(
    all.layers.filter((l) => l.op === 'Constant').map((l) => l.name),
    ['w', 'b', 'w2', 'shape'],
  );
});
