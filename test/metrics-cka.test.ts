import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { mat, Mat } from '../src/engine/linalg/gemm';
import { rng } from '../src/engine/onnx/builder';
import { readNpy } from '../src/engine/npy';
import { ReplensError } from '../src/engine/errors';
import {
  cka,
  linearCKA,
  median,
  minibatchCKA,
  minibatchCKAOf,
  rbfCKA,
  symmetricGram,
  CkaBatch,
} from '../src/engine/metrics/cka';
import { gram } from '../src/engine/linalg/gemm';
import { centerGram, uCenterGram } from '../src/engine/metrics/center';

const FIX = path.join(__dirname, 'fixtures', 'metrics', 'cka');
const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8'));

/** Fixture inputs are float32 on disk; the references were computed in float64 from exactly these values. */
function load(name: string): Mat<Float64Array> {
  const a = readNpy(path.join(FIX, `${name}.npy`));
  assert.equal(a.dtype, 'float32');
  assert.equal(a.shape.length, 2);
  return mat(Float64Array.from(a.data as Float32Array), a.shape[0], a.shape[1]);
}

function gaussian(r: () => number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - r(),
      v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

function randn(seed: number, rows: number, cols: number, offset = 0): Mat<Float64Array> {
  const d = gaussian(rng(seed), rows * cols);
  for (let i = 0; i < d.length; i++) d[i] += offset * (((i % cols) % 3) - 1);
  return mat(d, rows, cols);
}

function matmul(a: Mat<Float64Array>, b: Mat<Float64Array>): Mat<Float64Array> {
  assert.equal(a.cols, b.rows);
  const c = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++)
    for (let t = 0; t < a.cols; t++) {
      const v = a.data[i * a.cols + t];
      for (let j = 0; j < b.cols; j++) c[i * b.cols + j] += v * b.data[t * b.cols + j];
    }
  return mat(c, a.rows, b.cols);
}

/** Y partly a nonlinear function of X plus noise, so CKA sits well inside (0, 1). */
function related(x: Mat<Float64Array>, p2: number, seed: number): Mat<Float64Array> {
  const w = randn(seed, x.cols, p2);
  const y = matmul(x, w);
  const noise = gaussian(rng(seed + 1), y.data.length);
  for (let i = 0; i < y.data.length; i++) y.data[i] = Math.tanh(y.data[i] / Math.sqrt(x.cols)) + 0.5 * noise[i];
  return y;
}

/** A random p×p orthogonal matrix: modified Gram–Schmidt on the columns of a Gaussian matrix. */
function randomOrthogonal(p: number, seed: number): Mat<Float64Array> {
  const a = randn(seed, p, p).data;
  const q = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    const v = new Float64Array(p);
    for (let i = 0; i < p; i++) v[i] = a[i * p + j];
    for (let k = 0; k < j; k++) {
      let d = 0;
      for (let i = 0; i < p; i++) d += q[i * p + k] * v[i];
      for (let i = 0; i < p; i++) v[i] -= d * q[i * p + k];
    }
    let nrm = 0;
    for (let i = 0; i < p; i++) nrm += v[i] * v[i];
    nrm = Math.sqrt(nrm);
    for (let i = 0; i < p; i++) q[i * p + j] = v[i] / nrm;
  }
  return mat(q, p, p);
}

function scaled(x: Mat<Float64Array>, c: number): Mat<Float64Array> {
  return mat(
    x.data.map((v) => v * c),
    x.rows,
    x.cols,
  );
}

function near(got: number, want: number, tol: number, what: string): number {
  const err = Math.abs(got - want);
  assert.ok(Number.isFinite(got), `${what}: got ${got}`);
  assert.ok(err <= tol, `${what}: got ${got}, want ${want}, |Δ| = ${err.toExponential(2)} > ${tol}`);
  return err;
}

