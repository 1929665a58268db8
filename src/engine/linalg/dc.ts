// Eigenvalues and eigenvectors of a symmetric tridiagonal matrix by divide and conquer (Cuppen's method with the
// Gu–Eisenstat eigenvector formula; the structure of LAPACK's dstedc/dlaed*, written from the mathematics).
//
// T = diag(T1', T2') + ρ·v·vᵀ, split in the middle at the coupling β: ρ = |β|, v = [e_last; sign(β)·e_first], and
// |β| subtracted from the two diagonal entries next to the cut. Both halves are solved recursively (leaves by
// implicit QL), giving T = Q·(D + ρ z zᵀ)·Qᵀ with Q = diag(Q1, Q2), z = [last row of Q1; sign(β)·first row of Q2].
// The rank-one update is solved by:
//  - deflation: components with ρ|z_j| ≤ tol are eigenpairs as they are; pairs of close d's are rotated so one z
//    component vanishes (the neglected coupling is ≤ tol = 8ε·max(|d|max, ρ));
//  - the secular equation 1/ρ + Σ z_j²/(d_j − λ) = 0 for each root, solved in a variable τ measured from the
//    nearer pole, so d_j − λ = (d_j − d_origin) − τ is obtained to full relative accuracy (safeguarded
//    fixed-weight rational iteration with a bracketing fall-back);
//  - ẑ recomputed from the computed roots (Löwner / Gu–Eisenstat), so that the vectors ẑ_j/(d_j − λ_i) are
//    orthogonal to working precision whatever the clustering;
//  - Q·U, through onnxruntime's float64 Gemm for large merges.
import { gemm } from './gemm';
import { tql2 } from './tql2';
import { ReplensError } from '../errors';

export interface DcOptions {
  /** Largest sub-problem solved directly by QL (default 48). */
  leaf?: number;
  /** Merges with at least this many non-deflated roots multiply Q·U through Gemm (default 128). */
  gemmMin?: number;
}

export interface DcResult {
  /** Eigenvalues, in no particular order. */
  values: Float64Array;
  /** n×n row-major; column i is the unit eigenvector of values[i]. */
  vectors: Float64Array;
}

const EPS = 2 ** -52;

/** Counters of the paths taken (tests check that deflation, the rotations and the Gemm merges are exercised). */
export const dcStats = {
  merges: 0,
  deflatedZ: 0,
  deflatedPair: 0,
  gemmMerges: 0,
  secularRoots: 0,
  secularIterations: 0,
  bisections: 0,
};

/** Eigen-decomposition of the tridiagonal (d, e), e[j] coupling j and j + 1. d and e are not modified. */
export async function tridiagEig(d: Float64Array, e: Float64Array, n: number, opts: DcOptions = {}): Promise<DcResult> {
  const leaf = Math.max(2, Math.floor(opts.leaf ?? 48));
  const gemmMin = opts.gemmMin ?? 128;
  return solve(d.slice(0, n), e.slice(0, Math.max(0, n - 1)), n, leaf, gemmMin);
}

async function solve(d: Float64Array, e: Float64Array, m: number, leaf: number, gemmMin: number): Promise<DcResult> {
  if (m <= leaf) return leafSolve(d, e, m);
  const m1 = m >> 1,
    m2 = m - m1;
  const beta = e[m1 - 1],
    rho = Math.abs(beta),
    sgn = beta < 0 ? -1 : 1;
  const d1 = d.slice(0, m1),
    d2 = d.slice(m1);
  d1[m1 - 1] -= rho;
  d2[0] -= rho;
  const r1 = await solve(d1, e.slice(0, m1 - 1), m1, leaf, gemmMin);
  const r2 = await solve(d2, e.slice(m1), m2, leaf, gemmMin);
  return merge(r1, m1, r2, m2, rho, sgn, gemmMin);
}

