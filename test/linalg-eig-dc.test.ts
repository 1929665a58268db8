// symEigAsync: blocked tridiagonalisation + divide and conquer + compact-WY back-transformation. The knobs
// (minN, leaf, block, backBlock, gemmMin) are turned down so that small matrices go through the recursion, the
// deflation, the secular solver and every Gemm path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symEig, symEigAsync, type SymEigAsyncOptions } from '../src/engine/linalg/eig';
import { dcStats, tridiagEig } from '../src/engine/linalg/dc';
import { rng } from '../src/engine/onnx/builder';
import { ReplensError } from '../src/engine/errors';

const SMALL: SymEigAsyncOptions = { minN: 1, leaf: 4, block: 3, backBlock: 5, gemmMin: 16 };
const MEDIUM: SymEigAsyncOptions = { minN: 1, leaf: 12, block: 8, backBlock: 16, gemmMin: 40 };

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
function randomOrthogonal(seed: number, n: number): Float64Array {
  const r = rng(seed);
  const q = Float64Array.from({ length: n * n }, () => r() - 0.5);
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
/** Q·diag(l)·Qᵀ, symmetrised exactly. */
function withSpectrum(q: Float64Array, l: number[]): Float64Array {
  const n = l.length,
    a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * l[k] * q[j * n + k];
      a[i * n + j] = s;
      a[j * n + i] = s;
    }
  return a;
}
function tridiagonal(d: number[], e: number[]): Float64Array {
  const n = d.length,
    a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    a[i * n + i] = d[i];
    if (i) {
      a[i * n + i - 1] = e[i - 1];
      a[(i - 1) * n + i] = e[i - 1];
    }
  }
  return a;
}

interface Errors {
  res: number;
  orth: number;
  dval: number;
}
/** ‖A − VΛVᵀ‖_F/‖A‖_F, ‖VᵀV − I‖_max, max|λ − λ_symEig|/‖A‖_2 (‖A‖_2 from symEig). */
function errors(a: Float64Array, n: number, e: { values: Float64Array; vectors: Float64Array }): Errors {
  let an = 0;
  for (const v of a) an += v * v;
  an = Math.sqrt(an);
  const vt = new Float64Array(n * n); // rows = eigenvectors
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) vt[k * n + i] = e.vectors[i * n + k];
  let res = 0,
    orth = 0;
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) row[k] = e.vectors[i * n + k] * e.values[k];
    for (let j = 0; j <= i; j++) {
      let s = 0,
        o = 0;
      const vj = j * n,
        vi = i * n;
      for (let k = 0; k < n; k++) s += row[k] * e.vectors[vj + k];
      for (let k = 0; k < n; k++) o += vt[vi + k] * vt[vj + k];
      const r = s - a[i * n + j];
      res += (i === j ? 1 : 2) * r * r;
      orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)));
    }
  }
  const ref = symEig(a, n, { vectors: false }).values;
  const norm2 = Math.max(Math.abs(ref[0] ?? 0), Math.abs(ref[n - 1] ?? 0));
  let dval = 0;
  for (let i = 0; i < n; i++) dval = Math.max(dval, Math.abs(e.values[i] - ref[i]));
  return { res: an > 0 ? Math.sqrt(res) / an : Math.sqrt(res), orth, dval: norm2 > 0 ? dval / norm2 : dval };
}

/** Worst normalised errors seen over all checks (res/√n, orth/√n, dval), printed at the end. */
const worst = { res: 0, orth: 0, dval: 0 };

