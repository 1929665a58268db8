// `replens analyze` end to end on the bundled Fashion-MNIST model and real images: the result document against
// the metric functions run on independently captured activations, the cache, compare mode, the files written,
// and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { analyze } from '../src/engine/analyses/analyze';
import { SessionPool, runSession } from '../src/engine/runtime/session';
import { loadModel } from '../src/engine/onnx/model';
import { exposeTensors } from '../src/engine/onnx/graph';
import { listLayers } from '../src/engine/onnx/layers';
import { writeNpy } from '../src/engine/npy';
import { readIdx, idxValues } from '../src/engine/data/idx';
import { knnWithDistances } from '../src/engine/metrics/knn';
import { twoNNFromGraph } from '../src/engine/metrics/twonn';
import { nncsFromGraph } from '../src/engine/metrics/nncs';
import { nnlsFromGraphs } from '../src/engine/metrics/nnls';
import { linearCKA } from '../src/engine/metrics/cka';
import { classSelectivity } from '../src/engine/metrics/selectivity';
import { RESULT_SCHEMA } from '../src/shared/result';
import { ReplensError } from '../src/engine/errors';
import { tempDir } from './helpers/tmp';

const EX = path.join(__dirname, '..', 'examples', 'fashion-mnist');
const MODEL = path.join(EX, 'model.onnx');
const DATA = { path: path.join(EX, 'data', 't10k-images-idx3-ubyte.gz') };
const CLI = path.join(__dirname, '..', 'dist', 'cli.js');
const pool = new SessionPool({ executionProvider: 'cpu' });
const cacheDir = tempDir('replens-cache-');
const N = 200;

/** The first n bundled test images as model input: ToTensor then Normalize(0.286, 0.353), step by step in float32. */
function images(n: number): { x: Float32Array; y: Int32Array } {
  const px = idxValues(readIdx(DATA.path), 0, n * 784);
  const f = Math.fround;
  const x = Float32Array.from({ length: n * 784 }, (_, i) => f(f(f(f(px[i]) / 255) - f(0.286)) / f(0.353)));
  const y = Int32Array.from(
    idxValues(readIdx(path.join(EX, 'data', 't10k-labels-idx1-ubyte.gz')), 0, n) as ArrayLike<number>,
  );
  return { x, y };
}

