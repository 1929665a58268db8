// Exact directed kNN graphs (RRA, thesis ch. 3 §3.2.1): Euclidean distance, the sample itself excluded, the k
// nearest first, ties in distance broken by the LOWER sample index.
//
// Squared distances are screened tile by tile as ‖a‖² + ‖b‖² − 2abᵀ with an onnxruntime Gemm, only for the tiles
// on and above the diagonal (half the flops); memory beyond the data is O(blockRows·D) for the tile operands plus
// O(blockRows²) for two tiles and O(N·k) for the result and the candidates. Each row keeps its best candidates in
// a bounded max-heap (no full sort). The GEMM form carries rounding error, so the final answer never trusts it:
//  * every candidate whose screened distance lies within the proven rounding bound of the k-th one is recomputed
//    directly (Σ(a−b)², float64) and the row is ordered by (exact distance, index);
//  * when the heap's worst kept candidate is itself within that bound (more near-ties than the heap holds), the
//    row is rescreened against all samples and every index within the bound is recomputed exactly — so the
//    result is the exact float64 kNN graph with the tie rule, whatever the screening precision.
// Screening precision: float64 for small problems; float32 (about 2.5× the GEMM throughput here) when N²·D is
// large. For float32 the rows are centred first (distances do not change; the rounding bound, proportional to
// ‖a‖·‖b‖, shrinks a lot for ReLU activations with a large common mean) and scaled by a power of two.
import { ReplensError } from '../errors';
import { gemm, Mat } from '../linalg/gemm';
import { requireFinite } from './input';

export interface KnnResult {
  /** N×k row-major neighbour indices, nearest first. */
  indices: Int32Array;
  /** N×k row-major Euclidean (non-squared) distances, recomputed directly in float64. */
  distances: Float64Array;
  n: number;
  k: number;
}

/** Finite values only (the library-wide check, see input.ts). */
export function checkFinite(data: ArrayLike<number>, what: string, cols?: number, firstRow = 0): void {
  requireFinite(data, what, cols, firstRow);
}

export function checkK(k: number, n: number, what = 'k'): void {
  if (!Number.isInteger(k) || k < 1)
    throw new ReplensError('E_ARGUMENT', `${what} must be a positive integer, got ${k}`);
  if (k >= n)
    throw new ReplensError(
      'E_ARGUMENT',
      `${what} = ${k} must be smaller than the number of samples (${n}), since a sample is not its own neighbour`,
    );
}

/** Samples as float64, or float32 (activations as captured: distances are still exact float64 sums of them). */
type Samples = Mat<Float64Array> | Mat<Float32Array>;
type Row = Float64Array | Float32Array;

/**
 * Samples read on demand, never all at once: activations spilled to disk or held in batch-sized chunks
 * (ActivationStore.source). The kNN reads one tile of rows at a time plus single rows for the exact re-rank, so
 * its memory is O(blockRows·D) whatever N·D is.
 */
export interface RowSource {
  readonly rows: number;
  readonly cols: number;
  /**
   * Rows [start, start + count) as one contiguous row-major array: a view, or a copy — into `into` when given and
   * large enough (so a caller reading tile after tile reuses one buffer instead of allocating per tile).
   */
  block(start: number, count: number, into?: Float32Array): Row;
  /** Row i. The source may reuse one buffer per `slot`, so a caller holds at most two rows at a time. */
  row(i: number, slot: 0 | 1): Row;
}

/** A whole in-memory matrix as a RowSource (views, no copies). */
export function matSource(x: Samples): RowSource {
  const { data, rows, cols } = x;
  return {
    rows,
    cols,
    block: (s, c) => data.subarray(s * cols, (s + c) * cols),
    row: (i) => data.subarray(i * cols, (i + 1) * cols),
  };
}

function isSource(x: Samples | RowSource): x is RowSource {
  return typeof (x as RowSource).block === 'function';
}

