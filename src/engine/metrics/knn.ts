// Exact directed kNN graphs (RRA, thesis ch. 3 §3.2.1): Euclidean distance, the sample itself excluded, the k
// nearest first, ties in distance broken by the LOWER sample index.
//
// Squared distances are computed tile by tile as ‖a‖² + ‖b‖² − 2abᵀ with a float64 onnxruntime Gemm, only for the
// tiles on and above the diagonal (half the flops); memory beyond the data is O(blockRows²) for two tiles plus
// O(N·k) for the result and the candidates. Each row keeps its k+1 best candidates in a bounded max-heap (no full
// sort). The GEMM form carries rounding error, so the final order never trusts it:
//  * the k candidates' distances are recomputed directly (Σ(a−b)², float64) and the row is ordered by
//    (exact distance, index);
//  * when the (k+1)-th GEMM distance is within the rounding bound of the k-th (a near-tie at the boundary: the Gemm
//    error bound plus a relative 1e-9), every index whose GEMM distance lies within that bound is collected from a
//    full Gram row, recomputed exactly, and the k best by (exact distance, index) are kept — so the tie rule holds
//    even where the GEMM form would misorder.
import { ReplensError } from '../errors';
import { gemm, Mat } from '../linalg/gemm';

export interface KnnResult {
  /** N×k row-major neighbour indices, nearest first. */
  indices: Int32Array;
  /** N×k row-major Euclidean (non-squared) distances, recomputed directly in float64. */
  distances: Float64Array;
  n: number;
  k: number;
}

export function checkFinite(data: ArrayLike<number>, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new ReplensError('E_ARGUMENT', `${what} contains a non-finite value (${data[i]}) at flat index ${i}`);
  }
}

export function checkK(k: number, n: number, what = 'k'): void {
  if (!Number.isInteger(k) || k < 1) throw new ReplensError('E_ARGUMENT', `${what} must be a positive integer, got ${k}`);
  if (k >= n) throw new ReplensError('E_ARGUMENT', `${what} = ${k} must be smaller than the number of samples (${n}), since a sample is not its own neighbour`);
}

function checkMat(x: Mat<Float64Array>, what: string): void {
  if (!(x.data instanceof Float64Array)) throw new ReplensError('E_ARGUMENT', `${what} must be float64`);
  if (x.data.length !== x.rows * x.cols) throw new ReplensError('E_ARGUMENT', `${what} has ${x.data.length} values, not ${x.rows}×${x.cols}`);
  if (x.cols < 1) throw new ReplensError('E_ARGUMENT', `${what} has no features`);
  checkFinite(x.data, what);
}

/** Squared Euclidean distance between rows i and j, summed directly in float64. */
function exactSq(d: Float64Array, cols: number, i: number, j: number): number {
  let s = 0;
  const a = i * cols, b = j * cols;
  for (let t = 0; t < cols; t++) { const v = d[a + t] - d[b + t]; s += v * v; }
  return s;
}

/** (d, j) < (d', j') lexicographically. */
function before(d1: number, j1: number, d2: number, j2: number): boolean {
  return d1 < d2 || (d1 === d2 && j1 < j2);
}

/**
 * N bounded max-heaps of (distance, index) pairs in flat arrays, one per row, `cap` each; the root of a heap is the
 * worst candidate kept. Comparisons are lexicographic on (distance, index), so the order of insertion never matters.
 */
class Heaps {
  readonly d: Float64Array;
  readonly j: Int32Array;
  readonly size: Int32Array;
  constructor(n: number, readonly cap: number) {
    this.d = new Float64Array(n * cap).fill(Infinity);
    this.j = new Int32Array(n * cap);
    this.size = new Int32Array(n);
  }
  /** The worst kept distance of row r, or +∞ while the heap is not full. */
  bound(r: number): number { return this.size[r] < this.cap ? Infinity : this.d[r * this.cap]; }
  push(r: number, dist: number, idx: number): void {
    const { d, j, cap } = this;
    const o = r * cap;
    const size = this.size[r];
    if (size < cap) {
      let c = size;
      this.size[r] = size + 1;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!before(d[o + p], j[o + p], dist, idx)) break; // parent is not better than the new pair → stop
        d[o + c] = d[o + p]; j[o + c] = j[o + p]; c = p;
      }
      d[o + c] = dist; j[o + c] = idx;
      return;
    }
    if (!before(dist, idx, d[o], j[o])) return;
    let c = 0;
    for (;;) {
      const l = 2 * c + 1;
      if (l >= cap) break;
      let m = l;
      const rr = l + 1;
      if (rr < cap && before(d[o + l], j[o + l], d[o + rr], j[o + rr])) m = rr; // the worse child
      if (!before(dist, idx, d[o + m], j[o + m])) break;
      d[o + c] = d[o + m]; j[o + c] = j[o + m]; c = m;
    }
    d[o + c] = dist; j[o + c] = idx;
  }
  /** Row r's kept pairs, best first. */
  sorted(r: number): { d: number[]; j: number[] } {
    const o = r * this.cap;
    const order = Array.from({ length: this.size[r] }, (_, t) => o + t);
    order.sort((a, b) => (this.d[a] - this.d[b]) || (this.j[a] - this.j[b]));
    return { d: order.map((t) => this.d[t]), j: order.map((t) => this.j[t]) };
  }
}

const EPS = 2.220446049250313e-16;

