// Models exported with a fixed batch size — `torch.onnx.export(model, torch.randn(1, 3, 224, 224), …)` without
// `dynamic_axes`, the most common export — take exactly that many samples per run. RepLens first tries a copy of
// the model whose batch dimension is relaxed to a symbol, and keeps it only when a check shows that batching does
// not change any output (a Reshape to a constant [1, -1] would mix samples, or fail). Otherwise every run is made
// at the model's batch size, the last batch padded and the padding dropped (rebatch).
import { ReplensError, errorMessage } from '../errors';
import { feedInputs, valueInfoOf } from '../onnx/graph';
import { onnx, type ModelProto, type ValueInfoProto } from '../onnx/proto';
import { rng } from '../onnx/builder';
import type { Batch } from '../data/dataset';
import { refuseEndlessLoops } from './loops';
import { runSession, type SessionPool } from './session';

export interface BatchAdaptation {
  /** The model to run: the relaxed copy, or the original. */
  proto: ModelProto;
  /** Session-cache key suffix for the model run ('' for the original). */
  keySuffix: string;
  /** Samples per run the model requires (null: any). */
  runBatch: number | null;
  /** What was done, for the log and the result's notes; null when the model's batch is dynamic already. */
  note: string | null;
}

/** The fixed batch size of the model's single input, or null when its first dimension is symbolic or unknown. */
export function fixedBatch(model: ModelProto, input: string): number | null {
  const decl = feedInputs(model.graph!).find((i) => i.name === input);
  const shape = decl ? valueInfoOf(decl)?.shape : null;
  if (!shape || shape.length < 2) return null;
  return typeof shape[0] === 'number' && shape[0] > 0 ? shape[0] : null;
}

/** A copy whose batch dimension (the input's first dim, and every declared first dim equal to it) is the symbol `N`. */
export function relaxBatch(model: ModelProto, input: string, batch: number): ModelProto {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish()) as unknown as ModelProto;
  const g = copy.graph!;
  const relax = (v: ValueInfoProto, force: boolean) => {
    const dim = v.type?.tensorType?.shape?.dim;
    if (!dim?.length) return;
    const d0 = dim[0];
    const value = d0.dimValue === null || d0.dimValue === undefined ? null : Number(d0.dimValue);
    if (force || value === batch) {
      dim[0] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'N' }) as unknown as typeof d0;
    }
  };
  for (const v of g.input) if (v.name === input) relax(v, true);
  for (const v of g.output) relax(v, false);
  // Intermediate shapes may be stale for other batch sizes: onnxruntime infers them again.
  g.valueInfo = [];
  return copy;
}

/** Random samples in the input's type: floats in [0, 1), or pixel values for a uint8 input. */
function randomBatch(n: number, sampleShape: number[], seed: number, uint8: boolean): Float32Array | Uint8Array {
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  const x = uint8 ? new Uint8Array(n * per) : new Float32Array(n * per);
  for (let i = 0; i < x.length; i++) x[i] = uint8 ? Math.floor(r() * 256) : r();
  return x;
}

/** Largest |a − b| relative to the largest |a| of the tensor (1 when shapes differ). */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 1;
  let scale = 0,
    diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return Number.isNaN(diff) ? 1 : diff / Math.max(scale, 1e-12);
}

/** Tolerance for batched vs. unbatched runs: onnxruntime's kernels block differently per batch size. */
const RELAX_TOLERANCE = 1e-4;

/**
 * Decides how to run a model on batches of `sampleShape` samples. A dynamic batch is used as is. A fixed batch B
 * is relaxed when B + 1 random samples through the relaxed copy give, row by row, the outputs of the original run
 * at batch B (within RELAX_TOLERANCE); else runs are made at batch B.
 */
