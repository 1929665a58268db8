// The analysis result document (`result.json`), schema `replens.result/2`: what `replens analyze` writes, the
// report and the editor panel draw, and the cache stores. Versioned; every field is documented in
// docs/result-schema.md. Plain JSON (no typed arrays); null where a value is undefined (never NaN).

export const RESULT_SCHEMA = 'replens.result/2';

/** A layer as the result refers to it: the captured tensor and how to show it. */
export interface LayerRef {
  /** The captured tensor name (unique key). */
  tensor: string;
  /** Display label: the PyTorch module path when known, else the node name. */
  label: string;
  /** Producing node's op type. */
  op: string;
  /** Shape of one sample's activation, e.g. [64, 14, 14]. */
  shape: number[];
  /** Parameters of the nodes since the previous analysed layer in graph order (for a block output: the block's). */
  params: number;
  /** Position in the graph (depth order). */
  index: number;
}

/** A square or rectangular matrix over layers. `values[i][j]` pairs rows[i] with cols[j]. */
export interface LayerMatrix {
  rows: string[]; // tensor names
  cols: string[];
  values: (number | null)[][];
}

export interface ModelRef {
  path: string;
  name: string;
  sha256: string;
  opset: number;
  params: number;
  /**
   * Top-1 accuracy on the analysed samples, when the dataset has labels and the model's output (captured) is one
   * score per class: `correct` of `samples`, from the output tensor `output`.
   */
  accuracy?: { top1: number; correct: number; samples: number; output: string };
}

export interface DatasetRef {
  /** The dataset's file or folder, as the run was given it. */
  path?: string;
  identity: string;
  description: string;
  /** Samples used by the analyses. */
  samples: number;
  hasLabels: boolean;
  classNames?: string[];
}

export interface SummaryLayer {
  tensor: string;
  mean: number;
  std: number;
  /** Share of activations ≤ 0 (exactly 0 after ReLU). */
  sparsity: number;
  channels: number;
  /** Channels whose activation is ≤ 0 for every sample. */
  deadChannels: number;
  /** Smallest value seen (selectivity is defined for non-negative activations only). */
  min?: number;
  /**
   * Set when `sparsity` and `deadChannels` mean nothing for this layer, with the reason: a layer with negative values
   * (logits, pre-activation conv/linear outputs) is not ReLU-like, so "≤ 0" is not "inactive". The numbers stay for
   * compatibility; views show them as not applicable.
   */
  sparsityNotApplicable?: string;
}

export interface RraLayer {
  tensor: string;
  /** TwoNN intrinsic dimension (least-squares slope) and the maximum-likelihood form, points dropped. */
  id: { twonn: number | null; ml: number | null; dropped: number } | null;
  /** NNCS at k, null without labels. */
  nncs: number | null;
  /** Multi-scale NNCS per pooling ('avg2', 'max4', 'avgglobal', …), null where the layer has no spatial dims. */
  multiScale?: Record<string, number | null>;
}

export interface RraResult {
  k: number;
  samples: number;
  /** How k and the sample count were chosen (ch. 5 rule) and the values used. */
  rule: string;
  perLayer: RraLayer[];
  nnls: LayerMatrix;
  /** NNLS between the layers of the model and of the compared model (same samples). */
  interModel?: LayerMatrix;
  poolings: string[];
}

export interface SimilarityResult {
  cka: LayerMatrix;
  /** Debiased linear CKA, when asked. */
  ckaDebiased?: LayerMatrix;
  svcca: LayerMatrix;
  pwcca: LayerMatrix;
  /** Between the model (rows) and the compared model (cols). */
  compare?: { cka: LayerMatrix; svcca: LayerMatrix; pwcca: LayerMatrix };
  /** 'feature' | 'gram' | 'minibatch B' — how CKA was computed. */
  ckaMethod: string;
  /**
   * SVCCA/PWCCA's guard against the trivial regime (kept directions near n): the rule, the cap (`maxDims`, null
   * with the guard off), the rule's limit ⌊n/10⌋ and what each layer kept. A cell is 'capped' when either layer is
   * capped, 'trivial' when either layer kept more than `limit` directions (`ccaCellFlag`).
   */
  cca?: {
    rule: string;
    maxDims: number | null;
    limit: number;
    samples: number;
    perLayer: CcaLayerDims[];
    perLayerB?: CcaLayerDims[];
  };
  /** SVCCA/PWCCA cells (or whole layers, col '*') that are null because the computation failed, and why. */
  ccaFailures?: { metric: string; row: string; col: string; reason: string }[];
  /** Things the views show next to the matrices (also in the result's notes). */
  warnings?: string[];
}

export type CcaCellFlag = 'capped' | 'trivial' | null;

/** How a SVCCA (or PWCCA) cell between two layers was computed, from their CcaLayerDims. */
export function ccaCellFlag(
  a: CcaLayerDims | undefined,
  b: CcaLayerDims | undefined,
  metric: 'svcca' | 'pwcca',
  limit: number,
): CcaCellFlag {
  if (!a || !b) return null;
  const kept = (d: CcaLayerDims) => (metric === 'svcca' ? d.svccaDims : d.pwccaDims);
  const full = (d: CcaLayerDims) => (metric === 'svcca' ? d.varianceDims : d.rank);
  if (Math.max(kept(a), kept(b)) > limit) return 'trivial';
  return kept(a) < full(a) || kept(b) < full(b) ? 'capped' : null;
}

