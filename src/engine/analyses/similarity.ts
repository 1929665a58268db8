// The similarity analysis: layer × layer matrices of linear CKA, SVCCA and PWCCA within one model, and between two
// models on the same samples.
//  * CKA on the full flattened activations, Gram form: per layer the centred Gram Kc = Xc·Xcᵀ (columns centred in
//    float64, the product in float32 through onnxruntime — the activations are float32 already — and everything
//    after in float64), built tile by tile from row blocks read from the store (memory or spill file);
//    CKA(a, b) = ⟨Kc_a, Kc_b⟩ / (‖Kc_a‖·‖Kc_b‖). Above SIMILARITY_LIMITS.maxGramSamples the n×n Grams would not
//    fit, so each pair is minibatch CKA (Nguyen et al.) over batches of about SIMILARITY_LIMITS.minibatch samples.
//  * SVCCA / PWCCA on units: conv layers are reduced to per-channel spatial means (the neurons are channels, as
//    Raghu et al. and Morcos et al. do for conv layers, so the neuron count stays below the sample count).
//    Each layer is factored ONCE (centring, SVD reduction, whitening: metrics/cca.ts `layerCcaFactor`) and every
//    pair is then one small product and SVD, so L layers cost L factorisations plus L² small products.
//    Guard against the trivial regime (issue 13): a side keeps at most ⌊n/10⌋ directions (CCA_MAX_DIMS_FRACTION);
//    which layers were capped, and which cells would have been trivial, are recorded in `cca` / `ccaCells` with a
//    warning in the notes. A pair that fails is null and named in the notes (metric, layer pair, reason).
import { throwIfAborted, errorMessage } from '../errors';
import type { ActivationStore } from '../capture/store';
import { gemm } from '../linalg/gemm';
import { uCenterGram } from '../metrics/center';
import {
  CCA_MAX_DIMS_FRACTION,
  ccaChanceLevel,
  ccaMaxDims,
  ccaOfFactors,
  layerCcaFactor,
  pwccaOfFactors,
  type LayerCcaFactor,
} from '../metrics/cca';
import { ProgressTracker } from '../progress';
import {
  ccaCellFlag,
  type CcaLayerDims,
  type LayerMatrix,
  type LayerRef,
  type SimilarityResult,
} from '../../shared/result';
import { skipNote, type EngineAnalysis, type LayerPassOptions } from './context';

/** Above `maxGramSamples` CKA switches to minibatches of about `minibatch` samples (tests lower both). */
export const SIMILARITY_LIMITS = { maxGramSamples: 5000, minibatch: 1000 };

