// kNN graph, NNCS, NNLS, pooling and the RRA default rule: hand-computed cases (with ties), the numpy fixtures of
// scripts/fixtures/make_rra_fixtures.py (brute force, stable argsort), and the one-line argument errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { ActivationStore } from '../src/engine/capture/store';
import { mat, Mat } from '../src/engine/linalg/gemm';
import { knnGraph, knnWithDistances, knnRows } from '../src/engine/metrics/knn';
import { nncs, nncsFromGraph } from '../src/engine/metrics/nncs';
import { multiScaleRra, nnls } from '../src/engine/metrics/nnls';
import { twoNN } from '../src/engine/metrics/twonn';
import { poolFeatures } from '../src/engine/metrics/pooling';
import { balancedSubset, rraDefaults } from '../src/engine/metrics/rra-defaults';
import { ReplensError } from '../src/engine/errors';
import { tempDir } from './helpers/tmp';

const FX = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'metrics', 'rra', 'rra.json'), 'utf8'));

function m(rows: number[][]): Mat<Float64Array> {
  return mat(Float64Array.from(rows.flat()), rows.length, rows[0].length);
}
function line(xs: number[]): Mat<Float64Array> {
  return m(xs.map((v) => [v]));
}

async function rejects(p: Promise<unknown> | (() => unknown), re: RegExp): Promise<void> {
  await assert.rejects(
    async () => {
      await (typeof p === 'function' ? p() : p);
    },
    (e: unknown) => {
      assert.ok(e instanceof ReplensError, `not a ReplensError: ${String(e)}`);
      assert.equal(e.code, 'E_ARGUMENT');
      assert.ok(!e.message.includes('\n'));
      assert.match(e.message, re);
      return true;
    },
  );
}

// Points on a line at 0, 1, 2, 3, 5. Ties: sample 1 is 1 from both 0 and 2 (→ 0 first); sample 3 is 2 from
// both 1 and 4 (→ 1 second).
const LINE = [0, 1, 2, 3, 5];
const LINE_K2 = [
  [1, 2],
  [0, 2],
  [1, 3],
  [2, 1],
  [3, 2],
];

test('knnGraph: hand-computed 1-D case with ties broken by the lower index, nearest first', async () => {
  const g = await knnGraph(line(LINE), 2);
  assert.ok(g instanceof Int32Array);
  assert.deepEqual(knnRows(g, 2), LINE_K2);
  assert.deepEqual(knnRows(await knnGraph(line(LINE), 1), 1), [[1], [0], [1], [2], [3]]);
  assert.deepEqual(knnRows(await knnGraph(line(LINE), 4), 4), [
    [1, 2, 3, 4],
    [0, 2, 3, 4],
    [1, 3, 0, 4],
    [2, 1, 4, 0],
    [3, 2, 1, 0],
  ]);
});

test('knnGraph: square corners and centre — four-way ties go to the lowest indices', async () => {
  const x = m([
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
    [0.5, 0.5],
  ]);
  assert.deepEqual(knnRows(await knnGraph(x, 1), 1), [[4], [4], [4], [4], [0]]);
  assert.deepEqual(knnRows(await knnGraph(x, 3), 3), [
    [4, 1, 2],
    [4, 0, 3],
    [4, 0, 3],
    [4, 1, 2],
    [0, 1, 2],
  ]);
  const r = await knnWithDistances(x, 2);
  assert.deepEqual(Array.from(r.distances), [
    Math.SQRT1_2,
    1,
    Math.SQRT1_2,
    1,
    Math.SQRT1_2,
    1,
    Math.SQRT1_2,
    1,
    Math.SQRT1_2,
    Math.SQRT1_2,
  ]);
});

test('knnGraph: duplicates are neighbours at distance 0, the sample itself never is', async () => {
  const r = await knnWithDistances(line([0, 0, 1, 0]), 2);
  assert.deepEqual(knnRows(r.indices, 2), [
    [1, 3],
    [0, 3],
    [0, 1],
    [0, 1],
  ]);
  assert.deepEqual(Array.from(r.distances), [0, 0, 0, 0, 1, 1, 0, 0]);
});