async function check(
  a: Float64Array,
  n: number,
  opts: SymEigAsyncOptions,
  label: string,
): Promise<{ values: Float64Array; vectors: Float64Array }> {
  const e = await symEigAsync(a, n, opts);
  assert.equal(e.values.length, n);
  assert.equal(e.vectors.length, n * n);
  for (let i = 1; i < n; i++) assert.ok(e.values[i] <= e.values[i - 1], `${label}: descending`);
  const { res, orth, dval } = errors(a, n, e);
  const sn = Math.sqrt(Math.max(n, 1));
  worst.res = Math.max(worst.res, res / sn);
  worst.orth = Math.max(worst.orth, orth / sn);
  worst.dval = Math.max(worst.dval, dval);
  assert.ok(res <= 1e-13 * sn, `${label}: ‖A − VΛVᵀ‖F/‖A‖F = ${res}`);
  assert.ok(orth <= 1e-13 * Math.max(n, 1) ** 0.5 * 2, `${label}: ‖VᵀV − I‖max = ${orth}`);
  assert.ok(dval <= 1e-13, `${label}: max|λ − λ_sync|/‖A‖ = ${dval}`);
  // values only agrees with the full run
  const v = await symEigAsync(a, n, { ...opts, vectors: false });
  assert.equal(v.vectors.length, 0);
  let norm = 0;
  for (const x of e.values) norm = Math.max(norm, Math.abs(x));
  for (let i = 0; i < n; i++)
    assert.ok(
      Math.abs(v.values[i] - e.values[i]) <= 1e-13 * Math.max(norm, Number.MIN_VALUE),
      `${label}: values-only λ${i}`,
    );
  return e;
}

test('symEigAsync: random symmetric matrices n = 1..300 through the fast path (small knobs)', async () => {
  for (let n = 1; n <= 64; n++) await check(randomSym(1000 + n, n), n, SMALL, `random n=${n}`);
  for (const n of [65, 97, 100]) await check(randomSym(1000 + n, n), n, SMALL, `random n=${n}`);
  for (const n of [129, 200]) await check(randomSym(2000 + n, n), n, MEDIUM, `random n=${n}`);
  await check(randomSym(300, 300), 300, {}, 'random n=300 default knobs');
});

test('symEigAsync: diagonal, identity, zero, all-equal eigenvalues', async () => {
  const n = 40,
    r = rng(11);
  const diag = new Float64Array(n * n);
  for (let i = 0; i < n; i++) diag[i * n + i] = r() - 0.5;
  const e = await check(diag, n, SMALL, 'diagonal');
  const sorted = Array.from({ length: n }, (_, i) => diag[i * n + i]).sort((x, y) => y - x);
  for (let i = 0; i < n; i++) assert.equal(e.values[i], sorted[i]);
  const id = new Float64Array(n * n);
  for (let i = 0; i < n; i++) id[i * n + i] = 1;
  const ei = await check(id, n, SMALL, 'identity');
  for (const v of ei.values) assert.equal(v, 1);
  const z = await check(new Float64Array(n * n), n, SMALL, 'zero');
  for (const v of z.values) assert.equal(v, 0);
  const q = randomOrthogonal(12, n);
  const eq = await check(withSpectrum(q, Array(n).fill(3)), n, SMALL, 'rotated 3·I');
  for (const v of eq.values) assert.ok(Math.abs(v - 3) < 1e-14 * 3 * n);
  // repeated eigenvalues with multiplicities
  const rep = Array.from({ length: n }, (_, i) => [5, 2, 2, -1, 0][i % 5]);
  await check(withSpectrum(q, rep), n, SMALL, 'multiplicities');
});

