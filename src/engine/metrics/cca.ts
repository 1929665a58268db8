// The CCA family: CCA (mean canonical correlation), SVCCA (Raghu et al. 2017), PWCCA (Morcos et al. 2018, with
// google/svcca pwcca.py semantics), and the explained-variance spectrum. Data are samples first: X is n×p1, Y n×p2.
//
// Conventions (decided in issue 4; the choices below are where the references are silent or ambiguous):
// - Covariances are the unbiased ones (1/(n−1)) of the centred data. As in google/svcca's get_cca_similarity,
//   Σxx, Σyy and Σxy are then rescaled by max|Σxx|, max|Σyy| and √(max|Σxx|·max|Σyy|) before the ridge
//   `epsilon` is added to the diagonals of Σxx and Σyy. The rescale leaves ρ unchanged when epsilon = 0 and makes
//   epsilon relative (scale-free), so the result stays invariant to isotropic scaling of X or Y with a ridge too.
// - Rank deficiency: Σxx = E Λ Eᵀ; eigen-directions with λ ≤ tol·λmax (tol = 1e-10) are dropped and the data are
//   whitened in the kept subspace, i.e. Σxx^{-1/2} is the pseudo-inverse square root E_r Λ_r^{-1/2} E_rᵀ. The
//   canonical correlations are the singular values of K = Λx^{-1/2} E_xᵀ Σxy E_y Λy^{-1/2} (rx×ry), which are
//   exactly the non-trivial singular values of the full Σxx^{-1/2} Σxy Σyy^{-1/2}; there are min(rx, ry) of them.
//   `dropped` says how many directions each side lost. When nothing is dropped the whitening is L⁻ᵀ from a
//   Cholesky factor instead (same ρ, faster; see `whitener`). n ≤ p is allowed: the covariance then has rank ≤ n−1,
//   the extra directions are dropped, and the min(rx, ry) remaining correlations are (trivially) all ≈ 1.
// - ρ is clamped to [0, 1] (round-off can push a perfect correlation to 1 + 1e-15).
import { ReplensError } from '../errors';
import { crossProduct, gemm, type Mat } from '../linalg/gemm';
import { cholesky, invertLower } from '../linalg/cholesky';
import { symEigAsync } from '../linalg/eig';
import { centreWithMeans } from './center';
import { orthonormalBasis } from '../linalg/qr';
import { svd } from '../linalg/svd';

export interface CcaOptions {
  /** Ridge added to the diagonals of the rescaled Σxx and Σyy (default 0). */
  epsilon?: number;
  /** Relative eigenvalue threshold below which covariance directions are dropped (default 1e-10). */
  tol?: number;
}

export interface CcaResult {
  value: number;
  coefficients: number[];
  dropped: { x: number; y: number };
}

const DEFAULT_TOL = 1e-10;

// ---------------------------------------------------------------------------------------------------------------
// Input checks

function checkMat(m: Mat<Float64Array>, name: string): void {
  if (!m || !(m.data instanceof Float64Array))
    throw new ReplensError('E_ARGUMENT', `${name}: expected a float64 matrix`);
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.data.length !== m.rows * m.cols)
    throw new ReplensError('E_ARGUMENT', `${name}: ${m.data.length} values for a ${m.rows}×${m.cols} matrix`);
  if (m.cols < 1) throw new ReplensError('E_ARGUMENT', `${name}: needs at least one feature`);
  if (m.rows < 2) throw new ReplensError('E_ARGUMENT', `${name}: needs at least 2 samples, got ${m.rows}`);
  for (let i = 0; i < m.data.length; i++)
    if (!Number.isFinite(m.data[i]))
      throw new ReplensError(
        'E_ARGUMENT',
        `${name} contains NaN or Inf (sample ${Math.floor(i / m.cols)}, feature ${i % m.cols})`,
      );
}

function checkPair(x: Mat<Float64Array>, y: Mat<Float64Array>): void {
  checkMat(x, 'X');
  checkMat(y, 'Y');
  if (x.rows !== y.rows)
    throw new ReplensError('E_ARGUMENT', `X and Y have different sample counts (${x.rows} and ${y.rows})`);
}

function checkOpts(opts: CcaOptions): { epsilon: number; tol: number } {
  const epsilon = opts.epsilon ?? 0,
    tol = opts.tol ?? DEFAULT_TOL;
  if (!Number.isFinite(epsilon) || epsilon < 0)
    throw new ReplensError('E_ARGUMENT', `epsilon must be a finite number ≥ 0, got ${epsilon}`);
  if (!Number.isFinite(tol) || tol < 0 || tol >= 1)
    throw new ReplensError('E_ARGUMENT', `tol must be in [0, 1), got ${tol}`);
  return { epsilon, tol };
}

// ---------------------------------------------------------------------------------------------------------------
// Shared pieces