test('knnGraph: the tie rule survives GEMM rounding (norms ~1e16, distances ~1)', async () => {
  // Shifted by 1e8 the squared norms exceed 2^53, so ‖a‖²+‖b‖²−2ab is off by several units; the exact recompute
  // of the boundary candidates must still give the unshifted graph.
  const g = await knnGraph(line(LINE.map((v) => v + 1e8)), 2);
  assert.deepEqual(knnRows(g, 2), LINE_K2);
  const g4 = await knnGraph(m(LINE.map((v) => [v + 1e8, 3e7, -2e7])), 4);
  assert.deepEqual(knnRows(g4, 4), [
    [1, 2, 3, 4],
    [0, 2, 3, 4],
    [1, 3, 0, 4],
    [2, 1, 4, 0],
    [3, 2, 1, 0],
  ]);
});

test('knnGraph: a 12-way exact tie past k+1 candidates, under GEMM rounding, goes to the lowest indices', async () => {
  // 12 integer points at distance exactly 5 from a centre, all shifted by 1e8: the GEMM distances of the ring are
  // scrambled by rounding, so the right neighbours are found only by collecting every near-tied candidate.
  const ring = [
    [5, 0],
    [0, 5],
    [-5, 0],
    [0, -5],
    [3, 4],
    [4, 3],
    [-3, 4],
    [-4, 3],
    [3, -4],
    [4, -3],
    [-3, -4],
    [-4, -3],
  ];
  const pts = [...ring, [0, 0]].map(([a, b]) => [a + 1e8, b - 1e8]);
  const brute = (k: number) =>
    pts.map((p, i) =>
      pts
        .map((q, j) => [(p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2, j])
        .filter(([, j]) => j !== i)
        .sort((u, v) => u[0] - v[0] || u[1] - v[1])
        .slice(0, k)
        .map(([, j]) => j),
    );
  for (const k of [1, 3, 6, 11]) {
    const g = knnRows(await knnGraph(m(pts), k), k);
    assert.deepEqual(
      g[12],
      Array.from({ length: k }, (_, t) => t),
      `centre, k = ${k}`,
    );
    assert.deepEqual(g, brute(k), `k = ${k}`);
  }
});

test('knnGraph: the same graph for every block size', async () => {
  const s = FX.sets.gauss as number[][];
  const x = m(s);
  const want = await knnGraph(x, 7);
  for (const blockRows of [1, 3, 17, 80, 1000])
    assert.deepEqual(await knnGraph(x, 7, { blockRows }), want, `blockRows ${blockRows}`);
});

test('knnWithDistances from a spilled ActivationStore (RowSource): the same exact graph as from memory', async () => {
  const s = FX.sets.gauss as number[][];
  const store = new ActivationStore(256, tempDir('replens-knn-'));
  const D = s[0].length;
  for (let r = 0; r < s.length; r += 6) {
    const part = s.slice(r, r + 6);
    store.append('x', Float32Array.from(part.flat()), part.length, [D]);
  }
  assert.deepEqual(store.spilled, ['x']);
  const x32 = m(s.map((row) => row.map((v) => Math.fround(v))));
  for (const screening of ['float64', 'float32'] as const) {
    for (const order of ['exact', 'set'] as const) {
      const want = await knnWithDistances(x32, 7, { screening, order, blockRows: 9 });
      const got = await knnWithDistances(store.source('x'), 7, { screening, order, blockRows: 9 });
      assert.deepEqual(got.indices, want.indices, `${screening} ${order}`);
      assert.deepEqual(got.distances, want.distances, `${screening} ${order}`);
    }
  }
  // Ties beyond the heap force the rescreen path, which reads arbitrary rows from the file.
  let seed = 11;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const cube = Array.from({ length: 120 }, () => Array.from({ length: 8 }, () => 1e3 + Math.round(rnd()) / 2));
  const tiny = new ActivationStore(16, tempDir('replens-knn-'));
  for (const p of cube) tiny.append('r', Float32Array.from(p), 1, [8]);
  const cubeWant = await knnWithDistances(m(cube), 3, { screening: 'float64' });
  const cubeGot = await knnWithDistances(tiny.source('r'), 3, { screening: 'float32', blockRows: 32 });
  assert.ok(cubeGot.rescreened > 0);
  assert.deepEqual(cubeGot.indices, cubeWant.indices);
  assert.deepEqual(cubeGot.distances, cubeWant.distances);
  // A NaN in the file is named by its row and column.
  tiny.append('bad', Float32Array.from([1, 2, 3, NaN]), 2, [2]);
  tiny.append('bad', Float32Array.from([0, 0]), 1, [2]);
  await rejects(knnWithDistances(tiny.source('bad'), 1), /x contains NaN at index \[1, 1\]/);
  store.dispose();
  tiny.dispose();
});

test('knnGraph = numpy brute force (stable argsort) on the fixtures: indices exactly, distances to 1e-9', async () => {
  for (const f of FX.knn) {
    const rows = f.set === 'gauss40' ? (FX.sets.gauss as number[][]).slice(0, 40) : FX.sets[f.set];
    const r = await knnWithDistances(m(rows), f.k);
    assert.deepEqual(knnRows(r.indices, f.k), f.indices, f.name);
    const want = (f.distances as number[][]).flat();
    for (let t = 0; t < want.length; t++)
      assert.ok(Math.abs(r.distances[t] - want[t]) <= 1e-9 * Math.max(1, want[t]), `${f.name} distance ${t}`);
  }
});

test('knnGraph, float32 screening: same exact graph as float64 screening on hand cases, ties, fixtures', async () => {
  const screening = 'float32' as const;
  assert.deepEqual(knnRows(await knnGraph(line(LINE), 2, { screening }), 2), LINE_K2);
  assert.deepEqual(knnRows(await knnGraph(line(LINE.map((v) => v + 1e8)), 2, { screening }), 2), LINE_K2);
  assert.deepEqual(knnRows(await knnGraph(line([0, 0, 1, 0]), 2, { screening }), 2), [
    [1, 3],
    [0, 3],
    [0, 1],
    [0, 1],
  ]);
  // The 12-way ring tie shifted by 1e8: far beyond float32's 24 bits, every ring distance screens as equal.
  const ring = [
    [5, 0],
    [0, 5],
    [-5, 0],
    [0, -5],
    [3, 4],
    [4, 3],
    [-3, 4],
    [-4, 3],
    [3, -4],
    [4, -3],
    [-3, -4],
    [-4, -3],
  ];
  const pts = [...ring, [0, 0]].map(([a, b]) => [a + 1e8, b - 1e8]);
  for (const k of [1, 3, 6, 11]) {
    assert.deepEqual(
      await knnGraph(m(pts), k, { screening }),
      await knnGraph(m(pts), k, { screening: 'float64' }),
      `ring k = ${k}`,
    );
  }
  for (const f of FX.knn) {
    const rows = f.set === 'gauss40' ? (FX.sets.gauss as number[][]).slice(0, 40) : FX.sets[f.set];
    const r = await knnWithDistances(m(rows), f.k, { screening });
    assert.equal(r.screening, 'float32');
    assert.deepEqual(knnRows(r.indices, f.k), f.indices, f.name);
  }
});

test('knnGraph, float32 = float64 screening: ReLU-like data, large mean, many near-ties, any block size', async () => {
  // 600 points in 64 dimensions: a large common offset (1e3), 8 coordinates in {0, ½} so hundreds of distances
  // tie exactly (more than the heap holds: rows are rescreened), and exact duplicates.
  let seed = 7;
  const r = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const rows: number[][] = [];
  for (let i = 0; i < 600; i++) {
    if (i % 50 === 49) {
      rows.push(rows[i - 1].slice());
      continue;
    }
    rows.push(Array.from({ length: 64 }, (_, t) => 1e3 + (t % 8 === 0 ? Math.round(r()) / 2 : 0)));
  }
  const x = m(rows);
  const want = await knnWithDistances(x, 10, { screening: 'float64' });
  for (const blockRows of [64, 256, 1024]) {
    const got = await knnWithDistances(x, 10, { screening: 'float32', blockRows });
    assert.deepEqual(got.indices, want.indices, `blockRows ${blockRows}`);
    assert.deepEqual(got.distances, want.distances);
  }
});

test('knnGraph: float32 samples give the same exact graph as the same values in float64', async () => {
  const r = (() => {
    let s = 3;
    return () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648;
    };
  })();
  const x32 = Float32Array.from({ length: 300 * 20 }, () => Math.round(r() * 8) / 8 + 100);
  const x64 = Float64Array.from(x32);
  for (const screening of ['float32', 'float64'] as const) {
    const a = await knnWithDistances({ data: x32, rows: 300, cols: 20 }, 6, { screening });
    const b = await knnWithDistances({ data: x64, rows: 300, cols: 20 }, 6, { screening });
    assert.deepEqual(a.indices, b.indices, screening);
    assert.deepEqual(a.distances, b.distances, screening);
  }
});

