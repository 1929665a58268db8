// The checks before an analyze run (issue 15): the dataset probe's numbers against independent reads of the files
// and against what opening the dataset for a run decides; the model check's layers and default choice; the
// worker's cache of model checks; the time estimate's arithmetic; the samples and σ inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { describeProbe, probeDataset, type ModelInput } from '../src/engine/dataprobe';
import { openDatasetFromJob } from '../src/engine/capture/source';
import { writeNpy } from '../src/engine/npy';
import { findCheckpoints, modelCheck, timeBatch } from '../src/engine/precheck';
import { SessionPool } from '../src/engine/runtime/session';
import { loadModel } from '../src/engine/onnx/model';
import { listLayers } from '../src/engine/onnx/layers';
import { chooseLayers } from '../src/engine/analyses/prepare';
import { expandTensorSelectors } from '../src/engine/capture/select';
import {
  completeWith,
  describeEstimate,
  estimateFromProbe,
  estimateFromRun,
  formatSeconds,
} from '../src/engine/estimate';
import { cachedRunner } from '../src/worker/jobcache';
import { parseSigmas, samplesProblem } from '../src/extension/pickerInput';
import { parseHostToWorker, type Job, type JobResult } from '../src/shared/messages';
import type { AnalysisResult } from '../src/shared/result';
import { tempDir } from './helpers/tmp';

const ROOT = path.resolve(__dirname, '..');
const FM = path.join(ROOT, 'examples', 'fashion-mnist');
const IDX = path.join(FM, 'data', 't10k-images-idx3-ubyte.gz');
const SHALLOW = path.join(ROOT, 'examples', 'models', 'shallow_cnn.onnx');
const GRAY28: ModelInput = { shape: ['N', 1, 28, 28], elemType: 1 };
const CLASSES = JSON.parse(fs.readFileSync(path.join(FM, 'replens.json'), 'utf8')).classNames as string[];

/** What opening the dataset for a run decides: its shape and length, or the E_INPUT_SHAPE refusal. */
async function runVerdict(p: string, model: ModelInput, configPath?: string) {
  try {
    const ds = await openDatasetFromJob({ data: { path: p }, configPath }, model.shape, undefined, model.elemType);
    return { fits: true, length: ds.length, sampleShape: ds.sampleShape, hasLabels: ds.hasLabels };
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'E_INPUT_SHAPE', (e as Error).message);
    return { fits: false };
  }
}

test('probe: the bundled Fashion-MNIST IDX — samples, shape, labels from headers, as a run reads them', async () => {
  const raw = zlib.gunzipSync(fs.readFileSync(IDX));
  const dims = [raw.readUInt32BE(4), raw.readUInt32BE(8), raw.readUInt32BE(12)];
  const labels = zlib.gunzipSync(fs.readFileSync(path.join(FM, 'data', 't10k-labels-idx1-ubyte.gz'))).subarray(8);
  const p = await probeDataset({ data: { path: IDX } }, GRAY28);
  assert.equal(p.error, undefined);
  assert.equal(p.format, 'idx');
  assert.equal(p.samples, dims[0]);
  assert.deepEqual(p.stored, [1, dims[1], dims[2]]);
  assert.equal(p.labels?.classes, CLASSES.length); // the names come from the replens.json beside the data
  assert.deepEqual(p.labels?.names, CLASSES);
  assert.equal(new Set(labels).size, 10);
  assert.equal(p.fits, true);
  assert.deepEqual(p.conversions, []);
  const run = await runVerdict(IDX, GRAY28);
  assert.deepEqual(
    { fits: p.fits, length: p.samples, sampleShape: p.sampleShape, hasLabels: true },
    { ...run, hasLabels: run.hasLabels },
  );
  const d = describeProbe(p);
  assert.equal(d.mark, '✓');
  assert.equal(d.summary, `${dims[0]} samples · 1×28×28 · 10 classes`);
  assert.equal(d.classes, 'T-shirt/top, Trouser, Pullover, …');
  assert.equal(d.detail, 'fits the model input (1×28×28)');
});

