import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symEig, symEigAsync } from '../src/engine/linalg/eig';
import { rng } from '../src/engine/onnx/builder';
import { ReplensError } from '../src/engine/errors';

function randomSym(seed: number, n: number): Float64Array {
  const r = rng(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const v = r() - 0.5;
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  return a;
}
/** Random orthogonal matrix (QR of a random matrix by Gram–Schmidt twice, good enough for test inputs). */
function randomOrthogonal(seed: number, n: number): Float64Array {
  const r = rng(seed);
  const q = Float64Array.from({ length: n * n }, () => r() - 0.5); // columns
  for (let pass = 0; pass < 2; pass++)
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < j; k++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += q[i * n + j] * q[i * n + k];
        for (let i = 0; i < n; i++) q[i * n + j] -= d * q[i * n + k];
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += q[i * n + j] ** 2;
      s = Math.sqrt(s);
      for (let i = 0; i < n; i++) q[i * n + j] /= s;
    }
  return q;
}
/** Q·diag(l)·Qᵀ */
function withSpectrum(q: Float64Array, l: number[]): Float64Array {
  const n = l.length,
    a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * l[k] * q[j * n + k];
      a[i * n + j] = s;
    }
  return a;
}
function check(a: Float64Array, n: number, tol = 1e-12) {
  const e = symEig(a, n);
  let norm = 0;
  for (const v of a) norm = Math.max(norm, Math.abs(v));
  let res = 0,
    orth = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0,
        o = 0;
      for (let k = 0; k < n; k++) {
        s += e.vectors[i * n + k] * e.values[k] * e.vectors[j * n + k];
        o += e.vectors[k * n + i] * e.vectors[k * n + j];
      }
      res = Math.max(res, Math.abs(s - a[i * n + j]));
      orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)));
    }
  assert.ok(res <= tol * Math.max(norm, 1), `‖A − VΛVᵀ‖max = ${res}`);
  assert.ok(orth <= tol, `‖VᵀV − I‖max = ${orth}`);
  for (let i = 1; i < n; i++) assert.ok(e.values[i] <= e.values[i - 1], 'descending');
  return e;
}

test('symEig: hand cases', () => {
  const e = symEig(Float64Array.of(2, 1, 1, 2), 2);
  assert.ok(Math.abs(e.values[0] - 3) < 1e-15 && Math.abs(e.values[1] - 1) < 1e-15);
  assert.ok(Math.abs(Math.abs(e.vectors[0]) - Math.SQRT1_2) < 1e-15 && Math.abs(e.vectors[0] - e.vectors[2]) < 1e-15);
  const d = symEig(Float64Array.of(1, 0, 0, 0, 5, 0, 0, 0, -2), 3);
  assert.deepEqual(Array.from(d.values), [5, 1, -2]);
  assert.equal(Math.abs(d.vectors[1 * 3 + 0]), 1);
  const one = symEig(Float64Array.of(-4), 1);
  assert.deepEqual([one.values[0], one.vectors[0]], [-4, 1]);
  assert.equal(symEig(new Float64Array(0), 0).values.length, 0);
  // zero matrix
  const z = check(new Float64Array(16), 4);
  assert.deepEqual(Array.from(z.values), [0, 0, 0, 0]);
  // 3×3 with known eigenvalues: tridiagonal [2 −1 0; −1 2 −1; 0 −1 2] → 2 + √2, 2, 2 − √2
  const t = check(Float64Array.of(2, -1, 0, -1, 2, -1, 0, -1, 2), 3);
  assert.ok(
    Math.abs(t.values[0] - (2 + Math.SQRT2)) < 1e-14 &&
      Math.abs(t.values[1] - 2) < 1e-14 &&
      Math.abs(t.values[2] - (2 - Math.SQRT2)) < 1e-14,
  );
});

test('symEig: random symmetric matrices satisfy A = VΛVᵀ and VᵀV = I to 1e-12', () => {
  for (const n of [2, 3, 7, 30, 120]) check(randomSym(n, n), n);
});