function rejectsArg(p: Promise<unknown>, re: RegExp): Promise<void> {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ReplensError, `not a ReplensError: ${String(e)}`);
    assert.equal(e.code, 'E_ARGUMENT');
    assert.match(e.message, re);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// (1) Agreement with the independent numpy reference (scripts/fixtures/make_cka_fixtures.py)

const CASES = ['narrow', 'wide', 'mixed'] as const;

test('fixtures: linear CKA, plain and debiased, in both forms, equals the numpy reference to 1e-9', async (t) => {
  let worst = 0;
  for (const name of CASES) {
    const ref = expected.cases[name];
    const x = load(`${name}_x`),
      y = load(`${name}_y`);
    assert.deepEqual([x.rows, x.cols, y.cols], [ref.n, ref.p1, ref.p2]);
    for (const form of ['auto', 'feature', 'gram'] as const) {
      worst = Math.max(
        worst,
        near((await linearCKA(x, y, { form })).value, ref.linear, 1e-9, `${name} linear ${form}`),
      );
      worst = Math.max(
        worst,
        near(
          (await linearCKA(x, y, { form, debiased: true })).value,
          ref.linear_debiased,
          1e-9,
          `${name} linear debiased ${form}`,
        ),
      );
    }
  }
  t.diagnostic(`max |Δ| vs numpy: ${worst.toExponential(2)}`);
});

test('fixtures: RBF CKA at thresholds 0.5, 1.0, plain and debiased, equals the numpy reference to 1e-9', async (t) => {
  let worst = 0;
  for (const name of CASES) {
    const ref = expected.cases[name];
    const x = load(`${name}_x`),
      y = load(`${name}_y`);
    for (const th of ['0.5', '1.0']) {
      const threshold = Number(th);
      worst = Math.max(
        worst,
        near((await rbfCKA(x, y, { threshold })).value, ref[`rbf_${th}`], 1e-9, `${name} rbf ${th}`),
      );
      worst = Math.max(
        worst,
        near(
          (await rbfCKA(x, y, { threshold, debiased: true })).value,
          ref[`rbf_${th}_debiased`],
          1e-9,
          `${name} rbf ${th} debiased`,
        ),
      );
    }
    // The default threshold is 0.5.
    assert.equal((await rbfCKA(x, y)).value, (await rbfCKA(x, y, { threshold: 0.5 })).value);
  }
  t.diagnostic(`max |Δ| vs numpy: ${worst.toExponential(2)}`);
});

test('fixtures: size-weighted minibatch CKA (ragged last batch) = numpy Σ_b⟨U(K_b),U(L_b)⟩ to 1e-9', async (t) => {
  const ref = expected.minibatch;
  const x = load('minibatch_x'),
    y = load('minibatch_y');
  assert.equal(x.rows % ref.batch, 7); // 4 × 32 + 7
  let worst = 0;
  const lin = await minibatchCKAOf(x, y, ref.batch, { weighting: 'size' });
  assert.equal(lin.batches, 5);
  worst = Math.max(worst, near(lin.value, ref.linear, 1e-9, 'minibatch linear'));
  for (const th of ['0.5', '1.0']) {
    const r = await minibatchCKAOf(x, y, ref.batch, { kernel: 'rbf', threshold: Number(th), weighting: 'size' });
    worst = Math.max(worst, near(r.value, ref[`rbf_${th}`], 1e-9, `minibatch rbf ${th}`));
  }
  // The wrong estimator is measurably different on this data, so the check above can tell them apart.
  assert.ok(Math.abs(lin.value - ref.mean_of_batch_ratios_linear) > 1e-2);
  // A single batch holding all samples is full-data debiased linear CKA.
  near((await minibatchCKAOf(x, y, x.rows)).value, ref.full_linear_debiased, 1e-9, 'one batch = debiased CKA');
  // The streaming entry point over an async iterable of the same batches gives the same value.
  async function* stream(): AsyncGenerator<CkaBatch> {
    for (let s = 0; s < x.rows; s += ref.batch) {
      const e = Math.min(x.rows, s + ref.batch);
      yield {
        x: mat(x.data.slice(s * x.cols, e * x.cols), e - s, x.cols),
        y: mat(y.data.slice(s * y.cols, e * y.cols), e - s, y.cols),
      };
    }
  }
  const streamed = await minibatchCKA(stream(), { weighting: 'size' });
  assert.equal(streamed.batches, 5);
  near(streamed.value, lin.value, 1e-14, 'streamed vs sliced');
  t.diagnostic(`max |Δ| vs numpy: ${worst.toExponential(2)}`);
});

