// Degenerate layers never end an analyze run: a constant layer, a layer whose every point has an exact duplicate and
// a layer with NaN are skipped metric by metric (null, with a note naming the layer and the reason), and every
// other layer's numbers equal those of a run without the bad layers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyze } from '../src/engine/analyses/analyze';
import { SessionPool } from '../src/engine/runtime/session';
import { GraphBuilder, rng } from '../src/engine/onnx/builder';
import { saveModel } from '../src/engine/onnx/model';
import { writeNpy } from '../src/engine/npy';
import { knnWithDistances } from '../src/engine/metrics/knn';
import { nncsFromGraph } from '../src/engine/metrics/nncs';
import type { AnalysisResult, LayerMatrix } from '../src/shared/result';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-degenerate-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const pool = new SessionPool({ executionProvider: 'cpu' });
test.after(() => pool.dispose());

const N = 60,
  K = 5,
  NAN_SAMPLE = 14;
// Samples come in pairs (2i, 2i+1) equal in image rows 0–1 and different in rows 2–3, so the slice of rows 0–1
// has every point duplicated. Sample 14 (and its twin 15) has −5 in pixel 0, so log(x + 3) is NaN there.
const r = rng(3);
const x = new Float32Array(N * 16);
for (let i = 0; i < N; i++)
  for (let t = 0; t < 16; t++) x[i * 16 + t] = i % 2 && t < 8 ? x[(i - 1) * 16 + t] : r() * 2 - 1;
x[NAN_SAMPLE * 16] = x[(NAN_SAMPLE + 1) * 16] = -5;
const y = Int32Array.from({ length: N }, (_, i) => Math.floor(i / 2) % 3);

