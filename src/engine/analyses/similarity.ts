// The similarity analysis: layer × layer matrices of linear CKA, SVCCA and PWCCA within one model, and between two
// models on the same samples.
//  * CKA on the full flattened activations, Gram form: per layer the centred Gram Kc = Xc·Xcᵀ (columns centred in
//    float64, the product in float32 through onnxruntime — the activations are float32 already — and everything
//    after in float64), built tile by tile from row blocks read from the store (memory or spill file); CKA(a, b) = ⟨Kc_a, Kc_b⟩ / (‖Kc_a‖·‖Kc_b‖). Above SIMILARITY_LIMITS.maxGramSamples the n×n Grams would not
//    fit, so each pair is minibatch CKA (Nguyen et al.) over batches of about SIMILARITY_LIMITS.minibatch samples.
//  * SVCCA / PWCCA on units: conv layers are reduced to per-channel spatial means (the neurons are channels, as
//    Raghu et al. and Morcos et al. do for conv layers, so the neuron count stays below the sample count).
import { throwIfAborted, errorMessage } from '../errors';
import type { ActivationStore } from '../capture/store';
import { gemm } from '../linalg/gemm';
import { uCenterGram } from '../metrics/center';
import { pwcca, svcca } from '../metrics/cca';
import { ProgressTracker, type ProgressSink } from '../progress';
import type { LayerMatrix, LayerRef, SimilarityResult } from '../../shared/result';

/** Above `maxGramSamples` CKA switches to minibatches of about `minibatch` samples (tests lower both). */
export const SIMILARITY_LIMITS = { maxGramSamples: 5000, minibatch: 1000 };

interface Rep {
  /**
   * Store entry holding the layer's Gram(s) as one flat float32 stream: the centred n×n Gram (Gram mode) or the
   * U-centred Gram of each batch one after the other (minibatch mode). In the store they count against the memory
   * budget and spill to disk like activations; a pair's CKA is one streamed dot product of two entries.
   */
  grams: string;
  /** ‖Kc‖ (Gram mode) or √Σ_b⟨U(K_b), U(K_b)⟩ (minibatch mode), from the float32 values as stored. */
  norm: number;
  /** Unit activations for CCA, n×units float64. */
  units: { data: Float64Array; rows: number; cols: number };
}

/** Consecutive batches of nearly equal size (each ≥ 4 when n ≥ 4·count), as [start, end) pairs. */
export function batchBounds(n: number, size: number): [number, number][] {
  const count = Math.max(1, Math.ceil(n / size));
  const out: [number, number][] = [];
  for (let b = 0; b < count; b++) out.push([Math.floor((b * n) / count), Math.floor(((b + 1) * n) / count)]);
  return out;
}

/**
 * Rows [start, end) of a stored tensor, assembled across the store's chunks into ONE reused buffer (each yield is a
 * view of it, valid until the next): a layer's batches never pile up as garbage between collections.
 */
function* rowRanges(store: ActivationStore, tensor: string, D: number, bounds: [number, number][]): Generator<Float32Array> {
  const buf = new Float32Array(Math.max(...bounds.map(([s, e]) => e - s)) * D);
  let k = 0, fill = 0;
  for (const c of store.chunks(tensor, Math.max(1, Math.floor((1 << 22) / D)))) { // ≤ 16 MB per read
    let off = 0;
    while (off < c.rows && k < bounds.length) {
      const want = bounds[k][1] - bounds[k][0];
      const take = Math.min(want - fill, c.rows - off);
      buf.set(c.data.subarray(off * D, (off + take) * D), fill * D);
      fill += take; off += take;
      if (fill === want) { yield buf.subarray(0, want * D); k++; fill = 0; }
    }
  }
}

/** Column-centred float32 copy of a batch (means in float64), into `out` (a view of it is returned). */
function centred(data: Float32Array, n: number, D: number, out: Float32Array): Float32Array {
  const mean = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let t = 0, o = i * D; t < D; t++) mean[t] += data[o + t];
  for (let t = 0; t < D; t++) mean[t] /= n;
  const xc = out.subarray(0, n * D);
  for (let i = 0; i < n; i++) for (let t = 0, o = i * D; t < D; t++) xc[o + t] = data[o + t] - mean[t];
  return xc;
}

