// TwoNN intrinsic dimension: hand-computed μ sets, duplicates and ties, d-dimensional planes, numpy fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { mat, Mat } from '../src/engine/linalg/gemm';
import { twoNN } from '../src/engine/metrics/twonn';
import { rng } from '../src/engine/onnx/builder';
import { ReplensError } from '../src/engine/errors';

const FX = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'metrics', 'rra', 'rra.json'), 'utf8'));
const line = (xs: number[]): Mat<Float64Array> => mat(Float64Array.from(xs), xs.length, 1);
const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('twoNN: hand-computed 1-D case — μ = 3, 2, 1.5, 1.5, 1.5', async () => {
  // 0,1,3,7,15: (r1, r2) = (1,3), (1,2), (2,3), (4,6), (8,12).
  const x = line([0, 1, 3, 7, 15]);
  const L = Math.log;
  const r = await twoNN(x, { fraction: 1 });
  assert.equal(r.dropped, 0);
  assert.equal(r.n, 5);
  close(r.ml, 5 / (L(3) + L(2) + 3 * L(1.5)), 1e-14, 'ml');
  // fraction 1: the 5th point (F = 5/5 = 1) is left out; fit the sorted μ 1.5, 1.5, 1.5, 2 against −log(1 − i/5).
  const xs = [L(1.5), L(1.5), L(1.5), L(2)],
    ys = [1, 2, 3, 4].map((i) => -L(1 - i / 5));
  close(
    r.value,
    xs.reduce((s, v, t) => s + v * ys[t], 0) / xs.reduce((s, v) => s + v * v, 0),
    1e-14,
    'fit, fraction 1',
  );
  const h = await twoNN(x, { fraction: 0.5 }); // ⌊2.5⌋ = 2 points
  close(h.value, (L(1.5) * -L(0.8) + L(1.5) * -L(0.6)) / (2 * L(1.5) ** 2), 1e-14, 'fit, fraction 0.5');
  close(
    (await twoNN(x)).value,
    xs.reduce((s, v, t) => s + v * ys[t], 0) / xs.reduce((s, v) => s + v * v, 0),
    1e-14,
    'default 0.9 → ⌊4.5⌋ = 4 points',
  );
});

test('twoNN: duplicates (r1 = 0) and ties (r1 = r2) are dropped and counted, never NaN', async () => {
  // 0,0,1,3,7: both zeros have r1 = 0; the 1 is at distance 1 from both zeros (r1 = r2); 3 → 2,3; 7 → 4,6.
  const r = await twoNN(line([0, 0, 1, 3, 7]));
  assert.equal(r.dropped, 3);
  assert.equal(r.n, 2);
  close(r.ml, 2 / (2 * Math.log(1.5)), 1e-14, 'ml');
  close(r.value, -Math.log(0.5) / Math.log(1.5), 1e-14, 'fit of one point');
  await assert.rejects(
    twoNN(line([2, 2, 2, 2])),
    (e: unknown) =>
      e instanceof ReplensError && e.code === 'E_ARGUMENT' && /only 0 point\(s\) left after dropping 4/.test(e.message),
  );
  // Many duplicates in a random cloud: finite results.
  const r2 = rng(5);
  const pts = Array.from({ length: 200 }, () => [r2(), r2(), r2()]);
  const withDup = [...pts, ...pts.slice(0, 50)];
  const d = await twoNN(mat(Float64Array.from(withDup.flat()), 250, 3));
  // the 100 copies have r1 = 0; a point whose nearest neighbour is a duplicated point has r1 = r2 (two copies).
  assert.ok(d.dropped >= 100 && d.n + d.dropped === 250, `dropped ${d.dropped}`);
  assert.ok(Number.isFinite(d.value) && Number.isFinite(d.ml));
});

function plane(n: number, d: number, D: number, seed: number): Mat<Float64Array> {
  // n points uniform in the unit d-cube, embedded isometrically in R^D by a random orthonormal basis.
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const basis: number[][] = [];
  while (basis.length < d) {
    let v = Array.from({ length: D }, gauss);
    for (const b of basis) {
      const dot = v.reduce((s, x, t) => s + x * b[t], 0);
      v = v.map((x, t) => x - dot * b[t]);
    }
    const norm = Math.hypot(...v);
    basis.push(v.map((x) => x / norm));
  }
  const out = new Float64Array(n * D);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      const u = r();
      for (let t = 0; t < D; t++) out[i * D + t] += u * basis[a][t];
    }
  return mat(out, n, D);
}

test('twoNN: a uniform d-plane in 20 dimensions gives ID ≈ d (d = 2, 5, 10)', async () => {
  // Tolerances: 10 % (d = 2, N = 2000), 10 % (d = 5, N = 4000), 15 % (d = 10, N = 6000). The finite sample
  // scatters the estimate by a few per cent and the cube's boundary makes TwoNN underestimate, more so as d grows
  // (measured over seeds: 1.93–2.13, 4.74–4.86, 8.6–8.9). Squared distances (ID/2) or μ = r1/r2 would fail.
  for (const [d, n, tol] of [
    [2, 2000, 0.1],
    [5, 4000, 0.1],
    [10, 6000, 0.15],
  ]) {
    const r = await twoNN(plane(n, d, 20, 100 + d));
    assert.equal(r.dropped, 0);
    console.log(`plane d = ${d}, N = ${n}: fit ${r.value.toFixed(3)}, ml ${r.ml.toFixed(3)}`);
    assert.ok(Math.abs(r.value - d) <= tol * d, `d = ${d}: fit ${r.value}`);
    assert.ok(Math.abs(r.ml - d) <= tol * d, `d = ${d}: ml ${r.ml}`);
  }
});

test('twoNN: equals the numpy fixtures to 1e-9 (value, ml, dropped, n; fraction 0.5, 0.9, 1.0)', async () => {
  for (const f of FX.twonn) {
    const rows = FX.sets[f.set] as number[][];
    const r = await twoNN(mat(Float64Array.from(rows.flat()), rows.length, rows[0].length), { fraction: f.fraction });
    const what = `${f.name} fraction ${f.fraction}`;
    assert.equal(r.dropped, f.dropped, what);
    assert.equal(r.n, f.n, what);
    close(r.value, f.value, 1e-9, what);
    close(r.ml, f.ml, 1e-9, what);
  }
});

test('twoNN: argument errors', async () => {
  const bad = (p: Promise<unknown>, re: RegExp) =>
    assert.rejects(p, (e: unknown) => e instanceof ReplensError && e.code === 'E_ARGUMENT' && re.test(e.message));
  await bad(twoNN(line([0, 1])), /at least 3 samples/);
  await bad(twoNN(line([0, 1, 3]), { fraction: 0 }), /fraction/);
  await bad(twoNN(line([0, 1, 3]), { fraction: 1.5 }), /fraction/);
  await bad(twoNN(line([0, 1, NaN, 4])), /contains (NaN|Infinity)/);
  await bad(twoNN(line([0, 1, 3, 7]), { fraction: 0.2 }), /leaves nothing to fit/);
});
