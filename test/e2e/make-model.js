// Writes a tiny Fashion-MNIST-shaped CNN as an ONNX file, hand-encoded (no dependencies). Used by run.sh only when
// examples/fashion-mnist/model.onnx and test/fixtures/onnx/*.onnx are both missing.
//   X[1,1,28,28] -> Conv(4x1x3x3, pad 1) -> Relu -> MaxPool(2) -> Flatten -> Gemm(784->10) -> Y[1,10]
// Usage: node make-model.js out.onnx
'use strict';
const fs = require('fs');

function varint(n) {
  const b = [];
  n = BigInt(n);
  do {
    let x = Number(n & 0x7fn);
    n >>= 7n;
    if (n) x |= 0x80;
    b.push(x);
  } while (n);
  return b;
}
const key = (f, w) => varint((f << 3) | w);
const vint = (f, n) => [...key(f, 0), ...varint(n)];
const bytes = (f, b) => {
  b = typeof b === 'string' ? [...Buffer.from(b)] : [...b];
  return [...key(f, 2), ...varint(b.length), ...b];
};
const f32 = (f, v) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return [...key(f, 5), ...b];
};

const FLOAT = 1;
// deterministic pseudo-random weights
let seed = 42;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed / 2 ** 32 - 0.5) * 0.2;
};
function tensor(name, dims) {
  const n = dims.reduce((a, b) => a * b, 1);
  const raw = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i++) raw.writeFloatLE(rnd(), 4 * i);
  return [...dims.flatMap((d) => vint(1, d)), ...vint(2, FLOAT), ...bytes(8, name), ...bytes(9, raw)];
}
const attrInt = (name, v) => bytes(5, [...bytes(1, name), ...vint(3, v), ...vint(20, 2)]);
const attrInts = (name, vs) => bytes(5, [...bytes(1, name), ...vs.flatMap((v) => vint(8, v)), ...vint(20, 7)]);
const attrFloat = (name, v) => bytes(5, [...bytes(1, name), ...f32(2, v), ...vint(20, 1)]);
const node = (name, op, ins, outs, attrs = []) =>
  bytes(1, [
    ...ins.flatMap((i) => bytes(1, i)),
    ...outs.flatMap((o) => bytes(2, o)),
    ...bytes(3, name),
    ...bytes(4, op),
    ...attrs.flat(),
  ]);
const valueInfo = (field, name, dims) =>
  bytes(field, [
    ...bytes(1, name),
    ...bytes(
      2,
      bytes(1, [
        ...vint(1, FLOAT),
        ...bytes(
          2,
          dims.flatMap((d) => bytes(1, vint(1, d))),
        ),
      ]),
    ),
  ]);

const graph = [
  ...node(
    'conv1',
    'Conv',
    ['input', 'conv1.weight', 'conv1.bias'],
    ['conv1_out'],
    [attrInts('kernel_shape', [3, 3]), attrInts('pads', [1, 1, 1, 1]), attrInts('strides', [1, 1])],
  ),
  ...node('relu1', 'Relu', ['conv1_out'], ['relu1_out']),
  ...node(
    'pool1',
    'MaxPool',
    ['relu1_out'],
    ['pool1_out'],
    [attrInts('kernel_shape', [2, 2]), attrInts('strides', [2, 2])],
  ),
  ...node('flatten', 'Flatten', ['pool1_out'], ['flat'], [attrInt('axis', 1)]),
  ...node(
    'fc',
    'Gemm',
    ['flat', 'fc.weight', 'fc.bias'],
    ['logits'],
    [attrFloat('alpha', 1), attrFloat('beta', 1), attrInt('transB', 1)],
  ),
  ...bytes(2, 'tiny_cnn'),
  ...bytes(5, tensor('conv1.weight', [4, 1, 3, 3])),
  ...bytes(5, tensor('conv1.bias', [4])),
  ...bytes(5, tensor('fc.weight', [10, 784])),
  ...bytes(5, tensor('fc.bias', [10])),
  ...valueInfo(11, 'input', [1, 1, 28, 28]),
  ...valueInfo(12, 'logits', [1, 10]),
];
// ModelProto: ir_version 7, producer_name, graph, opset_import { domain "", version 13 }
const model = [
  ...vint(1, 7),
  ...bytes(2, 'replens-e2e'),
  ...bytes(7, graph),
  ...bytes(8, [...bytes(1, ''), ...vint(2, 13)]),
];
fs.writeFileSync(process.argv[2] || 'model.onnx', Buffer.from(model));