test('analyze: every number equals the metric functions on independently captured activations', async () => {
  const r = await analyze(
    {
      modelPath: MODEL,
      data: DATA,
      analyses: ['summary', 'rra', 'similarity', 'selectivity'],
      samples: N,
      k: 5,
      cacheDir,
      noCache: true,
    },
    pool,
  );
  assert.equal(r.schema, RESULT_SCHEMA);
  assert.equal(r.complete, true);
  assert.equal(r.dataset.samples, N);
  assert.deepEqual(
    r.layers.map((l) => l.label),
    ['stem', 'layer1.0', 'maxpool', 'layer2.0', 'layer2.1', 'avgpool', 'fc'],
    "the main path's block outputs (onnx/mainpath.ts)",
  );
  // The full selection (every activation and pooling output) is an option; repeated modules are numbered.
  const all = await analyze(
    {
      modelPath: MODEL,
      data: DATA,
      analyses: ['summary'],
      layers: ['activations'],
      samples: 8,
      cacheDir,
      noCache: true,
    },
    pool,
  );
  assert.equal(all.layers.length, 10);
  assert.equal(new Set(all.layers.map((l) => l.label)).size, 10, 'labels are unique (repeated modules are numbered)');
  // Reference: the first N test images, preprocessed here as torchvision does (replens.json), through a plain session.
  const { proto } = await loadModel(MODEL);
  const { x, y } = images(N);
  const tensors = r.layers.map((l) => l.tensor);
  const ms = await pool.get('analyze-ref', exposeTensors(proto, tensors, false), 'test');
  const out = await runSession(ms, { input: { data: x, dims: [N, 1, 28, 28], type: 'float32' } }, 'test');
  // Top-1 accuracy: the argmax of the logits (the graph's one output) against the labels, counted here.
  const logits = out[tensors[tensors.length - 1]].data as Float32Array;
  let correct = 0;
  for (let i = 0; i < N; i++) {
    const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
    if (row.indexOf(Math.max(...row)) === y[i]) correct++;
  }
  assert.deepEqual(r.model.accuracy, { top1: correct / N, correct, samples: N, output: tensors[tensors.length - 1] });
  // Parameters per layer: a block's own (the nodes under its module path), summing to the model's.
  const nodes = listLayers(proto).layers;
  for (const l of r.layers.filter((x) => x.label !== 'avgpool' && x.label !== 'maxpool')) {
    const own = nodes.filter((n) => n.module === l.label || n.module?.startsWith(`${l.label}.`));
    assert.equal(
      l.params,
      own.reduce((a, n) => a + n.params, 0),
      `${l.label}: params`,
    );
  }
  assert.equal(
    r.layers.reduce((a, l) => a + l.params, 0),
    r.model.params,
  );
  const graphs: Int32Array[] = [];
  for (const [i, t] of tensors.entries()) {
    const a = out[t].data as Float32Array,
      D = a.length / N;
    const g = await knnWithDistances({ data: Float64Array.from(a), rows: N, cols: D }, 5, { screening: 'float64' });
    graphs.push(g.indices);
    const row = r.analyses.rra!.perLayer[i];
    const id = twoNNFromGraph(g);
    // The two graphs (capture plan vs exposed model) may fuse differently: activations agree to float32 rounding.
    assert.ok(Math.abs(row.id!.twonn! - id.value) < 1e-6 * id.value, `${t}: ID ${row.id!.twonn} vs ${id.value}`);
    assert.ok(Math.abs(row.nncs! - nncsFromGraph(g.indices, y, 5).value) < 1e-12, `${t}: NNCS`);
  }
  assert.ok(Math.abs(r.analyses.rra!.nnls.values[1][4]! - nnlsFromGraphs(graphs[1], graphs[4], N, 5).value) < 1e-12);
  // CKA: float32 products of centred activations vs the float64 metric, to float32 accuracy.
  const a2 = Float64Array.from(out[tensors[2]].data as Float32Array),
    a6 = Float64Array.from(out[tensors[6]].data as Float32Array);
  const ref = await linearCKA({ data: a2, rows: N, cols: a2.length / N }, { data: a6, rows: N, cols: a6.length / N });
  assert.ok(
    Math.abs(r.analyses.similarity!.cka.values[2][6]! - ref.value) < 1e-5,
    `CKA ${r.analyses.similarity!.cka.values[2][6]} vs ${ref.value}`,
  );
  assert.equal(r.analyses.similarity!.cka.values[3][3], 1);
  // Selectivity: ReLU layers only (the logits are negative somewhere: left out with a note).
  const sel = r.analyses.selectivity!.perLayer;
  assert.ok(!sel.some((s) => s.tensor === 'logits'));
  assert.ok(r.notes.some((n) => /selectivity left out for fc/.test(n)));
  const s0 = classSelectivity(Float64Array.from(out[tensors[0]].data as Float32Array), [N, 32, 28, 28], y);
  assert.ok(Math.abs(sel[0].mean - s0.value) < 1e-6, `selectivity ${sel[0].mean} vs ${s0.value}`);
  // Summary: sparsity of a ReLU layer = share of exact zeros.
  const z =
    (out[tensors[0]].data as Float32Array).reduce((c, v) => c + (v <= 0 ? 1 : 0), 0) /
    (out[tensors[0]].data as Float32Array).length;
  assert.ok(Math.abs(r.analyses.summary!.perLayer[0].sparsity - z) < 1e-4);
  // Multi-scale NNCS for conv layers; none for the flat ones.
  assert.ok(r.analyses.rra!.perLayer[0].multiScale!.avg2! > 0);
  assert.equal(r.analyses.rra!.perLayer[6].multiScale, undefined);
});