/** HSIC₁ (Song et al. 2012, the unbiased estimator) of two n×n Grams, straight from its formula (no U-centring). */
function hsic1(k: Float64Array, l: Float64Array, n: number): number {
  const kt = Float64Array.from(k),
    lt = Float64Array.from(l);
  for (let i = 0; i < n; i++) {
    kt[i * n + i] = 0;
    lt[i * n + i] = 0;
  }
  let tr = 0,
    sk = 0,
    sl = 0,
    cross = 0;
  const kRow = new Float64Array(n),
    lCol = new Float64Array(n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      tr += kt[i * n + j] * lt[j * n + i];
      sk += kt[i * n + j];
      sl += lt[i * n + j];
      kRow[j] += kt[i * n + j];
      lCol[i] += lt[i * n + j];
    }
  for (let j = 0; j < n; j++) cross += kRow[j] * lCol[j]; // 1ᵀ K̃ L̃ 1
  return (tr + (sk * sl) / ((n - 1) * (n - 2)) - (2 / (n - 2)) * cross) / (n * (n - 3));
}

test('minibatch CKA weights, batches (8, 8, 7): equal = mean HSIC₁ (default), size = n_b(n_b−3)-weighted', async () => {
  const x = randn(41, 23, 5, 2),
    y = randn(42, 23, 4, -1);
  for (let i = 0; i < y.data.length; i++) y.data[i] += 0.7 * x.data[Math.floor(i / 4) * 5 + (i % 4)];
  const gramOf = (m: Mat<Float64Array>, s: number, e: number) => {
    const n = e - s,
      g = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let v = 0;
        for (let t = 0; t < m.cols; t++) v += m.data[(s + i) * m.cols + t] * m.data[(s + j) * m.cols + t];
        g[i * n + j] = v;
      }
    return g;
  };
  const sums = { equal: [0, 0, 0], size: [0, 0, 0] };
  for (const [s, e] of [
    [0, 8],
    [8, 16],
    [16, 23],
  ]) {
    const n = e - s,
      k = gramOf(x, s, e),
      l = gramOf(y, s, e);
    const h = [hsic1(k, l, n), hsic1(k, k, n), hsic1(l, l, n)];
    for (let t = 0; t < 3; t++) {
      sums.equal[t] += h[t] / 3;
      sums.size[t] += n * (n - 3) * h[t];
    }
  }
  const want = (v: number[]) => v[0] / Math.sqrt(v[1] * v[2]);
  const eq = await minibatchCKAOf(x, y, 8),
    sz = await minibatchCKAOf(x, y, 8, { weighting: 'size' });
  assert.equal(eq.weighting, 'equal');
  near(eq.value, want(sums.equal), 1e-12, 'equal weights');
  near(sz.value, want(sums.size), 1e-12, 'size weights');
  assert.ok(
    Math.abs(eq.value - sz.value) > 1e-4,
    `the weightings differ on ragged batches: ${eq.value} vs ${sz.value}`,
  );
  // With equal batches the two coincide.
  near(
    (await minibatchCKAOf(x, y, 23)).value,
    (await minibatchCKAOf(x, y, 23, { weighting: 'size' })).value,
    1e-14,
    'one batch',
  );
  await assert.rejects(minibatchCKAOf(x, y, 8, { weighting: 'mean' as never }), /unknown batch weighting/);
});