test('probe: an image folder — images counted, classes from its folders, first image read', async () => {
  const dir = path.join(FM, 'images');
  const folders = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isDirectory());
  const images = folders.flatMap((f) => fs.readdirSync(path.join(dir, f)).filter((x) => /\.png$/.test(x)));
  const p = await probeDataset({ data: { path: dir } }, GRAY28);
  assert.equal(p.format, 'imagefolder');
  assert.equal(p.samples, images.length);
  assert.equal(p.labels?.classes, folders.length);
  assert.deepEqual(p.stored, [1, 28, 28]);
  assert.equal(p.fits, true);
  const run = await runVerdict(dir, GRAY28);
  assert.equal(run.length, p.samples);
  assert.deepEqual(run.sampleShape, p.sampleShape);
});

test('probe: .npy — shapes from the header; conversions the run makes count as fitting, others do not', async () => {
  const dir = tempDir('replens-probe-');
  const rgb = path.join(dir, 'rgb32.npy');
  writeNpy(rgb, { shape: [6, 3, 32, 32], data: new Uint8Array(6 * 3 * 32 * 32), dtype: 'uint8' });
  const five = path.join(dir, 'five.npy');
  writeNpy(five, { shape: [5, 5, 28, 28], data: new Float32Array(5 * 5 * 28 * 28) });
  const bundled = path.join(FM, 'x.npy');

  const b = await probeDataset({ data: { path: bundled } }, GRAY28);
  assert.equal(b.samples, 8);
  assert.equal(b.labels, null);
  assert.equal(describeProbe(b).summary, '8 samples · 1×28×28 · no labels');

  // RGB 32×32 into a gray 28×28 model: the model input implies gray and a resize, so the run accepts it.
  const r = await probeDataset({ data: { path: rgb } }, GRAY28);
  assert.deepEqual([r.samples, r.stored, r.fits], [6, [3, 32, 32], true]);
  assert.deepEqual(r.conversions, ['3 → 1 channels', 'resized 32×32 → 28×28']);
  assert.deepEqual(await runVerdict(rgb, GRAY28), {
    fits: true,
    length: 6,
    sampleShape: [1, 28, 28],
    hasLabels: false,
  });

  // …but not when replens.json asks for 3 channels.
  const cfg = path.join(dir, 'replens.json');
  fs.writeFileSync(cfg, JSON.stringify({ preprocess: { channels: 3 } }));
  const r3 = await probeDataset({ data: { path: rgb }, configPath: cfg }, GRAY28);
  assert.equal(r3.fits, false);
  assert.equal(r3.reason, '3×32×32 (3×28×28 after preprocessing), the model takes 1×28×28');
  assert.deepEqual(await runVerdict(rgb, GRAY28, cfg), { fits: false });
  fs.rmSync(cfg);

  // Five channels become neither gray nor RGB.
  const f = await probeDataset({ data: { path: five } }, GRAY28);
  assert.equal(f.fits, false);
  assert.equal(f.reason, '5×28×28: 5 channels cannot become 1; the model takes 1×28×28');
  assert.deepEqual(await runVerdict(five, GRAY28), { fits: false });
  assert.equal(describeProbe(f).mark, '✗');

  // A flat input takes no images.
  const flat: ModelInput = { shape: ['N', 784] };
  const fl = await probeDataset({ data: { path: bundled } }, flat);
  assert.equal(fl.fits, false);
  assert.equal(fl.reason, '1×28×28, the model takes 784');
  assert.deepEqual(await runVerdict(bundled, flat), { fits: false });

  // A file that is no dataset: one line, no throw.
  const junk = path.join(dir, 'junk.npy');
  fs.writeFileSync(junk, 'not numpy');
  const j = await probeDataset({ data: { path: junk } }, GRAY28);
  assert.match(j.error ?? '', /junk\.npy is not a \.npy file/);
});

test('model check: every layer --layers accepts, Conv outputs included; the default is chooseLayers', async () => {
  const pool = new SessionPool({ executionProvider: 'cpu' });
  const r = await modelCheck(SHALLOW, pool);
  const m = await loadModel(SHALLOW);
  const layers = listLayers(m.proto).layers;
  assert.deepEqual(
    r.defaultLayers,
    chooseLayers(m.proto, layers, undefined).map((c) => c.tensor),
  );
  assert.equal(r.defaultLayers.length, 7);
  assert.deepEqual(r.input.shape?.slice(1), [1, 28, 28]);
  assert.equal(r.layers.length, layers.length);
  assert.ok(r.layers.some((l) => l.op === 'Conv'));
  assert.deepEqual(
    expandTensorSelectors(
      m.proto,
      r.layers.map((l) => l.tensor),
    ),
    r.layers.map((l) => l.tensor),
  );
  const conv = r.layers.find((l) => l.op === 'Conv')!;
  assert.equal(conv.shape.length, 3);
  assert.ok(conv.shape.every((d) => d > 0));
});