function leafSolve(d: Float64Array, e: Float64Array, m: number): DcResult {
  const w = new Float64Array(m * m);
  for (let i = 0; i < m; i++) w[i * m + i] = 1;
  // QL at unit scale (a power of two, exact): its products of sub-diagonal entries underflow for a tiny block.
  let amax = 0;
  for (let i = 0; i < m; i++) amax = Math.max(amax, Math.abs(d[i]), i < m - 1 ? Math.abs(e[i]) : 0);
  const sc = amax > 0 ? 2 ** Math.max(-1000, Math.min(1000, -Math.round(Math.log2(amax)))) : 1;
  const dd = new Float64Array(m),
    ee = new Float64Array(m);
  for (let i = 0; i < m; i++) dd[i] = d[i] * sc;
  for (let i = 1; i < m; i++) ee[i] = e[i - 1] * sc;
  tql2(w, dd, ee, m, true);
  for (let i = 0; i < m; i++) dd[i] /= sc;
  // tql2 leaves eigenvector i in row i of w: transpose to columns.
  const q = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) q[j * m + i] = w[i * m + j];
  return { values: dd, vectors: q };
}

async function merge(
  r1: DcResult,
  m1: number,
  r2: DcResult,
  m2: number,
  rho0: number,
  sgn: number,
  gemmMin: number,
): Promise<DcResult> {
  const m = m1 + m2;
  dcStats.merges++;
  const dv = new Float64Array(m),
    z0 = new Float64Array(m);
  dv.set(r1.values, 0);
  dv.set(r2.values, m1);
  for (let i = 0; i < m1; i++) z0[i] = r1.vectors[(m1 - 1) * m1 + i] * Math.SQRT1_2;
  for (let i = 0; i < m2; i++) z0[m1 + i] = sgn * r2.vectors[i] * Math.SQRT1_2;
  const rho = 2 * rho0; // z was scaled to unit norm
  // Ascending order; Q = diag(Q1, Q2) with its columns permuted accordingly.
  const perm = Array.from({ length: m }, (_, i) => i).sort((a, b) => dv[a] - dv[b] || a - b);
  const pos = new Int32Array(m);
  for (let c = 0; c < m; c++) pos[perm[c]] = c;
  const q = new Float64Array(m * m),
    ds = new Float64Array(m),
    zs = new Float64Array(m);
  // Support of each column of Q: 1 = rows of the first half only, 2 = second half only, 3 = both (after a rotation).
  const typ = new Uint8Array(m);
  for (let c = 0; c < m; c++) typ[c] = perm[c] < m1 ? 1 : 2;
  for (let c = 0; c < m; c++) {
    ds[c] = dv[perm[c]];
    zs[c] = z0[perm[c]];
  }
  for (let i = 0; i < m1; i++) {
    const o = i * m,
      so = i * m1;
    for (let j = 0; j < m1; j++) q[o + pos[j]] = r1.vectors[so + j];
  }
  for (let i = 0; i < m2; i++) {
    const o = (m1 + i) * m,
      so = i * m2;
    for (let j = 0; j < m2; j++) q[o + pos[m1 + j]] = r2.vectors[so + j];
  }
  // Deflation.
  let dmax = 0;
  for (let c = 0; c < m; c++) dmax = Math.max(dmax, Math.abs(ds[c]));
  const tol = 8 * EPS * Math.max(dmax, rho);
  const deflated = new Uint8Array(m);
  let pj = -1;
  for (let j = 0; j < m; j++) {
    if (rho * Math.abs(zs[j]) <= tol) {
      deflated[j] = 1;
      dcStats.deflatedZ++;
      continue;
    }
    if (pj >= 0) {
      const tau = Math.hypot(zs[pj], zs[j]),
        cc = zs[pj] / tau,
        ss = zs[j] / tau,
        t = ds[j] - ds[pj];
      if (Math.abs(t * cc * ss) <= tol) {
        // Rotate columns pj, j so that z_pj vanishes; the coupling ss·cc·t left out is below tol.
        for (let r = 0; r < m; r++) {
          const o = r * m,
            a = q[o + pj],
            b = q[o + j];
          q[o + pj] = ss * a - cc * b;
          q[o + j] = cc * a + ss * b;
        }
        const dp = ds[pj],
          dj = ds[j];
        ds[pj] = ss * ss * dp + cc * cc * dj;
        ds[j] = cc * cc * dp + ss * ss * dj;
        zs[j] = tau;
        zs[pj] = 0;
        deflated[pj] = 1;
        typ[pj] = typ[j] = typ[pj] | typ[j];
        dcStats.deflatedPair++;
      }
    }
    pj = j;
  }
  const nd: number[] = [],
    df: number[] = [];
  for (let c = 0; c < m; c++) (deflated[c] ? df : nd).push(c);
  const k = nd.length;
  const values = new Float64Array(m),
    out = new Float64Array(m * m);
  // Deflated columns go last, unchanged.
  for (let t = 0; t < df.length; t++) {
    const c = df[t],
      oc = k + t;
    values[oc] = ds[c];
    for (let r = 0; r < m; r++) out[r * m + oc] = q[r * m + c];
  }
  if (k === 0) return { values, vectors: out };
  const dd = Float64Array.from(nd, (c) => ds[c]),
    zz = Float64Array.from(nd, (c) => zs[c]);
  if (k === 1) {
    values[0] = dd[0] + rho * zz[0] * zz[0];
    for (let r = 0; r < m; r++) out[r * m] = q[r * m + nd[0]];
    return { values, vectors: out };
  }
  // Solve at unit scale (a power of two, exact): a sub-problem can be tiny next to the whole matrix, and the
  // derivatives z²/δ² of the secular function must not overflow there. ẑ and U only use ratios of δ's.
  const sc = 2 ** Math.max(-1000, Math.min(1000, -Math.round(Math.log2(Math.max(dmax, rho)))));
  for (let j = 0; j < k; j++) dd[j] *= sc;
  const delta = new Float64Array(k * k),
    lam = new Float64Array(k);
  secular(dd, zz, k, rho * sc, delta, lam);
  for (let i = 0; i < k; i++) lam[i] /= sc;
  // Gu–Eisenstat: ẑ_j² ∝ Π_i (λ_i − d_j) / Π_{i≠j} (d_i − d_j), each factor paired to stay O(1).
  const zh = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let p = -delta[j * k + j];
    const dj = dd[j];
    for (let i = 0; i < k; i++) if (i !== j) p *= -delta[i * k + j] / (dd[i] - dj);
    zh[j] = (zz[j] < 0 ? -1 : 1) * Math.sqrt(Math.max(p, 0));
  }
  // U (k×k): column i = (ẑ_j / (d_j − λ_i))_j normalised.
  const u = new Float64Array(k * k),
    col = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const o = i * k;
    let s = 0;
    for (let j = 0; j < k; j++) {
      const v = zh[j] / delta[o + j];
      col[j] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < k; j++) u[j * k + i] = col[j] * inv;
    values[i] = lam[i];
  }
  // Q_nd·U exploiting the block structure of Q_nd: the first m1 rows only involve columns of type 1 or 3, the
  // last m2 rows only columns of type 2 or 3 (half the multiply-adds of the full product when little is rotated).
  if (k >= gemmMin) dcStats.gemmMerges++;
  for (const [r0, r1, mask] of [
    [0, m1, 1],
    [m1, m, 2],
  ]) {
    const sel: number[] = [];
    for (let t = 0; t < k; t++) if (typ[nd[t]] & mask) sel.push(t);
    const h = r1 - r0,
      w = sel.length;
    if (w === 0) continue;
    const a = new Float64Array(h * w),
      b = new Float64Array(w * k);
    for (let r = 0; r < h; r++) {
      const o = (r0 + r) * m,
        oo = r * w;
      for (let i = 0; i < w; i++) a[oo + i] = q[o + nd[sel[i]]];
    }
    for (let i = 0; i < w; i++) b.set(u.subarray(sel[i] * k, sel[i] * k + k), i * k);
    let prod: Float64Array;
    if (k >= gemmMin) prod = (await gemm({ data: a, rows: h, cols: w }, { data: b, rows: w, cols: k })).data;
    else {
      prod = new Float64Array(h * k);
      for (let r = 0; r < h; r++) {
        const o = r * k,
          ao = r * w;
        for (let i = 0; i < w; i++) {
          const x = a[ao + i];
          if (x === 0) continue;
          const bo = i * k;
          for (let c = 0; c < k; c++) prod[o + c] += x * b[bo + c];
        }
      }
    }
    for (let r = 0; r < h; r++) out.set(prod.subarray(r * k, r * k + k), (r0 + r) * m);
  }
  return { values, vectors: out };
}

