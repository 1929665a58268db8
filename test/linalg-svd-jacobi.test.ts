// One-sided Jacobi SVD on the matrices that made `metric cca --epsilon 1e-8` fail (issue 13): dead (zero) and
// duplicated columns, and columns so small that α·β underflowed in the old stopping test. Reference: the
// eigenvalues of the Gram matrix (a different algorithm: Householder tridiagonalisation + QL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { svd } from '../src/engine/linalg/svd';
import { symEig } from '../src/engine/linalg/eig';
import { cca } from '../src/engine/metrics/cca';
import { rng } from '../src/engine/onnx/builder';
import type { Mat } from '../src/engine/linalg/gemm';

/** Random m×k matrix mixing unit-scale, tiny (down to 1e-20), zero and (near-)duplicated columns. */
function awkward(seed: number): Mat<Float64Array> {
  const r = rng(seed);
  const randn = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const m = 20 + Math.floor(r() * 150),
    k = 5 + Math.floor(r() * Math.min(m, 120));
  const scales = [1, 1e-4, 1e-8, 1e-12, 1e-16, 1e-20, 0];
  const a = new Float64Array(m * k);
  for (let j = 0; j < k; j++) {
    const dup = r() < 0.3 && j > 0,
      sc = scales[Math.floor(r() * scales.length)];
    for (let i = 0; i < m; i++) a[i * k + j] = dup ? a[i * k + j - 1] * (1 + 1e-15 * randn()) : sc * randn();
  }
  return { data: a, rows: m, cols: k };
}

/** Eigenvalues of the smaller Gram matrix, descending: the squared singular values. */
function gramEigenvalues(a: Mat<Float64Array>): Float64Array {
  const { rows: n, cols: p } = a,
    k = Math.min(n, p),
    tall = n >= p;
  const g = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      if (tall) for (let t = 0; t < n; t++) s += a.data[t * p + i] * a.data[t * p + j];
      else for (let t = 0; t < p; t++) s += a.data[i * p + t] * a.data[j * p + t];
      g[i * k + j] = g[j * k + i] = s;
    }
  return symEig(g, k, { vectors: false }).values;
}

test('Jacobi SVD converges on dead, duplicated and underflowing columns and matches the Gram eigenvalues', async () => {
  // Seeds 24, 37 and 45 threw "Jacobi sweeps did not converge" before the fix (a 1e-159 column: α·β = 0).
  for (let seed = 1; seed <= 60; seed++) {
    const a = awkward(seed);
    const { s } = await svd(a, { method: 'jacobi', vectors: false });
    const lam = gramEigenvalues(a);
    const s1 = s[0] ** 2;
    for (let i = 0; i < s.length; i++) {
      assert.ok(
        Math.abs(s[i] ** 2 - Math.max(0, lam[i])) <= 1e-12 * s1,
        `seed ${seed} (${a.rows}×${a.cols}) s[${i}]² = ${s[i] ** 2}, Gram eigenvalue ${lam[i]}`,
      );
    }
  }
});

test('Jacobi SVD by hand: [x, x, 0, 1e-160·y] → singular values √2, 1e-160, 0; orthonormal U, live part', async () => {
  const m = 7,
    x = [1, 2, 0, -1, 3, 0, 1],
    y = [2, -1, 1, 0, 0, 1, 0]; // x ⟂ y
  const nx = Math.hypot(...x),
    ny = Math.hypot(...y);
  const a = new Float64Array(m * 4);
  for (let i = 0; i < m; i++) {
    a[i * 4] = x[i] / nx;
    a[i * 4 + 1] = x[i] / nx;
    a[i * 4 + 2] = 0;
    a[i * 4 + 3] = (1e-160 * y[i]) / ny;
  }
  const d = await svd({ data: a, rows: m, cols: 4 }, { method: 'jacobi' });
  assert.ok(Math.abs(d.s[0] - Math.SQRT2) <= 1e-15, `s0 ${d.s[0]}`);
  assert.ok(Math.abs(d.s[1] / 1e-160 - 1) <= 1e-14, `s1 ${d.s[1]}`);
  assert.ok(d.s[2] <= 1e-300 && d.s[3] <= 1e-300, `s2 ${d.s[2]}, s3 ${d.s[3]}`);
  // U·diag(s)·Vᵀ reproduces A
  for (let i = 0; i < m; i++)
    for (let j = 0; j < 4; j++) {
      let v = 0;
      for (let t = 0; t < 4; t++) v += d.u!.data[i * 4 + t] * d.s[t] * d.v!.data[j * 4 + t];
      assert.ok(Math.abs(v - a[i * 4 + j]) <= 1e-15, `A[${i}][${j}]`);
    }
});

/**
 * Reference canonical correlations with the ridge, another way: Cholesky whitening of the (positive definite,
 * thanks to ε) rescaled covariances and the eigenvalues of KᵀK (the cca.ts convention: Σ/max|Σ| + εI).
 */
