// TwoNN intrinsic dimension (Facco et al. 2017; thesis eq. 3.1), from the two nearest neighbours of each point.
//
//  μ_i = r2_i / r1_i (Euclidean, non-squared, self excluded; from the exact kNN graph).
//  Points with r1 = 0 (a duplicate exists) or r1 = r2 (μ = 1, a tie) are dropped and counted in `dropped`;
//  n = the number of points left, and every N below is that n.
//  Linear fit (Facco): sort μ ascending; the empirical CDF of the i-th smallest (i = 1..n) is F_i = i/n;
//  x_i = log μ_i, y_i = −log(1 − F_i); keep the first ⌊n·fraction⌋ points; value = Σxy/Σx² (slope through the
//  origin). F_n = 1 would give y = ∞, so the number of fitted points is capped at n − 1: with fraction = 1.0 the
//  largest μ (whose CDF is 1) is left out of the fit.
//  Maximum likelihood (thesis eq. 3.1, used by RRA): ml = n / Σ log μ over all n kept points.
import { ReplensError } from '../errors';
import { Mat } from '../linalg/gemm';
import { knnWithDistances, KnnResult } from './knn';

export interface TwoNNResult {
  /** ID from the linear fit through the origin. */
  value: number;
  /** ID from the maximum-likelihood form, over all kept points. */
  ml: number;
  /** Points dropped because r1 = 0 or r1 = r2. */
  dropped: number;
  /** Points kept (after dropping). */
  n: number;
}

/** TwoNN from the first two neighbour distances of an existing graph (k ≥ 2). */
export function twoNNFromGraph(
  g: Pick<KnnResult, 'distances' | 'n' | 'k'>,
  opts: { fraction?: number } = {},
): TwoNNResult {
  const fraction = opts.fraction ?? 0.9;
  if (!(fraction > 0 && fraction <= 1))
    throw new ReplensError('E_ARGUMENT', `fraction must be in (0, 1], got ${fraction}`);
  if (g.k < 2) throw new ReplensError('E_ARGUMENT', 'TwoNN needs the two nearest neighbours (k ≥ 2)');
  const mus: number[] = [];
  let dropped = 0;
  for (let i = 0; i < g.n; i++) {
    const r1 = g.distances[i * g.k],
      r2 = g.distances[i * g.k + 1];
    if (r1 === 0 || r1 === r2) {
      dropped++;
      continue;
    }
    mus.push(r2 / r1);
  }
  const n = mus.length;
  if (n < 2)
    throw new ReplensError(
      'E_ARGUMENT',
      `TwoNN: only ${n} point(s) left after dropping ${dropped} with r1 = 0 or r1 = r2; need at least 2`,
    );
  mus.sort((a, b) => a - b);
  let sumLog = 0;
  for (const m of mus) sumLog += Math.log(m);
  const fit = Math.min(Math.floor(n * fraction), n - 1);
  if (fit < 1) throw new ReplensError('E_ARGUMENT', `TwoNN: fraction ${fraction} of ${n} points leaves nothing to fit`);
  let sxy = 0,
    sxx = 0;
  for (let t = 0; t < fit; t++) {
    const xv = Math.log(mus[t]);
    const yv = -Math.log(1 - (t + 1) / n);
    sxy += xv * yv;
    sxx += xv * xv;
  }
  return { value: sxy / sxx, ml: n / sumLog, dropped, n };
}

/** TwoNN intrinsic dimension of the rows of `x` (N×D float64, N ≥ 3). */
export async function twoNN(
  x: Mat<Float64Array>,
  opts: { fraction?: number; blockRows?: number } = {},
): Promise<TwoNNResult> {
  if (x.rows < 3) throw new ReplensError('E_ARGUMENT', `TwoNN needs at least 3 samples, got ${x.rows}`);
  const fraction = opts.fraction ?? 0.9;
  if (!(fraction > 0 && fraction <= 1))
    throw new ReplensError('E_ARGUMENT', `fraction must be in (0, 1], got ${fraction}`);
  const g = await knnWithDistances(x, 2, { blockRows: opts.blockRows });
  return twoNNFromGraph(g, { fraction });
}
