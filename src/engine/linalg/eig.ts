// Symmetric eigendecomposition in float64: Householder reduction to tridiagonal form, then implicit QL with
// Wilkinson shifts (the classic tred2/tql2 pair, EISPACK/JAMA lineage). Backward stable: the residual
// ‖A − VΛVᵀ‖ is O(nε‖A‖) and ‖VᵀV − I‖ is O(nε) whatever the eigenvalue spacing, which is what covariance
// whitening needs (repeated and zero eigenvalues are common there).
// Plain JS, O(n³): measured on the 2-core dev machine (under load) at p = 512: 0.25 s values only, 0.8 s with
// vectors; p = 1,024: 1.6 s / 5.8 s. The vectors cost is the Householder accumulation and the QL rotations.
// symEigAsync (below) is the fast path for n ≥ 128: the LAPACK dsyevd structure with its level-3 steps through
// onnxruntime Gemm (tridiag.ts, dc.ts); p = 1,024 with vectors ≈ 0.8–0.9 s, values only ≈ 0.5 s on an idle machine.
//
// Storage: the working matrix W holds the transposed eigenvector matrix (row i of W = eigenvector i), so that
// every inner loop of both phases — Householder updates and the Givens rotations of QL — runs over contiguous
// memory. With the textbook column layout the rotations stride by n and are several times slower at n ≈ 1,000.
import { ReplensError } from '../errors';
import { tql2 } from './tql2';
import { backTransform, tridiagonalize } from './tridiag';
import { tridiagEig } from './dc';

export interface SymEig {
  /** Eigenvalues, descending. */
  values: Float64Array;
  /** n×n row-major; column j is the unit eigenvector of values[j]. */
  vectors: Float64Array;
  n: number;
}

/**
 * Eigenvalues (descending) and orthonormal eigenvectors of the symmetric n×n row-major matrix `a`.
 * Only the lower triangle is read. `a` is not modified. `vectors: false` skips the O(n³) accumulation of the
 * transforms (values only, about a third of the time) and returns an empty `vectors`.
 */
export function symEig(a: Float64Array, n: number, opts: { vectors?: boolean } = {}): SymEig {
  if (a.length !== n * n) throw new ReplensError('E_ARGUMENT', `symEig: ${a.length} values for a ${n}×${n} matrix`);
  for (let i = 0; i < a.length; i++)
    if (!Number.isFinite(a[i])) throw new ReplensError('E_ARGUMENT', 'symEig: matrix has NaN or Inf');
  if (n === 0) return { values: new Float64Array(0), vectors: new Float64Array(0), n };
  // W[c*n + r] plays the role of V[r][c] in the column formulation; start from the lower triangle mirrored.
  // Scale by a power of two (exact) so the largest entry is ≈ 1: no overflow or underflow in the squares and
  // shifts whatever the units of the input (a Gram matrix of raw activations can reach 1e10 or more).
  let amax = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) amax = Math.max(amax, Math.abs(a[i * n + j]));
  const scale = amax > 0 ? 2 ** Math.max(-1000, Math.min(1000, -Math.round(Math.log2(amax)))) : 1;
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const v = a[i * n + j] * scale;
      w[i * n + j] = v;
      w[j * n + i] = v;
    }
  const d = new Float64Array(n),
    e = new Float64Array(n);
  const wantVectors = opts.vectors !== false;
  tred2(w, d, e, n, wantVectors);
  tql2(w, d, e, n, wantVectors);
  // Sort descending; emit eigenvectors as columns (row-major n×n) like numpy.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y] - d[x] || x - y);
  const values = Float64Array.from(order, (i) => d[i] / scale);
  let vectors = new Float64Array(0);
  if (wantVectors) {
    vectors = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      const src = order[j] * n;
      for (let k = 0; k < n; k++) vectors[k * n + j] = w[src + k];
    }
  }
  return { values, vectors, n };
}

export interface SymEigAsyncOptions {
  vectors?: boolean;
  /** Sizes below this use the synchronous symEig (default 128). Tuning/testing knob. */
  minN?: number;
  /** Panel width of the blocked tridiagonalisation (default 32). Tuning/testing knob. */
  block?: number;
  /** Reflectors per compact-WY block of the back-transformation (default 128). Tuning/testing knob. */
  backBlock?: number;
  /** Leaf size of the divide and conquer (default 48). Tuning/testing knob. */
  leaf?: number;
  /**
   * Size from which the level-3 steps go through onnxruntime's Gemm rather than JS (default 128). Tuning/testing knob.
   */
  gemmMin?: number;
}

