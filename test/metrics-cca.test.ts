import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cca, svcca, pwcca, explainedVariance } from '../src/engine/metrics/cca';
import { gemm, type Mat } from '../src/engine/linalg/gemm';
import { readNpy } from '../src/engine/npy';
import { rng } from '../src/engine/onnx/builder';
import { ReplensError } from '../src/engine/errors';

const DIR = path.join(__dirname, 'fixtures', 'metrics', 'cca');
const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8')).cases;
const TOL = 1e-7;

function load(name: string): Mat<Float64Array> {
  const a = readNpy(path.join(DIR, `${name}.npy`));
  return { data: Float64Array.from(a.data as Float32Array), rows: a.shape[0], cols: a.shape[1] };
}
function pair(name: string): [Mat<Float64Array>, Mat<Float64Array>] {
  return [load(`${name}_x`), load(`${name}_y`)];
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, `lengths ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
function close(got: number, want: number, what: string, tol = TOL): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} (diff ${Math.abs(got - want)})`);
}
function randn(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}
function gaussian(seed: number, rows: number, cols: number): Mat<Float64Array> {
  const r = rng(seed);
  return { data: Float64Array.from({ length: rows * cols }, () => randn(r)), rows, cols };
}
/** Well-conditioned random map: identity plus a small random perturbation, times a scale. */
function wellConditioned(seed: number, p: number, scale: number): Mat<Float64Array> {
  const r = rng(seed);
  const m = new Float64Array(p * p);
  for (let i = 0; i < p; i++)
    for (let j = 0; j < p; j++) m[i * p + j] = (i === j ? 1 : 0) * scale + (0.3 * scale * (r() - 0.5)) / Math.sqrt(p);
  return { data: m, rows: p, cols: p };
}
function addOffset(m: Mat<Float64Array>, seed: number): Mat<Float64Array> {
  const r = rng(seed);
  const off = Float64Array.from({ length: m.cols }, () => 10 * (r() - 0.5));
  return { ...m, data: m.data.map((v, i) => v + off[i % m.cols]) };
}

// ------------------------------------------------------------------------------------------ numpy fixtures

// expected.json, per case: `n` (rows), then numpy's results keyed by what they check: cca*, svcca*, pwcca* (the shapes
// below) and explained* (the explained variances, number[]).
type CcaRef = { value: number; coefficients: number[]; dropped: { x: number; y: number } };
type SvccaRef = { value: number; coefficients: number[]; kx: number; ky: number };
type PwccaRef = { value: number; swapped: boolean; weights: number[] };

const agreement: Record<string, number> = {};
function record(key: string, d: number) {
  agreement[key] = Math.max(agreement[key] ?? 0, d);
}

for (const name of ['basic', 'wide', 'svcca', 'relu', 'rankdef']) {
  test(`CCA agrees with the numpy reference to 1e-7: ${name}`, async () => {
    const [x, y] = pair(name);
    const e = expected[name];
    for (const [key, ref] of Object.entries(e)) {
      if (key === 'n') continue;
      if (key.startsWith('cca')) {
        const want = ref as CcaRef;
        const [a, b] = key.endsWith('_yx') ? [y, x] : [x, y];
        const got = await cca(a, b, { epsilon: key.startsWith('cca_eps') ? (name === 'wide' ? 1e-2 : 1e-3) : 0 });
        close(got.value, want.value, `${name}.${key}.value`);
        const d = maxDiff(got.coefficients, want.coefficients);
        record(`cca ${name}.${key}`, Math.max(d, Math.abs(got.value - want.value)));
        assert.ok(d <= TOL, `${name}.${key} coefficients differ by ${d}`);
        assert.deepEqual(got.dropped, want.dropped);
      } else if (key.startsWith('svcca')) {
        const want = ref as SvccaRef;
        const keep = key === 'svcca_99' ? 0.99 : 0.9;
        const got = await svcca(x, y, { keepVariance: keep });
        assert.equal(got.kx, want.kx);
        assert.equal(got.ky, want.ky);
        close(got.value, want.value, `${name}.${key}.value`);
        const d = maxDiff(got.coefficients, want.coefficients);
        record('svcca', Math.max(d, Math.abs(got.value - want.value)));
        assert.ok(d <= TOL, `${name}.${key} coefficients differ by ${d}`);
      } else if (key.startsWith('pwcca')) {
        const want = ref as PwccaRef;
        const [a, b] = key.endsWith('_yx') ? [y, x] : [x, y];
        const got = await pwcca(a, b);
        assert.equal(got.swapped, want.swapped);
        close(got.value, want.value, `${name}.${key}.value`);
        const dw = maxDiff(got.weights, want.weights);
        record('pwcca', Math.max(dw, Math.abs(got.value - want.value)));
        assert.ok(dw <= TOL, `${name}.${key} weights differ by ${dw}`);
      } else if (key.startsWith('explained')) {
        const got = await explainedVariance(x, { centre: key === 'explained_centred' });
        const d = maxDiff(got, ref as number[]);
        record('explained', d);
        assert.ok(d <= 1e-9, `${name}.${key} differs by ${d}`);
      } else assert.fail(`unknown fixture key ${key}`);
    }
  });
}

