// Blocked Householder tridiagonalisation of a dense symmetric matrix (the LAPACK dsytrd/dlatrd structure) and the
// blocked back-transformation of eigenvectors by the reflectors (compact WY, dlarft/dlarfb structure).
//
// Reduction: panels of nb columns are reduced in JS. Each column needs one symmetric matrix-vector product with the
// trailing matrix as it was at the start of the panel (level 2, contiguous rows), corrected by the panel's reflectors
// so far (A_t = A0 − V·Wᵀ − W·Vᵀ). After the panel the trailing matrix gets the rank-2nb update A −= V·Wᵀ + W·Vᵀ,
// through onnxruntime's float64 Gemm when it is large (half of the 4n³/3 flops go there).
// Back-transformation: Q = H_0·H_1···H_{n−2}; blocks of kb reflectors are I − V·T·Vᵀ with T upper triangular, and
// Q·Z is applied block by block (last block first) with three Gemms per block.
import { gemm, type Mat } from './gemm';

export interface TridiagOptions {
  /** Panel width of the reduction (default 32). */
  block?: number;
  /** Trailing size from which the rank-2nb update goes through Gemm (default 160; symEigAsync passes its gemmMin). */
  gemmMin?: number;
}

export interface Tridiag {
  /** Diagonal (n). */
  d: Float64Array;
  /** Sub-diagonal (n − 1): e[j] couples j and j + 1. */
  e: Float64Array;
  /**
   * Householder scalars (n − 1); reflector j is I − τ_j v_j v_jᵀ with v_j stored in row j of the work matrix, columns
   * j+1..n−1 (v_j[j+1] = 1).
   */
  tau: Float64Array;
}

const m64 = (data: Float64Array, rows: number, cols: number): Mat<Float64Array> => ({ data, rows, cols });

/**
 * Reduces the symmetric n×n row-major matrix `w` in place, reading and updating only its lower triangle: on return
 * row j holds v_j in columns j+1..n−1 (the strict upper triangle) and the rest of w is scratch.
 */