test('analyze: cache hits give the same document, notes, labelled timings; self-compare: diagonal NNLS 1', async () => {
  const opts = {
    modelPath: MODEL,
    data: DATA,
    analyses: ['summary', 'rra', 'selectivity'] as ('summary' | 'rra' | 'selectivity')[],
    samples: 120,
    k: 4,
    cacheDir: tempDir('replens-cache-'),
    layers: ['op:MaxPool', 'op:GlobalAveragePool', 'logits'],
  };
  const a = await analyze(opts, pool);
  assert.ok('rra' in a.timings && 'rra: kNN graphs' in a.timings);
  // The notes written inside the analyses (selectivity leaves the signed logits out) come back with a cache hit.
  assert.ok(
    a.notes.some((n) => /^selectivity left out for fc: negative/.test(n)),
    a.notes.join('\n'),
  );
  const b = await analyze(opts, pool);
  assert.ok(!('rra' in b.timings), 'second run: from the cache');
  assert.equal(a.cached, undefined);
  assert.deepEqual(b.cached, ['summary', 'selectivity', 'rra'], 'the result names what came from the cache');
  assert.equal(b.timings['rra (cached)'], a.timings.rra);
  assert.equal(b.timings['rra: kNN graphs (cached)'], a.timings['rra: kNN graphs']);
  assert.deepEqual(b.notes, a.notes);
  assert.deepEqual(b.settings, a.settings);
  assert.deepEqual(b.analyses, a.analyses);
  // A comparison reuses every per-model analysis (RRA's own part too: only its inter-model matrix is computed), and
  // a self-comparison's second model is the same run again: all from the cache.
  const c = await analyze({ ...opts, compare: MODEL }, pool);
  assert.deepEqual(c.cached, ['summary', 'selectivity', 'rra']);
  assert.deepEqual(c.compare!.cached, ['summary', 'selectivity', 'rra']);
  assert.equal(c.compare!.betweenCached, undefined);
  assert.deepEqual(c.analyses.summary, a.analyses.summary);
  assert.deepEqual(c.compare!.analyses, a.analyses);
  const inter = c.analyses.rra!.interModel!;
  for (let i = 0; i < 3; i++) assert.equal(inter.values[i][i], 1);
});

test('analyze CLI: writes result.json, report.html and CSVs; bad input is one line', () => {
  const out = tempDir('replens-analyze-');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'analyze', ...args], {
      encoding: 'utf8',
      env: { ...process.env, REPLENS_CACHE_DIR: cacheDir },
    });
  const r = run(
    MODEL,
    '--data',
    DATA.path,
    '--samples',
    '100',
    '--k',
    '4',
    '--analyses',
    'summary,rra,selectivity',
    '--out',
    out,
    '--quiet',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Layer\s+Op\s+Shape/);
  for (const f of ['result.json', 'report.html', 'layers.csv', 'nnls.csv'])
    assert.ok(fs.existsSync(path.join(out, f)), f);
  const doc = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
  assert.equal(doc.dataset.samples, 100);
  assert.equal(
    fs.readFileSync(path.join(out, 'layers.csv'), 'utf8').trim().split('\n').length,
    8,
    'a header and the 7 default layers',
  );
  const bad = (args: string[], re: RegExp) => {
    const b = run(...args);
    assert.notEqual(b.status, 0);
    assert.match(b.stderr, re);
    assert.equal(b.stderr.trim().split('\n').length, 1);
  };
  bad([MODEL, '--data', DATA.path, '--analyses', 'rra,bogus'], /unknown analysis 'bogus'/);
  bad([MODEL, '--data', DATA.path, '--layers', 'op:Softmax'], /Softmax/);
  bad([MODEL], /needs --data/);
});