test('agreement summary (max |TS − numpy| per quantity)', () => {
  console.log('max |TS − numpy|:', JSON.stringify(agreement));
});

// ------------------------------------------------------------------------------------------ invariances

test('CCA coefficients are unchanged by invertible linear maps of X and of Y (and by offsets)', async () => {
  const n = 300,
    p1 = 12,
    p2 = 9;
  const z = gaussian(1, n, 5);
  const x0 = await gemm(z, gaussian(2, 5, p1)),
    y0 = await gemm(z, gaussian(3, 5, p2));
  const nx = gaussian(4, n, p1),
    ny = gaussian(5, n, p2);
  const x = { ...x0, data: x0.data.map((v, i) => v + 0.7 * nx.data[i]) };
  const y = { ...y0, data: y0.data.map((v, i) => v + 0.7 * ny.data[i]) };
  const base = await cca(x, y);
  const xa = addOffset(await gemm(x, wellConditioned(6, p1, 3.7)), 7);
  const yb = addOffset(await gemm(y, wellConditioned(8, p2, 0.02)), 9);
  const mapped = await cca(xa, yb);
  assert.equal(mapped.coefficients.length, Math.min(p1, p2));
  const d = maxDiff(base.coefficients, mapped.coefficients);
  assert.ok(d < 1e-10, `coefficients moved by ${d}`);
  // isotropic scaling keeps the ridged result too (epsilon is relative to max|Σ|)
  const r1 = await cca(x, y, { epsilon: 1e-3 });
  const r2 = await cca(
    { ...x, data: x.data.map((v) => 1e4 * v) },
    { ...y, data: y.data.map((v) => 1e-3 * v) },
    { epsilon: 1e-3 },
  );
  assert.ok(maxDiff(r1.coefficients, r2.coefficients) < 1e-10);
  // SVCCA and PWCCA are invariant to orthogonal maps; PWCCA's '+ m' makes it offset-dependent, so no offset here
  const pw = await pwcca(x, y);
  assert.ok(pw.value > 0 && pw.value <= 1);
});

test('CCA(X, X) is all ones; CCA of independent noise is small', async () => {
  const x = addOffset(gaussian(11, 400, 15), 12);
  const self = await cca(x, x);
  assert.equal(self.coefficients.length, 15);
  for (const c of self.coefficients) assert.ok(Math.abs(c - 1) < 1e-12, `ρ = ${c}`);
  assert.ok(Math.abs(self.value - 1) < 1e-12);
  const pw = await pwcca(x, x);
  assert.ok(Math.abs(pw.value - 1) < 1e-12);
  // Independent Gaussian noise: with n = 2000, p = 10, the largest sample canonical correlation is
  // about √p/√n·(1 + √(p2/p1)) ≈ 0.14; the mean is well under 0.1.
  const a = gaussian(13, 2000, 10),
    b = gaussian(14, 2000, 10);
  const noise = await cca(a, b);
  assert.ok(noise.coefficients[0] < 0.2, `max ρ ${noise.coefficients[0]}`);
  assert.ok(noise.value < 0.1, `mean ρ ${noise.value}`);
  const sv = await svcca(a, b);
  assert.ok(sv.value < 0.1);
});

