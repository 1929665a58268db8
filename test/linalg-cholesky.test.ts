import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cholesky, invertLower } from '../src/engine/linalg/cholesky';
import { rng } from '../src/engine/onnx/builder';

function spd(seed: number, n: number): Float64Array {
  const r = rng(seed),
    b = Float64Array.from({ length: n * n }, () => r() - 0.5),
    a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = i === j ? 0.1 : 0;
      for (let k = 0; k < n; k++) s += b[i * n + k] * b[j * n + k];
      a[i * n + j] = s;
    }
  return a;
}

test('cholesky: A = LLᵀ, L lower triangular; L⁻¹L = I; hand case', () => {
  for (const n of [1, 2, 5, 40]) {
    const a = spd(n, n),
      l = cholesky(a, n)!;
    assert.ok(l);
    let err = 0,
      ierr = 0;
    const li = invertLower(l, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        if (j > i) {
          assert.equal(l[i * n + j], 0);
          assert.equal(li[i * n + j], 0);
        }
        let s = 0,
          t = 0;
        for (let k = 0; k < n; k++) {
          s += l[i * n + k] * l[j * n + k];
          t += li[i * n + k] * l[k * n + j];
        }
        err = Math.max(err, Math.abs(s - a[i * n + j]));
        ierr = Math.max(ierr, Math.abs(t - (i === j ? 1 : 0)));
      }
    assert.ok(err < 1e-13, `‖A − LLᵀ‖ = ${err}`);
    assert.ok(ierr < 1e-11, `‖L⁻¹L − I‖ = ${ierr}`);
  }
  const h = cholesky(Float64Array.of(4, 2, 2, 5), 2)!;
  assert.deepEqual(Array.from(h), [2, 0, 1, 2]);
});

test('cholesky returns null for singular or indefinite matrices', () => {
  assert.equal(cholesky(Float64Array.of(1, 1, 1, 1), 2), null);
  assert.equal(cholesky(Float64Array.of(1, 2, 2, 1), 2), null);
  assert.equal(cholesky(Float64Array.of(0), 1), null);
});
