// Noise-perturbation SVD: the spectrum against an independent SVD (one-sided Jacobi), hand cases, the pixel-space
// noise mapping, and the whole procedure on the bundled Fashion-MNIST model against activations captured
// separately and reduced in JavaScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { groupSpectrum, noiseFor, noisyGroup, noiseSvd, spectrumFromGram } from '../src/engine/metrics/noise-svd';
import { svd } from '../src/engine/linalg/svd';
import { loadModel } from '../src/engine/onnx/model';
import { exposeTensors } from '../src/engine/onnx/graph';
import { runSession, SessionPool } from '../src/engine/runtime/session';
import { readNpy } from '../src/engine/npy';
import { rng } from '../src/engine/onnx/builder';
import { ReplensError } from '../src/engine/errors';

const EX = path.join(__dirname, '..', 'examples', 'fashion-mnist');
const pool = new SessionPool({ executionProvider: 'cpu' });

function randomMatrix(seed: number, g: number, d: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: g * d }, () => r() * 2 - 1 + 0.5);
}

test('groupSpectrum equals the singular values of the uncentred group by one-sided Jacobi SVD', async () => {
  for (const [g, d] of [
    [5, 3],
    [6, 40],
    [12, 12],
  ]) {
    const a = randomMatrix(g * 100 + d, g, d);
    const sp = groupSpectrum(a, g, d);
    const ref = await svd({ data: a, rows: g, cols: d }, { method: 'jacobi', vectors: false });
    const total = Array.from(ref.s).reduce((s, v) => s + v * v, 0);
    for (let j = 0; j < Math.min(g, d); j++) {
      assert.ok(
        Math.abs(sp.singularValues[j] - ref.s[j]) <= 1e-10 * ref.s[0],
        `${g}×${d} s${j}: ${sp.singularValues[j]} vs ${ref.s[j]}`,
      );
      assert.ok(Math.abs(sp.explainedVariance[j] - ref.s[j] ** 2 / total) <= 1e-14, `EV${j}`);
    }
    for (let j = Math.min(g, d); j < g; j++)
      assert.ok(sp.explainedVariance[j] <= 1e-14, 'beyond the rank, the ratios are 0');
    assert.ok(Math.abs(sp.explainedVariance.reduce((s, v) => s + v, 0) - 1) <= 1e-14);
  }
});

test('groupSpectrum centred equals the SVD of the column-centred group', async () => {
  const g = 7,
    d = 9;
  const a = randomMatrix(3, g, d);
  const c = Float64Array.from(a);
  for (let t = 0; t < d; t++) {
    let m = 0;
    for (let i = 0; i < g; i++) m += a[i * d + t];
    for (let i = 0; i < g; i++) c[i * d + t] -= m / g;
  }
  const ref = await svd({ data: c, rows: g, cols: d }, { method: 'jacobi', vectors: false });
  const sp = groupSpectrum(a, g, d, { centre: true });
  for (let j = 0; j < g - 1; j++) assert.ok(Math.abs(sp.singularValues[j] - ref.s[j]) <= 1e-10 * ref.s[0], `s${j}`);
  assert.ok(sp.singularValues[g - 1] <= 1e-6 * ref.s[0], 'a centred group of G rows has rank ≤ G − 1');
});

test('hand cases: identical copies give EV = (1, 0, …) and s₁ = √G‖a‖; orthogonal rows: their squared norms', () => {
  const g = 4;
  const a = new Float64Array([3, 4, 3, 4, 3, 4, 3, 4]); // four copies of (3, 4)
  const sp = groupSpectrum(a, g, 2);
  assert.ok(Math.abs(sp.singularValues[0] - Math.sqrt(4) * 5) <= 1e-12);
  assert.ok(Math.abs(sp.explainedVariance[0] - 1) <= 1e-15);
  assert.ok(sp.explainedVariance.slice(1).every((v) => v <= 1e-15));
  // rows e1·3, e2·1, e3·2 (orthogonal): s = (3, 2, 1), EV = (9, 4, 1)/14
  const o = new Float64Array([3, 0, 0, 0, 1, 0, 0, 0, 2]);
  const so = groupSpectrum(o, 3, 3);
  assert.deepEqual(
    so.singularValues.map((v) => +v.toFixed(12)),
    [3, 2, 1],
  );
  assert.deepEqual(
    so.explainedVariance.map((v) => +v.toFixed(15)),
    [9 / 14, 4 / 14, 1 / 14].map((v) => +v.toFixed(15)),
  );
  assert.throws(
    () => groupSpectrum(new Float64Array(6), 3, 2),
    (e: unknown) => e instanceof ReplensError && /all zero/.test(e.message),
  );
  assert.throws(
    () => groupSpectrum(a, g, 2, { centre: true }),
    (e: unknown) => e instanceof ReplensError && /do not vary/.test(e.message),
  );
  assert.throws(() => spectrumFromGram(new Float64Array([1, NaN, NaN, 1]), 2), /NaN or Inf/);
});