test('CCA is robust to rank deficiency and n ≤ p: drops the null directions and says how many', async () => {
  const r = rng(21);
  const n = 100,
    p = 6;
  const x = gaussian(22, n, p);
  // X' = [X, X·c, 2·X_0 − X_3]: rank 6 with 8 columns
  const xd = new Float64Array(n * 8);
  const c = Array.from({ length: p }, () => r() - 0.5);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) {
      xd[i * 8 + j] = x.data[i * p + j];
      s += c[j] * x.data[i * p + j];
    }
    xd[i * 8 + 6] = s;
    xd[i * 8 + 7] = 2 * x.data[i * p] - x.data[i * p + 3];
  }
  const y = gaussian(23, n, 5);
  const full = await cca(x, y),
    def = await cca({ data: xd, rows: n, cols: 8 }, y);
  assert.deepEqual(def.dropped, { x: 2, y: 0 });
  assert.ok(maxDiff(full.coefficients, def.coefficients) < 1e-10);
  for (const v of def.coefficients) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1);
  // n ≤ p: covariance rank n − 1; the remaining correlations are trivially 1
  const small = await cca(gaussian(24, 6, 10), gaussian(25, 6, 8));
  assert.deepEqual(small.dropped, { x: 5, y: 3 });
  assert.equal(small.coefficients.length, 5);
  for (const v of small.coefficients) assert.ok(Math.abs(v - 1) < 1e-8);
  // a constant column is just a dropped direction
  const withConst = { data: new Float64Array(n * 7), rows: n, cols: 7 };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) withConst.data[i * 7 + j] = x.data[i * p + j];
    withConst.data[i * 7 + 6] = 3;
  }
  const cc = await cca(withConst, y);
  assert.equal(cc.dropped.x, 1);
  assert.ok(maxDiff(full.coefficients, cc.coefficients) < 1e-10);
});

test('SVCCA finds the rank of data with known rank; explained variance sums to 1', async () => {
  const n = 500;
  // X has rank 4 (plus nothing): 4 latent directions embedded in 20 neurons, Y rank 7 in 12
  const x = addOffset(await gemm(gaussian(31, n, 4), gaussian(32, 4, 20)), 33);
  const y = addOffset(await gemm(gaussian(34, n, 7), gaussian(35, 7, 12)), 36);
  const r = await svcca(x, y, { keepVariance: 0.999999 });
  assert.equal(r.kx, 4);
  assert.equal(r.ky, 7);
  assert.equal(r.coefficients.length, 4);
  const ev = await explainedVariance(x, { centre: true });
  assert.equal(ev.length, 20);
  assert.ok(Math.abs(ev.reduce((s, v) => s + v, 0) - 1) < 1e-12);
  for (let i = 4; i < 20; i++) assert.ok(ev[i] < 1e-20, `ev[${i}] = ${ev[i]}`);
  for (let i = 1; i < 20; i++) assert.ok(ev[i] <= ev[i - 1]);
  // uncentred: the offset adds a dominant mean direction, so there are 5 non-trivial components
  const evu = await explainedVariance(x);
  assert.ok(evu[4] > 1e-6 && evu[5] < 1e-20);
  // SVCCA of a layer with itself is 1 whatever k
  const self = await svcca(x, x, { keepVariance: 0.9 });
  assert.ok(Math.abs(self.value - 1) < 1e-12);
  assert.equal(self.kx, self.ky);
});

test('PWCCA swaps the roles when X has more neurons, and the result is symmetric under the swap', async () => {
  const n = 300;
  const z = gaussian(41, n, 4);
  const mk = async (s: number, p: number) => {
    const m = await gemm(z, gaussian(s, 4, p));
    const e = gaussian(s + 1, n, p);
    return addOffset({ ...m, data: m.data.map((v, i) => v + e.data[i]) }, s + 2);
  };
  const x = await mk(42, 14),
    y = await mk(45, 6);
  const a = await pwcca(x, y),
    b = await pwcca(y, x);
  assert.equal(a.swapped, true);
  assert.equal(b.swapped, false);
  assert.ok(Math.abs(a.value - b.value) < 1e-12);
  assert.equal(a.weights.length, 6);
  assert.ok(Math.abs(a.weights.reduce((s, v) => s + v, 0) - 1) < 1e-12);
  // projection weighting: between min and max ρ
  assert.ok(a.value >= Math.min(...a.coefficients) - 1e-12 && a.value <= Math.max(...a.coefficients) + 1e-12);
});

