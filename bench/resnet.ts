// A CIFAR-style ResNet-20 (He et al. 2016: 3 stages × 3 basic blocks, 16/32/64 channels, BN, ReLU, global average
// pool, linear), built with the engine's graph builder and seeded weights: the benchmark's "conv net of realistic
// size".
import { GraphBuilder, float } from '../src/engine/onnx/builder';
import type { ModelProto } from '../src/engine/onnx/proto';

export function resnet20(classes = 10): ModelProto {
  const b = new GraphBuilder('resnet20', 13, 11);
  let x = b.input('input', ['N', 3, 32, 32]);
  const convBn = (name: string, inp: string, cin: number, cout: number, k: number, stride: number, relu: boolean) => {
    const w = b.randomInit(`${name}.weight`, [cout, cin, k, k], Math.sqrt(2 / (cin * k * k)));
    const c = b.node(
      'Conv',
      [inp, w],
      { kernel_shape: [k, k], strides: [stride, stride], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] },
      { name: `/${name.replace(/\./g, '/')}/Conv` },
    );
    const bn = [
      b.randomInit(`${name}.bn.weight`, [cout], 0.1, 1),
      b.randomInit(`${name}.bn.bias`, [cout], 0.1),
      b.randomInit(`${name}.bn.mean`, [cout], 0.1),
      b.randomInit(`${name}.bn.var`, [cout], 0.1, 1),
    ];
    const n = b.node(
      'BatchNormalization',
      [c, ...bn],
      { epsilon: float(1e-5) },
      { name: `/${name.replace(/\./g, '/')}/BatchNormalization` },
    );
    return relu ? b.node('Relu', [n], {}, { name: `/${name.replace(/\./g, '/')}/Relu` }) : n;
  };
  x = convBn('stem', x, 3, 16, 3, 1, true);
  let cin = 16;
  [16, 32, 64].forEach((cout, stage) => {
    for (let blk = 0; blk < 3; blk++) {
      const stride = stage > 0 && blk === 0 ? 2 : 1;
      const name = `layer${stage + 1}.${blk}`;
      const h = convBn(`${name}.conv1`, x, cin, cout, 3, stride, true);
      const h2 = convBn(`${name}.conv2`, h, cout, cout, 3, 1, false);
      const skip = stride !== 1 || cin !== cout ? convBn(`${name}.downsample`, x, cin, cout, 1, stride, false) : x;
      const s = b.node('Add', [h2, skip], {}, { name: `/layer${stage + 1}/${name}/Add` });
      x = b.node('Relu', [s], {}, { name: `/layer${stage + 1}/${name}/Relu` });
      cin = cout;
    }
  });
  const gp = b.node('GlobalAveragePool', [x], {}, { name: '/pool/GlobalAveragePool' });
  const fl = b.node('Flatten', [gp], { axis: 1 }, { name: '/Flatten' });
  const w = b.randomInit('fc.weight', [classes, 64], 0.1);
  const bias = b.randomInit('fc.bias', [classes], 0.01);
  b.node('Gemm', [fl, w, bias], { transB: 1 }, { name: '/fc/Gemm', outputs: ['logits'] });
  b.output('logits', ['N', classes]);
  return b.build();
}

/**
 * torchvision's resnet18 topology at 224² (7×7/2 stem, 3×3/2 max pool, 4 stages × 2 basic blocks with 64/128/256/512
 * channels, BN folded into the convs as torch's exporter does, global average pool, 1000-way fc), seeded weights
 * and node names in the TorchScript exporter's scoped style: the memory bench's model at ImageNet size.
 */
export function resnet18(classes = 1000): ModelProto {
  const b = new GraphBuilder('resnet18', 13, 18);
  // torch's scoped node names: module layer1.0.conv1 → /layer1/layer1.0/conv1/Conv.
  const scope = (module: string) => {
    const [head, idx, ...rest] = module.split('.');
    return /^\d+$/.test(idx ?? '') ? ['', head, `${head}.${idx}`, ...rest].join('/') : `/${module.replace(/\./g, '/')}`;
  };
  const conv = (name: string, inp: string, cin: number, cout: number, k: number, stride: number) => {
    const w = b.randomInit(`${name}.weight`, [cout, cin, k, k], Math.sqrt(2 / (cin * k * k)));
    const bias = b.randomInit(`${name}.bias`, [cout], 0.05);
    const p = (k - 1) / 2;
    return b.node(
      'Conv',
      [inp, w, bias],
      { kernel_shape: [k, k], strides: [stride, stride], pads: [p, p, p, p] },
      { name: `${scope(name)}/Conv` },
    );
  };
  const relu = (name: string, x: string) => b.node('Relu', [x], {}, { name: `${scope(name)}/Relu` });
  let x = relu('relu', conv('conv1', b.input('input', ['N', 3, 224, 224]), 3, 64, 7, 2));
  x = b.node(
    'MaxPool',
    [x],
    { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    { name: '/maxpool/MaxPool' },
  );
  let cin = 64;
  [64, 128, 256, 512].forEach((cout, stage) => {
    for (let blk = 0; blk < 2; blk++) {
      const stride = stage > 0 && blk === 0 ? 2 : 1;
      const name = `layer${stage + 1}.${blk}`;
      const h = relu(`${name}.relu`, conv(`${name}.conv1`, x, cin, cout, 3, stride));
      const h2 = conv(`${name}.conv2`, h, cout, cout, 3, 1);
      const skip = stride !== 1 || cin !== cout ? conv(`${name}.downsample.0`, x, cin, cout, 1, stride) : x;
      const s = b.node('Add', [h2, skip], {}, { name: `${scope(name)}/Add` });
      x = relu(`${name}.relu_1`, s);
      cin = cout;
    }
  });
  const gp = b.node('GlobalAveragePool', [x], {}, { name: '/avgpool/GlobalAveragePool' });
  const fl = b.node('Flatten', [gp], { axis: 1 }, { name: '/Flatten' });
  b.node(
    'Gemm',
    [fl, b.randomInit('fc.weight', [classes, 512], 0.05), b.randomInit('fc.bias', [classes], 0.01)],
    { transB: 1 },
    { name: '/fc/Gemm', outputs: ['logits'] },
  );
  b.output('logits', ['N', classes]);
  return b.build();
}