/** Column means and the centred copy. Two-pass (mean, then subtract) for accuracy with large offsets. */
function centre(m: Mat<Float64Array>): { c: Mat<Float64Array>; mean: Float64Array } {
  const { data, mean } = centreWithMeans(m.data, m.rows, m.cols);
  return { c: { data, rows: m.rows, cols: m.cols }, mean };
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m) m = v;
  }
  return m;
}

/** Kept eigen-directions of a covariance: E_r (p×r, row-major) and Λ_r. */
async function keptSubspace(
  s: Mat<Float64Array>,
  tol: number,
): Promise<{ e: Mat<Float64Array>; lambda: Float64Array; dropped: number }> {
  const p = s.rows;
  const eg = await symEigAsync(s.data, p);
  const r = keptCount(eg.values, tol);
  const e = new Float64Array(p * r);
  for (let i = 0; i < p; i++) for (let j = 0; j < r; j++) e[i * r + j] = eg.vectors[i * p + j];
  return { e: { data: e, rows: p, cols: r }, lambda: eg.values.slice(0, r), dropped: p - r };
}

function keptCount(values: Float64Array, tol: number): number {
  const lmax = values[0];
  let r = 0;
  while (r < values.length && values[r] > tol * lmax && values[r] > 0) r++;
  return r;
}

/**
 * A whitening map W (p×r) with Wᵀ Σ W = I_r on the kept subspace. Full rank (nothing to drop): W = L⁻ᵀ from
 * Cholesky — eigenvalues only plus two n³/3 kernels, about 3× faster than eigenvectors at p = 1,024. Otherwise,
 * or when the caller needs the eigenbasis (PWCCA's U), W = E_r Λ_r^{-1/2}. Both give the same canonical
 * correlations (whitenings differ by an orthogonal factor), so the choice is only about speed.
 */
async function whitener(
  s: Mat<Float64Array>,
  tol: number,
  needBasis: boolean,
): Promise<{ w: Mat<Float64Array>; dropped: number; e: Mat<Float64Array> | null }> {
  const p = s.rows;
  if (!needBasis && keptCount((await symEigAsync(s.data, p, { vectors: false })).values, tol) === p) {
    const l = cholesky(s.data, p);
    if (l) {
      const li = invertLower(l, p),
        w = new Float64Array(p * p);
      for (let i = 0; i < p; i++) for (let j = 0; j <= i; j++) w[j * p + i] = li[i * p + j]; // W = (L⁻¹)ᵀ
      return { w: { data: w, rows: p, cols: p }, dropped: 0, e: null };
    }
    // a non-positive pivot right at the tolerance: fall through to the eigen route
  }
  const ks = await keptSubspace(s, tol),
    r = ks.lambda.length;
  const w = ks.e.data.slice();
  for (let i = 0; i < p; i++) for (let j = 0; j < r; j++) w[i * r + j] /= Math.sqrt(ks.lambda[j]);
  return { w: { data: w, rows: p, cols: r }, dropped: ks.dropped, e: ks.e };
}

interface CcaCore {
  rho: Float64Array; // min(rx, ry) canonical correlations, descending, clamped to [0, 1]
  dropped: { x: number; y: number };
  rx: number;
  ry: number;
  /** K = Λx^{-1/2} E_xᵀ Σxy W_y (rx×ry) and X's kept eigenbasis E_x (only with needBasis), for PWCCA. */
  k: Mat<Float64Array>;
  ex: Mat<Float64Array> | null;
  xc: Mat<Float64Array>;
  meanX: Float64Array;
}