test('symEig: repeated eigenvalues and rank-deficient (PSD) matrices', () => {
  const n = 12,
    q = randomOrthogonal(5, n);
  const rep = [5, 5, 5, 2, 2, 1, 1, 1, 1, 0.5, 0.5, -3];
  const e = check(withSpectrum(q, rep), n);
  const want = [...rep].sort((a, b) => b - a);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(e.values[i] - want[i]) < 1e-13, `λ${i} = ${e.values[i]}`);
  // rank 3 Gram matrix: nine zero eigenvalues
  const low = [9, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const l = check(withSpectrum(q, low), n);
  for (let i = 3; i < n; i++) assert.ok(Math.abs(l.values[i]) < 1e-14);
  // identity: all vectors valid
  const id = new Float64Array(n * n);
  for (let i = 0; i < n; i++) id[i * n + i] = 1;
  check(id, n);
  // widely spread magnitudes (a graded covariance)
  const graded = Array.from({ length: n }, (_, i) => 10 ** -i);
  const g = check(withSpectrum(q, graded), n);
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(g.values[i] - graded[i]) < 1e-14);
});

test('symEig reads only the lower triangle and rejects bad input', () => {
  const a = Float64Array.of(2, 99, 1, 2); // upper (0,1) is junk
  const e = symEig(a, 2);
  assert.ok(Math.abs(e.values[0] - 3) < 1e-15);
  assert.throws(
    () => symEig(new Float64Array(3), 2),
    (err: unknown) => err instanceof ReplensError && err.code === 'E_ARGUMENT',
  );
  assert.throws(() => symEig(Float64Array.of(1, NaN, NaN, 1), 2), /NaN/);
});

test('symEig at p = 256 stays accurate (timing of 512 and 1,024 is in the report, not a test)', () => {
  const n = 256,
    a = randomSym(7, n);
  const e = symEig(a, n);
  // spot-check residual on a few columns: ‖A v − λ v‖
  for (const j of [0, 100, 255]) {
    let r = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * e.vectors[k * n + j];
      r = Math.max(r, Math.abs(s - e.values[j] * e.vectors[i * n + j]));
    }
    assert.ok(r < 1e-12, `residual ${r}`);
  }
});

test('symEig values-only path gives the same eigenvalues as the full decomposition', () => {
  for (const n of [1, 2, 9, 64]) {
    const a = randomSym(100 + n, n);
    const full = symEig(a, n),
      vals = symEig(a, n, { vectors: false });
    assert.equal(vals.vectors.length, 0);
    for (let i = 0; i < n; i++)
      assert.ok(Math.abs(full.values[i] - vals.values[i]) < 1e-13, `λ${i}: ${full.values[i]} vs ${vals.values[i]}`);
  }
  const q = randomOrthogonal(3, 10),
    spec = [4, 4, 4, 1, 1, 0, 0, 0, -1, -1];
  const v = symEig(withSpectrum(q, spec), 10, { vectors: false }).values;
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(v[i] - spec[i]) < 1e-13);
});

test("symEig: extreme scales and Wilkinson's W21+ (pairs agreeing to 14 digits)", () => {
  const n = 20,
    a = randomSym(3, n),
    base = symEig(a, n).values;
  for (const sc of [1e-300, 1e-150, 1e150, 1e300]) {
    const e = symEig(
      a.map((v) => v * sc),
      n,
    ).values;
    for (let i = 0; i < n; i++) assert.ok(Math.abs(e[i] / sc - base[i]) < 1e-13, `scale ${sc}: λ${i}`);
  }
  const m = 21,
    w = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    w[i * m + i] = Math.abs(10 - i);
    if (i) {
      w[i * m + i - 1] = 1;
      w[(i - 1) * m + i] = 1;
    }
  }
  const e = check(w, m);
  assert.ok(Math.abs(e.values[0] - 10.746194182903393) < 1e-13, `λmax ${e.values[0]}`);
  assert.ok(e.values[0] - e.values[1] > 0 && e.values[0] - e.values[1] < 1e-12);
});

test('symEigAsync (fast path from n = 128) agrees with symEig: same values, same invariant subspaces', async () => {
  for (const n of [127, 128, 160]) {
    const a = randomSym(500 + n, n);
    const s = symEig(a, n),
      f = await symEigAsync(a, n);
    let norm = 0;
    for (const v of s.values) norm = Math.max(norm, Math.abs(v));
    for (let i = 0; i < n; i++) assert.ok(Math.abs(f.values[i] - s.values[i]) < 1e-13 * norm, `n=${n} λ${i}`);
    // simple spectrum: each eigenvector agrees up to sign
    for (const j of [0, n >> 1, n - 1]) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += f.vectors[i * n + j] * s.vectors[i * n + j];
      assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-10, `n=${n} vector ${j}: |⟨v_fast, v_sync⟩| = ${Math.abs(dot)}`);
    }
    if (n === 127) assert.deepEqual(Array.from(f.vectors), Array.from(s.vectors)); // below minN it is symEig itself
  }
});