test("knn order 'set': the exact neighbour sets and the exact two nearest, on tie-heavy and random data", async () => {
  let seed = 11;
  const r = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const cases: [string, Mat<Float64Array>, number][] = [];
  // many exact ties (8 coordinates in {0, ½}) on a large offset, and duplicates
  const tie: number[][] = [];
  for (let i = 0; i < 400; i++)
    tie.push(
      i % 40 === 39
        ? tie[i - 1].slice()
        : Array.from({ length: 32 }, (_, t) => 1e3 + (t % 4 === 0 ? Math.round(r()) / 2 : 0)),
    );
  cases.push(['ties', m(tie), 12]);
  // ReLU-like random data
  cases.push([
    'relu',
    m(Array.from({ length: 500 }, () => Array.from({ length: 48 }, () => Math.max(0, r() * 2 - 1.2)))),
    25,
  ]);
  for (const [name, x, k] of cases) {
    for (const screening of ['float32', 'float64'] as const) {
      const a = await knnWithDistances(x, k, { screening });
      const b = await knnWithDistances(x, k, { screening, order: 'set' });
      for (let i = 0; i < x.rows; i++) {
        const sa = [...a.indices.subarray(i * k, (i + 1) * k)].sort((p, q) => p - q),
          sb = [...b.indices.subarray(i * k, (i + 1) * k)].sort((p, q) => p - q);
        assert.deepEqual(sb, sa, `${name} ${screening} row ${i}: neighbour set`);
        for (let t = 0; t < 2; t++) {
          assert.equal(b.indices[i * k + t], a.indices[i * k + t], `${name} ${screening} row ${i}: neighbour ${t}`);
          assert.equal(b.distances[i * k + t], a.distances[i * k + t]);
        }
      }
      assert.ok(
        b.candidates <= a.candidates,
        `${name}: set mode recomputes no more (${b.candidates} vs ${a.candidates})`,
      );
    }
  }
});