test('cka(): dispatches on kernel, debiased and batchSize and reports what it computed', async () => {
  const ref = expected.cases.narrow;
  const x = load('narrow_x'),
    y = load('narrow_y');
  const a = await cka(x, y);
  assert.deepEqual(
    { ...a, value: 0 },
    { value: 0, kernel: 'linear', debiased: false, form: 'feature', precision: 'float64' },
  );
  near(a.value, ref.linear, 1e-9, 'cka linear');
  const b = await cka(x, y, { debiased: true });
  near(b.value, ref.linear_debiased, 1e-9, 'cka linear debiased');
  assert.equal(b.debiased, true);
  const c = await cka(x, y, { kernel: 'rbf', threshold: 1.0, debiased: true });
  assert.equal(c.kernel, 'rbf');
  near(c.value, ref['rbf_1.0_debiased'], 1e-9, 'cka rbf debiased');
  const w = await cka(load('wide_x'), load('wide_y'));
  assert.equal(w.form, 'gram');
  const mb = expected.minibatch;
  const d = await cka(load('minibatch_x'), load('minibatch_y'), {
    batchSize: mb.batch,
    kernel: 'rbf',
    weighting: 'size',
  });
  assert.equal(d.batches, 5);
  assert.equal(d.debiased, true);
  near(d.value, mb['rbf_0.5'], 1e-9, 'cka minibatch rbf');
  // float32 input is accepted and read exactly.
  const x32 = { data: Float32Array.from(x.data), rows: x.rows, cols: x.cols };
  const y32 = { data: Float32Array.from(y.data), rows: y.rows, cols: y.cols };
  near((await cka(x32, y32)).value, a.value, 1e-15, 'float32 input');
});

// ---------------------------------------------------------------------------------------------------------------
// (2) Invariances and identities, computed here in TypeScript

test('linear CKA: feature-space and Gram forms agree to 1e-10, plain and debiased, for p < n and p > n', async () => {
  for (const [n, p1, p2, seed] of [
    [90, 7, 12, 1],
    [40, 120, 75, 2],
    [33, 5, 200, 3],
    [4, 3, 6, 4],
  ]) {
    const x = randn(seed, n, p1, 3),
      y = related(x, p2, seed + 10);
    for (const debiased of [false, true]) {
      const f = await linearCKA(x, y, { form: 'feature', debiased });
      const g = await linearCKA(x, y, { form: 'gram', debiased });
      assert.equal(f.form, 'feature');
      assert.equal(g.form, 'gram');
      near(f.value, g.value, 1e-10 * Math.max(1, Math.abs(g.value)), `n=${n} p=${p1},${p2} debiased=${debiased}`);
    }
  }
  // auto picks by cost: feature space when p ≪ n, Gram matrices when p ≫ n.
  const tall = randn(5, 200, 6);
  assert.equal((await linearCKA(tall, tall)).form, 'feature');
  const wide = randn(6, 20, 300);
  assert.equal((await linearCKA(wide, wide)).form, 'gram');
});

test('CKA(X, X) = 1 and CKA(X, Y) = CKA(Y, X) for every variant', async () => {
  const x = randn(11, 60, 25, 2),
    y = related(x, 9, 12);
  const variants: [string, (a: Mat<Float64Array>, b: Mat<Float64Array>) => Promise<{ value: number }>][] = [
    ['linear feature', (a, b) => linearCKA(a, b, { form: 'feature' })],
    ['linear gram', (a, b) => linearCKA(a, b, { form: 'gram' })],
    ['linear debiased', (a, b) => linearCKA(a, b, { debiased: true })],
    ['rbf', (a, b) => rbfCKA(a, b)],
    ['rbf debiased', (a, b) => rbfCKA(a, b, { debiased: true, threshold: 1 })],
    ['minibatch linear', (a, b) => minibatchCKAOf(a, b, 16)],
    ['minibatch rbf', (a, b) => minibatchCKAOf(a, b, 16, { kernel: 'rbf' })],
  ];
  for (const [name, f] of variants) {
    near((await f(x, x)).value, 1, 1e-12, `${name} CKA(X,X)`);
    const xy = (await f(x, y)).value;
    assert.ok(xy > 0.05 && xy < 0.99, `${name}: CKA(X,Y) = ${xy} should be strictly between 0 and 1 here`);
    near((await f(y, x)).value, xy, 1e-12, `${name} symmetry`);
  }
});