test('noise is added and clipped in pixel units, then normalised like the dataset; fixed per (seed, image)', () => {
  const pixel = { mean: [0.5], std: [0.25], layout: 'NCHW' as const, clip: [0, 1] as [number, number] };
  const x = new Float32Array([(0.9 - 0.5) / 0.25, (0.1 - 0.5) / 0.25]); // pixels 0.9 and 0.1, shape (1, 1, 2)
  const eps = new Float32Array([1, -1, -2, 0.5]); // two copies
  const out = noisyGroup(x, [1, 1, 2], eps, 0.2, pixel);
  const px = Array.from(out, (v) => v * 0.25 + 0.5);
  const want = [Math.min(1, 0.9 + 0.2), Math.max(0, 0.1 - 0.2), 0.9 - 0.4, 0.1 + 0.1];
  px.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-6, `copy value ${i}: ${v} vs ${want[i]}`));
  assert.deepEqual(noiseFor(3, 7, 4, 5), noiseFor(3, 7, 4, 5));
  assert.notDeepEqual(noiseFor(3, 7, 4, 5), noiseFor(3, 8, 4, 5));
  const big = noiseFor(1, 0, 100, 100);
  const mean = big.reduce((s, v) => s + v, 0) / big.length,
    sd = Math.sqrt(big.reduce((s, v) => s + (v - mean) ** 2, 0) / big.length);
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(sd - 1) < 0.03, `standard normal noise: mean ${mean}, sd ${sd}`);
});

test('noiseSvd on the Fashion-MNIST model equals activations captured separately and reduced in JS', async () => {
  const { proto: model } = await loadModel(path.join(EX, 'model.onnx'));
  const xs = readNpy(path.join(EX, 'x.npy'));
  const ys = readNpy(path.join(EX, 'y.npy'));
  const n = 3,
    size = 28 * 28,
    G = 8;
  const images = (xs.data as Float32Array).slice(0, n * size);
  const labels = Int32Array.from(Array.from(ys.data as ArrayLike<number | bigint>).slice(0, n), Number);
  const tensors = ['/stem/relu/Relu_output_0', '/layer2/layer2.1/relu_1/Relu_output_0', 'logits'];
  const pixel = { mean: [0.286], std: [0.353], layout: 'NCHW' as const, clip: [0, 1] as [number, number] };
  const sigmas = [0.2, 0.01, 0];
  const r = await noiseSvd(model, 'fashion', pool, tensors, images, [1, 28, 28], labels, {
    sigmas,
    groupSize: G,
    seed: 5,
    pixel,
    components: 4,
  });
  assert.deepEqual(
    r.layers.map((l) => l.features),
    [32 * 28 * 28, 64 * 7 * 7, 10],
  );
  // Reference: plain forward of the same groups, spectrum in JS.
  const ms = await pool.get('fashion#expose-noise', exposeTensors(model, tensors, false), 'test');
  for (const [l, t] of tensors.entries()) {
    for (const [si, sigma] of sigmas.entries()) {
      const ev1: number[] = [],
        s1: number[] = [],
        spectra: number[][] = [];
      for (let i = 0; i < n; i++) {
        const group = noisyGroup(
          images.subarray(i * size, (i + 1) * size),
          [1, 28, 28],
          noiseFor(5, i, G, size),
          sigma,
          pixel,
        );
        const out = await runSession(ms, { input: { data: group, dims: [G, 1, 28, 28], type: 'float32' } }, 'test');
        const acts = Float64Array.from(out[t].data as Float32Array);
        const sp = groupSpectrum(acts, G, acts.length / G);
        ev1.push(sp.explainedVariance[0]);
        s1.push(sp.singularValues[0]);
        spectra.push(sp.explainedVariance);
      }
      const cell = r.layers[l].cells.find((c) => c.sigma === sigma && c.label === -1)!;
      assert.equal(cell.images, n);
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      assert.ok(Math.abs(cell.ev1.mean - mean(ev1)) <= 1e-12, `${t} σ=${sigma}: EV1 ${cell.ev1.mean} vs ${mean(ev1)}`);
      assert.ok(Math.abs(cell.s1.mean - mean(s1)) <= 1e-9 * mean(s1), `${t} σ=${sigma}: s1`);
      for (let j = 0; j < 4; j++)
        assert.ok(Math.abs(cell.spectrum[j] - mean(spectra.map((s) => s[j]))) <= 1e-12, `${t} σ=${sigma}: EV${j + 1}`);
      if (sigma === 0)
        assert.ok(Math.abs(cell.ev1.mean - 1) <= 1e-12 && cell.rest.mean <= 1e-12, 'no noise: one component');
      if (si === 0) assert.ok(cell.ev1.mean < 1 - 1e-4, `${t}: σ = 0.2 spreads energy beyond the first component`);
    }
    // More noise, less of the energy in the first component (the blog's signal/(signal+noise) reading).
    const byS = (s: number) => r.layers[l].cells.find((c) => c.sigma === s && c.label === -1)!.ev1.mean;
    assert.ok(byS(0.2) < byS(0.01) && byS(0.01) < byS(0), `${t}: EV1 ordered by σ`);
    // Per-class cells partition the images.
    const perClass = r.layers[l].cells.filter((c) => c.sigma === 0.2 && c.label >= 0);
    assert.equal(
      perClass.reduce((s, c) => s + c.images, 0),
      n,
    );
  }
});

test('noiseSvd: bad settings are one-line errors', async () => {
  const { proto: model } = await loadModel(path.join(EX, 'model.onnx'));
  const img = new Float32Array(28 * 28);
  await assert.rejects(noiseSvd(model, 'f', pool, ['logits'], img, [1, 28, 28], null, { groupSize: 1 }), /group size/);
  await assert.rejects(noiseSvd(model, 'f', pool, ['logits'], img, [1, 28, 28], null, { sigmas: [-1] }), /σ/);
  await assert.rejects(
    noiseSvd(model, 'f', pool, ['nope'], img, [1, 28, 28], null),
    (e: unknown) => e instanceof ReplensError && e.code === 'E_UNKNOWN_TENSOR',
  );
  await assert.rejects(
    noiseSvd(model, 'f', pool, ['logits'], img, [1, 28, 28], new Int32Array(2)),
    /1 images but 2 labels/,
  );
});