export async function adaptBatch(
  model: ModelProto,
  input: string,
  sampleShape: number[],
  pool: SessionPool,
  key: string,
): Promise<BatchAdaptation> {
  const batch = fixedBatch(model, input);
  if (batch === null) return { proto: model, keySuffix: '', runBatch: null, note: null };
  refuseEndlessLoops(model); // the check below runs the model
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const n = batch + 1;
  const decl = feedInputs(model.graph!).find((i) => i.name === input);
  const uint8 = (decl ? valueInfoOf(decl)?.elemType : 1) === 2;
  const x = randomBatch(n, sampleShape, 0x5eed + batch, uint8);
  const type = uint8 ? 'uint8' : 'float32';
  let why: string;
  try {
    const relaxed = relaxBatch(model, input, batch);
    const original = await pool.get(key, model, 'batch check');
    const loose = await pool.get(`${key}#relaxed-batch`, relaxed, 'batch check');
    const outputs = original.outputs.map((o) => o.name);
    const first = await runSession(
      original,
      { [input]: { data: x.subarray(0, batch * per), dims: [batch, ...sampleShape], type } },
      'batch check',
    );
    const last = await runSession(
      original,
      { [input]: { data: x.subarray(per, n * per), dims: [batch, ...sampleShape], type } },
      'batch check',
    );
    const all = await runSession(loose, { [input]: { data: x, dims: [n, ...sampleShape], type } }, 'batch check');
    why = '';
    for (const o of outputs) {
      const a = all[o],
        f = first[o],
        l = last[o];
      if (!a || a.dims[0] !== n || f.dims[0] !== batch) {
        why = `output '${o}' does not follow the batch (shape [${a?.dims.join(', ')}] for ${n} samples)`;
        break;
      }
      const row = f.data.length / batch;
      const want = new Float64Array(n * row);
      for (let i = 0; i < f.data.length; i++) want[i] = Number(f.data[i]);
      for (let i = 0; i < row; i++) want[batch * row + i] = Number(l.data[(batch - 1) * row + i]);
      const got = Array.from(a.data as ArrayLike<number | bigint>, Number);
      const d = relDiff(want, got);
      if (d > RELAX_TOLERANCE) {
        why = `output '${o}' changes when samples are batched together (relative difference ${d.toExponential(1)})`;
        break;
      }
    }
    if (!why) {
      return {
        proto: relaxed,
        keySuffix: '#relaxed-batch',
        runBatch: null,
        note:
          `the model's batch size is fixed at ${batch}; running a copy with a free batch ` +
          `dimension (checked: ${n} samples batched give the same outputs as at batch ${batch})`,
      };
    }
  } catch (e) {
    why = errorMessage(e);
  }
  return {
    proto: model,
    keySuffix: '',
    runBatch: batch,
    note:
      `the model's batch size is fixed at ${batch} and cannot be freed (${why}); running ` +
      `${batch} sample${batch === 1 ? '' : 's'} at a time, the last batch padded`,
  };
}

/**
 * Regroups batches into runs of exactly `size` samples. The last run is padded with zero samples; `valid` says
 * how many rows are real, and the caller drops the rest from every output.
 */
export async function* rebatch(batches: AsyncIterable<Batch>, size: number): AsyncGenerator<Batch & { valid: number }> {
  let pending: Batch[] = [];
  let count = 0;
  const take = (n: number): Batch & { valid: number } => {
    const first = pending[0];
    const per = first.x.length / first.shape[0];
    const x = new Float32Array(size * per);
    const labels = first.labels ? new Int32Array(size) : null;
    let filled = 0;
    while (filled < n) {
      const b = pending[0];
      const k = Math.min(n - filled, b.shape[0]);
      x.set(b.x.subarray(0, k * per), filled * per);
      if (labels && b.labels) labels.set(b.labels.subarray(0, k), filled);
      filled += k;
      if (k === b.shape[0]) pending.shift();
      else
        pending[0] = {
          x: b.x.subarray(k * per),
          shape: [b.shape[0] - k, ...b.shape.slice(1)],
          labels: b.labels?.subarray(k) ?? null,
          start: b.start + k,
        };
    }
    count -= n;
    return {
      x,
      shape: [size, ...first.shape.slice(1)],
      labels: labels ? labels.subarray(0, n) : null,
      start: first.start,
      valid: n,
    };
  };
  for await (const b of batches) {
    if (b.shape[0] === 0) continue;
    pending.push(b);
    count += b.shape[0];
    while (count >= size) yield take(size);
  }
  if (count > 0) yield take(count);
  pending = [];
}

/** Rows [0, valid) of a batch-first array. */
export function firstRows<T extends { length: number; subarray(a: number, b: number): T }>(
  data: T,
  rows: number,
  valid: number,
): T {
  if (valid === rows) return data;
  if (rows === 0) throw new ReplensError('E_INTERNAL', 'firstRows: empty batch');
  return data.subarray(0, (data.length / rows) * valid);
}