export async function tridiagonalize(w: Float64Array, n: number, opts: TridiagOptions = {}): Promise<Tridiag> {
  const nb = Math.max(1, Math.floor(opts.block ?? 32));
  const gemmMin = opts.gemmMin ?? 160;
  const d = new Float64Array(n),
    e = new Float64Array(Math.max(0, n - 1)),
    tau = new Float64Array(Math.max(0, n - 1));
  // Panel vectors, one contiguous length-n column each (zero outside their support).
  const vb = new Float64Array(nb * n),
    wb = new Float64Array(nb * n);
  const y = new Float64Array(n),
    c1 = new Float64Array(nb),
    c2 = new Float64Array(nb);
  const pcols = new Float64Array(nb * n); // the panel's columns (lower triangle), transposed to contiguous rows
  for (let j0 = 0; j0 < n; j0 += nb) {
    const j1 = Math.min(n, j0 + nb),
      pw = j1 - j0;
    vb.fill(0);
    wb.fill(0);
    for (let r = j0; r < n; r++) {
      const o = r * n,
        ce = Math.min(j1, r + 1);
      for (let c = j0; c < ce; c++) pcols[(c - j0) * n + r] = w[o + c];
    }
    for (let j = j0; j < j1; j++) {
      const t = j - j0,
        rj = j * n;
      // Column j of the current matrix, rows j..n−1, with the panel corrections.
      const col = pcols.subarray(t * n, t * n + n);
      correct(col, j, n, vb, wb, t, j);
      d[j] = col[j];
      if (j === n - 1) break;
      // Householder reflector taking col[j+1..n−1] to β·e_1 (dlarfg, with a scaled norm).
      const alpha = col[j + 1];
      let xmax = 0;
      for (let r = j + 2; r < n; r++) {
        const v = Math.abs(col[r]);
        if (v > xmax) xmax = v;
      }
      const vt = t * n;
      if (xmax === 0) {
        e[j] = alpha;
        tau[j] = 0;
        continue;
      } // H = I; v and w stay zero
      const amax = Math.max(xmax, Math.abs(alpha));
      let ss = 0;
      for (let r = j + 1; r < n; r++) {
        const v = col[r] / amax;
        ss += v * v;
      }
      const nrm = amax * Math.sqrt(ss);
      const beta = alpha >= 0 ? -nrm : nrm;
      const tj = (beta - alpha) / beta,
        sc = 1 / (alpha - beta);
      e[j] = beta;
      tau[j] = tj;
      vb[vt + j + 1] = 1;
      w[rj + j + 1] = 1;
      for (let r = j + 2; r < n; r++) {
        const v = col[r] * sc;
        vb[vt + r] = v;
        w[rj + r] = v;
      }
      if (j === n - 2) continue; // last reflector: nothing left to update
      // y = A0(j+1:, j+1:)·v over contiguous rows (4 accumulators).
      const lo = j + 1;
      symvLower(w, n, lo, vb, vt, y);
      // y −= V·(Wᵀv) + W·(Vᵀv)
      for (let s = 0; s < t; s++) {
        const vs = s * n;
        let a = 0,
          b = 0;
        for (let r = lo; r < n; r++) {
          const v = vb[vt + r];
          a += wb[vs + r] * v;
          b += vb[vs + r] * v;
        }
        c1[s] = a;
        c2[s] = b;
      }
      for (let s = 0; s < t; s++) {
        c2[s] = -c2[s];
        c1[s] = -c1[s];
      }
      correctWith(y, lo, n, vb, wb, t, c1, c2);
      // w = τy − (τ/2)(τ yᵀv) v
      let yv = 0;
      for (let r = lo; r < n; r++) yv += y[r] * vb[vt + r];
      const al = -0.5 * tj * tj * yv;
      for (let r = lo; r < n; r++) wb[vt + r] = tj * y[r] + al * vb[vt + r];
    }
    if (j1 >= n) break;
    // Trailing update A(j1:, j1:) −= V·Wᵀ + W·Vᵀ.
    const m = n - j1;
    if (m >= gemmMin) {
      const x = new Float64Array(m * 2 * pw),
        z = new Float64Array(m * 2 * pw);
      for (let r = 0; r < m; r++) {
        const o = r * 2 * pw,
          R = j1 + r;
        for (let s = 0; s < pw; s++) {
          const v = vb[s * n + R],
            ww = wb[s * n + R];
          x[o + s] = v;
          x[o + pw + s] = ww;
          z[o + s] = ww;
          z[o + pw + s] = v;
        }
      }
      const p = (await gemm(m64(x, m, 2 * pw), m64(z, m, 2 * pw), { transB: true })).data;
      for (let r = 0; r < m; r++) {
        const o = (j1 + r) * n + j1,
          po = r * m;
        for (let c = 0; c <= r; c++) w[o + c] -= p[po + c];
      }
    } else {
      for (let R = j1; R < n; R++) {
        const o = R * n;
        for (let s = 0; s < pw; s++) {
          const vs = s * n,
            a = vb[vs + R],
            b = wb[vs + R];
          if (a === 0 && b === 0) continue;
          for (let c = j1; c <= R; c++) w[o + c] -= a * wb[vs + c] + b * vb[vs + c];
        }
      }
    }
  }
  return { d, e, tau };
}

/** x[lo:] −= Σ_{s<t} V_s·W_s[i] + W_s·V_s[i] (the panel correction of column i). */
function correct(
  x: Float64Array,
  lo: number,
  n: number,
  vb: Float64Array,
  wb: Float64Array,
  t: number,
  i: number,
): void {
  let s = 0;
  for (; s + 1 < t; s += 2) {
    const o0 = s * n,
      o1 = o0 + n;
    const a0 = wb[o0 + i],
      b0 = vb[o0 + i],
      a1 = wb[o1 + i],
      b1 = vb[o1 + i];
    for (let r = lo; r < n; r++) x[r] -= vb[o0 + r] * a0 + wb[o0 + r] * b0 + (vb[o1 + r] * a1 + wb[o1 + r] * b1);
  }
  if (s < t) {
    const o0 = s * n,
      a0 = wb[o0 + i],
      b0 = vb[o0 + i];
    for (let r = lo; r < n; r++) x[r] -= vb[o0 + r] * a0 + wb[o0 + r] * b0;
  }
}