function checkMat(x: Samples, what: string): void {
  if (!(x.data instanceof Float64Array) && !(x.data instanceof Float32Array))
    throw new ReplensError('E_ARGUMENT', `${what} must be float64 or float32`);
  if (x.data.length !== x.rows * x.cols)
    throw new ReplensError('E_ARGUMENT', `${what} has ${x.data.length} values, not ${x.rows}×${x.cols}`);
  if (x.cols < 1) throw new ReplensError('E_ARGUMENT', `${what} has no features`);
  checkFinite(x.data, what, x.cols);
}

/** Squared Euclidean distance between two rows, summed directly in float64. */
function exactSq(a: Row, b: Row): number {
  let s = 0;
  for (let t = 0; t < a.length; t++) {
    const v = a[t] - b[t];
    s += v * v;
  }
  return s;
}

/** Rows per block of a streaming pass over a source: about 4 M values. */
const passRows = (cols: number) => Math.max(1, Math.floor((1 << 22) / cols));

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
  constructor(
    n: number,
    readonly cap: number,
  ) {
    this.d = new Float64Array(n * cap).fill(Infinity);
    this.j = new Int32Array(n * cap);
    this.size = new Int32Array(n);
  }
  /** The worst kept distance of row r, or +∞ while the heap is not full. */
  bound(r: number): number {
    return this.size[r] < this.cap ? Infinity : this.d[r * this.cap];
  }
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
        d[o + c] = d[o + p];
        j[o + c] = j[o + p];
        c = p;
      }
      d[o + c] = dist;
      j[o + c] = idx;
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
      d[o + c] = d[o + m];
      j[o + c] = j[o + m];
      c = m;
    }
    d[o + c] = dist;
    j[o + c] = idx;
  }
  /** Row r's kept pairs, best first. */
  sorted(r: number): { d: number[]; j: number[] } {
    const o = r * this.cap;
    const order = Array.from({ length: this.size[r] }, (_, t) => o + t);
    order.sort((a, b) => this.d[a] - this.d[b] || this.j[a] - this.j[b]);
    return { d: order.map((t) => this.d[t]), j: order.map((t) => this.j[t]) };
  }
}

const EPS64 = 2.220446049250313e-16;
const EPS32 = 5.960464477539063e-8; // unit roundoff 2⁻²⁴

export type KnnScreening = 'auto' | 'float64' | 'float32';

export interface KnnOptions {
  /** Side of the square Gemm tiles (default 1024, fewer rows for wide samples so an operand stays ≤ 64 MB). */
  blockRows?: number;
  /** Precision of the GEMM screening; the result is the exact float64 graph either way. Default 'auto'. */
  screening?: KnnScreening;
  /**
   * 'exact' (default): every neighbour ordered by its exact distance. 'set': the exact neighbour SET and the exact
   * two nearest (what TwoNN, NNCS and NNLS need); the other neighbours follow in screened order with screened
   * distances. It recomputes only the candidates the rounding bound leaves in doubt, which matters for large k.
   */
  order?: 'exact' | 'set';
}

/** 'auto' screens in float32 from N²·D ≥ 2·10⁹ multiply-adds, where the GEMM dominates the time. */
export function pickScreening(n: number, d: number, s: KnnScreening = 'auto'): 'float64' | 'float32' {
  if (s !== 'auto') return s;
  return n * n * d >= 2e9 ? 'float32' : 'float64';
}

/**
 * The exact kNN graph with distances. `x` is N×D float64 or float32, one sample per row, in memory or as a
 * RowSource (then no more than a tile of rows is held at once).
 * Only the tiles on and above the diagonal are computed (the Gram matrix is symmetric, so half the flops): tile
 * (I, J) feeds the rows of I with the columns of J and, off the diagonal, the rows of J with the columns of I.
 * The next tile's Gemm runs in onnxruntime while this one is scanned.
 */
