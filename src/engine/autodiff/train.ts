// Training on onnxruntime: the weights are inputs of a gradient model, so forward + loss + backward run in ONE
// session call per minibatch; the optimizer update (O(parameters), elementwise) runs in JavaScript on float32
// arrays. SGD with momentum (PyTorch semantics: v ← μv + g + λw, w ← w − ηv; Nesterov optional) and Adam /
// AdamW (bias-corrected; `decoupled` for AdamW's weight decay). Learning-rate schedules: constant, step,
// cosine, with linear warm-up. Deterministic: weights and shuffling come from seeds. NaN or Inf in the loss
// stops training with the epoch and step. Checkpoints are normal ONNX inference models with initializers.
import * as fs from 'fs';
import * as path from 'path';
import { ReplensError, throwIfAborted } from '../errors';
import { rng } from '../onnx/builder';
import { saveModel } from '../onnx/model';
import { runSession, type Feed, type SessionPool } from '../runtime/session';
import { ProgressTracker, type ProgressSink } from '../progress';
import { buildGradientModel, runGradient, type GradientModel } from './gradient';
import { LABELS_INPUT, TARGET_INPUT, type Objective } from './objective';
import { buildNet, type NetSpec, type NetState } from './netbuilder';

export type Optimizer =
  | { kind: 'sgd'; lr: number; momentum?: number; weightDecay?: number; nesterov?: boolean }
  | {
      kind: 'adam';
      lr: number;
      beta1?: number;
      beta2?: number;
      eps?: number;
      weightDecay?: number;
      decoupled?: boolean;
    };

export type Schedule =
  { kind: 'constant' } | { kind: 'step'; everyEpochs: number; gamma: number } | { kind: 'cosine'; minLr?: number };

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  optimizer: Optimizer;
  schedule?: Schedule;
  /** Linear warm-up over this many steps. */
  warmupSteps?: number;
  /** Shuffling seed. */
  seed?: number;
  /** 'cross-entropy' on integer labels (classification) or 'mse' on float targets. */
  loss: 'cross-entropy' | 'mse';
  /** Drop a ragged last batch (default false: it is trained with its own gradient model). */
  dropLast?: boolean;
  /** Write `epoch-E.onnx` here after every epoch (the eval model with the current weights). */
  checkpointDir?: string;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Called after each epoch (for logs and evaluation). */
  onEpoch?: (e: EpochReport) => void | Promise<void>;
  /** Evaluate on this data after each epoch. */
  evalData?: TrainData;
  opset?: number;
}

export interface TrainData {
  /** n × sample, float32, C order. */
  x: Float32Array;
  /** Integer labels (cross-entropy) … */
  labels?: Int32Array;
  /** … or float targets n × target size (mse). */
  targets?: Float32Array;
  n: number;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  trainAccuracy: number | null;
  evalLoss: number | null;
  evalAccuracy: number | null;
  seconds: number;
  imagesPerSecond: number;
  lr: number;
}

/** The learning rate at `step` (0-based) of `total`, epoch `epoch` (0-based). */
export function learningRate(
  base: number,
  schedule: Schedule,
  step: number,
  total: number,
  epoch: number,
  warmup = 0,
): number {
  let lr = base;
  if (schedule.kind === 'step') lr = base * schedule.gamma ** Math.floor(epoch / schedule.everyEpochs);
  else if (schedule.kind === 'cosine') {
    const m = schedule.minLr ?? 0;
    lr = m + (base - m) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, step / Math.max(1, total))));
  }
  if (warmup > 0 && step < warmup) lr *= (step + 1) / warmup;
  return lr;
}

/** Optimizer state per parameter, and the update rule. */
export class OptimizerState {
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private t = 0;
  constructor(readonly opt: Optimizer) {
    if (!(opt.lr > 0)) throw new ReplensError('E_ARGUMENT', `the learning rate must be > 0, got ${opt.lr}`);
  }

