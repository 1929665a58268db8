// The `replens metric` contract: one JSON object on stdout per metric, exit 2 with one line on bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { writeNpy } from '../src/engine/npy';
import { rng } from '../src/engine/onnx/builder';
import { tempDir } from './helpers/tmp';

const CLI = path.join(__dirname, '..', 'dist', 'cli.js');
const tmp = tempDir('replens-metric-');
const r = rng(17);
function npy(name: string, shape: number[], data: ArrayLike<number>, type: 'f64' | 'f32' | 'i64' = 'f64'): string {
  const file = path.join(tmp, name);
  const d =
    type === 'f64'
      ? Float64Array.from(data)
      : type === 'f32'
        ? Float32Array.from(data)
        : BigInt64Array.from(Array.from(data), (v) => BigInt(v));
  writeNpy(file, { shape, data: d });
  return file;
}
function metric(...args: string[]) {
  const p = spawnSync(process.execPath, [CLI, 'metric', ...args], { encoding: 'utf8' });
  return { code: p.status, json: p.status === 0 ? JSON.parse(p.stdout) : null, err: p.stderr, out: p.stdout };
}
function fails(res: ReturnType<typeof metric>, re: RegExp) {
  assert.equal(res.code, 2, `exit code; stderr ${res.err}`);
  assert.match(res.err, re);
  assert.equal(res.err.trim().split('\n').length, 1);
}

const n = 60;
const X = Array.from({ length: n * 8 }, () => r() - 0.5);
const x = npy('x.npy', [n, 8], X);
const x32 = npy('x32.npy', [n, 2, 2, 2], X, 'f32');
const y = npy(
  'y.npy',
  [n, 5],
  Array.from({ length: n * 5 }, () => r()),
);

test('cka: X with itself is 1 in every variant; a float32 4-D copy reads the same', () => {
  for (const flags of [
    [],
    ['--kernel', 'rbf'],
    ['--debiased'],
    ['--kernel', 'rbf', '--threshold', '1', '--debiased'],
    ['--batch-size', '20'],
  ]) {
    const res = metric('cka', '--x', x, '--y', x32, ...flags);
    assert.equal(res.code, 0, res.err);
    assert.ok(Math.abs(res.json.value - 1) < 1e-6, `${flags.join(',')}: ${res.json.value}`);
  }
  const xy = metric('cka', '--x', x, '--y', y);
  assert.ok(xy.json.value > 0 && xy.json.value < 1);
});

test('cca / svcca / pwcca: X against an invertible linear map of itself correlates perfectly', () => {
  const A = [
    2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
    0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1,
  ];
  const XA = new Float64Array(n * 8);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < 8; j++) {
      let s = 0;
      for (let k = 0; k < 8; k++) s += X[i * 8 + k] * A[k * 8 + j];
      XA[i * 8 + j] = s;
    }
  const xa = npy('xa.npy', [n, 8], XA);
  const c = metric('cca', '--x', x, '--y', xa);
  assert.equal(c.code, 0, c.err);
  assert.equal(c.json.coefficients.length, 8);
  for (const rho of c.json.coefficients) assert.ok(Math.abs(rho - 1) < 1e-7, String(rho));
  assert.ok(Math.abs(metric('svcca', '--x', x, '--y', xa).json.value - 1) < 1e-7);
  assert.ok(Math.abs(metric('pwcca', '--x', x, '--y', xa).json.value - 1) < 1e-7);
  const s = metric('svcca', '--x', x, '--y', y, '--keep-variance', '0.9');
  for (const k of ['value', 'kx', 'ky']) assert.ok(k in s.json, k);
});

test('knn / nncs / nnls on a hand case: points on a line, ties go to the lower index', () => {
  // 0, 1, 2, 4, 8 on a line: neighbours of 1 are 0 and 2 at distance 1 (tie → 0 first).
  const line = npy('line.npy', [5, 1], [0, 1, 2, 4, 8]);
  const k = metric('knn', '--x', line, '--k', '2');
  assert.deepEqual(k.json.indices, [
    [1, 2],
    [0, 2],
    [1, 0],
    [2, 1],
    [3, 2],
  ]);
  const labels = npy('labels.npy', [5], [0, 0, 0, 1, 1], 'i64');
  // same-label neighbours: 0:{1,2}→2, 1:{0,2}→2, 2:{1,0}→2, 3:{2,1}→0, 4:{3,2}→1 → 7/10
  assert.ok(Math.abs(metric('nncs', '--x', line, '--labels', labels, '--k', '2').json.value - 0.7) < 1e-12);
  const other = npy('other.npy', [5, 1], [0, 1, 2, 3, 8]);
  const l = metric('nnls', '--x', line, '--y', other, '--k', '2');
  // K_b: 0:{1,2} 1:{0,2} 2:{1,3} 3:{2,1} 4:{3,2}; Jaccard with K_a: 1, 1, 1/3, 1, 1
  assert.deepEqual(
    l.json.per_sample.map((v: number) => +v.toFixed(12)),
    [1, 1, +(1 / 3).toFixed(12), 1, 1],
  );
  assert.ok(Math.abs(l.json.value - (4 + 1 / 3) / 5) < 1e-12);
});