export async function knnWithDistances(
  x: Samples | RowSource,
  k: number,
  opts: KnnOptions = {},
): Promise<KnnResult & { screening: 'float64' | 'float32'; rescreened: number; candidates: number }> {
  if (!isSource(x)) checkMat(x, 'x');
  else if (!(x.cols >= 1)) throw new ReplensError('E_ARGUMENT', 'x has no features');
  const src = isSource(x) ? x : matSource(x);
  const n = src.rows,
    D = src.cols;
  checkK(k, n);
  // An operand holds at most 2²⁴ values (64 MB in float32): three operand buffers and onnxruntime's copies of two
  // stay near 320 MB whatever the width. A floor of 128 rows let a 224² conv layer (802,816 values a sample) take
  // 1.2 GB for its tiles; 8 rows keep the Gemm from degenerating into matrix-vector products.
  const B = opts.blockRows ?? Math.max(8, Math.min(1024, Math.floor(2 ** 24 / D)));
  if (!Number.isInteger(B) || B < 1)
    throw new ReplensError('E_ARGUMENT', `blockRows must be a positive integer, got ${B}`);
  const screening = pickScreening(n, D, opts.screening);
  const f32 = screening === 'float32';

  // float32 screening works on centred rows scaled by a power of two (exact) so the largest |value| is about 1.
  const mean = new Float64Array(D);
  let scale = 1;
  /** One streaming pass over all rows, a block at a time. */
  // Buffers reused across tiles: long runs allocate nothing per tile (transient tile garbage, not live data, is what
  // drives the resident size up between collections).
  const passBuf = isSource(x) ? new Float32Array(Math.min(n, passRows(D)) * D) : undefined;
  const pass = (f: (data: Row, start: number, rows: number) => void) => {
    const P = passRows(D);
    for (let r0 = 0; r0 < n; r0 += P) {
      const c = Math.min(P, n - r0);
      f(src.block(r0, c, passBuf), r0, c);
    }
  };
  if (isSource(x)) pass((d, r0) => checkFinite(d, 'x', D, r0));
  if (f32) {
    pass((d, _, rows) => {
      for (let i = 0; i < rows; i++) for (let t = 0, o = i * D; t < D; t++) mean[t] += d[o + t];
    });
    for (let t = 0; t < D; t++) mean[t] /= n;
    let amax = 0;
    pass((d, _, rows) => {
      for (let i = 0; i < rows; i++)
        for (let t = 0, o = i * D; t < D; t++) amax = Math.max(amax, Math.abs(d[o + t] - mean[t]));
    });
    scale = amax > 0 ? 2 ** -Math.ceil(Math.log2(amax)) : 1;
  }
  // Squared norms of the screened rows (centred and scaled for float32), exact up to float64 rounding.
  const norms = new Float64Array(n);
  let sMax = 0;
  pass((d, r0, rows) => {
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let t = 0, o = i * D; t < D; t++) {
        const v = (d[o + t] - mean[t]) * scale;
        s += v * v;
      }
      norms[r0 + i] = s;
      if (s > sMax) sMax = s;
    }
  });
  const rootMax = Math.sqrt(sMax);
  // Proven bound on |screened − true| squared distance for row i against any j (standard dot-product error
  // analysis: γ_D·Σ|a||b| ≤ γ_D·‖a‖‖b‖, doubled, plus the float32 rounding of the operands and the norms; an
  // absolute term covers float32 subnormals), with a relative 1e-9 on top.
  const gamma = f32 ? (D + 4) * EPS32 * 1.01 : (D + 4) * EPS64 * 1.01;
  const rowBound = (i: number) =>
    2 * gamma * Math.sqrt(norms[i]) * rootMax + (f32 ? D * 2 ** -120 : 0) + 4 * EPS64 * (norms[i] + sMax);

  /** Screening operand from rows of `d` (row a of the result is row a of d). */
  const toOperand = (d: Row, count: number, out: Float32Array | Float64Array, at: number) => {
    if (!f32) {
      out.set(d.subarray(0, count * D), at * D);
      return;
    }
    for (let a = 0; a < count; a++)
      for (let t = 0, o = a * D, w = (at + a) * D; t < D; t++) out[w + t] = (d[o + t] - mean[t]) * scale;
  };
  const alloc = (count: number) => (f32 ? new Float32Array(count * D) : new Float64Array(count * D));
  const readBuf = isSource(x) ? new Float32Array(Math.min(n, B) * D) : undefined;
  // Two operand buffers: the row slab of the current tile row and the column block. No GEMM is in flight when one is
  // refilled (the next tile's GEMM starts only after this one's result arrived).
  const slabBuf = alloc(Math.min(n, B)),
    colBuf = alloc(Math.min(n, B));
  /** Rows [r0, r0 + B) as a screening operand, in `buf` (a fresh array for a short last block). */
  const blockOperand = (r0: number, buf: Float32Array | Float64Array): Mat => {
    const count = Math.min(n, r0 + B) - r0;
    const out = count * D === buf.length ? buf : alloc(count);
    toOperand(src.block(r0, count, readBuf), count, out, 0);
    return { data: out, rows: count, cols: D };
  };
  /** Arbitrary rows as a screening operand. */
  const rowsOperand = (rows: number[]): Mat => {
    const out = alloc(rows.length);
    rows.forEach((i, a) => toOperand(src.row(i, 0), 1, out, a));
    return { data: out, rows: rows.length, cols: D };
  };

  const cap = Math.min(n - 1, f32 ? 2 * k + 8 : k + 1);
  const heaps = new Heaps(n, cap);
  const tiles: [number, number][] = [];
  for (let I = 0; I < n; I += B) for (let J = I; J < n; J += B) tiles.push([I, J]);
  let slabI = -1;
  let slabA: Mat | null = null;
  const run = (t: number) => {
    const [I, J] = tiles[t];
    if (slabI !== I) {
      slabA = blockOperand(I, slabBuf);
      slabI = I;
    }
    const a = slabA!;
    return gemm(a, I === J ? a : blockOperand(J, colBuf), { transB: true });
  };

  let next = run(0);
  for (let t = 0; t < tiles.length; t++) {
    const g = (await next).data;
    if (t + 1 < tiles.length) next = run(t + 1);
    const [I, J] = tiles[t];
    const ri = Math.min(n, I + B) - I,
      cj = Math.min(n, J + B) - J;
    const hd = heaps.d,
      hs = heaps.size;
    // rows of I × columns of J
    for (let a = 0; a < ri; a++) {
      const i = I + a,
        si = norms[i],
        off = a * cj,
        o = i * cap;
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
      const j = J + b,
        sj = norms[j],
        o = j * cap;
      for (let a = 0; a < ri; a++) {
        const d = sj + norms[I + a] - 2 * g[a * cj + b];
        if (hs[j] === cap && d > hd[o]) continue;
        heaps.push(j, d, I + a);
      }
    }
  }

  const indices = new Int32Array(n * k);
  const distances = new Float64Array(n * k);
  let candidates = 0;
  const setMode = opts.order === 'set';
  const margin = (i: number, dk: number) => 2 * (rowBound(i) + 1e-9 * Math.abs(dk));
  /** `cand` with their screened squared distances `sd` (any order); every possible member is among them. */
  const finish = (i: number, cand: number[], sd: number[]) => {
    const xi = src.row(i, 0);
    const exactTo = (j: number) => exactSq(xi, src.row(j, 1));
    if (!setMode) {
      candidates += cand.length;
      const ex = cand.map(exactTo);
      const order = cand.map((_, t) => t);
      order.sort((a, b) => ex[a] - ex[b] || cand[a] - cand[b]);
      for (let t = 0; t < k; t++) {
        indices[i * k + t] = cand[order[t]];
        distances[i * k + t] = Math.sqrt(ex[order[t]]);
      }
      return;
    }
    const byScreen = cand.map((_, t) => t).sort((a, b) => sd[a] - sd[b] || cand[a] - cand[b]);
    const t = sd[byScreen[k - 1]],
      w = margin(i, t);
    // Sure members: screened below t − w, so at most k − 1 points can be closer. The rest is decided exactly.
    const sure: number[] = [],
      doubt: number[] = [];
    for (const q of byScreen) (sd[q] < t - w ? sure : doubt).push(q);
    const exact = new Map<number, number>();
    const ex = (q: number) => {
      let v = exact.get(q);
      if (v === undefined) {
        v = exactTo(cand[q]);
        exact.set(q, v);
      }
      return v;
    };
    doubt.sort((a, b) => ex(a) - ex(b) || cand[a] - cand[b]);
    const members = [...sure, ...doubt.slice(0, k - sure.length)].sort((a, b) => sd[a] - sd[b] || cand[a] - cand[b]);
    // The two nearest: only members screened within w of the second one can be among them.
    const u = sd[members[1]],
      w2 = margin(i, u);
    const zone = members.filter((q) => sd[q] <= u + w2).sort((a, b) => ex(a) - ex(b) || cand[a] - cand[b]);
    const inZone = new Set(zone);
    const ordered = [...zone, ...members.filter((q) => !inZone.has(q))];
    candidates += exact.size;
    for (let r = 0; r < k; r++) {
      const q = ordered[r];
      indices[i * k + r] = cand[q];
      distances[i * k + r] = exact.has(q) ? Math.sqrt(exact.get(q)!) : Math.sqrt(Math.max(0, sd[q])) / scale;
    }
  };
  // A j can be in the exact top k only if its screened distance is ≤ d_k + 2·bound (d_k the k-th screened one).
  const limit = (i: number, dk: number) => dk + 2 * (rowBound(i) + 1e-9 * Math.abs(dk));
  const rescreen: number[] = [];
  const lims: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = heaps.sorted(i);
    const lim = limit(i, c.d[k - 1]);
    if (c.d.length > k && c.d[c.d.length - 1] <= lim && c.d.length < n - 1) {
      rescreen.push(i);
      lims.push(lim);
      continue;
    }
    let m = k;
    while (m < c.d.length && c.d[m] <= lim) m++;
    finish(i, c.j.slice(0, m), c.d.slice(0, m));
  }
  // More near-ties than the heap holds: every j within the bound, from full screened rows (column blocks of B).
  for (let t0 = 0; t0 < rescreen.length; t0 += B) {
    const rows = rescreen.slice(t0, t0 + B);
    const a = rowsOperand(rows);
    const cand: number[][] = rows.map(() => []);
    const cd: number[][] = rows.map(() => []);
    for (let J = 0; J < n; J += B) {
      const cols = blockOperand(J, colBuf);
      const g = (await gemm(a, cols, { transB: true })).data;
      rows.forEach((i, r) => {
        const lim = lims[t0 + r],
          si = norms[i];
        for (let b = 0; b < cols.rows; b++) {
          const j = J + b,
            d = si + norms[j] - 2 * g[r * cols.rows + b];
          if (j !== i && d <= lim) {
            cand[r].push(j);
            cd[r].push(d);
          }
        }
      });
    }
    rows.forEach((i, r) => finish(i, cand[r], cd[r]));
  }
  return { indices, distances, n, k, screening, rescreened: rescreen.length, candidates };
}

/** N×k row-major neighbour indices (Int32Array), nearest first, self excluded, ties to the lower index. */
export async function knnGraph(x: Samples | RowSource, k: number, opts: KnnOptions = {}): Promise<Int32Array> {
  return (await knnWithDistances(x, k, opts)).indices;
}

/** The graph as nested arrays, for JSON output. */
export function knnRows(indices: Int32Array, k: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < indices.length; i += k) rows.push(Array.from(indices.subarray(i, i + k)));
  return rows;
}