test('CKA invariant to orthogonal maps, isotropic scaling, column shifts of X; not anisotropic scaling', async () => {
  const n = 50;
  for (const [p1, seed] of [
    [8, 21],
    [70, 22],
  ]) {
    const x = randn(seed, n, p1, 1),
      y = related(x, 10, seed + 5);
    const q = randomOrthogonal(p1, seed + 7);
    // Q is orthogonal: QᵀQ = I.
    const qtq = matmul(
      mat(
        Float64Array.from({ length: p1 * p1 }, (_, k) => q.data[(k % p1) * p1 + Math.floor(k / p1)]),
        p1,
        p1,
      ),
      q,
    );
    for (let i = 0; i < p1; i++) for (let j = 0; j < p1; j++) near(qtq.data[i * p1 + j], i === j ? 1 : 0, 1e-12, 'QᵀQ');
    const xq = matmul(x, q),
      xs = scaled(x, 37.5),
      xshift = mat(
        x.data.map((v, k) => v + 1000 * ((k % p1) + 1)),
        n,
        p1,
      );
    const variants: [string, (a: Mat<Float64Array>) => Promise<{ value: number }>][] = [
      ['linear', (a) => linearCKA(a, y)],
      ['linear debiased', (a) => linearCKA(a, y, { debiased: true })],
      ['rbf', (a) => rbfCKA(a, y)],
      ['rbf debiased', (a) => rbfCKA(a, y, { debiased: true })],
      ['minibatch', (a) => minibatchCKAOf(a, y, 10)],
    ];
    for (const [name, f] of variants) {
      const base = (await f(x)).value;
      near((await f(xq)).value, base, 1e-10, `${name} p=${p1} orthogonal`);
      near((await f(xs)).value, base, 1e-10, `${name} p=${p1} isotropic scaling`);
      near((await f(xshift)).value, base, 1e-9, `${name} p=${p1} column shift`);
    }
    // Negative control: scaling one direction changes linear CKA, so the checks above are not vacuous.
    const aniso = mat(
      x.data.map((v, k) => (k % p1 === 0 ? v * 10 : v)),
      n,
      p1,
    );
    assert.ok(Math.abs((await linearCKA(aniso, y)).value - (await linearCKA(x, y)).value) > 1e-3);
  }
});

test('centring helpers: H·K·H has zero row sums; U-centring has a zero diagonal and zero row sums', () => {
  const n = 9,
    x = randn(31, n, 4, 2);
  const k = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < 4; t++) s += x.data[i * 4 + t] * x.data[j * 4 + t];
      k[i * n + j] = s;
    }
  const h = centerGram(k.slice(), n),
    u = uCenterGram(k.slice(), n);
  for (let i = 0; i < n; i++) {
    let sh = 0,
      su = 0;
    for (let j = 0; j < n; j++) {
      sh += h[i * n + j];
      su += u[i * n + j];
    }
    near(sh, 0, 1e-11, `HKH row ${i}`);
    near(su, 0, 1e-11, `U(K) row ${i}`);
    assert.equal(u[i * n + i], 0);
  }
  // HKH equals the explicit product with H = I − 11ᵀ/n.
  const H = new Float64Array(n * n).map((_, idx) => (Math.floor(idx / n) === idx % n ? 1 : 0) - 1 / n);
  const hkh = matmul(matmul(mat(H, n, n), mat(k, n, n)), mat(H, n, n));
  for (let i = 0; i < n * n; i++) near(h[i], hkh.data[i], 1e-11, 'HKH explicit');
});