/** x[lo:] += Σ_{s<t} V_s·a[s] + W_s·b[s]. */
function correctWith(
  x: Float64Array,
  lo: number,
  n: number,
  vb: Float64Array,
  wb: Float64Array,
  t: number,
  a: Float64Array,
  b: Float64Array,
): void {
  let s = 0;
  for (; s + 1 < t; s += 2) {
    const o0 = s * n,
      o1 = o0 + n,
      a0 = a[s],
      b0 = b[s],
      a1 = a[s + 1],
      b1 = b[s + 1];
    for (let r = lo; r < n; r++) x[r] += vb[o0 + r] * a0 + wb[o0 + r] * b0 + (vb[o1 + r] * a1 + wb[o1 + r] * b1);
  }
  if (s < t) {
    const o0 = s * n,
      a0 = a[s],
      b0 = b[s];
    for (let r = lo; r < n; r++) x[r] += vb[o0 + r] * a0 + wb[o0 + r] * b0;
  }
}

/**
 * y[lo:] = A(lo:, lo:)·v[vo + lo:] reading only the lower triangle of A. Four rows at a time: each loaded entry
 * serves the row's dot product and the transposed axpy, and y is loaded/stored once per four rows (≈ 3 GFLOP/s
 * in V8 against ≈ 1.4 for full-row dot products).
 */
function symvLower(a: Float64Array, n: number, lo: number, v: Float64Array, vo: number, y: Float64Array): void {
  for (let r = lo; r < n; r++) y[r] = 0;
  let r = lo;
  for (; r + 3 < n; r += 4) {
    const o0 = r * n,
      o1 = o0 + n,
      o2 = o1 + n,
      o3 = o2 + n;
    const v0 = v[vo + r],
      v1 = v[vo + r + 1],
      v2 = v[vo + r + 2],
      v3 = v[vo + r + 3];
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    for (let c = lo; c < r; c++) {
      const a0 = a[o0 + c],
        a1 = a[o1 + c],
        a2 = a[o2 + c],
        a3 = a[o3 + c],
        vc = v[vo + c];
      s0 += a0 * vc;
      s1 += a1 * vc;
      s2 += a2 * vc;
      s3 += a3 * vc;
      y[c] += a0 * v0 + a1 * v1 + (a2 * v2 + a3 * v3);
    }
    // The 4×4 diagonal block, lower part.
    const a00 = a[o0 + r],
      a10 = a[o1 + r],
      a11 = a[o1 + r + 1],
      a20 = a[o2 + r],
      a21 = a[o2 + r + 1],
      a22 = a[o2 + r + 2];
    const a30 = a[o3 + r],
      a31 = a[o3 + r + 1],
      a32 = a[o3 + r + 2],
      a33 = a[o3 + r + 3];
    y[r] += s0 + a00 * v0 + a10 * v1 + a20 * v2 + a30 * v3;
    y[r + 1] += s1 + a10 * v0 + a11 * v1 + a21 * v2 + a31 * v3;
    y[r + 2] += s2 + a20 * v0 + a21 * v1 + a22 * v2 + a32 * v3;
    y[r + 3] += s3 + a30 * v0 + a31 * v1 + a32 * v2 + a33 * v3;
  }
  for (; r < n; r++) {
    const o = r * n,
      vr = v[vo + r];
    let s0 = 0;
    for (let c = lo; c < r; c++) {
      const a0 = a[o + c];
      s0 += a0 * v[vo + c];
      y[c] += a0 * vr;
    }
    y[r] += s0 + a[o + r] * vr;
  }
}

