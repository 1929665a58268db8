// Thin SVD in float64: A (n×p) = U · diag(s) · Vᵀ, k = min(n, p), s descending.
//
// Two methods, picked by size unless asked for:
// - 'jacobi' — one-sided Jacobi (Hestenes): rotates pairs of columns until all are mutually orthogonal. Every
//   singular value, small ones included, comes out with relative accuracy ~ε·κ-independent of ‖A‖; cost
//   ~ sweeps · k² · max(n,p) in plain JS, so only for small k.
// - 'gram' — eigendecomposition of the k×k Gram matrix (AᵀA when n ≥ p, else AAᵀ), the product formed by
//   onnxruntime in float64. Fast (one GEMM + one k×k eig), but squaring loses accuracy at the small end:
//   s_i² carries an absolute error ~ε·s_max², so s_i has relative error ~ε·(s_max/s_i)² and singular values
//   below ~√ε·s_max (≈ 1.5e-8·s_max) are noise; the vectors of close singular values are less accurate too.
//   Good enough for variance fractions and for keeping the dominant subspace (SVCCA, explained variance).
import { ReplensError } from '../errors';
import { crossProduct, gemm, gram, type Mat } from './gemm';
import { symEigAsync } from './eig';

export interface SVD {
  u: Mat<Float64Array> | null; // n×k, null when not asked for
  s: Float64Array; // k, descending
  v: Mat<Float64Array> | null; // p×k, null when not asked for
}

export type SvdMethod = 'auto' | 'jacobi' | 'gram';

/** Jacobi when its cost (≈ 10 sweeps · 3·k²·m flops in JS) stays under ~a second, else the Gram route. */
export function pickMethod(n: number, p: number): 'jacobi' | 'gram' {
  const k = Math.min(n, p),
    m = Math.max(n, p);
  return k * k * m <= 2e7 ? 'jacobi' : 'gram';
}

export async function svd(a: Mat<Float64Array>, opts: { method?: SvdMethod; vectors?: boolean } = {}): Promise<SVD> {
  const { rows: n, cols: p } = a;
  if (a.data.length !== n * p)
    throw new ReplensError('E_ARGUMENT', `svd: ${a.data.length} values for a ${n}×${p} matrix`);
  for (let i = 0; i < a.data.length; i++)
    if (!Number.isFinite(a.data[i])) throw new ReplensError('E_ARGUMENT', 'svd: matrix has NaN or Inf');
  const method = opts.method && opts.method !== 'auto' ? opts.method : pickMethod(n, p);
  const wantVectors = opts.vectors !== false;
  if (n === 0 || p === 0)
    return {
      u: wantVectors ? { data: new Float64Array(0), rows: n, cols: 0 } : null,
      s: new Float64Array(0),
      v: wantVectors ? { data: new Float64Array(0), rows: p, cols: 0 } : null,
    };
  return method === 'jacobi' ? jacobiSvd(a, wantVectors) : gramSvd(a, wantVectors);
}

