// The similarity analysis: layer × layer matrices of linear CKA, SVCCA and PWCCA within one model, and between two
// models on the same samples.
//  * CKA on the full flattened activations, Gram form: per layer the centred Gram Kc = Xc·Xcᵀ (columns centred in
//    float64, the product in float32 through onnxruntime — the activations are float32 already — and everything
//    after in float64); CKA(a, b) = ⟨Kc_a, Kc_b⟩ / (‖Kc_a‖·‖Kc_b‖). Above MAX_GRAM_SAMPLES the n×n Grams would not
//    fit, so each pair is minibatch CKA (Nguyen et al.) over batches of MINIBATCH samples.
//  * SVCCA / PWCCA on units: conv layers are reduced to per-channel spatial means (the neurons are channels, as
//    Raghu et al. and Morcos et al. do for conv layers, so the neuron count stays below the sample count).
import { throwIfAborted, errorMessage } from '../errors';
import type { ActivationStore } from '../capture/store';
import { gemm } from '../linalg/gemm';
import { cka } from '../metrics/cka';
import { frobeniusDot } from '../metrics/center';
import { pwcca, svcca } from '../metrics/cca';
import { ProgressTracker, type ProgressSink } from '../progress';
import type { LayerMatrix, LayerRef, SimilarityResult } from '../../shared/result';

export const MAX_GRAM_SAMPLES = 5000;
export const MINIBATCH = 1000;

interface Rep {
  /** Centred Gram (n×n, float64) or null in minibatch mode. */
  gram: Float64Array | null;
  norm: number;
  /** Unit activations for CCA, n×units float64. */
  units: { data: Float64Array; rows: number; cols: number };
  /** The raw activations, kept only in minibatch mode. */
  raw: Float32Array | null;
}

async function representation(store: ActivationStore, l: LayerRef, minibatch: boolean): Promise<Rep> {
  const data = store.materialize(l.tensor);
  const n = store.rows(l.tensor), D = data.length / n;
  // Units: spatial means per channel for (C, H, W) layers.
  const C = l.shape.length >= 2 ? l.shape[0] : D, S = D / C;
  const units = new Float64Array(n * C);
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) { let s = 0; const o = (i * C + c) * S; for (let t = 0; t < S; t++) s += data[o + t]; units[i * C + c] = s / S; }
  if (minibatch) return { gram: null, norm: 0, units: { data: units, rows: n, cols: C }, raw: data };
  const mean = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let t = 0, o = i * D; t < D; t++) mean[t] += data[o + t];
  for (let t = 0; t < D; t++) mean[t] /= n;
  const xc = new Float32Array(n * D);
  for (let i = 0; i < n; i++) for (let t = 0, o = i * D; t < D; t++) xc[o + t] = data[o + t] - mean[t];
  const k = await gemm({ data: xc, rows: n, cols: D }, { data: xc, rows: n, cols: D }, { transB: true });
  const gram = Float64Array.from(k.data);
  return { gram, norm: Math.sqrt(frobeniusDot(gram, gram)), units: { data: units, rows: n, cols: C }, raw: null };
}

async function ckaOf(a: Rep, b: Rep): Promise<number | null> {
  if (a.gram && b.gram) return a.norm > 0 && b.norm > 0 ? frobeniusDot(a.gram, b.gram) / (a.norm * b.norm) : null;
  const n = a.units.rows;
  const r = await cka({ data: a.raw!, rows: n, cols: a.raw!.length / n }, { data: b.raw!, rows: n, cols: b.raw!.length / n }, { batchSize: MINIBATCH });
  return Number.isFinite(r.value) ? r.value : null;
}

export async function runSimilarity(
  store: ActivationStore, layers: LayerRef[],
  o: { storeB?: ActivationStore | null; layersB?: LayerRef[]; signal?: AbortSignal; onProgress?: ProgressSink; notes?: string[] } = {},
): Promise<SimilarityResult> {
  const n = store.rows(layers[0].tensor);
  const minibatch = n > MAX_GRAM_SAMPLES;
  const reps: Rep[] = [];
  const L = layers.length, LB = o.layersB?.length ?? 0;
  const progress = new ProgressTracker(o.onProgress, 'similarity', L + LB + L * L + L * LB);
  let done = 0;
  for (const l of layers) { throwIfAborted(o.signal); reps.push(await representation(store, l, minibatch)); progress.update(++done, l.label); }
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
          c.values[i][j] = await ckaOf(A[i], B[j]);
          s.values[i][j] = await safe('SVCCA', async () => (await svcca(A[i].units, B[j].units)).value);
        }
        p.values[i][j] = same && i === j ? 1 : await safe('PWCCA', async () => (await pwcca(A[i].units, B[j].units)).value);
        progress.update(++done);
      }
    }
    return { cka: c, svcca: s, pwcca: p };
  };
  const names = layers.map((l) => l.tensor);
  const within = await matrices(reps, reps, names, names, true);
  const result: SimilarityResult = { ...within, ckaMethod: minibatch ? `minibatch ${MINIBATCH} (float32 Grams, float64 sums)` : 'gram (float32 products of centred activations, float64 sums)' };
  if (o.storeB && o.layersB) {
    const repsB: Rep[] = [];
    for (const l of o.layersB) { throwIfAborted(o.signal); repsB.push(await representation(o.storeB, l, minibatch)); progress.update(++done, `compare ${l.label}`); }
    result.compare = await matrices(reps, repsB, names, o.layersB.map((l) => l.tensor), false);
  }
  return result;
}