async function ccaCore(
  x: Mat<Float64Array>,
  y: Mat<Float64Array>,
  epsilon: number,
  tol: number,
  needBasis = false,
): Promise<CcaCore> {
  const { c: xc, mean: meanX } = centre(x);
  const { c: yc } = centre(y);
  // The big products through onnxruntime (float64).
  const [sxx, syy, sxy] = await Promise.all([crossProduct(xc, xc), crossProduct(yc, yc), crossProduct(xc, yc)]);
  const xmax = maxAbs(sxx.data),
    ymax = maxAbs(syy.data);
  if (xmax === 0) throw new ReplensError('E_ARGUMENT', 'X has no variance (every feature is constant)');
  if (ymax === 0) throw new ReplensError('E_ARGUMENT', 'Y has no variance (every feature is constant)');
  // Covariance rescaled by its largest entry, then the ridge; see the header. The 1/(n−1) of the covariance
  // cancels in Σ/max|Σ|, so the raw cross-products are divided by their own maxima.
  const fx = 1 / xmax,
    fy = 1 / ymax,
    fxy = 1 / Math.sqrt(xmax * ymax);
  for (let i = 0; i < sxx.data.length; i++) sxx.data[i] *= fx;
  for (let i = 0; i < syy.data.length; i++) syy.data[i] *= fy;
  for (let i = 0; i < sxy.data.length; i++) sxy.data[i] *= fxy;
  for (let i = 0; i < x.cols; i++) sxx.data[i * x.cols + i] += epsilon;
  for (let i = 0; i < y.cols; i++) syy.data[i * y.cols + i] += epsilon;
  // Y's whitening never affects the left singular vectors of K, so only X's side needs the eigenbasis.
  const wx = await whitener(sxx, tol, needBasis),
    wy = await whitener(syy, tol, false);
  const rx = wx.w.cols,
    ry = wy.w.cols;
  // K = W_xᵀ Σxy W_y: the whitened cross-covariance restricted to the kept subspaces.
  const k = await gemm(await gemm(wx.w, sxy, { transA: true }), wy.w); // rx×ry
  const sv = await svd(k, { vectors: false });
  const rho = Float64Array.from(sv.s, (v) => Math.min(1, Math.max(0, v)));
  return { rho, dropped: { x: wx.dropped, y: wy.dropped }, rx, ry, k, ex: wx.e, xc, meanX };
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

// ---------------------------------------------------------------------------------------------------------------
// Public API

/** Canonical correlations of X and Y; value = mean(ρ). */
export async function cca(x: Mat<Float64Array>, y: Mat<Float64Array>, opts: CcaOptions = {}): Promise<CcaResult> {
  checkPair(x, y);
  const { epsilon, tol } = checkOpts(opts);
  const r = await ccaCore(x, y, epsilon, tol);
  return { value: mean(r.rho), coefficients: Array.from(r.rho), dropped: r.dropped };
}

/** Number of leading components whose squared singular values reach `keep` of the total. */
function keepCount(s: Float64Array, keep: number): number {
  let total = 0;
  for (const v of s) total += v * v;
  let cum = 0;
  for (let i = 0; i < s.length; i++) {
    cum += s[i] * s[i];
    if (cum >= keep * total) return i + 1;
  }
  return s.length;
}

/**
 * Centred data's top singular directions, k by the variance rule: the left vectors U_k (n×k, copied out) and all
 * singular values. The reduced data of the reference path is Xc·V_k = U_k·S_k. On the Gram route a left vector
 * whose singular value is below √ε·s_max is zero, so such a direction (only reachable with keepVariance ≈ 1) is a
 * zero column of the reduced data, which the CCA then drops as a null direction (or, with a ridge, keeps with a
 * zero whitened row).
 */
async function svReduce(
  m: Mat<Float64Array>,
  keep: number,
  name: string,
): Promise<{ u: Mat<Float64Array>; s: Float64Array; k: number }> {
  const { c } = centre(m);
  const d = await svd(c);
  if (d.s[0] === 0) throw new ReplensError('E_ARGUMENT', `${name} has no variance (every feature is constant)`);
  const k = keepCount(d.s, keep);
  const u = d.u!,
    n = u.rows,
    kk = u.cols;
  const uk = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) uk[i * k + j] = u.data[i * kk + j];
  return { u: { data: uk, rows: n, cols: k }, s: d.s, k };
}

/** The reference path's reduced data U_k·S_k. */
function reducedData(r: { u: Mat<Float64Array>; s: Float64Array; k: number }): Mat<Float64Array> {
  const { u, s, k } = r,
    n = u.rows,
    out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) out[i * k + j] = u.data[i * k + j] * s[j];
  return { data: out, rows: n, cols: k };
}

/** How often SVCCA took each path (for tests and benchmarks). */
export const svccaPathCounts = { fast: 0, fallback: 0, covariance: 0 };

/** Neuron counts from which SVCCA uses the covariance path (below it the n×k path is cheap anyway). */
let COV_PATH_MIN_P = 64;
/** Tests lower the threshold to exercise the covariance path on small data. */
export function setCovPathMinP(p: number): void {
  COV_PATH_MIN_P = p;
}

/**
 * SVCCA without forming the n×k singular-vector matrices: with Xc = U_x S_x V_xᵀ (from the eigendecomposition of
 * the covariance product Xcᵀ Xc), U_xᵀ U_y = S_x⁻¹ V_xᵀ (Xcᵀ Yc) V_y S_y⁻¹, so three p×n×p products and two p×p
 * eigendecompositions replace two n×p×p products (U = Xc·V·S⁻¹) and an n×k×k one. The same whitening as
 * `fastScales`. Accuracy: an eigenvector of the Gram form carries a relative error of about ε·(s₁/sᵢ)², so the path
 * is taken only when every kept direction has (s₁/s_k)²·2⁻⁵² ≤ ORTHO_TOL (the orthonormality tolerance of the n×k
 * path); otherwise null and the caller uses the other paths.
 */
