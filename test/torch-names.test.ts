// Issue 13: module paths from both PyTorch exporters, and one naming scheme (tensor, node, module path, op:TYPE)
// wherever a tensor is named. torch's dynamo exporter (the default since torch 2.9) names nodes `node_relu_5` and
// records the module scope in each node's metadata as the repr() of a Python list of cumulative paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../src/engine/onnx/builder';
import { make, type ModelProto } from '../src/engine/onnx/proto';
import { encodeModel, decodeModel } from '../src/engine/onnx/model';
import { dynamoModulePath, listLayers, parsePythonStrings } from '../src/engine/onnx/layers';
import { expandTensorSelectors, moduleOutputs } from '../src/engine/capture/select';
import { zooModel } from './helpers/models';

/**
 * What torch.onnx.export(dynamo=True) gives for: conv1 → relu → layer1 (Sequential: 0 = Block(conv, relu),
 * 1 = Block(conv, relu)) → pool (ReduceMean) → fc. The name scopes end with the FX node's own name.
 */
function dynamoModel(): ModelProto {
  const g = new GraphBuilder('main_graph', 18, 3);
  const x = g.input('x', ['batch', 2, 6, 6]);
  const scopes: Record<string, string[]> = {};
  const node = (
    op: string,
    inputs: string[],
    attrs: Record<string, number[] | number>,
    name: string,
    out: string,
    scope: string[],
  ) => {
    g.node(op, inputs, attrs, { name, outputs: [out] });
    scopes[name] = scope;
    return out;
  };
  let h = node(
    'Conv',
    [x, g.randomInit('conv1.weight', [3, 2, 3, 3])],
    { pads: [1, 1, 1, 1] },
    'node_Conv_0',
    'conv2d',
    ['', 'conv1', 'conv2d'],
  );
  h = node('Relu', [h], {}, 'node_relu', 'relu', ['', 'relu', 'relu']);
  for (const b of [0, 1]) {
    h = node(
      'Conv',
      [h, g.randomInit(`layer1.${b}.conv.weight`, [3, 3, 3, 3])],
      { pads: [1, 1, 1, 1] },
      `node_Conv_${b + 1}`,
      `conv2d_${b + 1}`,
      ['', 'layer1', `layer1.${b}`, `layer1.${b}.conv`, `conv2d_${b + 1}`],
    );
    h = node('Relu', [h], {}, `node_relu_${b + 1}`, `relu_${b + 1}`, [
      '',
      'layer1',
      `layer1.${b}`,
      `layer1.${b}.relu`,
      `relu_${b + 1}`,
    ]);
  }
  h = node('ReduceMean', [h, g.initInt64('axes', [2], [2, 3])], { keepdims: 0 }, 'node_mean', 'mean', [
    '',
    'pool',
    'mean',
  ]);
  node(
    'Gemm',
    [h, g.randomInit('fc.weight', [4, 3]), g.randomInit('fc.bias', [4])],
    { transB: 1 },
    'node_linear',
    'linear',
    ['', 'fc', 'linear'],
  );
  g.output('linear', ['batch', 4]);
  const m = g.build();
  for (const n of m.graph!.node) {
    const s = scopes[n.name];
    n.metadataProps = [
      make.entry('pkg.torch.onnx.name_scopes', `[${s.map((v) => `'${v}'`).join(', ')}]`),
      make.entry(
        'pkg.torch.onnx.class_hierarchy',
        `['Net', ${s
          .slice(1, -1)
          .map(() => "'torch.nn.modules.Module'")
          .join(', ')}${s.length > 2 ? ', ' : ''}'aten.op.default']`,
      ),
    ];
  }
  // As read back from a file: the metadata survives encoding.
  return decodeModel(encodeModel(m), 'dynamo.onnx');
}

test('repr() lists of strings are parsed, quotes and escapes included', () => {
  assert.deepEqual(parsePythonStrings("['', 'layer1', 'layer1.0']"), ['', 'layer1', 'layer1.0']);
  assert.deepEqual(parsePythonStrings(`['it\\'s', "a'b", 'back\\\\slash']`), ["it's", "a'b", 'back\\slash']);
  assert.equal(parsePythonStrings("['unterminated"), null);
  assert.equal(parsePythonStrings('layer1.0'), null);
});

test('dynamo exports: the module column comes from pkg.torch.onnx.name_scopes', () => {
  const s = listLayers(dynamoModel());
  assert.deepEqual(
    s.layers.map((l) => [l.name, l.module]),
    [
      ['node_Conv_0', 'conv1'],
      ['node_relu', 'relu'],
      ['node_Conv_1', 'layer1.0.conv'],
      ['node_relu_1', 'layer1.0.relu'],
      ['node_Conv_2', 'layer1.1.conv'],
      ['node_relu_2', 'layer1.1.relu'],
      ['node_mean', 'pool'],
      ['node_linear', 'fc'],
    ],
  );
  // A node at the root (scopes ['', 'add']) belongs to the root module; one without metadata has no module.
  assert.equal(
    dynamoModulePath(make.node({ metadataProps: [make.entry('pkg.torch.onnx.name_scopes', "['', 'add']")] })),
    '',
  );
  assert.equal(dynamoModulePath(make.node({ name: 'n0_4' })), null);
});

test("a module path names the module's output wherever a tensor is named, for both exporters", () => {
  const dyn = dynamoModel();
  const mods = moduleOutputs(dyn);
  // A block's output is its last node's output; a container's is its last child's.
  assert.equal(mods.get('layer1.0'), 'relu_1');
  assert.equal(mods.get('layer1'), 'relu_2');
  assert.equal(mods.get('layer1.1.conv'), 'conv2d_2');
  assert.deepEqual(expandTensorSelectors(dyn, ['layer1.0', 'fc', 'pool', 'op:Relu']), [
    'relu_1',
    'linear',
    'mean',
    'relu',
    'relu_2',
  ]);
  // Tensor and node names still come first.
  assert.deepEqual(expandTensorSelectors(dyn, ['conv2d', 'node_relu']), ['conv2d', 'relu']);
  // TorchScript-style scoped names (the zoo model: /block/conv_a/Conv …).
  const zoo = zooModel().model;
  const zooMods = moduleOutputs(zoo);
  const convA = zoo.graph!.node.find((n) => n.name === '/block/conv_a/Conv')!.output[0];
  assert.equal(zooMods.get('block.conv_a'), convA);
  assert.deepEqual(expandTensorSelectors(zoo, ['block.conv_a']), [convA]);
  assert.throws(() => expandTensorSelectors(dyn, ['layer1.2']), /unknown tensor 'layer1\.2'; closest: .*'layer1\.[01]/);
});
