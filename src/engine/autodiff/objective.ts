// Objectives: forward nodes computing the value (a scalar, or one value per sample) and the seed gradient
// d objective / d tensor written directly (no rule needed for the objective's own ops).
//   channel   Σ or mean of tensor[:, c] over batch and space
//   iam       ARS activation maximisation (seed 000 eq. 1–2): row r of the batch maximises its channel k_r:
//             h_{k_r} − (1/I)·Σ_{j≠k_r} h_j, h = the channel's spatial mean, I = the layer's channel count
//   mse       mean((tensor − target)²), the target fed as input `replens/target`
//   cross-entropy  mean over samples of −log softmax(logits)[label], labels fed as int64 input `replens/labels`
//   dot       Σ W ⊙ tensor for a fixed W (a vector–Jacobian product; the gradient checks use it)
//   weighted  Σ_k w_k · objective_k
// With `perSample` the value has one entry per sample (sums over the batch of the per-sample values give the
// same gradients), so a batch of independent problems runs in one session call.
import { ReplensError } from '../errors';
import { onnx } from '../onnx/proto';
import type { GradContext } from './context';

export type Objective =
  | { kind: 'channel'; tensor: string; channel: number; reduce?: 'sum' | 'mean' }
  | { kind: 'iam'; tensor: string; channels?: number[] }
  | { kind: 'mse'; tensor: string }
  | { kind: 'cross-entropy'; tensor: string }
  | { kind: 'dot'; tensor: string; weights: ArrayLike<number> }
  | { kind: 'weighted'; terms: { weight: number; objective: Objective }[] };

export const TARGET_INPUT = 'replens/target';
export const LABELS_INPUT = 'replens/labels';

/** Tensors an objective reads. */
export function objectiveTensors(o: Objective): string[] {
  return o.kind === 'weighted' ? o.terms.flatMap((t) => objectiveTensors(t.objective)) : [o.tensor];
}

export interface EmittedObjective {
  value: string;
  /** Seed gradients per tensor (several terms on one tensor are summed by the caller). */
  seeds: { tensor: string; grad: string }[];
  /** Extra graph inputs the objective reads. */
  inputs: { name: string; elemType: number; dims: number[] }[];
}

const prod = (d: number[]) => d.reduce((a, b) => a * b, 1);