async function svccaFromCovariances(
  x: Mat<Float64Array>,
  y: Mat<Float64Array>,
  keep: number,
  epsilon: number,
  tol: number,
): Promise<{ value: number; kx: number; ky: number; coefficients: number[] } | null> {
  const xc = centre(x).c,
    yc = centre(y).c;
  const [gx, gy, gxy] = await Promise.all([crossProduct(xc, xc), crossProduct(yc, yc), crossProduct(xc, yc)]);
  const ex = await symEigAsync(gx.data, x.cols),
    ey = await symEigAsync(gy.data, y.cols);
  const side = (e: { values: Float64Array; vectors: Float64Array }, p: number, name: string) => {
    const sv = Float64Array.from(e.values, (l) => Math.sqrt(Math.max(l, 0)));
    if (sv[0] === 0) throw new ReplensError('E_ARGUMENT', `${name} has no variance (every feature is constant)`);
    const k = keepCount(sv, keep);
    if (!(sv[k - 1] > 0) || (sv[0] / sv[k - 1]) ** 2 * 2 ** -52 > ORTHO_TOL) return null;
    const lmax = 1 + epsilon,
      kept: number[] = [],
      scale: number[] = [];
    for (let j = 0; j < k; j++) {
      const t = sv[j] / sv[0],
        a = t * t + epsilon;
      if (a > tol * lmax && a > 0) {
        kept.push(j);
        scale.push((epsilon === 0 ? 1 : t / Math.sqrt(a)) / sv[j]);
      }
    }
    const v = new Float64Array(p * kept.length);
    for (let i = 0; i < p; i++)
      for (let j = 0; j < kept.length; j++) v[i * kept.length + j] = e.vectors[i * p + kept[j]];
    return { k, v: { data: v, rows: p, cols: kept.length }, scale };
  };
  const sx = side(ex, x.cols, 'X'),
    sy = side(ey, y.cols, 'Y');
  if (!sx || !sy) return null;
  const t = await gemm(gxy, sy.v); // p1×ky
  const m = await gemm(sx.v, t, { transA: true }); // kx×ky = V_xᵀ Σxy V_y
  const kr = sx.scale.length,
    kc = sy.scale.length;
  for (let i = 0; i < kr; i++) for (let j = 0; j < kc; j++) m.data[i * kc + j] *= sx.scale[i] * sy.scale[j];
  const sv = await svd(m, { vectors: false });
  const rho = Float64Array.from(sv.s, (v) => Math.min(1, Math.max(0, v)));
  return { value: mean(rho), kx: sx.k, ky: sy.k, coefficients: Array.from(rho) };
}

/** Largest allowed |(UᵀU − D)·r|/|r| (D = 1 on non-zero columns, 0 on zero ones) for the SVCCA fast path. */
const ORTHO_TOL = 1e-10;

/**
 * Whitening scale of each reduced direction, or null when U_k is not orthonormal enough for the fast path.
 * Reduced data Xr = U_k S_k with UᵀU = I has Xrᵀ Xr = S² (diagonal). ccaCore rescales it by its largest entry
 * s_1² and adds ε: a diagonal with a_i = t_i² + ε, t_i = s_i/s_1 (t_i = 0 for a zero column of U). Its eigenvalues
 * are the a_i, λmax = a_1 = 1 + ε, so direction i is kept iff a_i > tol·λmax and a_i > 0, and whitened by
 * a_i^{-1/2}. Σxy = S_x U_xᵀ U_y S_y / (s_x1 s_y1), so the whitened cross-covariance on the kept directions is
 * K = D_x (U_xᵀ U_y) D_y with d_i = t_i / √(t_i² + ε) (= 1 when ε = 0): ρ = singular values of K (principal
 * angles between the kept subspaces when ε = 0). Any other whitening of the same block differs by an orthogonal
 * factor, so this matches ccaCore's Cholesky/eigen whitening exactly in exact arithmetic.
 *
 * Orthonormality check (O(n·k), no k×k product): the diagonal of UᵀU exactly (column norms; each must be 1 or an
 * exact 0) plus ‖(UᵀU − D)·r‖ ≤ ORTHO_TOL·‖r‖ for two random vectors r, which sees any off-diagonal error of the
 * size of ‖UᵀU − D‖_F (deterministic seed, so results are reproducible).
 */