test('symEigAsync: clustered and graded spectra', async () => {
  const n = 60,
    q = randomOrthogonal(21, n);
  const cl = Array.from({ length: n }, (_, i) => 1 + 1e-12 * i);
  const c = await check(withSpectrum(q, cl), n, SMALL, 'cluster 1 + 1e-12·i');
  for (let i = 0; i < n; i++) assert.ok(Math.abs(c.values[i] - cl[n - 1 - i]) < 1e-13);
  const two = Array.from({ length: n }, (_, i) => (i < n / 2 ? 1 : -1) + 1e-14 * i);
  await check(withSpectrum(q, two), n, SMALL, 'two clusters ±1');
  const graded = Array.from({ length: n }, (_, i) => 10 ** ((-14 * i) / (n - 1)));
  const g = await check(withSpectrum(q, graded), n, SMALL, 'graded 1e-14..1');
  for (let i = 0; i < 8; i++) assert.ok(Math.abs(g.values[i] - graded[i]) < 1e-14, `graded λ${i}`);
  // graded diagonal-dominant tridiagonal (entries spanning 1e-14..1): eigenvalues keep their absolute accuracy
  const gd = Array.from({ length: n }, (_, i) => 10 ** ((-14 * i) / (n - 1)));
  await check(
    tridiagonal(
      gd,
      gd.slice(1).map((v) => v * 1e-3),
    ),
    n,
    SMALL,
    'graded tridiagonal',
  );
});

test('symEigAsync: rank-deficient covariance XᵀX with n < p', async () => {
  const p = 70,
    m = 12,
    r = rng(31);
  const x = Float64Array.from({ length: m * p }, () => r() - 0.5);
  const a = new Float64Array(p * p);
  for (let i = 0; i < p; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += x[k * p + i] * x[k * p + j];
      a[i * p + j] = s;
      a[j * p + i] = s;
    }
  const e = await check(a, p, SMALL, 'XᵀX rank 12');
  for (let i = m; i < p; i++)
    assert.ok(Math.abs(e.values[i]) < 1e-13 * e.values[0], `zero eigenvalue ${i}: ${e.values[i]}`);
  await check(a, p, MEDIUM, 'XᵀX rank 12 (medium knobs)');
});

test('symEigAsync: Wilkinson matrices and tridiagonals with zero couplings', async () => {
  for (const half of [10, 20, 50]) {
    const m = 2 * half + 1;
    const w = tridiagonal(
      Array.from({ length: m }, (_, i) => Math.abs(half - i)),
      Array(m - 1).fill(1),
    );
    const e = await check(w, m, SMALL, `W${m}+`);
    if (half === 10) {
      assert.ok(Math.abs(e.values[0] - 10.746194182903393) < 1e-13, `λmax ${e.values[0]}`);
      assert.ok(e.values[0] - e.values[1] > 0 && e.values[0] - e.values[1] < 1e-12);
    }
  }
  const n = 50,
    r = rng(41);
  const d = Array.from({ length: n }, () => r() - 0.5);
  const e = Array.from({ length: n - 1 }, (_, i) => (i % 7 === 3 || i % 11 === 0 ? 0 : r() - 0.5));
  await check(tridiagonal(d, e), n, SMALL, 'tridiagonal with zero couplings');
  await check(tridiagonal(d, Array(n - 1).fill(0)), n, SMALL, 'tridiagonal with all couplings zero');
  await check(tridiagonal(Array(n).fill(2), Array(n - 1).fill(-1)), n, SMALL, '1-D Laplacian');
  // an O(1) block next to a block at 1e-200 (no global rescale applies): the tiny merges are solved at their own scale
  const dt = d.map((v, i) => (i < n / 2 ? v : v * 1e-200)),
    et = e.map((v, i) => (i < n / 2 - 1 ? v : i === n / 2 - 1 ? 1e-201 : v * 1e-200));
  const tiny = await check(tridiagonal(dt, et), n, SMALL, 'O(1) and 1e-200 blocks');
  const r2 = await tridiagEig(Float64Array.from(dt.slice(n / 2)), Float64Array.from(et.slice(n / 2)), n / 2, {
    leaf: 4,
    gemmMin: 8,
  });
  const sub = tridiagonal(
    dt.slice(n / 2).map((v) => v * 1e200),
    et.slice(n / 2).map((v) => v * 1e200),
  );
  const { orth, res } = errors(sub, n / 2, { values: r2.values.map((v) => v * 1e200), vectors: r2.vectors });
  assert.ok(orth < 1e-13 * n && res < 1e-13 * n, `1e-200 block alone: orth ${orth}, residual ${res}`);
  assert.ok(tiny.values.some((v) => v !== 0 && Math.abs(v) < 1e-190));
});