test('twonn, selectivity and ars give their documented keys and hand values', () => {
  const plane = Array.from({ length: 2000 * 6 }, (_, i) => (i % 6 < 2 ? r() : 0));
  const t = metric('twonn', '--x', npy('plane.npy', [2000, 6], plane));
  assert.ok(Math.abs(t.json.value - 2) < 0.25, `ID ${t.json.value}`);
  for (const k of ['value', 'ml', 'dropped']) assert.ok(k in t.json, k);
  // two units, classes 0 and 1: unit 0 fires only for class 0 (means 2, 0) → SI 1; unit 1 equal (1, 1) → 0.
  const s = metric(
    'selectivity',
    '--acts',
    npy('acts.npy', [4, 2], [2, 1, 2, 1, 0, 1, 0, 1]),
    '--labels',
    npy('sl.npy', [4], [0, 0, 1, 1], 'i64'),
  );
  assert.deepEqual(s.json.per_unit, [1, 0]);
  assert.deepEqual(s.json.argmax_class.slice(0, 1), [0]);
  assert.equal(s.json.value, 0.5);
  // ARS: 2 kernels, 1×1 maps. Row 0: x = [1, 2] → RS = 1/2, AR = 1 → 2·atan(0.5)/π;
  // row 1: x = [3, 2] → RS = 1/2, AR = 1.
  const a = metric('ars', '--acts', npy('ars.npy', [2, 2, 1, 1], [1, 2, 3, 2]));
  const want = (2 * Math.atan(0.5)) / Math.PI;
  assert.ok(Math.abs(a.json.ars[0] - want) < 1e-12 && Math.abs(a.json.ars[1] - want) < 1e-12);
});

test('noise-svd: the orthogonal hand case, groups, centring and errors', () => {
  // rows 3·e1, 1·e2, 2·e3: s = (3, 2, 1), EV = (9, 4, 1)/14; two such groups (the second scaled by 2: same ratios).
  const one = [3, 0, 0, 0, 1, 0, 0, 0, 2];
  const r1 = metric('noise-svd', '--acts', npy('ns1.npy', [3, 3], one));
  assert.ok(Math.abs(r1.json.value - 9 / 14) < 1e-14);
  assert.deepEqual(
    r1.json.singular_values.map((v: number) => +v.toFixed(12)),
    [3, 2, 1],
  );
  const r2 = metric(
    'noise-svd',
    '--acts',
    npy('ns2.npy', [6, 3], [...one, ...one.map((v) => 2 * v)]),
    '--group-size',
    '3',
  );
  assert.equal(r2.json.groups.length, 2);
  assert.ok(Math.abs(r2.json.groups[1].s1 - 6) < 1e-12 && Math.abs(r2.json.groups[1].rest - 1 / 14) < 1e-14);
  const same = metric('noise-svd', '--acts', npy('ns3.npy', [3, 2], [1, 2, 1, 2, 1, 2]));
  assert.ok(Math.abs(same.json.value - 1) < 1e-15, 'identical copies: one component');
  fails(metric('noise-svd', '--acts', npy('ns4.npy', [3, 2], [1, 2, 1, 2, 1, 2]), '--centre'), /do not vary/);
  fails(
    metric('noise-svd', '--acts', npy('ns5.npy', [5, 2], new Array(10).fill(1)), '--group-size', '2'),
    /not a whole number of groups of 2/,
  );
});

test('bad input: exit 2 with one line', () => {
  fails(
    metric('cka', '--x', x, '--y', npy('short.npy', [59, 5], new Array(59 * 5).fill(1))),
    /--x has 60 samples, --y has 59/,
  );
  const nan = X.slice();
  nan[17] = NaN;
  fails(metric('cka', '--x', npy('nan.npy', [n, 8], nan), '--y', x), /NaN at flat index 17/);
  fails(metric('cka', '--x', x, '--y', x, '--kernal', 'rbf'), /no option '--kernal'; did you mean '--kernel'/);
  fails(metric('ckaa', '--x', x), /unknown metric 'ckaa'; did you mean 'cka'/);
  const tiny = npy('tiny.npy', [3, 2], [1, 2, 3, 4, 5, 7]);
  fails(metric('cka', '--x', tiny, '--y', tiny, '--debiased'), /4/);
  fails(metric('knn', '--x', tiny, '--k', '3'), /k/);
  fails(metric('twonn', '--x', x, '--fraction', '1.5'), /--fraction must be in \(0, 1\]/);
});