const b = new GraphBuilder('degenerate', 13, 5);
const xin = b.input('x', ['N', 1, 4, 4]);
b.randomInit('w1', [4, 1, 3, 3]);
const good1 = b.node(
  'Relu',
  [b.node('Conv', [xin, 'w1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: '/conv1/Conv' })],
  {},
  { name: '/relu1/Relu' },
);
b.init('zero', [1], [0]);
b.init('half', [1], [0.5]);
const constant = b.node(
  'Add',
  [b.node('Mul', [xin, 'zero'], {}, { name: '/flat/Mul' }), 'half'],
  {},
  { name: '/flat/Add' },
);
b.initInt64('starts', [1], [0]);
b.initInt64('ends', [1], [2]);
b.initInt64('axes', [1], [2]);
const dup = b.node('Slice', [xin, 'starts', 'ends', 'axes'], {}, { name: '/top/Slice' });
b.init('three', [1], [3]);
const nan = b.node('Log', [b.node('Add', [xin, 'three'], {}, { name: '/logx/Add' })], {}, { name: '/logx/Log' });
b.randomInit('w2', [64, 6]);
const flat = b.node('Flatten', [good1], { axis: 1 }, { name: '/Flatten' });
b.node(
  'Relu',
  [b.node('MatMul', [flat, 'w2'], {}, { name: '/fc/MatMul' })],
  {},
  { name: '/fc_relu/Relu', outputs: ['out'] },
);
b.output('out', ['N', 6]);
const MODEL = path.join(dir, 'model.onnx');
saveModel(b.build(), MODEL);
writeNpy(path.join(dir, 'x.npy'), { shape: [N, 1, 4, 4], data: x });
writeNpy(path.join(dir, 'y.npy'), { shape: [N], data: y });
const DATA = { path: path.join(dir, 'x.npy'), labels: path.join(dir, 'y.npy') };
const ALL = [good1, constant, dup, nan, 'out'],
  GOOD = [good1, 'out'];

const run = (layers: string[], noCache = true) =>
  analyze(
    {
      modelPath: MODEL,
      data: DATA,
      layers,
      analyses: ['summary', 'rra', 'similarity', 'selectivity'],
      samples: N,
      k: K,
      cacheDir: path.join(dir, 'cache'),
      noCache,
    },
    pool,
  );

/** The sub-matrix of `m` over the tensors of `keep`. */
const sub = (m: LayerMatrix, keep: string[]) =>
  keep.map((a) => keep.map((c) => m.values[m.rows.indexOf(a)][m.cols.indexOf(c)]));
const labelOf = (res: AnalysisResult, t: string) => res.layers.find((l) => l.tensor === t)!.label;

test('analyze: constant, duplicated and NaN layers are skipped with notes; other layers are unchanged', async () => {
  const [all, good] = [await run(ALL), await run(GOOD)];
  assert.equal(all.complete, true);
  const rra = all.analyses.rra!,
    rows = new Map(rra.perLayer.map((l) => [l.tensor, l]));
  // The good layers: identical numbers in every analysis.
  for (const t of GOOD) {
    assert.deepEqual(
      rows.get(t),
      good.analyses.rra!.perLayer.find((l) => l.tensor === t),
      `rra ${t}`,
    );
    assert.deepEqual(
      all.analyses.summary!.perLayer.find((l) => l.tensor === t),
      good.analyses.summary!.perLayer.find((l) => l.tensor === t),
    );
    assert.deepEqual(
      all.analyses.selectivity!.perLayer.find((l) => l.tensor === t),
      good.analyses.selectivity!.perLayer.find((l) => l.tensor === t),
    );
  }
  assert.deepEqual(sub(rra.nnls, GOOD), good.analyses.rra!.nnls.values);
  for (const m of ['cka', 'svcca', 'pwcca'] as const)
    assert.deepEqual(sub(all.analyses.similarity![m], GOOD), good.analyses.similarity![m].values, m);
  assert.ok(typeof rows.get(good1)!.id!.twonn === 'number' && rows.get(good1)!.multiScale!.avg2 !== null);

  // Constant layer: no neighbour structure, no variance.
  assert.equal(rows.get(constant)!.id, null);
  assert.equal(rows.get(constant)!.nncs, null);
  assert.deepEqual(
    Object.values(rows.get(constant)!.multiScale!),
    rra.poolings.map(() => null),
  );
  // Duplicated layer: TwoNN undefined (every r1 = 0), NNCS defined — and equal to an independent computation.
  assert.equal(rows.get(dup)!.id, null);
  const top = Float64Array.from({ length: N * 8 }, (_, k) => x[Math.floor(k / 8) * 16 + (k % 8)]);
  const g = await knnWithDistances({ data: top, rows: N, cols: 8 }, K, { screening: 'float64' });
  assert.equal(rows.get(dup)!.nncs, nncsFromGraph(g.indices, y, K).value);
  // NaN layer: nothing defined; its NNLS row and column and its similarity rows are null, its summary left out.
  assert.equal(rows.get(nan)!.id, null);
  assert.equal(rows.get(nan)!.nncs, null);
  const i = rra.nnls.rows.indexOf(nan);
  assert.ok(rra.nnls.values[i].every((v) => v === null) && rra.nnls.values.every((row) => row[i] === null));
  for (const t of [constant, nan]) {
    const j = all.analyses.similarity!.cka.rows.indexOf(t);
    for (const m of ['cka', 'svcca', 'pwcca'] as const)
      assert.ok(
        all.analyses.similarity![m].values[j].every((v) => v === null),
        `${m} ${t}`,
      );
  }
  assert.ok(!all.analyses.summary!.perLayer.some((l) => l.tensor === nan));
  assert.ok(all.analyses.summary!.perLayer.some((l) => l.tensor === constant && l.std === 0));
  assert.ok(!all.analyses.selectivity!.perLayer.some((l) => l.tensor === nan));

  // The notes name each layer, metric and reason.
  const has = (re: RegExp) =>
    assert.ok(
      all.notes.some((n) => re.test(n)),
      `${re} in ${all.notes.join(' | ')}`,
    );
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const [lc, ld, ln] = [constant, dup, nan].map((t) => esc(labelOf(all, t)));
  for (const m of ['TwoNN', 'NNCS', 'multi-scale NNCS', 'NNLS', 'CKA', 'SVCCA', 'PWCCA']) {
    has(new RegExp(`^${m} skipped for ${lc}: constant output`));
    has(
      new RegExp(
        `^${m} skipped for ${ln}: \\d+ non-finite values \\(NaN or ±Infinity\\), the first in sample ${NAN_SAMPLE}$`,
      ),
    );
  }
  has(new RegExp(`^summary skipped for ${ln}: `));
  has(new RegExp(`^selectivity skipped for ${ln}: `));
  has(new RegExp(`^TwoNN skipped for ${ld}: TwoNN: only 0 point\\(s\\) left after dropping ${N}`));
  assert.ok(
    !all.notes.some((n) => new RegExp(`^(NNCS|CKA) skipped for ${ld}:`).test(n)),
    'the duplicated layer keeps NNCS and CKA',
  );
});

test('analyze: a cached result reports the same skip notes', async () => {
  const first = await run(ALL, false),
    second = await run(ALL, false);
  assert.ok(!('rra' in second.timings), 'second run: from the cache');
  const skips = (r: AnalysisResult) => r.notes.filter((n) => / skipped for /.test(n));
  assert.ok(skips(first).length >= 16);
  assert.deepEqual(skips(second), skips(first));
});

test('noise-SVD leaves out degenerate layers with a note; its other layers equal a run without them', async () => {
  const opts = {
    modelPath: MODEL,
    data: DATA,
    analyses: ['noise-svd' as const],
    samples: N,
    noiseImages: 2,
    groupSize: 4,
    sigmas: [0.1],
    cacheDir: path.join(dir, 'cache'),
    noCache: true,
  };
  const all = await analyze({ ...opts, layers: ALL }, pool);
  const good = await analyze({ ...opts, layers: GOOD }, pool);
  assert.equal(all.complete, true);
  for (const t of [constant, nan])
    assert.ok(
      all.notes.some((note) => note.startsWith(`noise-SVD skipped for ${labelOf(all, t)}: `)),
      `${t}: ${all.notes.join(' | ')}`,
    );
  const layersOf = (res: AnalysisResult) => res.analyses['noise-svd']!.series[0].layers;
  assert.deepEqual(
    layersOf(all)
      .map((l) => l.tensor)
      .filter((t) => GOOD.includes(t)),
    GOOD,
  );
  assert.ok(!layersOf(all).some((l) => l.tensor === nan || l.tensor === constant));
  assert.deepEqual(
    JSON.stringify(layersOf(all).filter((l) => GOOD.includes(l.tensor))),
    JSON.stringify(layersOf(good)),
  );
});