test('knnGraph: argument errors are one-line E_ARGUMENT', async () => {
  const x = line(LINE);
  await rejects(knnGraph(x, 5), /smaller than the number of samples \(5\)/);
  await rejects(knnGraph(x, 0), /positive integer/);
  await rejects(knnGraph(x, 1.5), /positive integer/);
  await rejects(knnGraph(line([0, NaN, 1]), 1), /contains (NaN|Infinity)/);
  await rejects(knnGraph(line([0, Infinity, 1]), 1), /contains (NaN|Infinity)/);
  await rejects(knnGraph(x, 1, { blockRows: 0 }), /blockRows/);
});

test('NNCS: hand-computed case (eq. 3.4) and the fixtures', async () => {
  // Graph LINE_K2 with labels 0,0,1,1,1: same-class neighbour counts 1,1,1,1,2 → 6/(5·2).
  assert.equal((await nncs(line(LINE), [0, 0, 1, 1, 1], 2)).value, 0.6);
  assert.equal(nncsFromGraph(Int32Array.from(LINE_K2.flat()), [0, 0, 1, 1, 1], 2).value, 0.6);
  assert.equal((await nncs(line(LINE), [0, 1, 0, 1, 0], 1)).value, 0); // every nearest neighbour alternates class
  for (const f of FX.nncs) {
    const r = await nncs(m(FX.sets[f.set]), Int32Array.from(f.labels), f.k);
    assert.ok(Math.abs(r.value - f.value) <= 1e-12, `${f.name}: ${r.value} vs ${f.value}`);
  }
});

test('NNCS: argument errors', async () => {
  await rejects(nncs(line(LINE), [0, 0, 1, 1], 2), /4 entries but there are 5 samples/);
  await rejects(nncs(line(LINE), [0, 0, 1, 1, 0.5], 2), /not an integer/);
  await rejects(nncs(line(LINE), [0, 0, 1, 1, 1], 5), /smaller than/);
  await rejects(
    nncs(line(LINE), [0, 0, 1, 1, 1], 2, { pool: { kind: 'avg', size: 2 }, shape: [5, 2] }),
    /does not match/,
  );
});

test('NNLS: hand-computed case (eqs. 3.2–3.3)', async () => {
  // y on a line at 0, 10, 1, 11, 2 → graph [[2,4],[3,4],[0,4],[1,4],[2,0]]; IoU with LINE_K2: 1/3, 0, 0, 1/3, 1/3.
  const r = await nnls(line(LINE), line([0, 10, 1, 11, 2]), 2);
  assert.deepEqual(r.per_sample, [1 / 3, 0, 0, 1 / 3, 1 / 3]);
  assert.ok(Math.abs(r.value - 0.2) < 1e-15);
  const self = await nnls(line(LINE), m(LINE.map((v) => [2 * v, -v])), 2); // a similarity transform: same graph
  assert.equal(self.value, 1);
});