function fastScales(
  u: Mat<Float64Array>,
  s: Float64Array,
  epsilon: number,
  tol: number,
): { kept: number[]; d: Float64Array } | null {
  const n = u.rows,
    k = u.cols;
  const isZero = new Uint8Array(k),
    norm2 = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    for (let j = 0; j < k; j++) {
      const v = u.data[o + j];
      norm2[j] += v * v;
    }
  }
  for (let j = 0; j < k; j++) {
    if (norm2[j] === 0) isZero[j] = 1;
    else if (!(Math.abs(norm2[j] - 1) <= ORTHO_TOL)) return null;
  }
  if (isZero[0]) return null;
  let seed = 0x9e3779b9 ^ (n * 31 + k);
  const rand = (): number => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
  const w = new Float64Array(n),
    back = new Float64Array(k),
    r = new Float64Array(k);
  for (let trial = 0; trial < 2; trial++) {
    let rn = 0;
    for (let j = 0; j < k; j++) {
      r[j] = isZero[j] ? 0 : rand();
      rn += r[j] * r[j];
    }
    if (rn === 0) continue;
    for (let i = 0; i < n; i++) {
      const o = i * k;
      let acc = 0;
      for (let j = 0; j < k; j++) acc += u.data[o + j] * r[j];
      w[i] = acc;
    }
    back.fill(0);
    for (let i = 0; i < n; i++) {
      const o = i * k,
        wi = w[i];
      for (let j = 0; j < k; j++) back[j] += u.data[o + j] * wi;
    }
    let en = 0;
    for (let j = 0; j < k; j++) {
      const e = back[j] - r[j];
      en += e * e;
    }
    if (!(Math.sqrt(en) <= ORTHO_TOL * Math.sqrt(rn))) return null;
  }
  const lmax = 1 + epsilon,
    kept: number[] = [],
    d: number[] = [];
  for (let j = 0; j < k; j++) {
    const t = isZero[j] ? 0 : s[j] / s[0],
      a = t * t + epsilon;
    if (a > tol * lmax && a > 0) {
      kept.push(j);
      d.push(epsilon === 0 ? 1 : t / Math.sqrt(a));
    }
  }
  return { kept, d: Float64Array.from(d) };
}

function columns(u: Mat<Float64Array>, idx: number[]): Mat<Float64Array> {
  const n = u.rows,
    k = u.cols,
    r = idx.length;
  if (r === k) return u;
  const out = new Float64Array(n * r);
  for (let i = 0; i < n; i++) for (let j = 0; j < r; j++) out[i * r + j] = u.data[i * k + idx[j]];
  return { data: out, rows: n, cols: r };
}

/**
 * SVCCA (Raghu et al. 2017): centre each neuron, SVD, keep the smallest k whose squared singular values reach
 * `keepVariance` of the total (each side separately), project, then mean(ρ) of CCA on the reduced data.
 * The CCA of the reduced data is done without re-whitening (see `fastScales`): ρ = singular values of
 * D_x U_xᵀ U_y D_y. If either side's U_k is not orthonormal to ORTHO_TOL it falls back to the reference path,
 * ccaCore on U_k·S_k; `reference: true` forces that path (tests, benchmarks).
 */
export async function svcca(
  x: Mat<Float64Array>,
  y: Mat<Float64Array>,
  opts: { keepVariance?: number; epsilon?: number; tol?: number; reference?: boolean } = {},
): Promise<{ value: number; kx: number; ky: number; coefficients: number[] }> {
  checkPair(x, y);
  const keep = opts.keepVariance ?? 0.99;
  if (!(keep > 0 && keep <= 1)) throw new ReplensError('E_ARGUMENT', `keepVariance must be in (0, 1], got ${keep}`);
  const { epsilon, tol } = checkOpts(opts);
  if (!opts.reference && x.rows >= x.cols && y.rows >= y.cols && Math.min(x.cols, y.cols) >= COV_PATH_MIN_P) {
    const r = await svccaFromCovariances(x, y, keep, epsilon, tol);
    if (r) {
      svccaPathCounts.covariance++;
      return r;
    }
  }
  const [rx, ry] = await Promise.all([svReduce(x, keep, 'X'), svReduce(y, keep, 'Y')]);
  const fx = opts.reference ? null : fastScales(rx.u, rx.s, epsilon, tol);
  const fy = fx ? fastScales(ry.u, ry.s, epsilon, tol) : null;
  let rho: Float64Array;
  if (fx && fy) {
    const kr = fx.kept.length,
      kc = fy.kept.length;
    const m = await gemm(columns(rx.u, fx.kept), columns(ry.u, fy.kept), { transA: true }); // kr×kc
    for (let i = 0; i < kr; i++) for (let j = 0; j < kc; j++) m.data[i * kc + j] *= fx.d[i] * fy.d[j];
    const sv = await svd(m, { vectors: false });
    rho = Float64Array.from(sv.s, (v) => Math.min(1, Math.max(0, v)));
    svccaPathCounts.fast++;
  } else {
    if (!opts.reference) svccaPathCounts.fallback++;
    rho = (await ccaCore(reducedData(rx), reducedData(ry), epsilon, tol)).rho;
  }
  return { value: mean(rho), kx: rx.k, ky: ry.k, coefficients: Array.from(rho) };
}

