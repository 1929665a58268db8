// Nearest Neighbour Class Similarity (thesis §3.2.4, eq. 3.4):
//   NNCS = (1/(N·k)) Σ_i Σ_{j ∈ K_i} [z_j = z_i]
// the fraction of (sample, neighbour) pairs that share a class, on the directed kNN graph (self excluded).
// With `pool`, the activations (shape n,C,H,W given in `shape`) are pooled first (multi-scale RRA, ch. 6).
import { ReplensError } from '../errors';
import { Mat } from '../linalg/gemm';
import { checkK, knnGraph } from './knn';
import { PoolSpec, poolFeatures } from './pooling';

export function checkLabels(labels: ArrayLike<number>, n: number, what = 'labels'): void {
  if (labels.length !== n)
    throw new ReplensError('E_ARGUMENT', `${what} has ${labels.length} entries but there are ${n} samples`);
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isInteger(labels[i]))
      throw new ReplensError('E_ARGUMENT', `${what}[${i}] = ${labels[i]} is not an integer class`);
  }
}

/** NNCS of an existing graph (N×k indices). */
export function nncsFromGraph(indices: Int32Array, labels: ArrayLike<number>, k: number): { value: number } {
  const n = labels.length;
  if (indices.length !== n * k)
    throw new ReplensError('E_ARGUMENT', `graph has ${indices.length} entries, not ${n}×${k}`);
  let same = 0;
  for (let i = 0; i < n; i++) {
    const zi = labels[i];
    for (let t = 0; t < k; t++) if (labels[indices[i * k + t]] === zi) same++;
  }
  return { value: same / (n * k) };
}

/**
 * NNCS of the rows of `x` with the given labels and k. `opts.pool` pools first; it needs `opts.shape`, the full
 * activation shape (n, C, H, W) whose product is x.rows·x.cols (a shape (n, F) is left unpooled).
 */
export async function nncs(
  x: Mat<Float64Array>,
  labels: ArrayLike<number>,
  k: number,
  opts: { pool?: PoolSpec; shape?: number[]; blockRows?: number } = {},
): Promise<{ value: number }> {
  checkLabels(labels, x.rows);
  checkK(k, x.rows);
  let m = x;
  if (opts.pool) {
    const shape = opts.shape ?? [x.rows, x.cols];
    if (shape[0] !== x.rows || shape.reduce((a, b) => a * b, 1) !== x.rows * x.cols) {
      throw new ReplensError(
        'E_ARGUMENT',
        `shape [${shape.join(', ')}] does not match ${x.rows} samples × ${x.cols} features`,
      );
    }
    const p = poolFeatures(x.data, shape, opts.pool.kind, opts.pool.size);
    m = { data: p.data, rows: x.rows, cols: p.data.length / x.rows };
  }
  const g = await knnGraph(m, k, { blockRows: opts.blockRows });
  return nncsFromGraph(g, labels, k);
}