test('NNLS: equals the numpy fixtures to 1e-12 per sample', async () => {
  for (const f of FX.nnls) {
    const r = await nnls(m(FX.sets.gauss), m(f.y), f.k);
    assert.ok(Math.abs(r.value - f.value) <= 1e-12, f.name);
    assert.equal(r.per_sample.length, f.per_sample.length);
    r.per_sample.forEach((v, i) => assert.ok(Math.abs(v - f.per_sample[i]) <= 1e-12, `${f.name} sample ${i}`));
  }
});

test('NNLS: argument errors', async () => {
  await rejects(nnls(line(LINE), line([1, 2, 3, 4]), 2), /x has 5 samples but y has 4/);
  await rejects(nnls(line(LINE), line([1, 2, 3, 4, 5]), 5), /smaller than/);
  await rejects(nnls(line(LINE), line([1, 2, NaN, 4, 5]), 2), /contains (NaN|Infinity)/);
});

test('poolFeatures: hand-computed avg/max, floor windows, global, pass-through for (n, F)', () => {
  const a = Float64Array.from({ length: 20 }, (_, i) => i); // 1×1×4×5
  assert.deepEqual(poolFeatures(a, [1, 1, 4, 5], 'avg', 2), {
    data: Float64Array.from([3, 5, 13, 15]),
    shape: [1, 1, 2, 2],
  });
  assert.deepEqual(poolFeatures(a, [1, 1, 4, 5], 'max', 2), {
    data: Float64Array.from([6, 8, 16, 18]),
    shape: [1, 1, 2, 2],
  });
  assert.deepEqual(poolFeatures(a, [1, 1, 4, 5], 'max', 3), { data: Float64Array.from([12]), shape: [1, 1, 1, 1] });
  assert.deepEqual(poolFeatures(a, [1, 1, 4, 5], 'avg', 'global'), {
    data: Float64Array.from([9.5]),
    shape: [1, 1, 1, 1],
  });
  assert.deepEqual(poolFeatures(a, [2, 2, 1, 5], 'max', 'global'), {
    data: Float64Array.from([4, 9, 14, 19]),
    shape: [2, 2, 1, 1],
  });
  assert.deepEqual(poolFeatures(a, [4, 5], 'max', 2), { data: a, shape: [4, 5] });
  assert.throws(() => poolFeatures(a, [1, 1, 4, 5], 'avg', 5), /larger than the 4×5/);
  assert.throws(() => poolFeatures(a, [1, 1, 4, 5], 'avg', 0), /positive integer or global/);
  assert.throws(() => poolFeatures(a, [1, 4, 5], 'avg', 2), /\(n, C, H, W\)/);
  assert.throws(() => poolFeatures(a, [1, 1, 4, 4], 'avg', 2), /needs 16 values/);
});

test('multi-scale NNCS: pooled features and NNCS equal the numpy fixtures', async () => {
  const conv = FX.conv;
  const data = Float64Array.from(conv.data as number[]);
  const n = conv.shape[0];
  for (const f of FX.pool) {
    const p = poolFeatures(data, conv.shape, f.kind, f.size);
    assert.deepEqual(p.shape, f.shape);
    for (let i = 0; i < p.data.length; i++)
      assert.ok(Math.abs(p.data[i] - f.data[i]) <= 1e-12, `${f.kind} ${f.size} value ${i}`);
    const r = await nncs(mat(data, n, data.length / n), Int32Array.from(conv.labels), f.k, {
      pool: { kind: f.kind, size: f.size },
      shape: conv.shape,
    });
    assert.ok(Math.abs(r.value - f.nncs) <= 1e-12, `${f.kind} ${f.size}: ${r.value} vs ${f.nncs}`);
  }
});