/**
 * The exact kNN graph with distances. `x` is N×D float64, one sample per row.
 * `blockRows` is the side of the square Gemm tiles (memory 2·blockRows²·8 bytes with the prefetched tile, and
 * blockRows·N·8 for the near-tie pass when a row needs it);
 * by default 1024.
 *
 * Only the tiles on and above the diagonal are computed (the Gram matrix is symmetric, so half the flops): tile
 * (I, J) feeds the rows of I with the columns of J and, off the diagonal, the rows of J with the columns of I.
 * The next tile's Gemm runs in onnxruntime while this one is scanned. Rows with a near-tie at the k boundary are
 * resolved afterwards from a full row of GEMM distances (recomputed for those rows only).
 */
export async function knnWithDistances(x: Mat<Float64Array>, k: number, opts: { blockRows?: number } = {}): Promise<KnnResult> {
  checkMat(x, 'x');
  const n = x.rows, D = x.cols, data = x.data;
  checkK(k, n);
  const B = opts.blockRows ?? 1024;
  if (!Number.isInteger(B) || B < 1) throw new ReplensError('E_ARGUMENT', `blockRows must be a positive integer, got ${B}`);

  const norms = new Float64Array(n);
  let sMax = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = i * D, e = t + D; t < e; t++) s += data[t] * data[t];
    norms[i] = s;
    if (s > sMax) sMax = s;
  }

  const cap = Math.min(k + 1, n - 1);
  const heaps = new Heaps(n, cap);
  const tiles: [number, number][] = [];
  for (let I = 0; I < n; I += B) for (let J = I; J < n; J += B) tiles.push([I, J]);
  const slab = (r0: number) => ({ data: data.subarray(r0 * D, Math.min(n, r0 + B) * D).slice(), rows: Math.min(n, r0 + B) - r0, cols: D });
  const run = (t: number) => { const [I, J] = tiles[t]; return gemm(slab(I), I === J ? slab(I) : slab(J), { transB: true }); };

  let next = run(0);
  for (let t = 0; t < tiles.length; t++) {
    const g = (await next).data;
    if (t + 1 < tiles.length) next = run(t + 1);
    const [I, J] = tiles[t];
    const ri = Math.min(n, I + B) - I, cj = Math.min(n, J + B) - J;
    const hd = heaps.d, hs = heaps.size;
    // rows of I × columns of J
    for (let a = 0; a < ri; a++) {
      const i = I + a, si = norms[i], off = a * cj, o = i * cap;
      for (let b = 0; b < cj; b++) {
        const j = J + b;
        if (j === i) continue;
        const d = si + norms[j] - 2 * g[off + b];
        if (hs[i] === cap && d > hd[o]) continue; // cannot enter
        heaps.push(i, d, j);
      }
    }
    if (I === J) continue;
    // rows of J × columns of I (the transposed tile)
    for (let b = 0; b < cj; b++) {
      const j = J + b, sj = norms[j], o = j * cap;
      for (let a = 0; a < ri; a++) {
        const d = sj + norms[I + a] - 2 * g[a * cj + b];
        if (hs[j] === cap && d > hd[o]) continue;
        heaps.push(j, d, I + a);
      }
    }
  }

  const indices = new Int32Array(n * k);
  const distances = new Float64Array(n * k);
  const finish = (i: number, cand: number[]) => {
    const ex = cand.map((j) => exactSq(data, D, i, j));
    const order = cand.map((_, t) => t);
    order.sort((a, b) => (ex[a] - ex[b]) || (cand[a] - cand[b]));
    for (let t = 0; t < k; t++) {
      indices[i * k + t] = cand[order[t]];
      distances[i * k + t] = Math.sqrt(ex[order[t]]);
    }
  };
  // Bound on |GEMM distance − exact distance| for row i (dot-product error ≤ D·eps·(‖a‖²+‖b‖²)/2, doubled, plus
  // the norms), with the relative 1e-9 margin on top. A j can be in the exact top k only if its GEMM distance is
  // ≤ d_k + 2·err, so when the (k+1)-th GEMM distance is above that, the GEMM top k is the exact set.
  const limit = (i: number, dk: number) => dk + 2 * (4 * D * EPS * (norms[i] + sMax) + 1e-9 * Math.abs(dk));
  const ties: number[] = [];
  const lims: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = heaps.sorted(i);
    const lim = limit(i, c.d[k - 1]);
    if (cap > k && c.d[k] <= lim) { ties.push(i); lims.push(lim); continue; }
    finish(i, c.j.slice(0, k));
  }
  // Near-ties at the boundary: every j whose GEMM distance is within the bound, from full rows of the Gram matrix.
  for (let t0 = 0; t0 < ties.length; t0 += B) {
    const rows = ties.slice(t0, t0 + B);
    const block = new Float64Array(rows.length * D);
    rows.forEach((i, a) => block.set(data.subarray(i * D, (i + 1) * D), a * D));
    const g = (await gemm({ data: block, rows: rows.length, cols: D }, x, { transB: true })).data;
    rows.forEach((i, a) => {
      const cand: number[] = [];
      const lim = lims[t0 + a], si = norms[i];
      for (let j = 0; j < n; j++) if (j !== i && si + norms[j] - 2 * g[a * n + j] <= lim) cand.push(j);
      finish(i, cand);
    });
  }
  return { indices, distances, n, k };
}

/** N×k row-major neighbour indices (Int32Array), nearest first, self excluded, ties to the lower index. */
export async function knnGraph(x: Mat<Float64Array>, k: number, opts: { blockRows?: number } = {}): Promise<Int32Array> {
  return (await knnWithDistances(x, k, opts)).indices;
}

/** The graph as nested arrays, for JSON output. */
export function knnRows(indices: Int32Array, k: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < indices.length; i += k) rows.push(Array.from(indices.subarray(i, i + k)));
  return rows;
}
