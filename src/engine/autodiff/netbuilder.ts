// A small network builder for the auxiliary networks of the analyses (decoders, disentanglers) and the example
// models: conv, batch norm, ReLU, pooling, linear, flatten, residual add. One spec gives two ONNX graphs that
// share the weights:
//   'train' — BatchNormalization in training form (batch statistics over N, H, W; opset ≥ 14), whose batch mean and
//             variance are extra outputs (the trainer updates the running statistics from them, PyTorch style);
//   'eval'  — standard BatchNormalization with the running statistics: a normal inference model.
// Weights are initialised like PyTorch's defaults (kaiming-uniform with a = √5: U(±1/√fan_in) for conv/linear
// weights and biases; BN scale 1, shift 0, running mean 0, running variance 1), from a seeded generator.
// Names follow PyTorch module paths (`conv1.weight`, node `/conv1/Conv`), so layer tables show the module.
import { ReplensError } from '../errors';
import { GraphBuilder, rng } from '../onnx/builder';
import type { ModelProto } from '../onnx/proto';

export type Layer =
  | {
      kind: 'conv';
      name: string;
      out: number;
      kernel: number | [number, number];
      stride?: number;
      pad?: number | [number, number, number, number];
      groups?: number;
      bias?: boolean;
      dilation?: number;
    }
  | { kind: 'bn'; name: string; eps?: number; momentum?: number }
  | { kind: 'relu'; name: string }
  | { kind: 'maxpool'; name: string; kernel: number; stride?: number; pad?: number }
  | { kind: 'avgpool'; name: string; kernel: number; stride?: number; pad?: number }
  | { kind: 'gap'; name: string }
  | { kind: 'flatten'; name: string }
  | { kind: 'linear'; name: string; out: number; bias?: boolean }
  | { kind: 'residual'; name: string; body: Layer[]; shortcut?: Layer[] };

export interface NetSpec {
  name: string;
  /** One sample's shape, [C, H, W] or [features]. */
  input: number[];
  layers: Layer[];
}

/** The parameters and buffers of a network, by name (PyTorch-style module paths). */
export interface NetState {
  /** Trainable tensors. */
  params: Map<string, { dims: number[]; data: Float32Array }>;
  /** BatchNorm running statistics: name → { mean, var, momentum } tensor names in `buffers`. */
  bn: Map<string, { mean: string; var: string; momentum: number; eps: number; channels: number }>;
  buffers: Map<string, { dims: number[]; data: Float32Array }>;
}

export interface BuiltNet {
  model: ModelProto;
  input: string;
  output: string;
  /** For 'train': BN layer name → outputs holding the batch mean and biased variance (shape [C]). */
  batchStats: Map<string, { mean: string; var: string; count: number }>;
  /** Output shape of each layer, batch first (with the given batch size). */
  shapes: Map<string, number[]>;
}

const INPUT = 'input',
  OUTPUT = 'logits';

function convOut(h: number, k: number, s: number, p0: number, p1: number, d = 1): number {
  return Math.floor((h + p0 + p1 - d * (k - 1) - 1) / s) + 1;
}

/** Fresh parameters for a spec, seeded. */
export function initState(spec: NetSpec, seed: number): NetState {
  const r = rng(seed);
  const uni = (n: number, b: number) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * b);
  const state: NetState = { params: new Map(), bn: new Map(), buffers: new Map() };
  const walk = (layers: Layer[], shape: number[]): number[] => {
    for (const l of layers) {
      switch (l.kind) {
        case 'conv': {
          if (shape.length !== 3)
            throw new ReplensError(
              'E_ARGUMENT',
              `layer ${l.name}: conv needs a (C, H, W) input, got (${shape.join(', ')})`,
            );
          const [kh, kw] = typeof l.kernel === 'number' ? [l.kernel, l.kernel] : l.kernel;
          const g = l.groups ?? 1;
          if (shape[0] % g || l.out % g)
            throw new ReplensError(
              'E_ARGUMENT',
              `layer ${l.name}: ${shape[0]} → ${l.out} channels are not divisible by ${g} groups`,
            );
          const fanIn = (shape[0] / g) * kh * kw,
            b = 1 / Math.sqrt(fanIn);
          state.params.set(`${l.name}.weight`, { dims: [l.out, shape[0] / g, kh, kw], data: uni(l.out * fanIn, b) });
          if (l.bias !== false) state.params.set(`${l.name}.bias`, { dims: [l.out], data: uni(l.out, b) });
          shape = convShape(l, shape);
          break;
        }
        case 'bn': {
          const C = shape[0];
          state.params.set(`${l.name}.weight`, { dims: [C], data: new Float32Array(C).fill(1) });
          state.params.set(`${l.name}.bias`, { dims: [C], data: new Float32Array(C) });
          state.buffers.set(`${l.name}.running_mean`, { dims: [C], data: new Float32Array(C) });
          state.buffers.set(`${l.name}.running_var`, { dims: [C], data: new Float32Array(C).fill(1) });
          state.bn.set(l.name, {
            mean: `${l.name}.running_mean`,
            var: `${l.name}.running_var`,
            momentum: l.momentum ?? 0.1,
            eps: l.eps ?? 1e-5,
            channels: C,
          });
          break;
        }
        case 'linear': {
          if (shape.length !== 1)
            throw new ReplensError(
              'E_ARGUMENT',
              `layer ${l.name}: linear needs a flat input (add a flatten), got (${shape.join(', ')})`,
            );
          const b = 1 / Math.sqrt(shape[0]);
          state.params.set(`${l.name}.weight`, { dims: [l.out, shape[0]], data: uni(l.out * shape[0], b) });
          if (l.bias !== false) state.params.set(`${l.name}.bias`, { dims: [l.out], data: uni(l.out, b) });
          shape = [l.out];
          break;
        }
        case 'residual': {
          const a = walk(l.body, shape);
          const s = l.shortcut ? walk(l.shortcut, shape) : shape;
          if (a.join() !== s.join())
            throw new ReplensError(
              'E_ARGUMENT',
              `layer ${l.name}: the residual body gives (${a.join(', ')}) but the shortcut (${s.join(', ')})`,
            );
          shape = a;
          break;
        }
        default:
          shape = layerShape(l, shape);
      }
    }
    return shape;
  };
  walk(spec.layers, spec.input);
  return state;
}