/**
 * Roots of 1/ρ + Σ z_j²/(d_j − λ) = 0 (d strictly increasing, z_j ≠ 0, ρ > 0): λ_i ∈ (d_i, d_{i+1}), the last
 * in (d_{k−1}, d_{k−1} + ρ‖z‖²]. Writes delta[i·k + j] = d_j − λ_i, accurate relative to itself.
 */
function secular(
  dd: Float64Array,
  zz: Float64Array,
  k: number,
  rho: number,
  delta: Float64Array,
  lam: Float64Array,
): void {
  const invRho = 1 / rho,
    z2 = new Float64Array(k);
  let zsq = 0;
  for (let j = 0; j < k; j++) {
    z2[j] = zz[j] * zz[j];
    zsq += z2[j];
  }
  for (let i = 0; i < k; i++) {
    const o = i * k;
    let org: number, lo: number, hi: number, tau: number;
    if (i < k - 1) {
      const gap = dd[i + 1] - dd[i],
        mid = gap / 2,
        di = dd[i];
      let f = invRho;
      for (let j = 0; j < k; j++) f += z2[j] / (dd[j] - di - mid);
      if (f >= 0) {
        org = i;
        lo = 0;
        hi = mid;
        tau = mid;
      } else {
        org = i + 1;
        lo = -mid;
        hi = 0;
        tau = -mid;
      }
    } else {
      org = i;
      lo = 0;
      hi = rho * zsq;
      tau = hi;
    }
    const base = dd[org];
    for (let j = 0; j < k; j++) delta[o + j] = dd[j] - base;
    dcStats.secularRoots++;
    for (let it = 0; ; it++) {
      dcStats.secularIterations++;
      if (it > 2000) throw new ReplensError('E_RUNTIME', 'symEig: secular equation did not converge');
      let psi = 0,
        dpsi = 0,
        phi = 0,
        dphi = 0;
      for (let j = 0; j <= i; j++) {
        const del = delta[o + j] - tau,
          t = z2[j] / del;
        psi += t;
        dpsi += t / del;
      }
      for (let j = i + 1; j < k; j++) {
        const del = delta[o + j] - tau,
          t = z2[j] / del;
        phi += t;
        dphi += t / del;
      }
      const f = invRho + psi + phi;
      if (f === 0) break;
      if (f < 0) lo = tau;
      else hi = tau;
      const err = EPS * (8 * (invRho + phi - psi) + Math.abs(tau) * (dpsi + dphi));
      if (Math.abs(f) <= err) break;
      if (hi - lo <= 2 * EPS * Math.max(Math.abs(lo), Math.abs(hi))) break;
      // Fixed-weight rational model around the two neighbouring poles: c + s/(δp − η) + S/(δq − η) = 0.
      const dp = delta[o + i] - tau;
      let eta = NaN;
      if (i < k - 1) {
        const dq = delta[o + i + 1] - tau;
        const s = dpsi * dp * dp,
          S = dphi * dq * dq,
          c = f - s / dp - S / dq;
        const a = c * (dp + dq) + s + S,
          b = c * dp * dq + s * dq + S * dp;
        if (c === 0) eta = b / a;
        else {
          const disc = a * a - 4 * b * c;
          if (disc >= 0) {
            const qq = 0.5 * (a + (a >= 0 ? 1 : -1) * Math.sqrt(disc));
            const ra = qq / c,
              rb = qq !== 0 ? b / qq : NaN;
            if (ra > dp && ra < dq) eta = ra;
            else if (rb > dp && rb < dq) eta = rb;
          }
        }
      } else {
        const s = dpsi * dp * dp,
          c = f - s / dp;
        if (c !== 0) eta = dp + s / c;
      }
      let next = tau + eta;
      if (!(next > lo && next < hi)) {
        // Bisection, geometric when the bracket spans orders of magnitude.
        dcStats.bisections++;
        if (lo > 0 && hi > 4 * lo) next = Math.sqrt(lo * hi);
        else if (hi < 0 && lo < 4 * hi) next = -Math.sqrt(lo * hi);
        else next = 0.5 * (lo + hi);
        if (!(next > lo && next < hi)) break;
      }
      tau = next;
    }
    for (let j = 0; j < k; j++) delta[o + j] -= tau;
    lam[i] = base + tau;
  }
}
