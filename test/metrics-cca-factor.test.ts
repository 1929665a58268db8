// Factor-once CCA (issue 13): the per-layer factors give the same values as the pairwise functions, and the
// trivial-regime guard brings independent data down to chance while related data stay high.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cca,
  pwcca,
  svcca,
  ccaFactor,
  ccaOfFactors,
  pwccaOfFactors,
  layerCcaFactor,
  ccaMaxDims,
  ccaChanceLevel,
} from '../src/engine/metrics/cca';
import { gemm, type Mat } from '../src/engine/linalg/gemm';
import { svd } from '../src/engine/linalg/svd';
import { centreWithMeans } from '../src/engine/metrics/center';
import { rng } from '../src/engine/onnx/builder';

function randn(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}
function gaussian(seed: number, rows: number, cols: number, scale = 1): Mat<Float64Array> {
  const r = rng(seed);
  return { data: Float64Array.from({ length: rows * cols }, () => scale * randn(r)), rows, cols };
}
function add(a: Mat<Float64Array>, b: Mat<Float64Array>): Mat<Float64Array> {
  return { ...a, data: a.data.map((v, i) => v + b.data[i]) };
}
/** ReLU-like units with offsets, a dead (all-zero) unit and a duplicated one: the awkward real-layer case. */
function awkward(seed: number, n: number, p: number): Mat<Float64Array> {
  const m = gaussian(seed, n, p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) m.data[i * p + j] = Math.max(0, m.data[i * p + j] + 0.3);
    m.data[i * p + 1] = 0; // dead unit
    m.data[i * p + 2] = m.data[i * p + 3]; // duplicated unit
  }
  return m;
}
const close = (got: number, want: number, tol: number, what: string) =>
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} (diff ${Math.abs(got - want)})`);

test('factored CCA/PWCCA equal the pairwise functions (full rank, dead + duplicated units, n < p, ridge)', async () => {
  const cases: [string, Mat<Float64Array>, Mat<Float64Array>, number][] = [
    ['full rank', gaussian(1, 150, 9), add(gaussian(2, 150, 13), gaussian(3, 150, 13, 0.5)), 0],
    ['dead + duplicated', awkward(4, 120, 12), awkward(5, 120, 8), 0],
    ['n < p', gaussian(6, 30, 45), gaussian(7, 30, 38), 0],
    ['ridge', awkward(8, 100, 10), gaussian(9, 100, 16), 1e-4],
  ];
  for (const [name, x, y, epsilon] of cases) {
    const fx = await ccaFactor(x, { epsilon }),
      fy = await ccaFactor(y, { epsilon });
    const a = await cca(x, y, { epsilon }),
      b = await ccaOfFactors(fx, fy);
    close(b.value, a.value, 1e-9, `${name}: CCA`);
    assert.deepEqual(b.dropped, a.dropped, `${name}: dropped`);
    const p = await pwcca(x, y, { epsilon }),
      q = await pwccaOfFactors(fx, fy);
    assert.equal(q.swapped, p.swapped, `${name}: swapped`);
    close(q.value, p.value, 1e-8, `${name}: PWCCA`);
    const q2 = await pwccaOfFactors(fy, fx),
      p2 = await pwcca(y, x, { epsilon });
    close(q2.value, p2.value, 1e-8, `${name}: PWCCA (Y, X)`);
  }
});

test('layer factors without the guard reproduce svcca() and pwcca()', async () => {
  const z = gaussian(10, 300, 6);
  const mix = async (seed: number, p: number) =>
    add(await gemm(z, gaussian(seed, 6, p)), gaussian(seed + 1, 300, p, 0.05));
  const x = await mix(11, 20),
    y = await mix(13, 30);
  const fx = await layerCcaFactor(x, { maxDims: null }),
    fy = await layerCcaFactor(y, { maxDims: null });
  const s = await svcca(x, y, { reference: true });
  assert.equal(fx.svccaDims, s.kx);
  assert.equal(fy.svccaDims, s.ky);
  close((await ccaOfFactors(fx.svcca, fy.svcca)).value, s.value, 1e-8, 'SVCCA');
  close((await pwccaOfFactors(fx.pwcca, fy.pwcca)).value, (await pwcca(x, y)).value, 1e-8, 'PWCCA');
  assert.equal(fx.rank, 20);
});

/** Top-k principal-component scores by one-sided Jacobi (an SVD route independent of the factor's Gram route). */
async function topPcs(m: Mat<Float64Array>, k: number): Promise<Mat<Float64Array>> {
  const { data } = centreWithMeans(m.data, m.rows, m.cols);
  const d = await svd({ data, rows: m.rows, cols: m.cols }, { method: 'jacobi' });
  const u = d.u!,
    out = new Float64Array(m.rows * k);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < k; j++) out[i * k + j] = u.data[i * u.cols + j] * d.s[j];
  return { data: out, rows: m.rows, cols: k };
}

test('the guard: independent 200×256 vs 200×512 data fall from ≈ 1 to chance; related data stay high', async () => {
  const n = 200;
  const x = gaussian(21, n, 256),
    y = gaussian(22, n, 512);
  const cap = ccaMaxDims(n);
  assert.equal(cap, 20);
  const off = [await layerCcaFactor(x, { maxDims: null }), await layerCcaFactor(y, { maxDims: null })];
  const on = [await layerCcaFactor(x, { maxDims: cap }), await layerCcaFactor(y, { maxDims: cap })];
  const svOff = (await ccaOfFactors(off[0].svcca, off[1].svcca)).value,
    pwOff = (await pwccaOfFactors(off[0].pwcca, off[1].pwcca)).value;
  const svOn = (await ccaOfFactors(on[0].svcca, on[1].svcca)).value,
    pwOn = (await pwccaOfFactors(on[0].pwcca, on[1].pwcca)).value;
  // Unguarded: ~190 of 199 directions kept on each side, every canonical correlation near 1.
  assert.ok(off[0].svccaDims > 150 && off[1].svccaDims > 150, `kept ${off[0].svccaDims}, ${off[1].svccaDims}`);
  assert.ok(svOff > 0.9, `unguarded SVCCA ${svOff}`);
  assert.ok(pwOff > 0.9, `unguarded PWCCA ${pwOff}`);
  // Guarded: 20 directions each; the chance level bound is √(20/199) ≈ 0.317 (E[mean ρ] ≤ √E[mean ρ²]).
  assert.equal(on[0].svccaDims, 20);
  assert.equal(on[1].pwccaDims, 20);
  const chance = ccaChanceLevel(20, 20, n);
  close(chance, Math.sqrt(20 / 199), 1e-15, 'chance level');
  assert.ok(svOn < chance + 0.1 && svOn > 0.05, `guarded SVCCA ${svOn} vs chance ≤ ${chance}`);
  assert.ok(pwOn < chance + 0.1 && pwOn > 0.05, `guarded PWCCA ${pwOn} vs chance ≤ ${chance}`);
  // Independent route: CCA of the top-20 PCs from a Jacobi SVD.
  const ref = await cca(await topPcs(x, 20), await topPcs(y, 20));
  close(svOn, ref.value, 1e-8, 'guarded SVCCA vs CCA of Jacobi PCs');

  // Related: a 12-dimensional signal in X, Y = X·R + small noise.
  const z = gaussian(30, n, 12);
  const xs = add(await gemm(z, gaussian(31, 12, 256)), gaussian(32, n, 256, 0.05));
  const ys = add(await gemm(xs, gaussian(33, 256, 512, 1 / 16)), gaussian(34, n, 512, 0.01));
  const fx = await layerCcaFactor(xs, { maxDims: cap }),
    fy = await layerCcaFactor(ys, { maxDims: cap });
  const sv = (await ccaOfFactors(fx.svcca, fy.svcca)).value,
    pw = (await pwccaOfFactors(fx.pwcca, fy.pwcca)).value;
  assert.ok(sv > 0.8, `related SVCCA ${sv}`);
  assert.ok(pw > 0.8, `related PWCCA ${pw}`);
  console.log(
    `guard: independent SVCCA ${svOff.toFixed(3)} → ${svOn.toFixed(3)}, ` +
      `PWCCA ${pwOff.toFixed(3)} → ${pwOn.toFixed(3)} (chance ≤ ${chance.toFixed(3)}); ` +
      `related SVCCA ${sv.toFixed(3)}, PWCCA ${pw.toFixed(3)} (kept ${fx.svccaDims}/${fy.svccaDims})`,
  );
});