test('checkpoints: the epoch files beside the model, in epoch order', () => {
  const found = findCheckpoints(SHALLOW).map((f) => path.relative(path.dirname(SHALLOW), f));
  assert.deepEqual(
    found,
    [1, 2, 3].map((e) => path.join('checkpoints', `shallow_cnn-epoch-${e}.onnx`)),
  );
  const dir = tempDir('replens-ckpt-');
  for (const n of ['net.onnx', 'net_ep10.onnx', 'net_ep2.onnx', 'other.onnx']) fs.writeFileSync(path.join(dir, n), '');
  assert.deepEqual(
    findCheckpoints(path.join(dir, 'net.onnx')).map((f) => path.basename(f)),
    ['net_ep2.onnx', 'net_ep10.onnx'],
  );
});

test('worker cache: a model check runs once per file version; a changed file, or a failure, runs again', async () => {
  const dir = tempDir('replens-cache-');
  const model = path.join(dir, 'm.onnx');
  fs.copyFileSync(SHALLOW, model);
  let calls = 0;
  const run = cachedRunner(async (job: Job): Promise<JobResult> => {
    calls++;
    if (job.kind === 'model-check' && calls === 1) throw new Error('first fails');
    return { kind: 'inspect', modelPath: model, fileBytes: calls, executionProvider: 'cpu' } as JobResult;
  });
  const job: Job = { kind: 'model-check', modelPath: model };
  await assert.rejects(run(job, {}), /first fails/);
  const a = await run(job, {});
  const b = await run(job, {});
  assert.equal(calls, 2);
  assert.equal(a, b);
  // A different runtime is a different probe.
  await run({ ...job, runtime: { executionProvider: 'cpu' } }, {});
  assert.equal(calls, 3);
  fs.appendFileSync(model, Buffer.alloc(1));
  await run(job, {});
  assert.equal(calls, 4);
  // Jobs that do work (analyze, probes) are never cached.
  const probe: Job = { kind: 'probe-datasets', input: GRAY28, datasets: [] };
  await run(probe, {});
  await run(probe, {});
  assert.equal(calls, 6);
});

test('time estimate from the last run: each part scaled by how it grows', () => {
  const last = {
    settings: { analyses: ['summary', 'rra', 'similarity', 'noise-svd'], samples: 500, seed: 0, batchSize: 64 },
    layers: new Array(10).fill({}),
    timings: {
      'capture (onnxruntime inference + stores)': 4,
      summary: 1,
      'rra (cached)': 20,
      similarity: 8,
      'noise-svd': 30,
      total: 63,
    },
    analyses: {
      'noise-svd': {
        settings: { sigmas: [0.2, 0.1, 0.01], groupSize: 64, seed: 0, centre: false, clip: null, images: 100 },
        series: [{ checkpoint: 'a', epoch: 1, split: 'test', layers: [] }],
      },
    },
  } as unknown as AnalysisResult;
  const next = {
    analyses: ['summary', 'rra', 'similarity', 'noise-svd', 'selectivity'] as const,
    samples: 1000,
    layers: 5,
    noiseUnits: 3 * 100 * 3 * 64, // three checkpoints
  };
  const e = estimateFromRun(last, { ...next, analyses: [...next.analyses] });
  const by = Object.fromEntries(e.parts.map((p) => [p.what, p.seconds]));
  assert.equal(by.capture, 4 * 2); // ∝ samples
  assert.equal(by.summary, 1 * 2 * 0.5); // ∝ samples × layers
  assert.equal(by.rra, 20 * 4 * 0.5); // ∝ samples² × layers (the cached entry's original cost)
  assert.equal(by.similarity, 8 * 4 * 0.5);
  assert.equal(by['noise-svd'], 30 * 3 * 0.5); // ∝ checkpoints × … × layers
  assert.deepEqual(e.unknown, ['selectivity']);
  assert.equal(e.seconds, 8 + 1 + 40 + 16 + 45);
  assert.deepEqual(describeEstimate(e, { ...next, analyses: [...next.analyses] }), {
    head: "≈ 2 min, from this model's last run",
    detail:
      'noise-svd 45 s, rra 40 s, similarity 16 s, capture 1000 samples × 5 layers 8 s, summary 1 s; ' +
      'selectivity not timed yet',
  });
  // The part the last run lacks, from a probe batch.
  const probe = estimateFromProbe(
    { secondsPerSample: 0.001, features: [2000] },
    { ...next, analyses: ['selectivity'] },
  );
  const full = completeWith(e, probe);
  assert.equal(full.basis, 'last run + probe batch');
  assert.deepEqual(full.unknown, []);
  assert.equal(full.seconds, e.seconds + (4 * 1000 * 2000) / 1e9);
});