// ------------------------------------------------------------------------------------------ errors

test('bad input is an E_ARGUMENT ReplensError', async () => {
  const x = gaussian(51, 10, 3),
    y = gaussian(52, 9, 3);
  const isArg = (re: RegExp) => (e: unknown) =>
    e instanceof ReplensError && e.code === 'E_ARGUMENT' && re.test(e.message);
  await assert.rejects(cca(x, y), isArg(/different sample counts/));
  await assert.rejects(svcca(x, y), isArg(/different sample counts/));
  await assert.rejects(pwcca(x, y), isArg(/different sample counts/));
  const bad = { ...x, data: x.data.slice() };
  bad.data[4] = NaN;
  await assert.rejects(cca(bad, x), isArg(/NaN or Inf/));
  bad.data[4] = Infinity;
  await assert.rejects(pwcca(x, bad), isArg(/NaN or Inf/));
  await assert.rejects(explainedVariance(bad), isArg(/NaN or Inf/));
  await assert.rejects(cca(gaussian(53, 1, 3), gaussian(54, 1, 3)), isArg(/at least 2 samples/));
  await assert.rejects(cca({ data: new Float64Array(0), rows: 5, cols: 0 }, x), isArg(/at least one feature/));
  await assert.rejects(cca({ data: new Float64Array(5), rows: 2, cols: 3 }, x), isArg(/values for a/));
  await assert.rejects(cca(x, x, { epsilon: -1 }), isArg(/epsilon/));
  await assert.rejects(svcca(x, x, { keepVariance: 0 }), isArg(/keepVariance/));
  await assert.rejects(svcca(x, x, { keepVariance: 1.5 }), isArg(/keepVariance/));
  const constant = { data: new Float64Array(30).fill(2), rows: 10, cols: 3 };
  await assert.rejects(cca(constant, x), isArg(/X has no variance/));
  await assert.rejects(cca(x, constant), isArg(/Y has no variance/));
  await assert.rejects(svcca(constant, x), isArg(/no variance/));
  await assert.rejects(explainedVariance({ data: new Float64Array(6), rows: 2, cols: 3 }), isArg(/all zeros/));
});

test('SVCCA on the Gram-route SVD (larger p) equals CCA of the Jacobi-SVD reduction', async () => {
  const { svd, pickMethod } = await import('../src/engine/linalg/svd');
  const n = 1500,
    p = 130;
  assert.equal(pickMethod(n, p), 'gram');
  // decaying spectrum so k < p
  const z = gaussian(61, n, p),
    w = gaussian(62, n, p);
  const x = { ...z, data: z.data.map((v, i) => v * 0.95 ** (i % p) + 3) };
  const y = { ...w, data: w.data.map((v, i) => 0.5 * v * 0.97 ** (i % p) + x.data[i] * (i % p < 40 ? 1 : 0)) };
  const got = await svcca(x, y, { keepVariance: 0.95 });
  const reduce = async (m: Mat<Float64Array>) => {
    const mean = new Float64Array(p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) mean[j] += m.data[i * p + j] / n;
    const c = { ...m, data: m.data.map((v, i) => v - mean[i % p]) };
    const d = await svd(c, { method: 'jacobi' });
    let tot = 0;
    for (const s of d.s) tot += s * s;
    let k = 0,
      cum = 0;
    while (cum < 0.95 * tot) {
      cum += d.s[k] ** 2;
      k++;
    }
    const r = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) r[i * k + j] = d.u!.data[i * p + j] * d.s[j];
    return { m: { data: r, rows: n, cols: k }, k };
  };
  const [rx, ry] = [await reduce(x), await reduce(y)];
  assert.equal(got.kx, rx.k);
  assert.equal(got.ky, ry.k);
  assert.ok(got.kx > 5 && got.kx < p && got.ky > 5 && got.ky < p, `k = ${got.kx}, ${got.ky}`);
  const want = await cca(rx.m, ry.m);
  const d = maxDiff(got.coefficients, want.coefficients);
  assert.ok(d < 1e-9, `Gram vs Jacobi route differ by ${d}`);
});