function ridgeCcaReference(x: Mat<Float64Array>, y: Mat<Float64Array>, eps: number): number[] {
  const n = x.rows;
  const centred = (m: Mat<Float64Array>) => {
    const out = Float64Array.from(m.data);
    for (let j = 0; j < m.cols; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += out[i * m.cols + j];
      s /= n;
      for (let i = 0; i < n; i++) out[i * m.cols + j] -= s;
    }
    return out;
  };
  const xc = centred(x),
    yc = centred(y),
    p = x.cols,
    q = y.cols;
  const cross = (a: Float64Array, pa: number, b: Float64Array, pb: number) => {
    const c = new Float64Array(pa * pb);
    for (let i = 0; i < pa; i++)
      for (let j = 0; j < pb; j++) {
        let s = 0;
        for (let t = 0; t < n; t++) s += a[t * pa + i] * b[t * pb + j];
        c[i * pb + j] = s;
      }
    return c;
  };
  const sxx = cross(xc, p, xc, p),
    syy = cross(yc, q, yc, q),
    sxy = cross(xc, p, yc, q);
  const mx = Math.max(...sxx.map(Math.abs)),
    my = Math.max(...syy.map(Math.abs));
  for (let i = 0; i < sxx.length; i++) sxx[i] /= mx;
  for (let i = 0; i < syy.length; i++) syy[i] /= my;
  for (let i = 0; i < sxy.length; i++) sxy[i] /= Math.sqrt(mx * my);
  for (let i = 0; i < p; i++) sxx[i * p + i] += eps;
  for (let i = 0; i < q; i++) syy[i * q + i] += eps;
  const chol = (a: Float64Array, d: number) => {
    // lower L with L Lᵀ = a
    const l = new Float64Array(d * d);
    for (let j = 0; j < d; j++) {
      let s = a[j * d + j];
      for (let t = 0; t < j; t++) s -= l[j * d + t] ** 2;
      l[j * d + j] = Math.sqrt(s);
      for (let i = j + 1; i < d; i++) {
        let v = a[i * d + j];
        for (let t = 0; t < j; t++) v -= l[i * d + t] * l[j * d + t];
        l[i * d + j] = v / l[j * d + j];
      }
    }
    return l;
  };
  // K = Lx⁻¹ Σxy Ly⁻ᵀ by forward substitution on both sides.
  const lx = chol(sxx, p),
    ly = chol(syy, q);
  const t1 = new Float64Array(p * q); // Lx⁻¹ Σxy
  for (let j = 0; j < q; j++)
    for (let i = 0; i < p; i++) {
      let v = sxy[i * q + j];
      for (let t = 0; t < i; t++) v -= lx[i * p + t] * t1[t * q + j];
      t1[i * q + j] = v / lx[i * p + i];
    }
  const k = new Float64Array(p * q); // t1 Ly⁻ᵀ: rows solve Ly z = t1 row
  for (let i = 0; i < p; i++)
    for (let j = 0; j < q; j++) {
      let v = t1[i * q + j];
      for (let t = 0; t < j; t++) v -= ly[j * q + t] * k[i * q + t];
      k[i * q + j] = v / ly[j * q + j];
    }
  const r = Math.min(p, q),
    small = p <= q;
  const kk = new Float64Array(r * r);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < r; j++) {
      let s = 0;
      if (small) for (let t = 0; t < q; t++) s += k[i * q + t] * k[j * q + t];
      else for (let t = 0; t < p; t++) s += k[t * q + i] * k[t * q + j];
      kk[i * r + j] = s;
    }
  return Array.from(symEig(kk, r, { vectors: false }).values, (v) => Math.min(1, Math.sqrt(Math.max(0, v))));
}

test('CCA, epsilon 1e-8, dead and duplicated units: converges, matches a Cholesky-whitened reference', async () => {
  const r = rng(7);
  const randn = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const layer = (n: number, p: number, shared: Float64Array) => {
    const d = new Float64Array(n * p);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < p; j++) d[i * p + j] = Math.max(0, shared[i * 4 + (j % 4)] * ((j % 3) - 1) + randn() + 0.2);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p / 4; j++) d[i * p + j] = 0; // a quarter dead
      for (let j = p / 4; j < p / 2; j++) d[i * p + j] = d[i * p + j + p / 4]; // a quarter duplicated
    }
    return { data: d, rows: n, cols: p };
  };
  const n = 150,
    shared = Float64Array.from({ length: n * 4 }, randn);
  const x = layer(n, 24, shared),
    y = layer(n, 32, shared);
  const got = await cca(x, y, { epsilon: 1e-8 });
  const want = ridgeCcaReference(x, y, 1e-8);
  assert.equal(got.coefficients.length, want.length);
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(got.coefficients[i] - want[i]) <= 1e-6, `ρ[${i}] ${got.coefficients[i]} vs ${want[i]}`);
  assert.ok(got.coefficients[0] > 0.5, 'the shared signal shows');
});