async function representation(store: ActivationStore, l: LayerRef, minibatch: boolean): Promise<Rep> {
  const n = store.rows(l.tensor);
  const D = store.rowShape(l.tensor).reduce((a, b) => a * b, 1);
  // Units: spatial means per channel for (C, H, W) layers.
  const C = l.shape.length >= 2 ? l.shape[0] : D, S = D / C;
  const units = new Float64Array(n * C);
  const addUnits = (data: Float32Array, start: number, rows: number) => {
    for (let i = 0; i < rows; i++) for (let c = 0; c < C; c++) { let s = 0; const o = (i * C + c) * S; for (let t = 0; t < S; t++) s += data[o + t]; units[(start + i) * C + c] = s / S; }
  };
  if (minibatch) {
    // Per batch: U(K_b) of the batch (features centred within the batch first — U-centring is invariant to it, and
    // it keeps the float32 products accurate), stored once per layer so every pair costs only dot products.
    const bounds = batchBounds(n, SIMILARITY_LIMITS.minibatch);
    const name = gramName(l.tensor);
    let self = 0, b = 0;
    const centredBuf = new Float32Array(Math.max(...bounds.map(([s0, e0]) => e0 - s0)) * D);
    for (const x of rowRanges(store, l.tensor, D, bounds)) {
      const [start, end] = bounds[b++], rows = end - start;
      addUnits(x, start, rows);
      const xc = centred(x, rows, D, centredBuf);
      const k = Float64Array.from((await gemm({ data: xc, rows, cols: D }, { data: xc, rows, cols: D }, { transB: true })).data);
      uCenterGram(k, rows);
      const k32 = Float32Array.from(k);
      self += dot32(k32, k32);
      store.append(name, k32, k32.length, [1]);
    }
    return { grams: name, norm: Math.sqrt(self), units: { data: units, rows: n, cols: C } };
  }
  // Gram mode, streamed: column means in one pass, then Kc one row band at a time (every tile of the band, so the
  // band can go to the store before the next; twice the flops of the symmetric half, at most 5,000 samples) from
  // centred row blocks of ≤ 64 MB each, so no more than two blocks of the layer are ever held.
  const src = store.source(l.tensor);
  const B = Math.max(1, Math.min(n, Math.floor(2 ** 24 / D)));
  const mean = new Float64Array(D);
  const readBuf = new Float32Array(B * D);
  for (let s0 = 0; s0 < n; s0 += B) {
    const rows = Math.min(B, n - s0), x = src.block(s0, rows, readBuf);
    addUnits(x as Float32Array, s0, rows);
    for (let i = 0; i < rows; i++) for (let t = 0, o = i * D; t < D; t++) mean[t] += x[o + t];
  }
  for (let t = 0; t < D; t++) mean[t] /= n;
  // Reused for full blocks (the short last one gets its own): two centred blocks and one read buffer in all.
  const bufA = new Float32Array(B * D), bufB = new Float32Array(B * D);
  const centredBlock = (s0: number, buf: Float32Array) => {
    const rows = Math.min(B, n - s0), x = src.block(s0, rows, readBuf), out = rows === B ? buf : new Float32Array(rows * D);
    for (let i = 0; i < rows; i++) for (let t = 0, o = i * D; t < D; t++) out[o + t] = x[o + t] - mean[t];
    return { data: out, rows, cols: D };
  };
  // One row band of Kc at a time (B rows × n), appended to the store in row order.
  const name = gramName(l.tensor);
  let self = 0;
  for (let I = 0; I < n; I += B) {
    const a = centredBlock(I, bufA);
    const band = new Float32Array(a.rows * n);
    for (let J = 0; J < n; J += B) {
      const b = J === I ? a : centredBlock(J, bufB);
      const k = (await gemm(a, b, { transB: true })).data;
      for (let i = 0; i < a.rows; i++) band.set(k.subarray(i * b.rows, (i + 1) * b.rows), i * n + J);
    }
    self += dot32(band, band);
    store.append(name, band, band.length, [1]);
  }
  return { grams: name, norm: Math.sqrt(self), units: { data: units, rows: n, cols: C } };
}

/** The store entry of a layer's Gram stream (a name no ONNX tensor has). */
const gramName = (tensor: string) => `replens:gram:${tensor}`;

