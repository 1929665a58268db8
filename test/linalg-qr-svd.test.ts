import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qr } from '../src/engine/linalg/qr';
import { svd } from '../src/engine/linalg/svd';
import type { Mat } from '../src/engine/linalg/gemm';
import { rng } from '../src/engine/onnx/builder';
import { ReplensError } from '../src/engine/errors';

function rand(seed: number, rows: number, cols: number): Mat<Float64Array> {
  const r = rng(seed);
  return { data: Float64Array.from({ length: rows * cols }, () => r() - 0.5), rows, cols };
}
function mul(a: Mat<Float64Array>, b: Mat<Float64Array>, transA = false): Float64Array {
  const [m, k] = transA ? [a.cols, a.rows] : [a.rows, a.cols];
  const c = new Float64Array(m * b.cols);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < b.cols; j++) {
      let s = 0;
      for (let t = 0; t < k; t++)
        s += (transA ? a.data[t * a.cols + i] : a.data[i * a.cols + t]) * b.data[t * b.cols + j];
      c[i * b.cols + j] = s;
    }
  return c;
}
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
function orthoErr(q: Mat<Float64Array>, skipZero = false): number {
  const g = mul(q, q, true),
    k = q.cols;
  let m = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      if (skipZero && g[i * k + i] === 0) continue;
      m = Math.max(m, Math.abs(g[i * k + j] - (i === j ? 1 : 0)));
    }
  return m;
}

test('qr: A = QR, QᵀQ = I, R upper triangular (tall, square, rank-deficient, zero column)', () => {
  const cases: Mat<Float64Array>[] = [rand(1, 50, 7), rand(2, 9, 9), rand(3, 3, 1)];
  const d = rand(4, 40, 6);
  for (let i = 0; i < 40; i++) {
    d.data[i * 6 + 4] = d.data[i * 6 + 1] * 2;
    d.data[i * 6 + 5] = 0;
  }
  cases.push(d);
  for (const a of cases) {
    const { q, r } = qr(a);
    assert.deepEqual([q.rows, q.cols, r.rows, r.cols], [a.rows, a.cols, a.cols, a.cols]);
    assert.ok(maxAbsDiff(mul(q, r), a.data) < 1e-14, 'A = QR');
    assert.ok(orthoErr(q) < 1e-14, `QᵀQ = I: ${orthoErr(q)}`);
    for (let i = 0; i < r.rows; i++) for (let j = 0; j < i; j++) assert.equal(r.data[i * r.cols + j], 0);
  }
  // hand case: columns (3,4) and (0,5) → |R00| = 5
  const h = qr({ data: Float64Array.of(3, 0, 4, 5), rows: 2, cols: 2 });
  assert.ok(Math.abs(Math.abs(h.r.data[0]) - 5) < 1e-15);
  assert.throws(
    () => qr(rand(5, 3, 4)),
    (e: unknown) => e instanceof ReplensError && e.code === 'E_ARGUMENT',
  );
});

for (const method of ['jacobi', 'gram'] as const) {
  test(`svd (${method}): A = U S Vᵀ, orthonormal factors, descending values; tall and wide`, async () => {
    for (const a of [rand(11, 60, 8), rand(12, 8, 60), rand(13, 10, 10)]) {
      const { u, s, v } = await svd(a, { method });
      const k = Math.min(a.rows, a.cols);
      assert.deepEqual([u!.rows, u!.cols, s.length, v!.rows, v!.cols], [a.rows, k, k, a.cols, k]);
      const us = { ...u!, data: u!.data.map((x, i) => x * s[i % k]) };
      const vt = new Float64Array(k * a.cols);
      for (let i = 0; i < a.cols; i++) for (let j = 0; j < k; j++) vt[j * a.cols + i] = v!.data[i * k + j];
      const tol = method === 'jacobi' ? 1e-14 : 1e-12;
      assert.ok(maxAbsDiff(mul(us, { data: vt, rows: k, cols: a.cols }), a.data) < tol, 'A = USVᵀ');
      assert.ok(orthoErr(u!) < tol && orthoErr(v!) < tol, `orthogonality ${orthoErr(u!)} ${orthoErr(v!)}`);
      for (let i = 1; i < k; i++) assert.ok(s[i] <= s[i - 1]);
    }
  });
}