  /** One step over all parameters (`grads` in the same order/shape as the parameters). */
  step(params: Map<string, { data: Float32Array }>, grads: Map<string, ArrayLike<number>>, lr: number): void {
    this.t++;
    const o = this.opt;
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) continue;
      const w = p.data;
      if (o.kind === 'sgd') {
        const mu = o.momentum ?? 0,
          wd = o.weightDecay ?? 0;
        let v = this.m.get(name);
        if (!v && mu > 0) {
          v = new Float32Array(w.length);
          this.m.set(name, v);
        }
        for (let i = 0; i < w.length; i++) {
          let d = g[i] + wd * w[i];
          if (v) {
            v[i] = this.t === 1 ? d : mu * v[i] + d; // PyTorch: the first step sets the buffer to the gradient
            d = o.nesterov ? d + mu * v[i] : v[i];
          }
          w[i] -= lr * d;
        }
      } else {
        const b1 = o.beta1 ?? 0.9,
          b2 = o.beta2 ?? 0.999,
          eps = o.eps ?? 1e-8,
          wd = o.weightDecay ?? 0;
        let m = this.m.get(name),
          v = this.v.get(name);
        if (!m || !v) {
          m = new Float32Array(w.length);
          this.m.set(name, m);
          v = new Float32Array(w.length);
          this.v.set(name, v);
        }
        const c1 = 1 - b1 ** this.t,
          c2 = 1 - b2 ** this.t;
        for (let i = 0; i < w.length; i++) {
          let gi = g[i];
          if (wd && !o.decoupled) gi += wd * w[i];
          m[i] = b1 * m[i] + (1 - b1) * gi;
          v[i] = b2 * v[i] + (1 - b2) * gi * gi;
          if (wd && o.decoupled) w[i] -= lr * wd * w[i];
          w[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
        }
      }
    }
  }
}

/** Shuffled order of 0..n−1 for an epoch, from the seed and epoch (Fisher–Yates). */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const r = rng((seed * 1000003 + epoch * 7919) >>> 0);
  const o = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = o[i];
    o[i] = o[j];
    o[j] = t;
  }
  return o;
}

function gather(src: Float32Array, size: number, idx: Int32Array, from: number, count: number): Float32Array {
  const out = new Float32Array(count * size);
  for (let k = 0; k < count; k++) out.set(src.subarray(idx[from + k] * size, (idx[from + k] + 1) * size), k * size);
  return out;
}

export interface Trainer {
  state: NetState;
  history: EpochReport[];
  /** Seconds per training step, measured (for the bench). */
  stepSeconds: number[];
}