test('rraDefaults: the thesis ch. 5 rule reproduces its (samples, neighbours) pairs', () => {
  const pick = (n: number, c: number) => {
    const d = rraDefaults(n, c);
    return [d.samples, d.neighbours];
  };
  assert.deepEqual(pick(50000, 10), [15000, 150]); // CIFAR10 training partition
  assert.deepEqual(pick(50000, 50), [30000, 60]); // ImageNet64x64-50
  assert.deepEqual(pick(10000, 10), [10000, 100]); // CIFAR10 validation partition
  assert.deepEqual(pick(1000, 50), [1000, 2]); // at least 2 neighbours so TwoNN can run
  assert.deepEqual(pick(100, 10), [100, 2]);
  assert.deepEqual(pick(3, 1), [3, 2]); // and fewer than the samples
  const d = rraDefaults(50000, 10);
  assert.equal(d.ndr, 0.01);
  assert.equal(d.perClass, 1500);
  assert.match(d.rule, /10 · 10 classes/);
  assert.throws(() => rraDefaults(2, 10), /at least 3 samples/);
  assert.throws(() => rraDefaults(100, 0), /positive integer/);
});

test('multiScaleRra (Alg. 1): per scale ID/NNCS/intra-NNLS match the single metrics; eq. 6.1 matrix', async () => {
  const conv = FX.conv;
  const data = Float64Array.from(conv.data as number[]);
  const n = conv.shape[0];
  const labels = Int32Array.from(conv.labels);
  const flat = Float64Array.from(
    (FX.pool as { kind: string; size: unknown; data: number[] }[]).find((p) => p.kind === 'avg' && p.size === 'global')!
      .data,
  );
  const layers = [
    { name: 'conv', data, shape: conv.shape },
    { name: 'gap', data: flat, shape: [n, conv.shape[1]] }, // (n, F): never pooled
  ];
  const res = await multiScaleRra(layers, labels, 5, {
    scales: [
      { kind: 'max', size: 2 },
      { kind: 'avg', size: 8 },
    ],
  });
  assert.deepEqual(
    res.map((r) => r.scale),
    ['none', 'max 2', 'avg 8'],
  );
  const fx = (kind: string, size: unknown) =>
    (FX.pool as { kind: string; size: unknown; nncs: number }[]).find((p) => p.kind === kind && p.size === size)!.nncs;
  assert.ok(Math.abs(res[1].layers[0].nncs! - fx('max', 2)) < 1e-12);
  assert.equal(res[2].layers[0].window, 'global'); // 8 > 6×7 map → global
  assert.ok(Math.abs(res[2].layers[0].nncs! - fx('avg', 'global')) < 1e-12);
  assert.equal(res[1].layers[1].window, null);
  assert.equal(res[1].layers[1].features, 3);
  for (const r of res) {
    assert.equal(r.nnls[0][0], 1);
    assert.equal(r.nnls[0][1], r.nnls[1][0]);
  }
  // the GAP layer equals the globally avg-pooled conv layer → NNLS 1 at 'avg 8' (global), and eq. 6.1's
  // unpooled-vs-pooled entry for (gap, conv@avg8) is 1 as well.
  assert.equal(res[2].nnls[0][1], 1);
  assert.equal(res[2].nnlsVsUnpooled![1][0], 1);
  const want = (await nnls(mat(data, n, data.length / n), mat(flat, n, 3), 5)).value;
  assert.ok(Math.abs(res[0].nnls[0][1] - want) < 1e-15);
  const id = await twoNN(mat(data, n, data.length / n));
  assert.deepEqual(res[0].layers[0].id, id);
  await assert.rejects(
    multiScaleRra([layers[0], { name: 'bad', data: flat.slice(3), shape: [n - 1, 3] }], labels, 5),
    /has 29 samples/,
  );
});

test('balancedSubset: up to perClass per class, seeded, ascending, deterministic', () => {
  // class 3 has 30 samples, classes 0–2 have 24, 23, 23
  const labels = Int32Array.from({ length: 100 }, (_, i) => (i < 70 ? i % 3 : 3));
  const s = balancedSubset(labels, 10, 7);
  assert.equal(s.length, 40);
  for (let c = 0; c < 4; c++) assert.equal(Array.from(s).filter((i) => labels[i] === c).length, 10);
  assert.ok(s.every((v, i) => i === 0 || v > s[i - 1]));
  assert.deepEqual(balancedSubset(labels, 10, 7), s);
  assert.notDeepEqual(balancedSubset(labels, 10, 8), s);
  assert.equal(balancedSubset(labels, 25, 1).length, 24 + 23 + 23 + 25); // classes 0, 1, 2 have only 24, 23, 23
  assert.throws(() => balancedSubset(labels, 0), /positive integer/);
});
