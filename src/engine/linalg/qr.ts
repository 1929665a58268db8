// Householder QR in float64, thin form: A (n×p, n ≥ p) = Q (n×p, orthonormal columns) · R (p×p, upper triangular).
// Householder rather than Gram–Schmidt because Q stays orthogonal to O(ε) even when A is ill-conditioned or
// rank-deficient (PWCCA runs it on canonical directions that can be nearly collinear).
// The columns of A are copied into rows of a p×n buffer so every reflection works on contiguous memory.
import { ReplensError } from '../errors';
import { cholesky, invertLower } from './cholesky';
import { crossProduct, gemm, type Mat } from './gemm';

export interface QR {
  q: Mat<Float64Array>;
  r: Mat<Float64Array>;
}

export function qr(a: Mat<Float64Array>): QR {
  const { rows: n, cols: p } = a;
  if (a.data.length !== n * p)
    throw new ReplensError('E_ARGUMENT', `qr: ${a.data.length} values for a ${n}×${p} matrix`);
  if (n < p) throw new ReplensError('E_ARGUMENT', `qr: thin QR needs rows ≥ columns, got ${n}×${p}`);
  // t[j*n + i] = A[i][j]: column j of A is row j of t.
  const t = new Float64Array(p * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) t[j * n + i] = a.data[i * p + j];
  const vs: Float64Array[] = []; // Householder vectors v_j (length n − j, ‖v‖ = 1, or empty when skipped)
  const r = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    const cj = j * n;
    let norm = 0;
    for (let i = j; i < n; i++) norm = Math.hypot(norm, t[cj + i]);
    const v = new Float64Array(n - j);
    if (norm === 0) {
      vs.push(v);
      r[j * p + j] = 0;
      continue;
    } // zero column: identity reflection, R_jj = 0
    // Reflect onto −sign(x0)·‖x‖·e1 so v0 = x0 + sign(x0)‖x‖ never cancels.
    const alpha = t[cj + j] >= 0 ? -norm : norm;
    for (let i = j; i < n; i++) v[i - j] = t[cj + i];
    v[0] -= alpha;
    let vn = 0;
    for (let i = 0; i < v.length; i++) vn = Math.hypot(vn, v[i]);
    for (let i = 0; i < v.length; i++) v[i] /= vn;
    vs.push(v);
    r[j * p + j] = alpha;
    // Apply H = I − 2vvᵀ to the remaining columns.
    for (let k = j + 1; k < p; k++) {
      const ck = k * n;
      let s = 0;
      for (let i = j; i < n; i++) s += v[i - j] * t[ck + i];
      s *= 2;
      for (let i = j; i < n; i++) t[ck + i] -= s * v[i - j];
      r[j * p + k] = t[ck + j];
    }
  }
  // Thin Q = H_0 H_1 … H_{p−1} · [I_p; 0], built backwards so each reflection touches only its trailing block.
  const qt = new Float64Array(p * n); // qt[k*n + i] = Q[i][k]
  for (let k = 0; k < p; k++) qt[k * n + k] = 1;
  for (let j = p - 1; j >= 0; j--) {
    const v = vs[j];
    if (r[j * p + j] === 0 && v.every((x) => x === 0)) continue;
    for (let k = j; k < p; k++) {
      const ck = k * n;
      let s = 0;
      for (let i = j; i < n; i++) s += v[i - j] * qt[ck + i];
      s *= 2;
      for (let i = j; i < n; i++) qt[ck + i] -= s * v[i - j];
    }
  }
  const q = new Float64Array(n * p);
  for (let k = 0; k < p; k++) for (let i = 0; i < n; i++) q[i * p + k] = qt[k * n + i];
  return { q: { data: q, rows: n, cols: p }, r: { data: r, rows: p, cols: p } };
}

/**
 * The thin Q of A (n×p, n ≥ p) for large n: CholeskyQR2 — R from the Cholesky factor of AᵀA, Q = A·R⁻¹,
 * done twice — so the O(np²) work is two GEMMs per pass through onnxruntime instead of Householder sweeps in
 * JS (≈ 30× faster at n = 10,000, p = 1,024). It is only accurate when κ(A) ≲ 1e7, so the result is checked
 * (‖QᵀQ − I‖max ≤ 1e-10) and anything that fails — a non-positive pivot (rank-deficient or very ill-conditioned
 * A) or a loss of orthogonality — falls back to Householder `qr`. Columns of Q may differ from Householder's by
 * sign (R's diagonal is positive here).
 */
export async function orthonormalBasis(a: Mat<Float64Array>): Promise<Mat<Float64Array>> {
  const { rows: n, cols: p } = a;
  if (n < p) throw new ReplensError('E_ARGUMENT', `orthonormalBasis: needs rows ≥ columns, got ${n}×${p}`);
  if (p === 0) return { data: new Float64Array(0), rows: n, cols: 0 };
  let q = a;
  for (let pass = 0; pass < 2; pass++) {
    const g = await crossProduct(q, q);
    const l = cholesky(g.data, p);
    if (!l) return qr(a).q;
    q = await gemm(q, { data: invertLower(l, p), rows: p, cols: p }, { transB: true }); // A·L⁻ᵀ
  }
  const g = await crossProduct(q, q);
  for (let i = 0; i < p; i++)
    for (let j = 0; j < p; j++) {
      if (!(Math.abs(g.data[i * p + j] - (i === j ? 1 : 0)) <= 1e-10)) return qr(a).q;
    }
  return q;
}