test('svd: both methods agree on singular values; rank deficiency gives zeros; hand case', async () => {
  const a = rand(21, 80, 12);
  const j = await svd(a, { method: 'jacobi', vectors: false }),
    g = await svd(a, { method: 'gram', vectors: false });
  assert.ok(maxAbsDiff(j.s, g.s) < 1e-13);
  // rank 3: 40×10 = (40×3)(3×10)
  const b = rand(22, 40, 3),
    c = rand(23, 3, 10);
  const low = { data: mul(b, c), rows: 40, cols: 10 };
  const lj = await svd(low, { method: 'jacobi' });
  for (let i = 3; i < 10; i++) assert.ok(lj.s[i] < 1e-14 * lj.s[0], `s${i} = ${lj.s[i]}`);
  assert.ok(orthoErr(lj.v!) < 1e-14);
  assert.ok(orthoErr(lj.u!, true) < 1e-13); // U columns of zero singular values are zero vectors
  const lg = await svd(low, { method: 'gram' });
  for (let i = 3; i < 10; i++) assert.ok(lg.s[i] < 1e-7 * lg.s[0]); // √ε: the Gram route's floor
  // diag(3, −4) → 4, 3
  const h = await svd({ data: Float64Array.of(3, 0, 0, -4), rows: 2, cols: 2 });
  assert.deepEqual(Array.from(h.s), [4, 3]);
  // graded columns: Jacobi keeps small singular values to high relative accuracy
  const gr = rand(24, 30, 5);
  for (let i = 0; i < 30; i++) for (let k = 0; k < 5; k++) gr.data[i * 5 + k] *= 10 ** (-3 * k);
  const sj = (await svd(gr, { method: 'jacobi', vectors: false })).s;
  const scaledBack = (
    await svd({ ...gr, data: gr.data.map((x, i) => x * 10 ** (3 * (i % 5))) }, { method: 'jacobi', vectors: false })
  ).s;
  assert.ok(sj[4] > 0 && sj[4] < 1e-11 && scaledBack[4] > 0.1);
  await assert.rejects(
    svd({ data: Float64Array.of(1, NaN), rows: 1, cols: 2 }),
    (e: unknown) => e instanceof ReplensError && e.code === 'E_ARGUMENT',
  );
});

test('orthonormalBasis (CholeskyQR2) = Householder Q up to column signs; falls back when ill-conditioned', async () => {
  const { orthonormalBasis } = await import('../src/engine/linalg/qr');
  const a = rand(31, 400, 20);
  for (let i = 0; i < 400; i++) for (let j = 0; j < 20; j++) a.data[i * 20 + j] += 2; // non-zero means, as in PWCCA
  const q = await orthonormalBasis(a),
    h = qr(a).q;
  assert.ok(orthoErr(q) < 1e-14);
  let d = 0;
  for (let j = 0; j < 20; j++) {
    const sg = Math.sign(q.data[j] * h.data[j]);
    for (let i = 0; i < 400; i++) d = Math.max(d, Math.abs(q.data[i * 20 + j] - sg * h.data[i * 20 + j]));
  }
  assert.ok(d < 1e-12, `differs from Householder by ${d}`);
  // κ ≈ 1e12: CholeskyQR2 cannot make this orthogonal; the fallback must
  const ill = rand(32, 300, 6);
  for (let i = 0; i < 300; i++) ill.data[i * 6 + 5] = ill.data[i * 6 + 4] + 1e-12 * ill.data[i * 6 + 3];
  const qi = await orthonormalBasis(ill);
  assert.ok(orthoErr(qi) < 1e-14, `ill-conditioned: ${orthoErr(qi)}`);
  // exactly rank-deficient: Cholesky fails, Householder still returns orthonormal columns
  const rd = rand(33, 50, 4);
  for (let i = 0; i < 50; i++) rd.data[i * 4 + 3] = rd.data[i * 4 + 1];
  assert.ok(orthoErr(await orthonormalBasis(rd)) < 1e-13);
});