test('PWCCA swaps on kept directions, not raw neuron counts: 8 neurons of rank 5 vs 6 full-rank ones', async () => {
  const n = 200;
  const base = gaussian(71, n, 5),
    y = gaussian(72, n, 6);
  const yy = { ...y, data: y.data.map((v, i) => v + 0.8 * base.data[Math.floor(i / 6) * 5 + ((i % 6) % 5)]) };
  const x = { data: new Float64Array(n * 8), rows: n, cols: 8 };
  for (let i = 0; i < n; i++) for (let j = 0; j < 8; j++) x.data[i * 8 + j] = base.data[i * 5 + (j % 5)] * (1 + j) + j;
  const a = await pwcca(x, yy),
    b = await pwcca(yy, x);
  assert.equal(a.swapped, false);
  assert.equal(b.swapped, true);
  assert.equal(a.weights.length, 5);
  assert.ok(Math.abs(a.value - b.value) < 1e-12);
  assert.deepEqual((await cca(x, yy)).dropped, { x: 3, y: 0 });
});

test('SVCCA fast path (no re-whitening) agrees with the reference CCA on the reduced data', async () => {
  const { svccaPathCounts, setCovPathMinP } = await import('../src/engine/metrics/cca');
  setCovPathMinP(1e9); // this test is about the n×k path; the covariance path has its own test below
  const check = async (
    x: Mat<Float64Array>,
    y: Mat<Float64Array>,
    keepVariance: number,
    what: string,
    expectFast = true,
  ) => {
    for (const epsilon of [0, 1e-3]) {
      const before = svccaPathCounts.fast;
      const fast = await svcca(x, y, { keepVariance, epsilon });
      const tookFast = svccaPathCounts.fast === before + 1;
      if (expectFast) assert.equal(svccaPathCounts.fast, before + 1, `${what}, ε = ${epsilon}: fast path not taken`);
      const ref = await svcca(x, y, { keepVariance, epsilon, reference: true });
      assert.equal(fast.kx, ref.kx);
      assert.equal(fast.ky, ref.ky);
      const d = maxDiff(fast.coefficients, ref.coefficients);
      assert.ok(
        d < 1e-9 && Math.abs(fast.value - ref.value) < 1e-9,
        `${what}, ε = ${epsilon}: fast vs reference differ by ${d}`,
      );
      console.log(
        `SVCCA ${what}, ε = ${epsilon}: ${tookFast ? 'fast path' : 'fallback'}, ` +
          `max |fast − reference| = ${d.toExponential(2)}`,
      );
      if (epsilon > 0) {
        const plain = await svcca(x, y, { keepVariance });
        assert.ok(Math.abs(plain.value - fast.value) > 1e-9, `${what}: the ridge had no effect`);
      }
    }
  };
  const mix = (a: Mat<Float64Array>, b: Mat<Float64Array>, wa: number, decay: number) => ({
    ...b,
    data: b.data.map((v, i) => decay ** (i % b.cols) * v + wa * a.data[i] + 2),
  });
  // Jacobi-route SVD (small p) and Gram-route SVD (larger p), correlated with decaying spectra
  const a = gaussian(71, 400, 12),
    b = mix(a, gaussian(72, 400, 12), 0.6, 0.85);
  await check(a, b, 0.99, 'jacobi 99%');
  await check(a, b, 0.9, 'jacobi 90%');
  const c = mix(gaussian(73, 1500, 130), gaussian(74, 1500, 130), 0, 0.96),
    e = mix(c, gaussian(75, 1500, 130), 0.8, 0.97);
  await check(c, e, 0.95, 'gram 95%');
  await check(c, e, 0.99, 'gram 99%');
  // rank-deficient side: Y has rank 5 in 12 neurons (keepVariance near 1 keeps exactly the 5 real directions)
  const y = addOffset(await gemm(gaussian(76, 400, 5), gaussian(77, 5, 12)), 78);
  const x = mix(y, gaussian(79, 400, 9), 0, 0.9);
  const xs = { ...x, data: x.data.map((v, i) => v + 0.3 * y.data[Math.floor(i / 9) * 12 + (i % 9)]) };
  await check(xs, y, 0.999999, 'rank-deficient Y');
  const rd = await svcca(xs, y, { keepVariance: 0.999999 });
  assert.equal(rd.ky, 5);
  assert.equal(rd.coefficients.length, 5);
  // keepVariance = 1 also keeps Y's null directions; whichever path runs, the answer must match the reference
  await check(xs, y, 1, 'rank-deficient Y, keep 100%', false);
  // Gram route with a rank-deficient side and keepVariance = 1: zero columns in U
  const g = addOffset(await gemm(gaussian(80, 1500, 20), gaussian(81, 20, 130)), 82);
  await check(c, g, 1, 'gram rank-deficient, keep 100%', false);
  // Gram route with singular values down to ~1e-6·s_1 kept: A·v/s loses orthogonality, so it must fall back
  const ill = { ...c, data: c.data.map((v, i) => (v - 2) * 0.9 ** (i % 130)) };
  const fb = svccaPathCounts.fallback;
  await check(ill, g, 1, 'gram ill-conditioned, keep 100%', false);
  // three fallbacks: ε = 0, ε = 1e-3, and the ridge-effect call
  assert.equal(svccaPathCounts.fallback, fb + 3, 'ill-conditioned U did not fall back');
  setCovPathMinP(64);
});