/**
 * PWCCA (Morcos et al. 2018) with google/svcca pwcca.py semantics, samples first:
 *   K = Σxx^{-1/2} Σxy Σyy^{-1/2} = U S Vᵀ, ρ = diag(S); D = (X − m)·U + m; P = Q of QR(D);
 *   α_i = Σ_j |⟨P_i, X_j⟩| over the raw columns X_j; α /= Σα; PWCCA = Σ α_i ρ_i.
 * Choices:
 * - X must have no more (kept) directions than Y so α and ρ have the same length; otherwise the roles are
 *   swapped (`swapped`). With full-rank data this is "X has more neurons than Y".
 * - Under rank deficiency U is the rx×rx left singular basis of the reduced K lifted back to neuron space,
 *   U = E_x·U_r (p1×rx): the left singular vectors of the full K that carry its non-zero singular values. The
 *   dropped directions have (X − m)·w = 0 and carry no canonical variate, so they get no weight. "+ m" then adds
 *   the first rx neuron means to the rx columns (the reference adds m_i to direction i).
 * - Because of that "+ m", PWCCA depends on the sign of each singular vector (D_i = X_c·u_i + m_i differs from
 *   −X_c·u_i + m_i), which LAPACK leaves arbitrary. We fix it: each column of U has its largest-magnitude
 *   component positive (lowest index on ties). The effect is not small: on the test fixtures (non-zero means)
 *   random sign choices move PWCCA by up to ≈ 0.1, so google/svcca's value is not reproducible across BLAS builds.
 */
export async function pwcca(
  x: Mat<Float64Array>,
  y: Mat<Float64Array>,
  opts: CcaOptions = {},
): Promise<{ value: number; swapped: boolean; coefficients: number[]; weights: number[] }> {
  checkPair(x, y);
  const { epsilon, tol } = checkOpts(opts);
  // Rule: swap iff X keeps more directions than Y. Guess from the neuron counts (right unless rank deficiency
  // reverses the order) so the expensive core usually runs once; the kept ranks do not depend on the order.
  let swapped = x.cols > y.cols;
  let r = swapped ? await ccaCore(y, x, epsilon, tol, true) : await ccaCore(x, y, epsilon, tol, true);
  if (r.rx > r.ry) {
    swapped = !swapped;
    r = swapped ? await ccaCore(y, x, epsilon, tol, true) : await ccaCore(x, y, epsilon, tol, true);
  }
  const a = swapped ? y : x;
  return { ...(await pwccaWeights(r.k, r.rho, r.ex!, r.xc, r.meanX, a)), swapped };
}

/**
 * The projection weighting shared by `pwcca` and `pwccaOfFactors`: K (rx×ry, rx ≤ ry) and its ρ, X's kept
 * eigenbasis E_x (p1×rx), the centred X, its means and the raw X (the α of pwcca.py are over raw columns).
 */
async function pwccaWeights(
  k: Mat<Float64Array>,
  rho: Float64Array,
  ex: Mat<Float64Array>,
  xc: Mat<Float64Array>,
  meanX: Float64Array,
  a: Mat<Float64Array>,
): Promise<{ value: number; coefficients: number[]; weights: number[] }> {
  const rx = k.rows;
  // Left singular vectors of K (rx ≤ ry): eigenvectors of K·Kᵀ (rx×rx), ordered like ρ.
  const kkt = await gemm(k, k, { transB: true });
  const ur = (await symEigAsync(kkt.data, rx)).vectors;
  // U = E_x·U_r, then the sign convention.
  const u = await gemm(ex, { data: ur, rows: rx, cols: rx });
  const p1 = u.rows;
  for (let j = 0; j < rx; j++) {
    let best = 0,
      bi = 0;
    for (let i = 0; i < p1; i++) {
      const v = Math.abs(u.data[i * rx + j]);
      if (v > best) {
        best = v;
        bi = i;
      }
    }
    if (u.data[bi * rx + j] < 0) for (let i = 0; i < p1; i++) u.data[i * rx + j] = -u.data[i * rx + j];
  }
  const d = await gemm(xc, u); // n×rx
  for (let i = 0; i < d.rows; i++) for (let j = 0; j < rx; j++) d.data[i * rx + j] += meanX[j];
  const q = await orthonormalBasis(d); // P: CholeskyQR2 through onnxruntime, Householder when ill-conditioned
  const pa = await gemm(q, a, { transA: true }); // rx×p1: ⟨P_i, X_j⟩
  const alpha = new Float64Array(rx);
  for (let i = 0; i < rx; i++) {
    let s = 0;
    for (let j = 0; j < a.cols; j++) s += Math.abs(pa.data[i * a.cols + j]);
    alpha[i] = s;
  }
  const total = alpha.reduce((s, v) => s + v, 0);
  if (!(total > 0))
    throw new ReplensError('E_ARGUMENT', 'PWCCA: the canonical directions have no projection on X (all weights are 0)');
  let value = 0;
  for (let i = 0; i < rx; i++) {
    alpha[i] /= total;
    value += alpha[i] * rho[i];
  }
  return { value, coefficients: Array.from(rho), weights: Array.from(alpha) };
}