/** What SVCCA/PWCCA kept of a layer's units (channels of conv layers). */
export interface CcaLayerDims {
  tensor: string;
  units: number;
  /** Numerical rank of the centred units. */
  rank: number;
  /** Directions reaching 99 % of the variance, before the cap. */
  varianceDims: number;
  svccaDims: number;
  pwccaDims: number;
  capped: boolean;
}

export interface SelectivityLayer {
  tensor: string;
  mean: number;
  median: number;
  /** Histogram of per-unit selectivity over [0, 1]. */
  histogram: { edges: number[]; counts: number[] };
  perUnit: number[];
}

export interface NoiseSvdCellJson {
  sigma: number;
  /** −1 = all images. */
  label: number;
  images: number;
  ev1: { mean: number; std: number };
  ev2: { mean: number; std: number };
  rest: { mean: number; std: number };
  s1: { mean: number; std: number };
  spectrum: number[];
}

export interface NoiseSvdResult {
  settings: {
    sigmas: number[];
    groupSize: number;
    seed: number;
    centre: boolean;
    clip: [number, number] | null;
    images: number;
  };
  /** One entry per checkpoint (one when a single model is analysed); `split` 'train' or 'test'. */
  series: {
    checkpoint: string;
    epoch: number | null;
    split: 'train' | 'test';
    layers: { tensor: string; features: number; cells: NoiseSvdCellJson[] }[];
  }[];
}

export interface SummaryResult {
  perLayer: SummaryLayer[];
}
export interface SelectivityResult {
  perLayer: SelectivityLayer[];
}

/**
 * What each analysis puts in the result, by analysis id: the one list of analyses (src/shared/analyses.ts derives
 * its ids from these keys, so a new analysis starts here).
 */
export interface AnalysisValues {
  summary: SummaryResult;
  selectivity: SelectivityResult;
  rra: RraResult;
  similarity: SimilarityResult;
  'noise-svd': NoiseSvdResult;
}

export interface AnalysisResult {
  schema: typeof RESULT_SCHEMA;
  createdAt: string;
  tool: { name: 'replens'; version: string };
  model: ModelRef;
  /**
   * The second model of `--compare`; `dataset` when it read its own (`--compare-data`), with how its sample order
   * was verified against the first ('images', 'labels' or 'none').
   */
  compare?: ModelRef & {
    layers: LayerRef[];
    dataset?: { identity: string; description: string; orderCheck: 'images' | 'labels' | 'none' };
    /**
     * The compared model's own per-model analyses (summary, selectivity, RRA's per-layer numbers…) on the same
     * samples, keyed like `analyses`: what the views overlay on the first model's curves and tables. Absent in
     * results written before it existed. An overlay of two stored runs (no shared samples) has these and no
     * between-model matrices.
     */
    analyses?: Partial<AnalysisValues>;
    /** Which of `analyses` came from the cache (a single run of this model, or an earlier comparison). */
    cached?: (keyof AnalysisValues)[];
    /** Analyses whose between-model part (rra.interModel, similarity.compare) came from the cache. */
    betweenCached?: (keyof AnalysisValues)[];
  };
  dataset: DatasetRef;
  settings: {
    analyses: string[];
    samples: number;
    seed: number;
    batchSize: number;
    k?: number;
    [key: string]: unknown;
  };
  layers: LayerRef[];
  /** Every node of the model with a torch module path: module, node index, op (code lenses match against it). */
  modules?: { module: string; index: number; op: string }[];
  /** Keyed by analysis id (analyses.ts); an analysis is absent until it has finished (or streamed a part). */
  analyses: Partial<AnalysisValues>;
  /** Seconds per analysis. */
  timings: Record<string, number>;
  /** Analyses served from the cache (computed by an earlier run with the same model, data and settings). */
  cached?: (keyof AnalysisValues)[];
  /** Things the user should know: skipped analyses (no labels…), dropped points, fallbacks. */
  notes: string[];
  /** false while a run is in progress or after a cancel (finished layers are present). */
  complete: boolean;
}

/**
 * A stored result document in the current schema: `replens.result/1` (before analyses were keyed by id: noise-svd
 * was `noiseSvd`) is upgraded; anything else is null.
 */
export function upgradeResult(doc: unknown): AnalysisResult | null {
  if (typeof doc !== 'object' || doc === null) return null;
  const d = doc as { schema?: unknown; analyses?: Record<string, unknown> };
  if (d.schema === RESULT_SCHEMA) return doc as AnalysisResult;
  if (d.schema !== 'replens.result/1' || typeof d.analyses !== 'object' || d.analyses === null) return null;
  const { noiseSvd, ...rest } = d.analyses;
  const analyses = { ...rest, ...(noiseSvd ? { 'noise-svd': noiseSvd } : {}) } as Partial<AnalysisValues>;
  return { ...(doc as AnalysisResult), schema: RESULT_SCHEMA, analyses };
}

/**
 * The compared model's own analyses as a single-model result (its layers, its `compare.analyses`), for what draws
 * one model (the CLI's table, an overlay's second trace); null without them.
 */
export function comparedResult(r: AnalysisResult): AnalysisResult | null {
  const c = r.compare;
  if (!c?.analyses || !Object.keys(c.analyses).length) return null;
  const { layers, analyses, dataset: _dataset, cached, betweenCached: _between, ...model } = c;
  return {
    ...r,
    model,
    compare: undefined,
    layers,
    modules: undefined,
    analyses,
    cached,
  };
}

/** '91.2 % top-1 (912 of 1000 samples, argmax of logits)'. */
export function formatAccuracy(a: NonNullable<ModelRef['accuracy']>): string {
  return `${(100 * a.top1).toFixed(1)} % top-1 (${a.correct} of ${a.samples} samples, argmax of ${a.output})`;
}