function dot32(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** ⟨Ka, Kb⟩ / (‖Ka‖·‖Kb‖), streaming both Gram entries in lockstep (float64 sums). */
async function ckaOf(a: Rep, storeA: ActivationStore, b: Rep, storeB: ActivationStore): Promise<number | null> {
  if (!(a.norm > 0 && b.norm > 0)) return null;
  const CH = 1 << 20;
  const sb = storeB.source(b.grams);
  const into = new Float32Array(CH);
  let s = 0;
  for (const c of storeA.chunks(a.grams, CH)) s += dot32(c.data, sb.block(c.start, c.rows, into) as Float32Array);
  return s / (a.norm * b.norm);
}

export async function runSimilarity(
  store: ActivationStore, layers: LayerRef[],
  o: { storeB?: ActivationStore | null; layersB?: LayerRef[]; signal?: AbortSignal; onProgress?: ProgressSink; notes?: string[]; timings?: Record<string, number> } = {},
): Promise<SimilarityResult> {
  const timed = async <T>(key: string, f: () => Promise<T>): Promise<T> => { const t0 = Date.now(); try { return await f(); } finally { if (o.timings) o.timings[key] = (o.timings[key] ?? 0) + (Date.now() - t0) / 1000; } };
  const n = store.rows(layers[0].tensor);
  const minibatch = n > SIMILARITY_LIMITS.maxGramSamples;
  const reps: Rep[] = [];
  const L = layers.length, LB = o.layersB?.length ?? 0;
  const progress = new ProgressTracker(o.onProgress, 'similarity', L + LB + L * L + L * LB);
  let done = 0;
  for (const l of layers) { throwIfAborted(o.signal); reps.push(await timed('similarity: CKA Grams', () => representation(store, l, minibatch))); progress.update(++done, l.label); }
  const failed = new Set<string>();
  const safe = async (what: string, f: () => Promise<number>): Promise<number | null> => {
    try {
      const v = await f();
      return Number.isFinite(v) ? v : null;
    } catch (e) {
      const key = `${what}: ${errorMessage(e)}`;
      if (!failed.has(key)) { failed.add(key); o.notes?.push(`${what} undefined for a pair (null): ${errorMessage(e)}`); }
      return null;
    }
  };
  const matrices = async (A: Rep[], B: Rep[], rows: string[], cols: string[], same: boolean) => {
    const m = (): LayerMatrix => ({ rows, cols, values: rows.map(() => cols.map(() => null as number | null)) });
    const c = m(), s = m(), p = m();
    for (let i = 0; i < A.length; i++) {
      for (let j = 0; j < B.length; j++) {
        throwIfAborted(o.signal);
        if (same && j < i) { c.values[i][j] = c.values[j][i]; s.values[i][j] = s.values[j][i]; }
        else if (same && i === j) { c.values[i][j] = 1; s.values[i][j] = 1; }
        else {
          c.values[i][j] = await timed('similarity: CKA Grams', () => ckaOf(A[i], store, B[j], same ? store : o.storeB!));
          s.values[i][j] = await timed('similarity: SVCCA/PWCCA', () => safe('SVCCA', async () => (await svcca(A[i].units, B[j].units)).value));
        }
        p.values[i][j] = same && i === j ? 1 : await timed('similarity: SVCCA/PWCCA', () => safe('PWCCA', async () => (await pwcca(A[i].units, B[j].units)).value));
        progress.update(++done);
      }
    }
    return { cka: c, svcca: s, pwcca: p };
  };
  const names = layers.map((l) => l.tensor);
  try {
    const within = await matrices(reps, reps, names, names, true);
    const result: SimilarityResult = { ...within, ckaMethod: minibatch ? `minibatch ${SIMILARITY_LIMITS.minibatch}` : 'gram' };
    if (o.storeB && o.layersB) {
      const repsB: Rep[] = [];
      for (const l of o.layersB) { throwIfAborted(o.signal); repsB.push(await timed('similarity: CKA Grams', () => representation(o.storeB!, l, minibatch))); progress.update(++done, `compare ${l.label}`); }
      try {
        result.compare = await matrices(reps, repsB, names, o.layersB.map((l) => l.tensor), false);
      } finally { for (const r of repsB) o.storeB.remove(r.grams); }
    }
    return result;
  } finally { for (const r of reps) store.remove(r.grams); }
}