/** One-sided Jacobi on the columns of A (n ≥ p) or of Aᵀ (n < p). */
function jacobiSvd(a: Mat<Float64Array>, wantVectors: boolean): SVD {
  const tall = a.rows >= a.cols;
  // Work on G with k columns of length m, stored as k contiguous rows: g[j*m + i] = column j.
  const m = tall ? a.rows : a.cols,
    k = tall ? a.cols : a.rows;
  const g = new Float64Array(k * m);
  if (tall) {
    for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) g[j * m + i] = a.data[i * k + j];
  } else g.set(a.data); // rows of A are the columns of Aᵀ
  const w = new Float64Array(k * k); // w[j*k + r] = V[r][j], accumulated rotations
  for (let j = 0; j < k; j++) w[j * k + j] = 1;
  // Stopping test (de Rijk 1989; LAPACK dgesvj's CTOL): a pair is orthogonal when |γ| ≤ √m·ε·‖g_p‖‖g_q‖. The √m
  // covers the rounding of the computed γ itself — with a bare ε a pair already orthogonal to working precision can
  // keep failing the test and rotating forever. The norms are multiplied as √α·√β: α·β underflows to 0 for the
  // tiny columns that dead or duplicated units leave after whitening (‖g‖ ~ 1e-160), which made the test fail forever.
  const tol = Math.sqrt(m) * 2 ** -52;
  for (let sweep = 0; ; sweep++) {
    if (sweep > 60) throw new ReplensError('E_RUNTIME', `svd: Jacobi sweeps did not converge (${a.rows}×${a.cols})`);
    let rotated = false;
    for (let p = 0; p < k - 1; p++) {
      for (let q = p + 1; q < k; q++) {
        const op = p * m,
          oq = q * m;
        let alpha = 0,
          beta = 0,
          gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = g[op + i],
            y = g[oq + i];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        // Columns already orthogonal to working precision (or one negligible, its square underflowing): skip.
        if (gamma === 0 || alpha === 0 || beta === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha) * Math.sqrt(beta))
          continue;
        // Rotation that zeroes the off-diagonal of the 2×2 Gram block [[α, γ], [γ, β]]
        // (hypot: ζ² overflows past 1e154).
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.hypot(1, zeta));
        if (t === 0) continue; // the rotation would be the identity in floating point
        rotated = true;
        const c = 1 / Math.sqrt(1 + t * t),
          s = c * t;
        for (let i = 0; i < m; i++) {
          const x = g[op + i],
            y = g[oq + i];
          g[op + i] = c * x - s * y;
          g[oq + i] = s * x + c * y;
        }
        const wp = p * k,
          wq = q * k;
        for (let i = 0; i < k; i++) {
          const x = w[wp + i],
            y = w[wq + i];
          w[wp + i] = c * x - s * y;
          w[wq + i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s = Math.hypot(s, g[j * m + i]);
    norms[j] = s;
  }
  const order = Array.from({ length: k }, (_, i) => i).sort((x, y) => norms[y] - norms[x] || x - y);
  const s = Float64Array.from(order, (j) => norms[j]);
  if (!wantVectors) return { u: null, s, v: null };
  // Left vectors = normalised rotated columns; a zero column gets a zero vector (its direction is arbitrary).
  const left = new Float64Array(m * k),
    right = new Float64Array(k * k);
  for (let jj = 0; jj < k; jj++) {
    const j = order[jj],
      nj = norms[j];
    for (let i = 0; i < m; i++) left[i * k + jj] = nj > 0 ? g[j * m + i] / nj : 0;
    for (let r = 0; r < k; r++) right[r * k + jj] = w[j * k + r];
  }
  const L = { data: left, rows: m, cols: k },
    R = { data: right, rows: k, cols: k };
  return tall ? { u: L, s, v: R } : { u: R, s, v: L };
}

/** Eig of the smaller Gram matrix; the other side's vectors as A·v/s (zero where s is negligible). */
async function gramSvd(a: Mat<Float64Array>, wantVectors: boolean): Promise<SVD> {
  const tall = a.rows >= a.cols;
  const k = Math.min(a.rows, a.cols);
  const gm = tall ? await crossProduct(a, a) : await gram(a);
  const e = await symEigAsync(gm.data, k, { vectors: wantVectors });
  const s = Float64Array.from(e.values, (l) => Math.sqrt(Math.max(l, 0)));
  if (!wantVectors) return { u: null, s, v: null };
  const small = { data: e.vectors, rows: k, cols: k };
  // Other side: A·V (tall) or Aᵀ·U (wide), columns divided by s.
  const big = tall ? await gemm(a, small) : await gemm(a, small, { transA: true });
  const m = big.rows,
    cutoff = Math.sqrt(2 ** -52) * s[0];
  for (let j = 0; j < k; j++) {
    const inv = s[j] > cutoff ? 1 / s[j] : 0;
    for (let i = 0; i < m; i++) big.data[i * k + j] *= inv;
  }
  return tall ? { u: big, s, v: small } : { u: small, s, v: big };
}