interface Rep {
  /**
   * Store entry holding the layer's Gram(s) as one flat float32 stream: the centred n×n Gram (Gram mode) or the
   * U-centred Gram of each batch one after the other (minibatch mode). In the store they count against the memory
   * budget and spill to disk like activations; a pair's CKA is one streamed dot product of two entries.
   */
  grams: string;
  /**
   * ‖Kc‖ (Gram mode) or √Σ_b HSIC₁(K_b, K_b) (minibatch mode, equal batch weights), from the float32 values as stored.
   */
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
function* rowRanges(
  store: ActivationStore,
  tensor: string,
  D: number,
  bounds: [number, number][],
): Generator<Float32Array> {
  const buf = new Float32Array(Math.max(...bounds.map(([s, e]) => e - s)) * D);
  let k = 0,
    fill = 0;
  for (const c of store.chunks(tensor, Math.max(1, Math.floor((1 << 22) / D)))) {
    // ≤ 16 MB per read
    let off = 0;
    while (off < c.rows && k < bounds.length) {
      const want = bounds[k][1] - bounds[k][0];
      const take = Math.min(want - fill, c.rows - off);
      buf.set(c.data.subarray(off * D, (off + take) * D), fill * D);
      fill += take;
      off += take;
      if (fill === want) {
        yield buf.subarray(0, want * D);
        k++;
        fill = 0;
      }
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
  const C = l.shape.length >= 2 ? l.shape[0] : D,
    S = D / C;
  const units = new Float64Array(n * C);
  const addUnits = (data: Float32Array, start: number, rows: number) => {
    for (let i = 0; i < rows; i++)
      for (let c = 0; c < C; c++) {
        let s = 0;
        const o = (i * C + c) * S;
        for (let t = 0; t < S; t++) s += data[o + t];
        units[(start + i) * C + c] = s / S;
      }
  };
  if (minibatch) {
    // Per batch: U(K_b) of the batch (features centred within the batch first — U-centring is invariant to it, and
    // it keeps the float32 products accurate), stored once per layer so every pair costs only dot products.
    const bounds = batchBounds(n, SIMILARITY_LIMITS.minibatch);
    const name = gramName(l.tensor);
    let self = 0,
      b = 0;
    const centredBuf = new Float32Array(Math.max(...bounds.map(([s0, e0]) => e0 - s0)) * D);
    for (const x of rowRanges(store, l.tensor, D, bounds)) {
      const [start, end] = bounds[b++],
        rows = end - start;
      addUnits(x, start, rows);
      const xc = centred(x, rows, D, centredBuf);
      const k = Float64Array.from(
        (await gemm({ data: xc, rows, cols: D }, { data: xc, rows, cols: D }, { transB: true })).data,
      );
      uCenterGram(k, rows);
      // Equal batch weights (Nguyen et al. 2021): ⟨U(K_b),U(L_b)⟩/(n_b(n_b−3)) = HSIC₁, so each stored Gram is
      // scaled by 1/√(n_b(n_b−3)) and the pair's streamed dot product sums HSIC₁ over batches.
      const wb = 1 / Math.sqrt(rows * (rows - 3));
      for (let t = 0; t < k.length; t++) k[t] *= wb;
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
    const rows = Math.min(B, n - s0),
      x = src.block(s0, rows, readBuf);
    addUnits(x as Float32Array, s0, rows);
    for (let i = 0; i < rows; i++) for (let t = 0, o = i * D; t < D; t++) mean[t] += x[o + t];
  }
  for (let t = 0; t < D; t++) mean[t] /= n;
  // Reused for full blocks (the short last one gets its own): two centred blocks and one read buffer in all.
  const bufA = new Float32Array(B * D),
    bufB = new Float32Array(B * D);
  const centredBlock = (s0: number, buf: Float32Array) => {
    const rows = Math.min(B, n - s0),
      x = src.block(s0, rows, readBuf),
      out = rows === B ? buf : new Float32Array(rows * D);
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

/** The result's per-layer record of a factor. */
function dimsOf(tensor: string, f: LayerCcaFactor): CcaLayerDims {
  return {
    tensor,
    units: f.units,
    rank: f.rank,
    varianceDims: f.varianceDims,
    svccaDims: f.svccaDims,
    pwccaDims: f.pwccaDims,
    capped: f.svccaDims < f.varianceDims || f.pwccaDims < f.rank,
  };
}

/** Options of both similarity passes. */
export type SimilarityOptions = LayerPassOptions & {
  /**
   * The SVCCA/PWCCA guard: at most ⌊fraction·n⌋ kept directions per side (default CCA_MAX_DIMS_FRACTION); null turns
   * it off.
   */
  ccaMaxDimsFraction?: number | null;
};

/**
 * What both passes share: the timers, the failures, the guard's numbers, each layer's representation (its Gram
 * stream in the store and its CCA factor) and the matrices over pairs of layers.
 */
function similarityPass(n: number, o: SimilarityOptions, what: string, units: number) {
  const timed = async <T>(key: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      if (o.timings) o.timings[key] = (o.timings[key] ?? 0) + (Date.now() - t0) / 1000;
    }
  };
  const minibatch = n > SIMILARITY_LIMITS.maxGramSamples;
  const fraction = o.ccaMaxDimsFraction === undefined ? CCA_MAX_DIMS_FRACTION : o.ccaMaxDimsFraction;
  const maxDims = fraction === null ? null : ccaMaxDims(n, fraction);
  const limit = ccaMaxDims(n); // the rule's limit, also used to flag cells when the guard is off
  const progress = new ProgressTracker(o.onProgress, what, units);
  let done = 0;
  const failures: NonNullable<SimilarityResult['ccaFailures']> = [];
  const fail = (metric: string, row: string, col: string, e: unknown) => {
    failures.push({ metric, row, col, reason: errorMessage(e) });
    return null;
  };
  /** Factors a layer's units once; null (every cell of the layer null, named in the notes) when that fails. */
  const factor = async (tensor: string, units: Rep['units']): Promise<LayerCcaFactor | null> => {
    try {
      return await timed('similarity: SVCCA/PWCCA', () => layerCcaFactor(units, { maxDims }));
    } catch (e) {
      fail('SVCCA/PWCCA', tensor, '*', e);
      return null;
    }
  };
  /** Each layer's Gram stream (in the store, removed by the caller) and CCA factor. */
  const representations = async (store: ActivationStore, layers: LayerRef[], compared: boolean) => {
    const reps: Rep[] = [],
      factors: (LayerCcaFactor | null)[] = [];
    for (const l of layers) {
      throwIfAborted(o.signal);
      const r = await timed('similarity: CKA Grams', () => representation(store, l, minibatch));
      factors.push(await factor(compared ? `${l.tensor} (compared model)` : l.tensor, r.units));
      reps.push({ ...r, units: { data: new Float64Array(0), rows: 0, cols: 0 } }); // the factor holds what CCA needs
      progress.update(++done, compared ? `compare ${l.label}` : l.label);
    }
    return { reps, factors };
  };
  const pairValue = async (
    metric: 'SVCCA' | 'PWCCA',
    row: string,
    col: string,
    f: () => Promise<number>,
  ): Promise<number | null> => {
    try {
      const v = await timed('similarity: SVCCA/PWCCA', f);
      return Number.isFinite(v) ? v : fail(metric, row, col, new Error(`non-finite value ${v}`));
    } catch (e) {
      return fail(metric, row, col, e);
    }
  };
  const matrices = async (
    storeA: ActivationStore,
    storeB: ActivationStore,
    A: Rep[],
    B: Rep[],
    FA: (LayerCcaFactor | null)[],
    FB: (LayerCcaFactor | null)[],
    rows: string[],
    cols: string[],
    same: boolean,
  ) => {
    const m = (): LayerMatrix => ({ rows, cols, values: rows.map(() => cols.map(() => null as number | null)) });
    const c = m(),
      s = m(),
      p = m();
    for (let i = 0; i < A.length; i++) {
      for (let j = 0; j < B.length; j++) {
        throwIfAborted(o.signal);
        const fa = FA[i],
          fb = FB[j];
        if (same && j < i) {
          c.values[i][j] = c.values[j][i];
          s.values[i][j] = s.values[j][i];
        } else if (same && i === j) {
          c.values[i][j] = 1;
          s.values[i][j] = fa ? 1 : null;
        } else {
          c.values[i][j] = await timed('similarity: CKA Grams', () => ckaOf(A[i], storeA, B[j], storeB));
          if (fa && fb)
            s.values[i][j] = await pairValue(
              'SVCCA',
              rows[i],
              cols[j],
              async () => (await ccaOfFactors(fa.svcca, fb.svcca)).value,
            );
        }
        // PWCCA is not symmetric: both orders are computed.
        if (same && i === j) p.values[i][j] = fa ? 1 : null;
        else if (fa && fb)
          p.values[i][j] = await pairValue(
            'PWCCA',
            rows[i],
            cols[j],
            async () => (await pwccaOfFactors(fa.pwcca, fb.pwcca)).value,
          );
        progress.update(++done);
      }
    }
    return { cka: c, svcca: s, pwcca: p };
  };
  return { minibatch, fraction, maxDims, limit, failures, representations, matrices };
}

/** The layer × layer matrices within one model (its layers from the store). */
export async function runSimilarity(
  store: ActivationStore,
  layers: LayerRef[],
  o: SimilarityOptions = {},
): Promise<SimilarityResult> {
  const n = store.rows(layers[0].tensor);
  const L = layers.length;
  const pass = similarityPass(n, o, 'similarity', L + L * L);
  const { maxDims, limit, fraction } = pass;
  const { reps, factors } = await pass.representations(store, layers, false);
  const names = layers.map((l) => l.tensor);
  const dimsA = layers
    .map((l, i) => (factors[i] ? dimsOf(l.tensor, factors[i]) : null))
    .filter((d): d is CcaLayerDims => d !== null);
  const rule =
    maxDims === null
      ? 'no guard: each side keeps the directions reaching 99 % of the variance ' +
        `(cells with more than ⌊n/10⌋ = ${limit} are flagged trivial)`
      : `each side keeps at most ⌊${fraction}·n⌋ = ${maxDims} directions of ` +
        `${n} samples (SVCCA: the 99 % variance directions, capped; PWCCA: the ` +
        `top ${maxDims} principal components when the units' rank exceeds it)`;
  try {
    const within = await pass.matrices(store, store, reps, reps, factors, factors, names, names, true);
    const result: SimilarityResult = {
      cka: within.cka,
      svcca: within.svcca,
      pwcca: within.pwcca,
      ckaMethod: pass.minibatch ? `minibatch ${SIMILARITY_LIMITS.minibatch}` : 'gram',
      cca: { rule, maxDims, limit, samples: n, perLayer: dimsA },
    };
    if (pass.failures.length) result.ccaFailures = pass.failures;
    const warnings = similarityWarnings(result);
    if (warnings.length) {
      result.warnings = warnings;
      o.notes?.push(...warnings);
    }
    return result;
  } finally {
    for (const r of reps) store.remove(r.grams);
  }
}

/** The between-model part of a similarity result: what a comparison adds to the model's own. */
export interface SimilarityBetween {
  /** Rows: the model's layers, cols: the compared model's. */
  compare: NonNullable<SimilarityResult['compare']>;
  /** What SVCCA/PWCCA kept of the compared model's layers (absent when nothing was computed). */
  perLayerB?: CcaLayerDims[];
  /** Failed SVCCA/PWCCA cells between the models (and failed factors of the compared model's layers). */
  ccaFailures?: NonNullable<SimilarityResult['ccaFailures']>;
}

/**
 * The matrices between the model's layers (rows) and the compared model's (cols) on the same samples. Both
 * models' Grams and factors are made again: at n² floats per layer (or per batch of a minibatch run) they are too
 * large to cache, and they cost what the cells do.
 */
export async function runSimilarityBetween(
  store: ActivationStore,
  layers: LayerRef[],
  storeB: ActivationStore,
  layersB: LayerRef[],
  o: SimilarityOptions = {},
): Promise<SimilarityBetween> {
  const n = store.rows(layers[0].tensor);
  const L = layers.length,
    LB = layersB.length;
  const pass = similarityPass(n, o, 'similarity between models', L + LB + L * LB);
  // The model's factor failures were named by its own run: only the compared model's are kept here.
  const a = await pass.representations(store, layers, false);
  pass.failures.length = 0;
  try {
    const b = await pass.representations(storeB, layersB, true);
    try {
      const compare = await pass.matrices(
        store,
        storeB,
        a.reps,
        b.reps,
        a.factors,
        b.factors,
        layers.map((l) => l.tensor),
        layersB.map((l) => l.tensor),
        false,
      );
      const perLayerB = layersB
        .map((l, i) => (b.factors[i] ? dimsOf(l.tensor, b.factors[i]) : null))
        .filter((d): d is CcaLayerDims => d !== null);
      return { compare, perLayerB, ...(pass.failures.length ? { ccaFailures: pass.failures } : {}) };
    } finally {
      for (const r of b.reps) storeB.remove(r.grams);
    }
  } finally {
    for (const r of a.reps) store.remove(r.grams);
  }
}

/** The warnings of a result: the guard's (over every cell, within and between) and one per failure. */
export function similarityWarnings(r: SimilarityResult): string[] {
  if (!r.cca) return [];
  const warnings = ccaWarnings(r, r.cca.samples, r.cca.maxDims, r.cca.limit);
  for (const f of r.ccaFailures ?? [])
    warnings.push(
      `${f.metric} undefined (null) for ${f.col === '*' ? `layer ${f.row}` : `${f.row} ↔ ${f.col}`}: ${f.reason}`,
    );
  return warnings;
}

/**
 * A model's own result with a comparison's between part, as one run over both models writes it: the compared
 * model's matrices and CCA record, the failures in order, and the warnings made again over every cell.
 */
export function withComparison(own: SimilarityResult, between: SimilarityBetween): SimilarityResult {
  const out: SimilarityResult = { ...own, compare: between.compare };
  delete out.warnings;
  delete out.ccaFailures;
  if (own.cca && between.perLayerB) out.cca = { ...own.cca, perLayerB: between.perLayerB };
  const failures = [...(own.ccaFailures ?? []), ...(between.ccaFailures ?? [])];
  if (failures.length) out.ccaFailures = failures;
  const warnings = similarityWarnings(out);
  if (warnings.length) out.warnings = warnings;
  return out;
}

/** The guard's warnings: what was capped (guard on) or which cells are in the trivial regime (guard off). */
function ccaWarnings(r: SimilarityResult, n: number, maxDims: number | null, limit: number): string[] {
  const out: string[] = [];
  const g = r.cca!,
    A = g.perLayer,
    B = g.perLayerB ?? null;
  let trivial = 0,
    capped = 0,
    worst = 0;
  for (const metric of ['svcca', 'pwcca'] as const) {
    for (const [rows, cols] of B
      ? [
          [A, A],
          [A, B],
        ]
      : [[A, A]]) {
      for (const a of rows)
        for (const b of cols) {
          if (a === b) continue;
          const f = ccaCellFlag(a, b, metric, limit);
          if (f === 'trivial') {
            trivial++;
            worst = Math.max(
              worst,
              metric === 'svcca' ? Math.max(a.svccaDims, b.svccaDims) : Math.max(a.pwccaDims, b.pwccaDims),
            );
          } else if (f === 'capped') capped++;
        }
    }
  }
  if (trivial > 0)
    out.push(
      `SVCCA/PWCCA: ${trivial} cell(s) kept more than ⌊n/10⌋ = ${limit} directions of n = ` +
        `${n} samples — the trivial regime, where even independent data score near 1 (chance ` +
        `level up to ${ccaChanceLevel(worst, 1, n).toFixed(2)}); those values mean nothing`,
    );
  if (maxDims !== null && capped > 0) {
    const layers = [...A, ...(B ?? [])].filter((d) => d.capped).length;
    out.push(
      `SVCCA/PWCCA: ${layers} layer(s) had more directions than ⌊n/10⌋ = ${maxDims} for n = ` +
        `${n} samples and were capped to ${maxDims} (${capped} off-diagonal cell(s)); ` +
        `independent data would score about ${ccaChanceLevel(maxDims, maxDims, n).toFixed(2)} ` +
        'or less, so read values against that, and use more samples to keep more directions',
    );
  }
  return out;
}

/** `m` over the given rows and columns: the pairs it has keep their values, the others are null. */
function widen(m: LayerMatrix | undefined, rows: string[], cols: string[]): LayerMatrix {
  const ri = new Map((m?.rows ?? []).map((t, i) => [t, i])),
    ci = new Map((m?.cols ?? []).map((t, i) => [t, i]));
  return {
    rows,
    cols,
    values: rows.map((r) => cols.map((c) => (ri.has(r) && ci.has(c) ? m!.values[ri.get(r)!][ci.get(c)!] : null))),
  };
}

/** A similarity result over every layer (and compared layer) from one over the non-degenerate ones. */
export function widenSimilarity(
  r: SimilarityResult | null,
  names: string[],
  namesB: string[] | null,
): SimilarityResult {
  const out: SimilarityResult = {
    cka: widen(r?.cka, names, names),
    svcca: widen(r?.svcca, names, names),
    pwcca: widen(r?.pwcca, names, names),
    ckaMethod: r?.ckaMethod ?? 'none',
  };
  if (r?.ckaDebiased) out.ckaDebiased = widen(r.ckaDebiased, names, names);
  if (namesB)
    out.compare = {
      cka: widen(r?.compare?.cka, names, namesB),
      svcca: widen(r?.compare?.svcca, names, namesB),
      pwcca: widen(r?.compare?.pwcca, names, namesB),
    };
  if (r?.cca) out.cca = r.cca; // SVCCA/PWCCA guard record, failures and warnings (per layer / named pairs: no widening)
  if (r?.ccaFailures) out.ccaFailures = r.ccaFailures;
  if (r?.warnings) out.warnings = r.warnings;
  return out;
}

/**
 * The analysis: degenerate layers never reach runSimilarity; their rows and columns are null, the rest is unchanged.
 * `run` is the model's own matrices; `between` the matrices against the compared model, merged by `combine`.
 */
export const similarityAnalysis: EngineAnalysis<'similarity', null, SimilarityBetween> = {
  id: 'similarity',
  settings: () => null,
  async run(ctx) {
    const notes: string[] = [];
    const timings: Record<string, number> = {};
    const skipA = ctx.degenerate('model');
    for (const l of ctx.model.layers)
      if (skipA.has(l.tensor))
        for (const m of ['CKA', 'SVCCA', 'PWCCA']) notes.push(skipNote(m, l.label, skipA.get(l.tensor)!));
    const okA = ctx.model.layers.filter((l) => !skipA.has(l.tensor));
    const r: SimilarityResult | null = okA.length
      ? await runSimilarity(ctx.store!, okA, { signal: ctx.signal, onProgress: ctx.onProgress, notes, timings })
      : null;
    const value = widenSimilarity(
      r,
      ctx.model.layers.map((l) => l.tensor),
      null,
    );
    return { value, notes, timings };
  },
  async between(ctx) {
    const notes: string[] = [];
    const timings: Record<string, number> = {};
    const cmp = ctx.compare!;
    const skipA = ctx.degenerate('model'),
      skipB = ctx.degenerate('compare');
    for (const l of cmp.layers)
      if (skipB.has(l.tensor))
        for (const m of ['CKA', 'SVCCA', 'PWCCA'])
          notes.push(skipNote(m, `${l.label} of ${cmp.ref.name}`, skipB.get(l.tensor)!));
    const okA = ctx.model.layers.filter((l) => !skipA.has(l.tensor)),
      okB = cmp.layers.filter((l) => !skipB.has(l.tensor));
    const r =
      okA.length && okB.length
        ? await runSimilarityBetween(ctx.store!, okA, ctx.compareStore!, okB, {
            signal: ctx.signal,
            onProgress: ctx.onProgress,
            timings,
          })
        : null;
    const names = ctx.model.layers.map((l) => l.tensor),
      namesB = cmp.layers.map((l) => l.tensor);
    const value: SimilarityBetween = {
      ...r,
      compare: {
        cka: widen(r?.compare.cka, names, namesB),
        svcca: widen(r?.compare.svcca, names, namesB),
        pwcca: widen(r?.compare.pwcca, names, namesB),
      },
    };
    return { value, notes, timings };
  },
  combine(own, between) {
    const value = withComparison(own.value, between.value);
    // The model's notes end with its warnings; the comparison's (over every cell) replace them, after its notes.
    const ownNotes = own.notes.slice(0, own.notes.length - (own.value.warnings?.length ?? 0));
    return { value, notes: [...ownNotes, ...between.notes, ...(value.warnings ?? [])] };
  },
};