/**
 * Same result as symEig (values descending, unit eigenvectors as columns), for larger matrices through the LAPACK
 * dsyevd structure: blocked Householder tridiagonalisation (rank-2nb trailing updates through onnxruntime Gemm),
 * divide and conquer on the tridiagonal (Gu–Eisenstat, eigenvector updates through Gemm), compact-WY
 * back-transformation through Gemm. About 5× faster than symEig with vectors at n = 1,024. Below `minN` it is
 * symEig. Same input rules: lower triangle read, NaN/Inf rejected, power-of-two scaling.
 */
export async function symEigAsync(a: Float64Array, n: number, opts: SymEigAsyncOptions = {}): Promise<SymEig> {
  const minN = opts.minN ?? 128;
  const wantVectors = opts.vectors !== false;
  if (n < Math.max(2, minN)) return symEig(a, n, { vectors: wantVectors });
  if (a.length !== n * n) throw new ReplensError('E_ARGUMENT', `symEig: ${a.length} values for a ${n}×${n} matrix`);
  for (let i = 0; i < a.length; i++)
    if (!Number.isFinite(a[i])) throw new ReplensError('E_ARGUMENT', 'symEig: matrix has NaN or Inf');
  let amax = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) amax = Math.max(amax, Math.abs(a[i * n + j]));
  const scale = amax > 0 ? 2 ** Math.max(-1000, Math.min(1000, -Math.round(Math.log2(amax)))) : 1;
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const v = a[i * n + j] * scale;
      w[i * n + j] = v;
      w[j * n + i] = v;
    }
  const gemmMin = opts.gemmMin ?? 128;
  const t = await tridiagonalize(w, n, { block: opts.block, gemmMin });
  if (!wantVectors) {
    const d = t.d.slice(),
      e = new Float64Array(n);
    for (let i = 1; i < n; i++) e[i] = t.e[i - 1];
    tql2(new Float64Array(0), d, e, n, false);
    const vals = Array.from(d).sort((x, y) => y - x);
    return { values: Float64Array.from(vals, (v) => v / scale), vectors: new Float64Array(0), n };
  }
  const r = await tridiagEig(t.d, t.e, n, { leaf: opts.leaf, gemmMin });
  await backTransform(w, t.tau, n, r.vectors, { block: opts.backBlock, gemmMin });
  const d = r.values,
    z = r.vectors;
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y] - d[x] || x - y);
  const values = Float64Array.from(order, (i) => d[i] / scale);
  const vectors = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const o = k * n;
    for (let j = 0; j < n; j++) vectors[o + j] = z[o + order[j]];
  }
  return { values, vectors, n };
}

/**
 * Householder tridiagonalisation; on return d = diagonal, e[1..] = sub-diagonal, W = accumulated transform
 * (transposed).
 */
function tred2(w: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors: boolean): void {
  // V[r][c] ≡ w[c*n + r]
  for (let j = 0; j < n; j++) d[j] = w[j * n + n - 1];
  for (let i = n - 1; i > 0; i--) {
    // Scale the row to avoid under/overflow in the Householder norm.
    let scale = 0,
      h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = w[j * n + i - 1];
        w[j * n + i] = 0;
        w[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g; // sign chosen so f − g does not cancel
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      // e = A·u using the lower triangle (stored in W's columns ≡ contiguous rows here).
      for (let j = 0; j < i; j++) {
        f = d[j];
        w[i * n + j] = f;
        const rj = j * n;
        g = e[j] + w[rj + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const v = w[rj + k];
          g += v * d[k];
          e[k] += v * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      // Rank-2 update A ← A − u·qᵀ − q·uᵀ on the lower triangle.
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        const rj = j * n;
        for (let k = j; k <= i - 1; k++) w[rj + k] -= f * e[k] + g * d[k];
        d[j] = w[rj + i - 1];
        w[rj + i] = 0;
      }
    }
    d[i] = h;
  }
  if (!wantVectors) {
    // The reduced diagonal sits on W's diagonal (the accumulation below would save it to d the same way).
    for (let j = 0; j < n; j++) d[j] = w[j * n + j];
    e[0] = 0;
    return;
  }
  // Accumulate the Householder reflections into W.
  for (let i = 0; i < n - 1; i++) {
    w[i * n + n - 1] = w[i * n + i];
    w[i * n + i] = 1;
    const h = d[i + 1];
    const ri1 = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = w[ri1 + k] / h;
      for (let j = 0; j <= i; j++) {
        const rj = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += w[ri1 + k] * w[rj + k];
        for (let k = 0; k <= i; k++) w[rj + k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) w[ri1 + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = w[j * n + n - 1];
    w[j * n + n - 1] = 0;
  }
  w[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}