test('symmetricGram: row-blocked X·Xᵀ (upper blocks + mirror) equals the plain Gemm Gram, any blocking', async () => {
  for (const [n, p] of [
    [37, 13],
    [64, 5],
    [5, 40],
  ]) {
    const x = randn(90 + n, n, p);
    const want = (await gram(x)).data;
    for (const blocks of [1, 2, 3, 4, 7, n, n + 3]) {
      const g = await symmetricGram(x.data, n, p, blocks);
      assert.equal(g.length, n * n);
      let err = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          err = Math.max(err, Math.abs(g[i * n + j] - want[i * n + j]));
          assert.equal(g[i * n + j], g[j * n + i], `symmetric at ${i},${j} (n=${n}, blocks=${blocks})`);
        }
      assert.ok(err < 1e-12, `n=${n} p=${p} blocks=${blocks}: max error ${err}`);
    }
  }
});

test('median: numpy convention (mean of the two middle values for an even count), with ties, by quickselect', () => {
  const r = rng(77);
  assert.equal(median(Float64Array.from([3, 1, 2])), 2);
  assert.equal(median(Float64Array.from([4, 1, 3, 2])), 2.5);
  assert.equal(median(Float64Array.from([0, 0, 0, 5])), 0);
  assert.equal(median(Float64Array.from([7])), 7);
  for (let trial = 0; trial < 200; trial++) {
    const len = 1 + Math.floor(r() * 300);
    const a = Float64Array.from({ length: len }, () => (r() < 0.3 ? 0 : Math.floor(r() * 20)));
    const s = a.slice().sort();
    const want = len % 2 ? s[(len - 1) / 2] : (s[len / 2 - 1] + s[len / 2]) / 2;
    assert.equal(median(a), want, `length ${len}`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// (3) Errors: bad input is E_ARGUMENT with a message that names the cause

test('errors: mismatched sample counts, NaN/Infinity, too few samples', async () => {
  const x = randn(41, 100, 5),
    y99 = randn(42, 99, 5);
  await rejectsArg(linearCKA(x, y99), /^x has 100 samples, y has 99$/);
  await rejectsArg(cka(x, y99, { kernel: 'rbf' }), /x has 100 samples, y has 99/);
  await rejectsArg(cka(x, y99, { batchSize: 10 }), /x has 100 samples, y has 99/);

  const bad = x.data.slice();
  bad[17] = NaN;
  await rejectsArg(cka(mat(bad, 100, 5), x), /^x contains NaN at index \[3, 2\] \(flat index 17\)$/);
  const inf = x.data.slice();
  inf[42] = -Infinity;
  inf[60] = NaN;
  await rejectsArg(cka(x, mat(inf, 100, 5), { debiased: true }), /^y contains -Infinity at index \[8, 2\]/);

  const three = randn(43, 3, 4);
  await rejectsArg(linearCKA(three, three, { debiased: true }), /debiased CKA needs at least 4 samples, got 3/);
  await rejectsArg(linearCKA(three, three, { debiased: true, form: 'feature' }), /at least 4 samples/);
  await rejectsArg(rbfCKA(three, three, { debiased: true }), /at least 4 samples/);
  await rejectsArg(cka(three, three, { debiased: true }), /at least 4 samples/);
  await rejectsArg(cka(randn(44, 1, 4), randn(45, 1, 4)), /CKA needs at least 2 samples, got 1/);
  assert.ok(Number.isFinite((await cka(three, randn(46, 3, 2))).value)); // n = 3 is fine when not debiased
  await rejectsArg(rbfCKA(x, x, { threshold: 0 }), /threshold must be a positive number/);
});

test('errors: zero variance is an error, never NaN', async () => {
  const y = randn(51, 20, 3);
  // 0.1 does not centre to exact zeros in floating point; the check must still fire.
  const flat = mat(new Float64Array(20 * 3).fill(0.1), 20, 3);
  for (const opts of [
    {},
    { debiased: true },
    { kernel: 'rbf' as const },
    { kernel: 'rbf' as const, debiased: true },
    { batchSize: 5 },
  ]) {
    await rejectsArg(cka(flat, y, opts), /^x has zero variance after centring; CKA is undefined$/);
    await rejectsArg(cka(y, flat, opts), /^y has zero variance after centring; CKA is undefined$/);
  }
  await rejectsArg(linearCKA(flat, y, { form: 'gram' }), /x has zero variance/);
  await rejectsArg(linearCKA(flat, y, { form: 'feature' }), /x has zero variance/);
  // RBF with most samples identical: the median squared distance is 0, the bandwidth undefined.
  const dup = new Float64Array(20 * 3).fill(1);
  dup[0] = 2;
  dup[4] = 5;
  await rejectsArg(rbfCKA(mat(dup, 20, 3), y), /x: the median squared distance between samples is 0/);
  // Minibatch over a stream where every batch of x is constant: the accumulated self term is 0.
  async function* constBatches(): AsyncGenerator<CkaBatch> {
    for (let b = 0; b < 3; b++) yield { x: mat(new Float64Array(8 * 2).fill(b + 0.1), 8, 2), y: randn(60 + b, 8, 2) };
  }
  await rejectsArg(minibatchCKA(constBatches()), /^x has zero variance after centring/);
});

test('errors: minibatch batches smaller than 4 are named; a ragged last batch suggests another size', async () => {
  const x = randn(71, 50, 4),
    y = randn(72, 50, 3);
  // 50 = 3 × 16 + 2
  await rejectsArg(
    minibatchCKAOf(x, y, 16),
    /last batch has 2 samples; minibatch CKA needs at least 4 per batch — try --batch-size (\d+)/,
  );
  const m = await minibatchCKAOf(x, y, 16).catch((e: Error) => /try --batch-size (\d+)/.exec(e.message));
  const suggested = Number((m as RegExpExecArray)[1]);
  const ok = await minibatchCKAOf(x, y, suggested);
  assert.ok(Number.isFinite(ok.value), `suggested batch size ${suggested} works`);
  await rejectsArg(minibatchCKAOf(x, y, 3), /batch-size must be an integer ≥ 4/);
  await rejectsArg(cka(x, y, { batchSize: 2.5 }), /batch-size must be an integer ≥ 4/);
  async function* stream(): AsyncGenerator<CkaBatch> {
    yield { x: randn(73, 8, 4), y: randn(74, 8, 3) };
    yield { x: randn(75, 3, 4), y: randn(76, 3, 3) };
  }
  await rejectsArg(minibatchCKA(stream()), /^batch 1 has 3 samples; minibatch CKA needs at least 4 per batch/);
  async function* mismatched(): AsyncGenerator<CkaBatch> {
    yield { x: randn(77, 8, 4), y: randn(78, 7, 3) };
  }
  await rejectsArg(minibatchCKA(mismatched()), /^batch 0 \(samples 0–7\): x has 8 samples, y has 7$/);
  async function* nan(): AsyncGenerator<CkaBatch> {
    yield { x: randn(79, 8, 4), y: randn(80, 8, 3) };
    const b = randn(81, 8, 4);
    b.data[5] = NaN;
    yield { x: b, y: randn(82, 8, 3) };
  }
  await rejectsArg(minibatchCKA(nan()), /^batch 1 \(samples 8–15\): x contains NaN at index \[1, 1\]/);
  await rejectsArg(minibatchCKA([]), /got no batches/);
});
