import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemm, gram, crossProduct, mat } from '../src/engine/linalg/gemm';
import { rng } from '../src/engine/onnx/builder';

function naive(a: Float64Array, m: number, k: number, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t] * b[t * n + j];
      c[i * n + j] = s;
    }
  return c;
}
function transpose(a: Float64Array, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
  return t;
}

test('onnxruntime Gemm in float64 equals a naive triple loop to 1e-12, with every transpose combination', async () => {
  const r = rng(9);
  const m = 37,
    k = 53,
    n = 29;
  const A = Float64Array.from({ length: m * k }, () => r() - 0.5);
  const B = Float64Array.from({ length: k * n }, () => r() - 0.5);
  const want = naive(A, m, k, B, n);
  const cases = [
    await gemm(mat(A, m, k), mat(B, k, n)),
    await gemm(mat(transpose(A, m, k), k, m), mat(B, k, n), { transA: true }),
    await gemm(mat(A, m, k), mat(transpose(B, k, n), n, k), { transB: true }),
    await gemm(mat(transpose(A, m, k), k, m), mat(transpose(B, k, n), n, k), { transA: true, transB: true }),
  ];
  for (const c of cases) {
    assert.equal(c.rows, m);
    assert.equal(c.cols, n);
    assert.ok(c.data instanceof Float64Array);
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(c.data[i] - want[i]));
    assert.ok(err < 1e-12, `max error ${err}`);
  }
  const g = await gram(mat(A, m, k));
  assert.equal(g.rows, m);
  assert.ok(Math.abs(g.data[3 * m + 5] - g.data[5 * m + 3]) < 1e-15);
  const xy = await crossProduct(
    mat(A, m, k),
    mat(
      Float64Array.from({ length: m * 4 }, () => r()),
      m,
      4,
    ),
  );
  assert.deepEqual([xy.rows, xy.cols], [k, 4]);
  await assert.rejects(gemm(mat(A, m, k), mat(B.subarray(0, 10 * n), 10, n)), /inner dimensions differ/);
});
