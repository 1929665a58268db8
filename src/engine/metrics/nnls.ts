// Nearest Neighbour Layer Similarity (thesis §3.2.3, eqs. 3.2–3.3):
//   NNLS(a, b) = (1/N) Σ_i |K_ai ∩ K_bi| / |K_ai ∪ K_bi|
// the mean per-sample IoU of the neighbour index sets (order ignored) of the same sample in two representations
// of the same samples in the same order (two layers of one model, or of two models; eq. 4.1). With the same k in
// both graphs, |K_a ∩ K_b| = t gives IoU = t / (2k − t).
import { ReplensError } from '../errors';
import { Mat } from '../linalg/gemm';
import { checkK, knnGraph, knnWithDistances } from './knn';
import { checkLabels, nncsFromGraph } from './nncs';
import { MULTI_SCALE_SIZES, PoolSpec, poolFeatures } from './pooling';
import { TwoNNResult, twoNNFromGraph } from './twonn';

/** NNLS of two existing graphs over the same n samples, both N×k. */
export function nnlsFromGraphs(
  a: Int32Array,
  b: Int32Array,
  n: number,
  k: number,
): { value: number; per_sample: number[] } {
  if (a.length !== n * k || b.length !== n * k) throw new ReplensError('E_ARGUMENT', `graphs must both be ${n}×${k}`);
  const mark = new Int32Array(n).fill(-1);
  const per = new Array<number>(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) mark[a[i * k + t]] = i;
    let inter = 0;
    for (let t = 0; t < k; t++) if (mark[b[i * k + t]] === i) inter++;
    const iou = inter / (2 * k - inter);
    per[i] = iou;
    sum += iou;
  }
  return { value: sum / n, per_sample: per };
}

/** NNLS between the rows of x and y (same samples, same order; feature counts may differ). */
export async function nnls(
  x: Mat<Float64Array>,
  y: Mat<Float64Array>,
  k: number,
  opts: { blockRows?: number } = {},
): Promise<{ value: number; per_sample: number[] }> {
  if (x.rows !== y.rows) throw new ReplensError('E_ARGUMENT', `x has ${x.rows} samples but y has ${y.rows}`);
  checkK(k, x.rows);
  const a = await knnGraph(x, k, opts);
  const b = await knnGraph(y, k, opts);
  return nnlsFromGraphs(a, b, x.rows, k);
}

/**
 * M[a][b] = NNLS(graphs a[i], graphs b[j]) (eq. 3.2 intra-model when a = b, eq. 4.1 inter-model, eq. 6.1 pooled vs
 * unpooled).
 */
export function nnlsMatrix(a: Int32Array[], b: Int32Array[], n: number, k: number): number[][] {
  const same = a === b;
  const m = a.map(() => new Array<number>(b.length).fill(0));
  for (let i = 0; i < a.length; i++) {
    for (let j = same ? i : 0; j < b.length; j++) {
      m[i][j] = same && i === j ? 1 : nnlsFromGraphs(a[i], b[j], n, k).value;
      if (same) m[j][i] = m[i][j];
    }
  }
  return m;
}

export interface RraLayer {
  name: string;
  /** Activations, samples first: (n, C, H, W) or (n, F). */
  data: Float64Array;
  shape: number[];
}

export interface RraScaleResult {
  /** 'none', or e.g. 'avg 2', 'max global'. */
  scale: string;
  layers: {
    name: string;
    features: number;
    window: number | 'global' | null;
    id: TwoNNResult | null;
    idError?: string;
    nncs: number | null;
  }[];
  /** Intra-model NNLS matrix over the layers at this scale (symmetric, unit diagonal). */
  nnls: number[][];
  /** Eq. 6.1: rows = unpooled layer a, columns = layer b at this scale (absent for the unpooled scale itself). */
  nnlsVsUnpooled?: number[][];
}

/**
 * Multi-scale RRA (thesis ch. 6, Algorithm 1): for each scale s (unpooled first, then each pooling spec) and each
 * layer i, pool (layers without spatial dims stay unpooled), build the kNN graph K_i^s, and report ID (TwoNN, from
 * r1/r2 of the graph; needs k ≥ 2), NNCS (when labels are given) and, per scale, the full intra-NNLS matrix
 * NNLS(K_i^s, K_j^s) — Algorithm 1's line 8 literally compares a graph with itself (always 1); the thesis's figures
 * show the matrix over layer pairs, which is what this computes — and the pooled-vs-unpooled matrix of eq. 6.1.
 * A window larger than a layer's map pools that layer globally (recorded in `window`).
 */
export async function multiScaleRra(
  layers: RraLayer[],
  labels: ArrayLike<number> | null,
  k: number,
  opts: { scales?: PoolSpec[]; fraction?: number; blockRows?: number } = {},
): Promise<RraScaleResult[]> {
  if (layers.length === 0) throw new ReplensError('E_ARGUMENT', 'multi-scale RRA needs at least one layer');
  const n = layers[0].shape[0];
  for (const l of layers) {
    if (l.shape[0] !== n)
      throw new ReplensError(
        'E_ARGUMENT',
        `layer ${l.name} has ${l.shape[0]} samples, layer ${layers[0].name} has ${n}`,
      );
    if (l.data.length !== l.shape.reduce((a, b) => a * b, 1))
      throw new ReplensError(
        'E_ARGUMENT',
        `layer ${l.name}: shape [${l.shape.join(', ')}] does not match ${l.data.length} values`,
      );
  }
  if (labels) checkLabels(labels, n);
  checkK(k, n);
  const scales: (PoolSpec | null)[] = [
    null,
    ...(opts.scales ?? MULTI_SCALE_SIZES.flatMap((size) => (['avg', 'max'] as const).map((kind) => ({ kind, size })))),
  ];
  const out: RraScaleResult[] = [];
  let base: Int32Array[] | null = null;
  for (const s of scales) {
    const graphs: Int32Array[] = [];
    const rows: RraScaleResult['layers'] = [];
    for (const l of layers) {
      let data = l.data,
        window: number | 'global' | null = null;
      if (s && l.shape.length === 4) {
        const [, , H, W] = l.shape;
        window = s.size !== 'global' && (s.size > H || s.size > W) ? 'global' : s.size;
        data = poolFeatures(l.data, l.shape, s.kind, window).data;
      } else if (s && l.shape.length !== 2) {
        data = poolFeatures(l.data, l.shape, s.kind, s.size).data; // throws the shape error
      }
      const g = await knnWithDistances({ data, rows: n, cols: data.length / n }, k, { blockRows: opts.blockRows });
      graphs.push(g.indices);
      let id: TwoNNResult | null = null,
        idError: string | undefined;
      if (k >= 2) {
        try {
          id = twoNNFromGraph(g, { fraction: opts.fraction });
        } catch (e) {
          idError = e instanceof Error ? e.message : String(e);
        }
      } else idError = 'TwoNN needs k ≥ 2';
      rows.push({
        name: l.name,
        features: data.length / n,
        window,
        id,
        ...(idError ? { idError } : {}),
        nncs: labels ? nncsFromGraph(g.indices, labels, k).value : null,
      });
    }
    const r: RraScaleResult = {
      scale: s ? `${s.kind} ${s.size}` : 'none',
      layers: rows,
      nnls: nnlsMatrix(graphs, graphs, n, k),
    };
    if (base) r.nnlsVsUnpooled = nnlsMatrix(base, graphs, n, k);
    else base = graphs;
    out.push(r);
  }
  return out;
}
