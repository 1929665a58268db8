// Symmetric eigendecomposition in float64: Householder reduction to tridiagonal form, then implicit QL with
// Wilkinson shifts (the classic tred2/tql2 pair, EISPACK/JAMA lineage). Backward stable: the residual
// ‖A − VΛVᵀ‖ is O(nε‖A‖) and ‖VᵀV − I‖ is O(nε) whatever the eigenvalue spacing, which is what covariance
// whitening needs (repeated and zero eigenvalues are common there).
// Plain JS, O(n³): measured on the 2-core dev machine (under load) at p = 512: 0.25 s values only, 0.8 s with
// vectors; p = 1,024: 1.6 s / 5.8 s. The vectors cost is the Householder accumulation and the QL rotations.
//
// Storage: the working matrix W holds the transposed eigenvector matrix (row i of W = eigenvector i), so that
// every inner loop of both phases — Householder updates and the Givens rotations of QL — runs over contiguous
// memory. With the textbook column layout the rotations stride by n and are several times slower at n ≈ 1,000.
import { ReplensError } from '../errors';

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
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new ReplensError('E_ARGUMENT', 'symEig: matrix has NaN or Inf');
  if (n === 0) return { values: new Float64Array(0), vectors: new Float64Array(0), n };
  // W[c*n + r] plays the role of V[r][c] in the column formulation; start from the lower triangle mirrored.
  // Scale by a power of two (exact) so the largest entry is ≈ 1: no overflow or underflow in the squares and
  // shifts whatever the units of the input (a Gram matrix of raw activations can reach 1e10 or more).
  let amax = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) amax = Math.max(amax, Math.abs(a[i * n + j]));
  const scale = amax > 0 ? 2 ** Math.max(-1000, Math.min(1000, -Math.round(Math.log2(amax)))) : 1;
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const v = a[i * n + j] * scale; w[i * n + j] = v; w[j * n + i] = v; }
  const d = new Float64Array(n), e = new Float64Array(n);
  const wantVectors = opts.vectors !== false;
  tred2(w, d, e, n, wantVectors);
  tql2(w, d, e, n, wantVectors);
  // Sort descending; emit eigenvectors as columns (row-major n×n) like numpy.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y] - d[x] || x - y);
  const values = Float64Array.from(order, (i) => d[i] / scale);
  let vectors = new Float64Array(0);
  if (wantVectors) {
    vectors = new Float64Array(n * n);
    for (let j = 0; j < n; j++) { const src = order[j] * n; for (let k = 0; k < n; k++) vectors[k * n + j] = w[src + k]; }
  }
  return { values, vectors, n };
}

/** Householder tridiagonalisation; on return d = diagonal, e[1..] = sub-diagonal, W = accumulated transform (transposed). */
function tred2(w: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors: boolean): void {
  // V[r][c] ≡ w[c*n + r]
  for (let j = 0; j < n; j++) d[j] = w[j * n + n - 1];
  for (let i = n - 1; i > 0; i--) {
    // Scale the row to avoid under/overflow in the Householder norm.
    let scale = 0, h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) { d[j] = w[j * n + i - 1]; w[j * n + i] = 0; w[i * n + j] = 0; }
    } else {
      for (let k = 0; k < i; k++) { d[k] /= scale; h += d[k] * d[k]; }
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
        for (let k = j + 1; k <= i - 1; k++) { const v = w[rj + k]; g += v * d[k]; e[k] += v * f; }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) { e[j] /= h; f += e[j] * d[j]; }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      // Rank-2 update A ← A − u·qᵀ − q·uᵀ on the lower triangle.
      for (let j = 0; j < i; j++) {
        f = d[j]; g = e[j];
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
  for (let j = 0; j < n; j++) { d[j] = w[j * n + n - 1]; w[j * n + n - 1] = 0; }
  w[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/**
 * Implicit QL on the tridiagonal (d, e) with Wilkinson-type shifts, rotating W's rows alongside.
 * The Givens rotations of one QL sweep are recorded and then applied to W in column blocks: applying each to
 * whole rows as it is generated streams all of W through the cache once per sweep (memory-bound at n ≈ 1,000);
 * blocked, the touched row segments stay in cache while every rotation of the sweep goes through them.
 */
function tql2(w: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors: boolean): void {
  const cs = new Float64Array(n), sn = new Float64Array(n);
  const BLOCK = 128;
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0, tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    // Find a negligible sub-diagonal element: deflate there.
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new ReplensError('E_RUNTIME', 'symEig: QL iteration did not converge');
        // Shift: the eigenvalue of the leading 2×2 block closer to d[l] (Wilkinson), applied implicitly.
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        // Chase the bulge with Givens rotations from the bottom of the unreduced block.
        p = d[m];
        let c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
        const el1 = e[l + 1];
        for (let i = m - 1; i >= l; i--) {
          c3 = c2; c2 = c; s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          cs[i] = c; sn[i] = s;
        }
        if (wantVectors) {
          for (let k0 = 0; k0 < n; k0 += BLOCK) {
            const k1 = Math.min(n, k0 + BLOCK);
            let i = m - 1;
            // Two consecutive rotations share row i: fuse them so that row is loaded and stored once.
            for (; i - 1 >= l; i -= 2) {
              const c1 = cs[i], s1 = sn[i], c2 = cs[i - 1], s2 = sn[i - 1];
              const ra = (i - 1) * n, rb = ra + n, rc = rb + n;
              for (let k = k0; k < k1; k++) {
                const t = w[rc + k], u = w[rb + k], v = w[ra + k];
                w[rc + k] = s1 * u + c1 * t;
                const u2 = c1 * u - s1 * t;
                w[rb + k] = s2 * v + c2 * u2;
                w[ra + k] = c2 * v - s2 * u2;
              }
            }
            if (i >= l) {
              const c = cs[i], s = sn[i], ri = i * n, ri1 = ri + n;
              for (let k = k0; k < k1; k++) {
                const t = w[ri1 + k], u = w[ri + k];
                w[ri1 + k] = s * u + c * t;
                w[ri + k] = c * u - s * t;
              }
            }
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}