export function emitObjective(ctx: GradContext, o: Objective, perSample: boolean): EmittedObjective {
  ctx.current = `objective/${o.kind}`;
  if (o.kind === 'weighted') {
    if (!o.terms.length) throw new ReplensError('E_ARGUMENT', 'a weighted objective needs at least one term');
    const parts = o.terms.map((t) => ({ w: t.weight, e: emitObjective(ctx, t.objective, perSample) }));
    ctx.current = 'objective/weighted';
    const values: string[] = [],
      seeds: EmittedObjective['seeds'] = [],
      inputs = new Map<string, EmittedObjective['inputs'][number]>();
    for (const { w, e } of parts) {
      const et = ctx.elemType(e.value);
      values.push(ctx.op('Mul', [e.value, ctx.scalar(w, et)]));
      for (const s of e.seeds)
        seeds.push({ tensor: s.tensor, grad: ctx.op('Mul', [s.grad, ctx.scalar(w, ctx.elemType(s.tensor))]) });
      for (const i of e.inputs) {
        const prev = inputs.get(i.name);
        if (prev && prev.dims.join() !== i.dims.join())
          throw new ReplensError(
            'E_ARGUMENT',
            `two objective terms need ${i.name} with different shapes (${prev.dims.join('×')} and ${i.dims.join('×')})`,
          );
        inputs.set(i.name, i);
      }
    }
    const value = ctx.declare(
      ctx.op('Sum', values),
      perSample ? [ctx.shape(parts[0].e.value)[0]] : [],
      ctx.elemType(parts[0].e.value),
    );
    return { value, seeds, inputs: [...inputs.values()] };
  }

  const t = o.tensor;
  const dims = ctx.shape(t),
    et = ctx.elemType(t);
  if (et !== onnx.TensorProto.DataType.FLOAT && et !== onnx.TensorProto.DataType.DOUBLE) {
    throw new ReplensError(
      'E_ARGUMENT',
      `objective tensor '${t}' holds ONNX type ${et}; objectives need float or double tensors`,
    );
  }
  const N = dims[0] ?? 1;
  const all = dims.map((_, i) => i);
  const nonBatch = all.slice(1);
  // Reduce a tensor of `dims` to the value: all axes, or all but the batch axis.
  const total = (x: string) => {
    const r = perSample ? (nonBatch.length ? ctx.reduceSum(x, nonBatch, false) : x) : ctx.reduceSum(x, all, false);
    return ctx.declare(r, perSample ? [N] : [], et);
  };
  const expandTo = (x: string) => ctx.op('Expand', [x, ctx.int64s(dims, 'dims')]);

  switch (o.kind) {
    case 'channel': {
      if (dims.length < 2)
        throw new ReplensError(
          'E_ARGUMENT',
          `objective tensor '${t}' has shape (${dims.join(', ')}); a channel objective needs (N, C, ...)`,
        );
      const C = dims[1];
      if (!Number.isInteger(o.channel) || o.channel < 0 || o.channel >= C)
        throw new ReplensError(
          'E_ARGUMENT',
          `channel ${o.channel} is out of range: '${t}' has ${C} channels (0–${C - 1})`,
        );
      const count = o.reduce === 'mean' ? (perSample ? prod(dims.slice(2)) : N * prod(dims.slice(2))) : 1;
      const maskDims = dims.map((d, i) => (i === 1 ? C : 1));
      const mask = new Float64Array(C);
      mask[o.channel] = 1 / count;
      const m = ctx.constant(mask, maskDims, et, 'channel_mask');
      const value = total(ctx.op('Mul', [t, m]));
      return { value, seeds: [{ tensor: t, grad: expandTo(m) }], inputs: [] };
    }
    case 'iam': {
      if (dims.length < 2)
        throw new ReplensError(
          'E_ARGUMENT',
          `objective tensor '${t}' has shape (${dims.join(', ')}); the IAM objective needs (N, C, ...)`,
        );
      const C = dims[1];
      const channels = o.channels ?? Array.from({ length: N }, (_, r) => r);
      if (channels.length !== N)
        throw new ReplensError(
          'E_ARGUMENT',
          `the IAM objective has ${channels.length} target channels for a batch of ${N}; give one channel per sample`,
        );
      for (const k of channels)
        if (!Number.isInteger(k) || k < 0 || k >= C)
          throw new ReplensError('E_ARGUMENT', `IAM target channel ${k} is out of range: '${t}' has ${C} channels`);
      const spatial = prod(dims.slice(2));
      // M[r, j] = 1 at the target channel, −1/I elsewhere, divided by the spatial size (h is a spatial mean).
      const m = new Float64Array(N * C);
      for (let r = 0; r < N; r++) for (let j = 0; j < C; j++) m[r * C + j] = (j === channels[r] ? 1 : -1 / C) / spatial;
      const w = ctx.constant(m, [N, C, ...dims.slice(2).map(() => 1)], et, 'iam_weights');
      const value = total(ctx.op('Mul', [t, w]));
      return { value, seeds: [{ tensor: t, grad: expandTo(w) }], inputs: [] };
    }
    case 'dot': {
      if (o.weights.length !== prod(dims))
        throw new ReplensError(
          'E_ARGUMENT',
          `dot objective: ${o.weights.length} weights for '${t}' of shape (${dims.join(', ')})`,
        );
      const w = ctx.constant(o.weights, dims, et, 'dot_weights');
      return { value: total(ctx.op('Mul', [t, w])), seeds: [{ tensor: t, grad: w }], inputs: [] };
    }
    case 'mse': {
      const diff = ctx.op('Sub', [t, TARGET_INPUT]);
      const count = perSample ? prod(dims.slice(1)) : prod(dims);
      const inv = ctx.scalar(1 / count, et);
      const value = total(ctx.op('Mul', [ctx.op('Mul', [diff, diff]), inv]));
      const grad = ctx.op('Mul', [diff, ctx.scalar(2 / count, et)]);
      return { value, seeds: [{ tensor: t, grad }], inputs: [{ name: TARGET_INPUT, elemType: et, dims }] };
    }
    case 'cross-entropy': {
      if (dims.length !== 2)
        throw new ReplensError(
          'E_ARGUMENT',
          `cross-entropy needs logits of shape (N, classes); '${t}' has shape (${dims.join(', ')})`,
        );
      const K = dims[1];
      // onnxruntime's OneHot has float (not double) values for int64 indices: build in float, cast (0/1 are exact).
      const oneHot32 = ctx.op(
        'OneHot',
        [
          LABELS_INPUT,
          ctx.int64s([K], 'depth'),
          ctx.constant([0, 1], [2], onnx.TensorProto.DataType.FLOAT, 'onehot_values'),
        ],
        { axis: -1 },
      );
      const oneHot = et === onnx.TensorProto.DataType.FLOAT ? oneHot32 : ctx.op('Cast', [oneHot32], { to: et });
      const logp = ctx.op('LogSoftmax', [t], { axis: 1 });
      const scale = perSample ? 1 : 1 / N;
      const nll = ctx.op('Mul', [ctx.op('Mul', [logp, oneHot]), ctx.scalar(-scale, et)]);
      const value = total(nll);
      const p = ctx.op('Softmax', [t], { axis: 1 });
      const grad = ctx.op('Mul', [ctx.op('Sub', [p, oneHot]), ctx.scalar(scale, et)]);
      return {
        value,
        seeds: [{ tensor: t, grad }],
        inputs: [{ name: LABELS_INPUT, elemType: onnx.TensorProto.DataType.INT64, dims: [N] }],
      };
    }
  }
}