/** Trains `spec` from `state` (modified in place) on `data`. */
export async function train(
  spec: NetSpec,
  state: NetState,
  data: TrainData,
  opts: TrainOptions,
  pool: SessionPool,
): Promise<Trainer> {
  const sample = spec.input.reduce((a, b) => a * b, 1);
  if (data.x.length !== data.n * sample)
    throw new ReplensError(
      'E_ARGUMENT',
      `training data: ${data.x.length} values are not ${data.n} samples of (${spec.input.join(', ')})`,
    );
  if (opts.loss === 'cross-entropy' && (!data.labels || data.labels.length !== data.n))
    throw new ReplensError('E_LABELS', `cross-entropy training needs one label per sample (${data.n})`);
  if (opts.loss === 'mse' && !data.targets) throw new ReplensError('E_ARGUMENT', 'mse training needs targets');
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1)
    throw new ReplensError('E_ARGUMENT', `batch size must be a positive integer, got ${opts.batchSize}`);
  const schedule = opts.schedule ?? { kind: 'constant' };
  const seed = opts.seed ?? 0;
  const names = [...state.params.keys()];
  const optState = new OptimizerState(opts.optimizer);
  const gms = new Map<
    number,
    { gm: GradientModel; key: string; stats: Map<string, { mean: string; var: string; count: number }>; output: string }
  >();
  const modelFor = async (batch: number) => {
    let e = gms.get(batch);
    if (e) return e;
    const net = buildNet(spec, state, { mode: 'train', batch, opset: opts.opset });
    const objective: Objective = { kind: opts.loss, tensor: net.output };
    const extras = [net.output, ...[...net.batchStats.values()].flatMap((s) => [s.mean, s.var])];
    const feeds: Record<string, Feed> = {
      [net.input]: { data: new Float32Array(batch * sample), dims: [batch, ...spec.input], type: 'float32' },
    };
    const key = `train:${spec.name}:${batch}:${Math.random()}`;
    const gm = await buildGradientModel(net.model, { objective, wrt: names, extraOutputs: extras }, feeds, pool, key);
    e = { gm, key: `${key}#g`, stats: net.batchStats, output: net.output };
    gms.set(batch, e);
    return e;
  };
  const labels64 = (idx: Int32Array, from: number, count: number) =>
    BigInt64Array.from({ length: count }, (_, k) => BigInt(data.labels![idx[from + k]]));
  const targetSize = data.targets ? data.targets.length / data.n : 0;
  const perEpoch = opts.dropLast ? Math.floor(data.n / opts.batchSize) : Math.ceil(data.n / opts.batchSize);
  const total = perEpoch * opts.epochs;
  const progress = new ProgressTracker(opts.onProgress, 'training', total);
  const history: EpochReport[] = [];
  const stepSeconds: number[] = [];
  let step = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const t0 = Date.now();
    const order = epochOrder(data.n, seed, epoch);
    let lossSum = 0,
      seen = 0,
      correct = 0;
    let lr = 0;
    for (let b = 0; b < perEpoch; b++) {
      throwIfAborted(opts.signal);
      const from = b * opts.batchSize,
        count = Math.min(opts.batchSize, data.n - from);
      const { gm, key, stats, output } = await modelFor(count);
      const feeds: Record<string, Feed> = {
        [gm.inputs[0]]: {
          data: gather(data.x, sample, order, from, count),
          dims: [count, ...spec.input],
          type: 'float32',
        },
      };
      if (opts.loss === 'cross-entropy')
        feeds[LABELS_INPUT] = { data: labels64(order, from, count), dims: [count], type: 'int64' };
      else
        feeds[TARGET_INPUT] = {
          data: gather(data.targets!, targetSize, order, from, count),
          dims: [count, ...gm.extraInputs.find((i) => i.name === TARGET_INPUT)!.dims.slice(1)],
          type: 'float32',
        };
      for (const n of names) {
        const p = state.params.get(n)!;
        feeds[n] = { data: p.data, dims: p.dims, type: 'float32' };
      }
      const ts = Date.now();
      let res;
      try {
        res = await runGradient(gm, pool, key, feeds);
      } catch (e) {
        if (e instanceof ReplensError && /objective is/.test(e.message))
          throw new ReplensError(
            'E_RUNTIME',
            `training diverged at epoch ${epoch + 1}, step ${b + 1}: ` +
              `${e.message.replace(/: check.*$/, '')} (lower the learning rate)`,
          );
        throw e;
      }
      lr = learningRate(opts.optimizer.lr, schedule, step, total, epoch, opts.warmupSteps);
      optState.step(state.params, new Map([...res.gradients].map(([k, v]) => [k, v.data as Float32Array])), lr);
      stepSeconds.push((Date.now() - ts) / 1000);
      // Running statistics, PyTorch style: r ← (1 − m)·r + m·batch (unbiased variance).
      for (const [layer, s] of stats) {
        const bn = state.bn.get(layer)!;
        const mean = res.extras.get(s.mean)!.data as Float32Array,
          v = res.extras.get(s.var)!.data as Float32Array;
        const rm = state.buffers.get(bn.mean)!.data,
          rv = state.buffers.get(bn.var)!.data;
        const unbias = s.count > 1 ? s.count / (s.count - 1) : 1;
        for (let c = 0; c < bn.channels; c++) {
          rm[c] = (1 - bn.momentum) * rm[c] + bn.momentum * mean[c];
          rv[c] = (1 - bn.momentum) * rv[c] + bn.momentum * v[c] * unbias;
        }
      }
      const loss = Number(res.objective.data[0]);
      lossSum += loss * count;
      seen += count;
      if (opts.loss === 'cross-entropy')
        correct += countCorrect(res.extras.get(output)!.data as Float32Array, order, from, count, data.labels!);
      step++;
      progress.update(step);
    }
    const ev = opts.evalData ? await evaluate(spec, state, opts.evalData, opts.loss, pool, opts.batchSize * 4) : null;
    const seconds = (Date.now() - t0) / 1000;
    const report: EpochReport = {
      epoch: epoch + 1,
      loss: lossSum / seen,
      trainAccuracy: opts.loss === 'cross-entropy' ? correct / seen : null,
      evalLoss: ev?.loss ?? null,
      evalAccuracy: ev?.accuracy ?? null,
      seconds,
      imagesPerSecond: seen / seconds,
      lr,
    };
    history.push(report);
    if (opts.checkpointDir) {
      fs.mkdirSync(opts.checkpointDir, { recursive: true });
      saveModel(
        buildNet(spec, state, { mode: 'eval', opset: opts.opset }).model,
        path.join(opts.checkpointDir, `epoch-${epoch + 1}.onnx`),
      );
    }
    await opts.onEpoch?.(report);
  }
  return { state, history, stepSeconds };
}