// ---------------------------------------------------------------------------------------------------------------
// Factor once, pair many (issue 13): a layer × layer matrix needs each layer's centring, covariance
// eigendecomposition (whitening) and SVD reduction only once. With Z = Xc·W_x/√max|XcᵀXc| (n×rx, the whitened
// data of `ccaCore`), K = W_xᵀ Σxy W_y = Z_xᵀ Z_y exactly, so a pair costs one n×rx×ry product and an rx×ry SVD;
// L layers cost L factorisations plus L² small products.

/** One side of CCA/PWCCA, factored: everything `ccaCore` computes from X alone. */
export interface CcaFactor {
  /** Raw X (PWCCA's α are over its columns), centred copy and the column means. */
  x: Mat<Float64Array>;
  xc: Mat<Float64Array>;
  meanX: Float64Array;
  /** Whitened data, n×r: Zᵀ Z = I_r on the kept subspace (r = `z.cols`). */
  z: Mat<Float64Array>;
  /** Kept eigenbasis of the rescaled covariance, p×r (PWCCA's canonical directions live in it). */
  e: Mat<Float64Array>;
  /** Covariance directions dropped as null (relative eigenvalue ≤ tol). */
  dropped: number;
}

/** Factors X for `ccaOfFactors` / `pwccaOfFactors`: same conventions (rescale, ridge, tol) as `cca` and `pwcca`. */
export async function ccaFactor(x: Mat<Float64Array>, opts: CcaOptions = {}): Promise<CcaFactor> {
  checkMat(x, 'X');
  const { epsilon, tol } = checkOpts(opts);
  const { c: xc, mean: meanX } = centre(x);
  const sxx = await crossProduct(xc, xc);
  const xmax = maxAbs(sxx.data);
  if (xmax === 0) throw new ReplensError('E_ARGUMENT', 'X has no variance (every feature is constant)');
  const p = x.cols;
  for (let i = 0; i < sxx.data.length; i++) sxx.data[i] /= xmax;
  for (let i = 0; i < p; i++) sxx.data[i * p + i] += epsilon;
  const ks = await keptSubspace(sxx, tol),
    r = ks.lambda.length;
  const w = ks.e.data.slice(),
    f = 1 / Math.sqrt(xmax);
  for (let i = 0; i < p; i++) for (let j = 0; j < r; j++) w[i * r + j] *= f / Math.sqrt(ks.lambda[j]);
  const z = await gemm(xc, { data: w, rows: p, cols: r });
  return { x, xc, meanX, z, e: ks.e, dropped: ks.dropped };
}

function checkFactors(fx: CcaFactor, fy: CcaFactor): void {
  if (fx.x.rows !== fy.x.rows)
    throw new ReplensError('E_ARGUMENT', `X and Y have different sample counts (${fx.x.rows} and ${fy.x.rows})`);
}

async function canonical(k: Mat<Float64Array>): Promise<Float64Array> {
  const sv = await svd(k, { vectors: false });
  return Float64Array.from(sv.s, (v) => Math.min(1, Math.max(0, v)));
}

/** `cca(x, y)` from the two factors. */
export async function ccaOfFactors(fx: CcaFactor, fy: CcaFactor): Promise<CcaResult> {
  checkFactors(fx, fy);
  const rho = await canonical(await gemm(fx.z, fy.z, { transA: true }));
  return { value: mean(rho), coefficients: Array.from(rho), dropped: { x: fx.dropped, y: fy.dropped } };
}

/** `pwcca(x, y)` from the two factors: the same swap rule (the side with fewer kept directions is X). */
export async function pwccaOfFactors(
  fx: CcaFactor,
  fy: CcaFactor,
): Promise<{ value: number; swapped: boolean; coefficients: number[]; weights: number[] }> {
  checkFactors(fx, fy);
  const rx = fx.z.cols,
    ry = fy.z.cols;
  const swapped = rx !== ry ? rx > ry : fx.x.cols > fy.x.cols;
  const [a, b] = swapped ? [fy, fx] : [fx, fy];
  const k = await gemm(a.z, b.z, { transA: true });
  const rho = await canonical(k);
  return { ...(await pwccaWeights(k, rho, a.e, a.xc, a.meanX, a.x)), swapped };
}

/**
 * The guard against the trivial regime (issue 13). With k_x and k_y directions kept from n samples, CCA of
 * INDEPENDENT data is far from 0: for a uniformly random k_y-dimensional subspace of the (n−1)-dimensional centred
 * sample space, E[Σρᵢ²] = E[tr(P_x P_y)] = k_x·k_y/(n−1), so over the min(k_x, k_y) coefficients
 * E[mean ρ²] = max(k_x, k_y)/(n−1) and, by Jensen, the chance level E[mean ρ] ≤ √(max(k_x, k_y)/(n−1)) — it reaches
 * 1 as k → n. Raghu et al. (SVCCA) and Morcos et al. (PWCCA) work with many more datapoints than kept directions;
 * we make that a rule: keep at most ⌊CCA_MAX_DIMS_FRACTION·n⌋ directions, which holds the chance level ≤ √0.1 ≈ 0.32.
 */