test('symEigAsync: huge and tiny scales', async () => {
  const n = 45,
    a = randomSym(51, n),
    base = (await symEigAsync(a, n, SMALL)).values;
  for (const sc of [1e-300, 1e-150, 1e150, 1e300]) {
    const as = a.map((v) => v * sc);
    const e = await symEigAsync(as, n, SMALL);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(e.values[i] / sc - base[i]) < 1e-13, `scale ${sc}: λ${i}`);
    const { orth } = errors(a, n, { values: base, vectors: e.vectors });
    assert.ok(orth < 1e-13 * n, `scale ${sc}: orthogonality ${orth}`);
  }
  await check(
    a.map((v) => v * 1e150),
    n,
    SMALL,
    'scale 1e150',
  );
  await check(
    a.map((v) => v * 1e-150),
    n,
    SMALL,
    'scale 1e-150',
  );
});

test('symEigAsync: below minN it is symEig; reads only the lower triangle; rejects bad input', async () => {
  const a = randomSym(61, 20);
  const s = symEig(a, 20),
    f = await symEigAsync(a, 20);
  assert.deepEqual(Array.from(f.values), Array.from(s.values));
  assert.deepEqual(Array.from(f.vectors), Array.from(s.vectors));
  const junk = a.slice();
  for (let i = 0; i < 20; i++) for (let j = i + 1; j < 20; j++) junk[i * 20 + j] = 99;
  const fj = await symEigAsync(junk, 20, SMALL),
    fa = await symEigAsync(a, 20, SMALL);
  assert.deepEqual(Array.from(fj.values), Array.from(fa.values));
  await assert.rejects(
    symEigAsync(new Float64Array(3), 2, SMALL),
    (err: unknown) => err instanceof ReplensError && err.code === 'E_ARGUMENT',
  );
  await assert.rejects(symEigAsync(Float64Array.of(1, NaN, NaN, 1), 2, SMALL), /NaN/);
  const big = randomSym(62, 130);
  big[5] = Infinity;
  await assert.rejects(symEigAsync(big, 130), /NaN or Inf/);
  const empty = await symEigAsync(new Float64Array(0), 0, SMALL);
  assert.equal(empty.values.length, 0);
});

test('the fast path exercised recursion, both deflations, Gemm merges and the secular solver', () => {
  assert.ok(dcStats.merges > 100, `merges ${dcStats.merges}`);
  assert.ok(dcStats.deflatedZ > 100, `small-z deflations ${dcStats.deflatedZ}`);
  assert.ok(dcStats.deflatedPair > 10, `close-pair deflations ${dcStats.deflatedPair}`);
  assert.ok(dcStats.gemmMerges > 5, `Gemm merges ${dcStats.gemmMerges}`);
  const perRoot = dcStats.secularIterations / dcStats.secularRoots;
  assert.ok(perRoot < 8, `secular iterations per root ${perRoot}`);
  console.log('# dc stats', JSON.stringify(dcStats));
  console.log('# worst over all checks: res/√n, orth/√n, |Δλ|/‖A‖ =', JSON.stringify(worst));
});

test('tridiagEig (divide and conquer) alone: orthogonality, residual on a tridiagonal with tight cluster', async () => {
  const n = 120;
  const d = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 1 + 1e-13 * i));
  const e = Array.from({ length: n - 1 }, (_, i) => 1e-9 * ((i % 5) + 1));
  const r = await tridiagEig(Float64Array.from(d), Float64Array.from(e), n, { leaf: 6, gemmMin: 10 });
  const a = tridiagonal(d, e);
  const { res, orth } = errors(a, n, r);
  assert.ok(res < 1e-13 * Math.sqrt(n), `residual ${res}`);
  assert.ok(orth < 1e-13 * Math.sqrt(n), `orthogonality ${orth}`);
});