test('SVCCA covariance path (no n×k singular vectors) matches the reference; ill-conditioned: fallback', async () => {
  const { svccaPathCounts, setCovPathMinP } = await import('../src/engine/metrics/cca');
  setCovPathMinP(1);
  try {
    const mix = (a: Mat<Float64Array>, b: Mat<Float64Array>, wa: number, decay: number) => ({
      ...b,
      data: b.data.map((v, i) => decay ** (i % b.cols) * v + wa * a.data[i] + 2),
    });
    const a = gaussian(71, 400, 12),
      b = mix(a, gaussian(72, 400, 12), 0.6, 0.85);
    const c = mix(gaussian(73, 1500, 130), gaussian(74, 1500, 130), 0, 0.96),
      e = mix(c, gaussian(75, 1500, 130), 0.8, 0.97);
    for (const [x, y, keep, what] of [
      [a, b, 0.99, 'p = 12, 99%'],
      [a, b, 0.9, 'p = 12, 90%'],
      [c, e, 0.95, 'p = 130, 95%'],
      [c, e, 0.99, 'p = 130, 99%'],
    ] as const) {
      for (const epsilon of [0, 1e-3]) {
        const before = svccaPathCounts.covariance;
        const got = await svcca(x, y, { keepVariance: keep, epsilon });
        assert.equal(svccaPathCounts.covariance, before + 1, `${what}, ε = ${epsilon}: covariance path not taken`);
        const ref = await svcca(x, y, { keepVariance: keep, epsilon, reference: true });
        assert.equal(got.kx, ref.kx);
        assert.equal(got.ky, ref.ky);
        const d = maxDiff(got.coefficients, ref.coefficients);
        assert.ok(
          d < 1e-10 && Math.abs(got.value - ref.value) < 1e-10,
          `${what}, ε = ${epsilon}: covariance vs reference differ by ${d}`,
        );
      }
    }
    // Singular values down to ~1e-6·s₁ kept: (s₁/s_k)²·ε is far above the tolerance, so another path answers.
    const ill = { ...c, data: c.data.map((v, i) => (v - 2) * 0.9 ** (i % 130)) };
    const before = svccaPathCounts.covariance;
    const r = await svcca(ill, e, { keepVariance: 1 });
    assert.equal(svccaPathCounts.covariance, before, 'ill-conditioned data must not take the covariance path');
    const ref = await svcca(ill, e, { keepVariance: 1, reference: true });
    assert.ok(Math.abs(r.value - ref.value) < 1e-9);
  } finally {
    setCovPathMinP(64);
  }
});