function countCorrect(
  logits: Float32Array,
  order: Int32Array,
  from: number,
  count: number,
  labels: Int32Array,
): number {
  const k = logits.length / count;
  let c = 0;
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[i * k + j] > logits[i * k + best]) best = j;
    if (best === labels[order[from + i]]) c++;
  }
  return c;
}

/** Loss and accuracy of the eval model (running statistics) on `data`. */
export async function evaluate(
  spec: NetSpec,
  state: NetState,
  data: TrainData,
  loss: 'cross-entropy' | 'mse',
  pool: SessionPool,
  batchSize = 256,
): Promise<{ loss: number; accuracy: number | null }> {
  const net = buildNet(spec, state, { mode: 'eval' });
  const ms = await pool.get(`eval:${spec.name}:${Math.random()}`, net.model, 'evaluate');
  const sample = spec.input.reduce((a, b) => a * b, 1);
  let lossSum = 0,
    correct = 0;
  for (let from = 0; from < data.n; from += batchSize) {
    const count = Math.min(batchSize, data.n - from);
    const out = await runSession(
      ms,
      {
        [net.input]: {
          data: data.x.subarray(from * sample, (from + count) * sample),
          dims: [count, ...spec.input],
          type: 'float32',
        },
      },
      'evaluate',
    );
    const y = out[net.output].data as Float32Array;
    const k = y.length / count;
    for (let i = 0; i < count; i++) {
      if (loss === 'cross-entropy') {
        const row = y.subarray(i * k, (i + 1) * k);
        let mx = -Infinity,
          best = 0;
        for (let j = 0; j < k; j++)
          if (row[j] > mx) {
            mx = row[j];
            best = j;
          }
        let z = 0;
        for (let j = 0; j < k; j++) z += Math.exp(row[j] - mx);
        const label = data.labels![from + i];
        lossSum += -(row[label] - mx - Math.log(z));
        if (best === label) correct++;
      } else {
        for (let j = 0; j < k; j++) {
          const d = y[i * k + j] - data.targets![(from + i) * k + j];
          lossSum += (d * d) / k;
        }
      }
    }
  }
  return { loss: lossSum / data.n, accuracy: loss === 'cross-entropy' ? correct / data.n : null };
}