function convShape(l: Extract<Layer, { kind: 'conv' }>, shape: number[]): number[] {
  const [kh, kw] = typeof l.kernel === 'number' ? [l.kernel, l.kernel] : l.kernel;
  const p = typeof l.pad === 'number' || l.pad === undefined ? [l.pad ?? 0, l.pad ?? 0, l.pad ?? 0, l.pad ?? 0] : l.pad;
  const s = l.stride ?? 1,
    d = l.dilation ?? 1;
  const h = convOut(shape[1], kh, s, p[0], p[2], d),
    w = convOut(shape[2], kw, s, p[1], p[3], d);
  if (h < 1 || w < 1)
    throw new ReplensError(
      'E_ARGUMENT',
      `layer ${l.name}: a ${kh}×${kw} kernel does not fit the ${shape[1]}×${shape[2]} input`,
    );
  return [l.out, h, w];
}

function layerShape(l: Layer, shape: number[]): number[] {
  switch (l.kind) {
    case 'relu':
    case 'bn':
      return shape;
    case 'maxpool':
    case 'avgpool': {
      const s = l.stride ?? l.kernel,
        p = l.pad ?? 0;
      return [shape[0], convOut(shape[1], l.kernel, s, p, p), convOut(shape[2], l.kernel, s, p, p)];
    }
    case 'gap':
      return [shape[0], 1, 1];
    case 'flatten':
      return [shape.reduce((a, b) => a * b, 1)];
    case 'conv':
      return convShape(l, shape);
    case 'linear':
      return [l.out];
    case 'residual':
      return shape;
  }
}