test('analyze: noise-svd over checkpoints × splits: a series each; fixed noise, same model → same cells', async () => {
  const ck = tempDir('replens-ck-');
  for (const e of [1, 2]) fs.copyFileSync(MODEL, path.join(ck, `epoch-${e}.onnx`));
  const r = await analyze(
    {
      modelPath: MODEL,
      data: DATA,
      analyses: ['noise-svd'],
      samples: 50,
      cacheDir,
      noCache: true,
      layers: ['op:GlobalAveragePool', 'logits'],
      checkpoints: [path.join(ck, 'epoch-1.onnx'), path.join(ck, 'epoch-2.onnx')],
      trainData: DATA,
      noiseImages: 1,
      sigmas: [0.1],
      groupSize: 8,
    },
    pool,
  );
  const ns = r.analyses['noise-svd']!;
  assert.deepEqual(
    ns.series.map((s) => `${s.split}:${s.epoch}`),
    ['test:1', 'test:2', 'train:1', 'train:2'],
  );
  assert.equal(ns.settings.images, 10, 'one image per class');
  assert.deepEqual(ns.settings.clip, [0, 1]);
  // Same model, same images and noise: identical cells across checkpoints; EV₁ in (0, 1).
  assert.deepEqual(ns.series[0].layers, ns.series[1].layers);
  const cell = ns.series[0].layers[0].cells.find((c) => c.label === -1)!;
  assert.equal(cell.images, 10);
  assert.ok(cell.ev1.mean > 0 && cell.ev1.mean < 1);
  assert.ok(Math.abs(cell.ev1.mean + cell.ev2.mean + cell.rest.mean - 1) < 1e-12);
});

test('analyze: minibatch CKA (above the Gram limit) equals minibatchCKA on the same consecutive batches', async () => {
  const { SIMILARITY_LIMITS, batchBounds } = await import('../src/engine/analyses/similarity');
  const { minibatchCKA } = await import('../src/engine/metrics/cka');
  const saved = { ...SIMILARITY_LIMITS };
  Object.assign(SIMILARITY_LIMITS, { maxGramSamples: 50, minibatch: 40 });
  try {
    const n = 130;
    const r = await analyze(
      {
        modelPath: MODEL,
        data: DATA,
        analyses: ['similarity'],
        samples: n,
        cacheDir,
        noCache: true,
        layers: ['op:MaxPool', 'op:GlobalAveragePool', 'logits'],
      },
      pool,
    );
    assert.match(r.analyses.similarity!.ckaMethod, /minibatch/);
    const { proto } = await loadModel(MODEL);
    const { x } = images(n);
    const tensors = r.layers.map((l) => l.tensor);
    const ms = await pool.get('analyze-mb', exposeTensors(proto, tensors, false), 'test');
    const out = await runSession(ms, { input: { data: x, dims: [n, 1, 28, 28], type: 'float32' } }, 'test');
    const mat = (t: string, s: number, e: number) => {
      const a = out[t].data as Float32Array,
        D = a.length / n;
      return { data: Float64Array.from(a.subarray(s * D, e * D)), rows: e - s, cols: D };
    };
    const bounds = batchBounds(n, 40);
    assert.deepEqual(
      bounds.map(([s, e]) => e - s),
      [32, 33, 32, 33],
    );
    const ref = await minibatchCKA(bounds.map(([s, e]) => ({ x: mat(tensors[0], s, e), y: mat(tensors[2], s, e) })));
    const got = r.analyses.similarity!.cka.values[0][2]!;
    assert.ok(Math.abs(got - ref.value) < 1e-5, `minibatch CKA ${got} vs ${ref.value}`);
    assert.equal(r.analyses.similarity!.cka.values[1][1], 1);
  } finally {
    Object.assign(SIMILARITY_LIMITS, saved);
  }
});