export const CCA_MAX_DIMS_FRACTION = 0.1;

/** The most directions a side may keep out of n samples under the guard (at least 1). */
export function ccaMaxDims(n: number, fraction = CCA_MAX_DIMS_FRACTION): number {
  return Math.max(1, Math.floor(fraction * n));
}

/** Upper bound on the expected mean canonical correlation of independent data (see CCA_MAX_DIMS_FRACTION). */
export function ccaChanceLevel(kx: number, ky: number, n: number): number {
  return Math.min(1, Math.sqrt(Math.max(kx, ky) / (n - 1)));
}

/** A layer factored for SVCCA and PWCCA at once (the similarity analysis). */
export interface LayerCcaFactor {
  samples: number;
  units: number;
  /** Numerical rank of the centred units (singular values with s²/s₁² > tol). */
  rank: number;
  /** Directions reaching keepVariance, before the cap. */
  varianceDims: number;
  /** Directions SVCCA keeps (varianceDims, capped at maxDims). */
  svccaDims: number;
  /** Directions PWCCA sees: all (rank) when rank ≤ maxDims, else the top maxDims principal components. */
  pwccaDims: number;
  /** maxDims applied (null: no guard). */
  maxDims: number | null;
  svcca: CcaFactor;
  pwcca: CcaFactor;
}

/**
 * One layer's SVCCA and PWCCA factors. SVCCA: centre, SVD (the Gram route: one product and an eigendecomposition
 * of the smaller side, as the reduction only needs the dominant subspace), keep k = min(directions reaching
 * keepVariance, maxDims), CCA-factor the reduced data U_k·S_k (exactly `svcca`'s reference path). PWCCA: the raw
 * units when their rank is within maxDims, otherwise the top maxDims principal components U_m·S_m (PWCCA of the
 * raw units would then be in the trivial regime). maxDims null turns the guard off.
 */
export async function layerCcaFactor(
  x: Mat<Float64Array>,
  opts: { keepVariance?: number; epsilon?: number; tol?: number; maxDims?: number | null } = {},
): Promise<LayerCcaFactor> {
  checkMat(x, 'X');
  const keep = opts.keepVariance ?? 0.99;
  if (!(keep > 0 && keep <= 1)) throw new ReplensError('E_ARGUMENT', `keepVariance must be in (0, 1], got ${keep}`);
  const { epsilon, tol } = checkOpts(opts);
  const maxDims = opts.maxDims ?? null;
  if (maxDims !== null && !(Number.isInteger(maxDims) && maxDims >= 1))
    throw new ReplensError('E_ARGUMENT', `maxDims must be a positive integer, got ${maxDims}`);
  const { c } = centre(x);
  const d = await svd(c, { method: 'gram' });
  if (!(d.s[0] > 0)) throw new ReplensError('E_ARGUMENT', 'X has no variance (every feature is constant)');
  const s1 = d.s[0];
  let rank = 0;
  while (rank < d.s.length && (d.s[rank] / s1) ** 2 > tol) rank++;
  const varianceDims = keepCount(d.s, keep);
  const cap = maxDims ?? Infinity;
  const svccaDims = Math.min(varianceDims, cap);
  const u = d.u!,
    n = u.rows,
    kk = u.cols;
  const reduced = (k: number): Mat<Float64Array> => {
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) out[i * k + j] = u.data[i * kk + j] * d.s[j];
    return { data: out, rows: n, cols: k };
  };
  const svccaF = await ccaFactor(reduced(svccaDims), { epsilon, tol });
  const pwccaDims = Math.min(rank, cap);
  const pwccaF =
    rank > cap ? await ccaFactor(reduced(pwccaDims), { epsilon, tol }) : await ccaFactor(x, { epsilon, tol });
  return { samples: n, units: x.cols, rank, varianceDims, svccaDims, pwccaDims, maxDims, svcca: svccaF, pwcca: pwccaF };
}

/**
 * Explained-variance spectrum: squared singular values over their total, descending, min(n, p) of them.
 * Uncentred by default (the noise-perturbation SVD analyses the raw activations; centred = PCA).
 */
export async function explainedVariance(x: Mat<Float64Array>, opts: { centre?: boolean } = {}): Promise<number[]> {
  checkMat(x, 'X');
  const m = opts.centre ? centre(x).c : x;
  const { s } = await svd(m, { vectors: false });
  let total = 0;
  for (const v of s) total += v * v;
  if (total === 0) throw new ReplensError('E_ARGUMENT', 'X is all zeros: the explained variance is undefined');
  return Array.from(s, (v) => (v * v) / total);
}