/** The ONNX graph of a spec with the state's current values as initializers. */
export function buildNet(
  spec: NetSpec,
  state: NetState,
  opts: { mode: 'train' | 'eval'; batch?: number | string; opset?: number },
): BuiltNet {
  const opset = opts.opset ?? 15;
  if (opts.mode === 'train' && opset < 14 && state.bn.size)
    throw new ReplensError('E_ARGUMENT', `training BatchNorm needs opset ≥ 14 (training_mode), got ${opset}`);
  const b = new GraphBuilder(spec.name, opset);
  const N = opts.batch ?? 'N';
  b.input(INPUT, [N, ...spec.input]);
  const batchStats = new Map<string, { mean: string; var: string; count: number }>();
  const shapes = new Map<string, number[]>();
  const nb = typeof N === 'number' ? N : 1;
  const param = (name: string) => {
    const p = state.params.get(name) ?? state.buffers.get(name);
    if (!p) throw new ReplensError('E_INTERNAL', `network ${spec.name}: no tensor '${name}'`);
    return b.init(name, p.dims, p.data);
  };
  const walk = (layers: Layer[], x: string, shape: number[]): [string, number[]] => {
    for (const l of layers) {
      const n = `/${l.name.replace(/\./g, '/')}`;
      switch (l.kind) {
        case 'conv': {
          const [kh, kw] = typeof l.kernel === 'number' ? [l.kernel, l.kernel] : l.kernel;
          const p =
            typeof l.pad === 'number' || l.pad === undefined ? [l.pad ?? 0, l.pad ?? 0, l.pad ?? 0, l.pad ?? 0] : l.pad;
          const inputs = [x, param(`${l.name}.weight`)];
          if (l.bias !== false) inputs.push(param(`${l.name}.bias`));
          x = b.node(
            'Conv',
            inputs,
            {
              kernel_shape: [kh, kw],
              strides: [l.stride ?? 1, l.stride ?? 1],
              pads: p,
              group: l.groups ?? 1,
              dilations: [l.dilation ?? 1, l.dilation ?? 1],
            },
            { name: `${n}/Conv`, outputs: [`${n}/Conv_output_0`] },
          );
          shape = convShape(l, shape);
          break;
        }
        case 'bn': {
          const bn = state.bn.get(l.name)!;
          const C = bn.channels;
          if (opts.mode === 'eval') {
            x = b.node(
              'BatchNormalization',
              [x, param(`${l.name}.weight`), param(`${l.name}.bias`), param(bn.mean), param(bn.var)],
              { epsilon: { float: bn.eps } },
              { name: `${n}/BatchNormalization`, outputs: [`${n}/BatchNormalization_output_0`] },
            );
          } else {
            // Training form (opset ≥ 14): batch statistics. With zero running inputs and momentum 0 the two extra
            // outputs are the batch mean and the biased batch variance; the trainer keeps the running averages.
            const zm = b.init(`${n}/zero_mean`, [C], new Float32Array(C)),
              zv = b.init(`${n}/zero_var`, [C], new Float32Array(C));
            const outs = [`${n}/BatchNormalization_output_0`, `${n}/batch_mean`, `${n}/batch_var`];
            x = b.node(
              'BatchNormalization',
              [x, param(`${l.name}.weight`), param(`${l.name}.bias`), zm, zv],
              { epsilon: { float: bn.eps }, momentum: { float: 0 }, training_mode: 1 },
              { name: `${n}/BatchNormalization`, outputs: outs },
            );
            const mean = outs[1],
              v = outs[2];
            batchStats.set(l.name, { mean, var: v, count: nb * shape[1] * shape[2] });
          }
          break;
        }
        case 'relu':
          x = b.node('Relu', [x], {}, { name: `${n}/Relu`, outputs: [`${n}/Relu_output_0`] });
          break;
        case 'maxpool':
        case 'avgpool': {
          const s = l.stride ?? l.kernel,
            p = l.pad ?? 0;
          const op = l.kind === 'maxpool' ? 'MaxPool' : 'AveragePool';
          x = b.node(
            op,
            [x],
            { kernel_shape: [l.kernel, l.kernel], strides: [s, s], pads: [p, p, p, p] },
            { name: `${n}/${op}`, outputs: [`${n}/${op}_output_0`] },
          );
          shape = layerShape(l, shape);
          break;
        }
        case 'gap':
          x = b.node(
            'GlobalAveragePool',
            [x],
            {},
            { name: `${n}/GlobalAveragePool`, outputs: [`${n}/GlobalAveragePool_output_0`] },
          );
          shape = layerShape(l, shape);
          break;
        case 'flatten':
          x = b.node('Flatten', [x], { axis: 1 }, { name: `${n}/Flatten`, outputs: [`${n}/Flatten_output_0`] });
          shape = layerShape(l, shape);
          break;
        case 'linear': {
          const inputs = [x, param(`${l.name}.weight`)];
          if (l.bias !== false) inputs.push(param(`${l.name}.bias`));
          x = b.node('Gemm', inputs, { transB: 1 }, { name: `${n}/Gemm`, outputs: [`${n}/Gemm_output_0`] });
          shape = [l.out];
          break;
        }
        case 'residual': {
          const [a] = walk(l.body, x, shape);
          const [s] = l.shortcut ? walk(l.shortcut, x, shape) : [x];
          x = b.node('Add', [a, s], {}, { name: `${n}/Add`, outputs: [`${n}/Add_output_0`] });
          break;
        }
      }
      shapes.set(l.name, [nb, ...shape]);
    }
    return [x, shape];
  };
  const [last] = walk(spec.layers, INPUT, spec.input);
  b.node('Identity', [last], {}, { name: '/output/Identity', outputs: [OUTPUT] });
  b.output(OUTPUT);
  return { model: b.build(), input: INPUT, output: OUTPUT, batchStats, shapes };
}

/** The ARS paper's shallow CNN (seed 000 §3): conv 64-64-pool-128-128-pool, ReLU, linear classifier. */
export function shallowCnn(
  opts: { batchNorm?: boolean; input?: number[]; classes?: number; widths?: number[] } = {},
): NetSpec {
  const [w1, w2, w3, w4] = opts.widths ?? [64, 64, 128, 128];
  const input = opts.input ?? [1, 28, 28];
  const conv = (name: string, out: number): Layer[] => [
    { kind: 'conv', name, out, kernel: 3, pad: 1, bias: !opts.batchNorm },
    ...(opts.batchNorm ? [{ kind: 'bn', name: name.replace('conv', 'bn') } as Layer] : []),
    { kind: 'relu', name: name.replace('conv', 'relu') },
  ];
  return {
    name: opts.batchNorm ? 'shallow_cnn_bn' : 'shallow_cnn',
    input,
    layers: [
      ...conv('conv1', w1),
      ...conv('conv2', w2),
      { kind: 'maxpool', name: 'pool1', kernel: 2 },
      ...conv('conv3', w3),
      ...conv('conv4', w4),
      { kind: 'maxpool', name: 'pool2', kernel: 2 },
      { kind: 'flatten', name: 'flatten' },
      { kind: 'linear', name: 'fc', out: opts.classes ?? 10 },
    ],
  };
}