test('analyze --compare-data: renormalised images pass the order check; a swap drops only the comparison', async () => {
  const dir = tempDir('replens-cmpdata-');
  const n = 40;
  const px = Uint8Array.from(idxValues(readIdx(DATA.path), 0, n * 784) as ArrayLike<number>);
  const y = Int32Array.from(images(n).y);
  const write = (name: string, pixels: Uint8Array, labels: Int32Array, mean: number, std: number) => {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    writeNpy(path.join(d, 'x.npy'), { shape: [n, 1, 28, 28], data: pixels });
    writeNpy(path.join(d, 'y.npy'), { shape: [n], data: labels });
    fs.writeFileSync(
      path.join(d, 'replens.json'),
      JSON.stringify({
        dataset: { path: 'x.npy', labels: 'y.npy' },
        preprocess: { scale: 1 / 255, mean: [mean], std: [std], layout: 'NCHW' },
      }),
    );
    return { path: path.join(d, 'x.npy') };
  };
  const a = write('a', px, y, 0.286, 0.353);
  const b = write('b', px, y, 0.5, 0.25); // same images, another Normalize
  const swapped = Uint8Array.from(px),
    ys = Int32Array.from(y);
  swapped.set(px.subarray(9 * 784, 10 * 784), 5 * 784);
  swapped.set(px.subarray(5 * 784, 6 * 784), 9 * 784);
  [ys[5], ys[9]] = [y[9], y[5]];
  const c = write('c', swapped, ys, 0.286, 0.353);
  const opts = {
    modelPath: MODEL,
    compare: MODEL,
    data: a,
    analyses: ['rra'] as 'rra'[],
    k: 3,
    cacheDir,
    noCache: true,
    layers: ['op:GlobalAveragePool', 'logits'],
  };
  const ok = await analyze({ ...opts, compareData: b }, pool);
  assert.equal(ok.compare?.dataset?.orderCheck, 'images');
  const inter = ok.analyses.rra!.interModel!;
  assert.ok(inter.values[0][0]! < 1, 'another normalisation changes the activations');
  const same = await analyze({ ...opts, compareData: write('d', px, y, 0.286, 0.353) }, pool);
  assert.deepEqual(
    same.analyses.rra!.interModel!.values.map((r, i) => r[i]),
    [1, 1],
  );
  const bad = await analyze({ ...opts, compareData: c }, pool);
  assert.equal(bad.compare, undefined);
  assert.equal(bad.analyses.rra!.interModel, undefined);
  assert.ok(bad.analyses.rra!.perLayer[0].nncs! > 0, 'the single-model analyses still ran');
  assert.ok(
    bad.notes.some((t) =>
      new RegExp(
        /comparison skipped: --data and --compare-data do not hold the same samples in the same order: /.source +
          /sample 5 is a different image/.source,
      ).test(t),
    ),
    bad.notes.join(' | '),
  );
  await assert.rejects(
    analyze({ ...opts, compare: undefined, compareData: b }, pool),
    /--compare-data needs --compare/,
  );
});

test('analyze: too few samples, unlabelled data', async () => {
  await assert.rejects(
    analyze({ modelPath: MODEL, data: DATA, analyses: ['rra'], samples: 3, cacheDir, noCache: true }, pool),
    (e: unknown) => e instanceof ReplensError && /at least 4/.test(e.message),
  );
  const npy = path.join(tempDir('replens-nl-'), 'x.npy');
  writeNpy(npy, { shape: [60, 1, 28, 28], data: images(60).x });
  const r = await analyze(
    {
      modelPath: MODEL,
      data: { path: npy },
      analyses: ['rra', 'selectivity'],
      samples: 60,
      k: 3,
      cacheDir,
      noCache: true,
    },
    pool,
  );
  assert.ok(r.notes.some((n) => /selectivity skipped/.test(n)));
  assert.ok(r.notes.some((n) => /NNCS skipped/.test(n)));
  assert.equal(r.analyses.rra!.perLayer[0].nncs, null);
  assert.ok(r.analyses.rra!.perLayer[0].id!.twonn! > 0);
});