/**
 * Z ← Q·Z for the reflectors left in `w` by tridiagonalize (Z n×n row-major, in place), in blocks of kb reflectors.
 */
export async function backTransform(
  w: Float64Array,
  tau: Float64Array,
  n: number,
  z: Float64Array,
  opts: { block?: number; gemmMin?: number } = {},
): Promise<void> {
  const kb = Math.max(1, Math.floor(opts.block ?? 128));
  const gemmMin = opts.gemmMin ?? 160;
  const nr = n - 1;
  if (nr <= 0) return;
  for (let b0 = Math.floor((nr - 1) / kb) * kb; b0 >= 0; b0 -= kb) {
    const b1 = Math.min(nr, b0 + kb),
      k = b1 - b0,
      m = n - b0 - 1,
      r0 = b0 + 1;
    // V (m×k): column t is v_{b0+t} on global rows r0..n−1.
    const v = new Float64Array(m * k);
    for (let t = 0; t < k; t++) {
      const src = (b0 + t) * n;
      for (let r = t; r < m; r++) v[r * k + t] = tau[b0 + t] === 0 ? 0 : w[src + r0 + r];
    }
    // T (k×k upper): T_tt = τ_t, T(0:t, t) = −τ_t T(0:t, 0:t)·(V(:, 0:t)ᵀ v_t).
    const tm = new Float64Array(k * k),
      g = new Float64Array(k);
    const big = m * n * k >= gemmMin * gemmMin * gemmMin;
    // G = VᵀV (k×k): Gemm for large blocks, else dot products of the stored reflector rows.
    let gram: Float64Array | null = null;
    if (big) gram = (await gemm(m64(v, m, k), m64(v, m, k), { transA: true })).data;
    for (let t = 0; t < k; t++) {
      const tt = tau[b0 + t];
      tm[t * k + t] = tt;
      if (t === 0 || tt === 0) continue;
      const vt = (b0 + t) * n;
      for (let s = 0; s < t; s++) {
        if (tau[b0 + s] === 0) {
          g[s] = 0;
          continue;
        }
        if (gram) {
          g[s] = gram[s * k + t];
          continue;
        }
        const vs = (b0 + s) * n;
        let acc = 0;
        for (let c = b0 + t + 1; c < n; c++) acc += w[vs + c] * w[vt + c];
        g[s] = acc;
      }
      for (let s = 0; s < t; s++) {
        let acc = 0;
        for (let q = s; q < t; q++) acc += tm[s * k + q] * g[q];
        tm[s * k + t] = -tt * acc;
      }
    }
    const zs = z.subarray(r0 * n, n * n);
    if (big) {
      const yv = await gemm(m64(v, m, k), m64(zs, m, n), { transA: true }); // k×n
      const ty = await gemm(m64(tm, k, k), yv); // k×n
      const p = (await gemm(m64(v, m, k), ty)).data; // m×n
      for (let i = 0; i < m * n; i++) zs[i] -= p[i];
    } else {
      const yv = new Float64Array(k * n);
      for (let r = 0; r < m; r++) {
        const zo = r * n;
        for (let t = 0; t < k; t++) {
          const a = v[r * k + t];
          if (a === 0) continue;
          const yo = t * n;
          for (let c = 0; c < n; c++) yv[yo + c] += a * zs[zo + c];
        }
      }
      const ty = new Float64Array(k * n);
      for (let s = 0; s < k; s++)
        for (let q = s; q < k; q++) {
          const a = tm[s * k + q];
          if (a === 0) continue;
          for (let c = 0; c < n; c++) ty[s * n + c] += a * yv[q * n + c];
        }
      for (let r = 0; r < m; r++) {
        const zo = r * n;
        for (let t = 0; t < k; t++) {
          const a = v[r * k + t];
          if (a === 0) continue;
          const yo = t * n;
          for (let c = 0; c < n; c++) zs[zo + c] -= a * ty[yo + c];
        }
      }
    }
  }
}