test('time estimate from a probe batch: capture measured, the analyses from their operation counts', () => {
  const e = estimateFromProbe(
    { secondsPerSample: 0.002, features: [1000, 3000] },
    { analyses: ['summary', 'rra', 'similarity'], samples: 500, layers: 2 },
  );
  const by = Object.fromEntries(e.parts.map((p) => [p.what, p.seconds]));
  assert.equal(by.capture, 1);
  assert.equal(by.summary, (4 * 500 * 4000) / 1e9);
  assert.equal(by.rra, (2 * 500 * 500 * 4000) / 1e9);
  assert.equal(by.similarity, (500 * 500 * 4000 + 3 * 4 * 500 * 500) / 1e9);
  assert.equal(e.basis, 'probe batch');
  assert.deepEqual(
    [formatSeconds(0.4), formatSeconds(40.4), formatSeconds(150), formatSeconds(7200)],
    ['< 1 s', '≈ 40 s', '≈ 3 min', '≈ 2.0 h'],
  );
});

test('time-batch: one warm batch of the planned capture, timed', async () => {
  const pool = new SessionPool({ executionProvider: 'cpu', intraOpThreads: 1 });
  const r = await timeBatch({ kind: 'time-batch', modelPath: SHALLOW, data: { path: IDX }, samples: 16 }, pool);
  assert.equal(r.samples, 16);
  assert.ok(r.secondsPerSample > 0 && r.secondsPerSample < 1, String(r.secondsPerSample));
  const check = await modelCheck(SHALLOW, pool);
  const size = (t: string) => check.layers.find((l) => l.tensor === t)!.shape.reduce((a, b) => a * b, 1);
  assert.deepEqual(r.features, check.defaultLayers.map(size));
});

test('inputs: samples bounded by the dataset ("all" allowed), σ lists', () => {
  assert.equal(samplesProblem('500', 1000), null);
  assert.equal(samplesProblem('all', 1000), null);
  assert.equal(samplesProblem('1001', 1000), 'the dataset holds 1000 samples; at most 1000 (or "all")');
  assert.equal(samplesProblem('3', 1000), 'a whole number ≥ 4');
  assert.equal(samplesProblem('all'), 'a whole number ≥ 4');
  assert.equal(samplesProblem('5000'), null);
  assert.deepEqual(parseSigmas('0.2, 0.1,0.01'), [0.2, 0.1, 0.01]);
  assert.equal(parseSigmas('0.2,-1'), null);
  assert.equal(parseSigmas(''), null);
});

test('protocol: the new job kinds are validated on receipt', () => {
  const run = (job: unknown) => parseHostToWorker({ v: 1, type: 'run', id: 1, job });
  assert.throws(() => run({ kind: 'model-check' }), /'modelPath' must be a string/);
  assert.throws(() => run({ kind: 'probe-datasets', input: {}, datasets: [{ data: {} }] }), /'datasets' must be/);
  assert.throws(() => run({ kind: 'probe-datasets', datasets: [] }), /'input' must be an object/);
  assert.throws(() => run({ kind: 'time-batch', modelPath: 'm', data: { path: 'd' }, layers: [1] }), /'layers'/);
  assert.throws(() => run({ kind: 'time-batch', modelPath: 'm', data: { path: 'd' }, samples: 1.5 }), /'samples'/);
  const ok = { kind: 'probe-datasets', input: GRAY28, datasets: [{ data: { path: IDX } }] };
  assert.deepEqual(run(ok), { v: 1, type: 'run', id: 1, job: ok });
});
