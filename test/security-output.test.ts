// Output files are written safely (issue 12): no tensor name can overwrite a fixed file of an activations folder,
// every output is written to a temporary file and renamed (a symlink planted at an output's name is replaced, its
// target untouched), and a cancelled run leaves its finished rows readable and no temporary file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { GraphBuilder } from '../src/engine/onnx/builder';
import { saveModel } from '../src/engine/onnx/model';
import { readNpy, writeNpy, NpyWriter } from '../src/engine/npy';
import { SessionPool } from '../src/engine/runtime/session';
import { runActivationsJob } from '../src/engine/capture/activations';
import { ActivationStore } from '../src/engine/capture/store';
import { tensorFileNames } from '../src/engine/capture/npydir';
import { ensureDir, writeAtomic, OutputFile } from '../src/engine/fswrite';
import { runAnalyzeCommand } from '../src/cli/analyze';
import { runGradCommand } from '../src/cli/grad';
import { ReplensError } from '../src/engine/errors';
import type { ActivationsJob } from '../src/shared/messages';
import type { JobContext } from '../src/engine/jobs';
import { tempDir } from './helpers/tmp';

const tmp = tempDir('replens-secout-');
const pool = new SessionPool({ executionProvider: 'cpu', intraOpThreads: 1 });
const N = 40,
  D = 3;

// Images of 1×1×3 (datasets are images): labels = Relu(x), index = Neg(x), manifest = Abs(x), acts = Sigmoid(x).
const SAMPLE = [1, 1, D];
function collidingModel(): string {
  const b = new GraphBuilder('collide');
  b.input('x', ['N', ...SAMPLE]);
  b.node('Relu', ['x'], {}, { outputs: ['labels'] });
  b.node('Neg', ['x'], {}, { outputs: ['index'] });
  b.node('Abs', ['x'], {}, { outputs: ['manifest'] });
  b.node('Sigmoid', ['x'], {}, { outputs: ['acts'] });
  for (const o of ['labels', 'index', 'manifest', 'acts']) b.output(o, ['N', ...SAMPLE]);
  const file = path.join(tmp, 'collide.onnx');
  saveModel(b.build(), file);
  return file;
}
const modelPath = collidingModel();

// For grad: y = x·W, one output.
const W = Float32Array.from([0.5, -1, 2, 0.25, 1.5, -0.75, 0.1, 3, -2, 1, 0.3, -0.4]); // 3 × 4
function linearModel(): string {
  const b = new GraphBuilder('linear');
  b.input('x', ['N', D]);
  b.init('W', [D, 4], W);
  b.node('MatMul', ['x', 'W'], {}, { outputs: ['y'] });
  b.output('y', ['N', 4]);
  const file = path.join(tmp, 'linear.onnx');
  saveModel(b.build(), file);
  return file;
}
const linearPath = linearModel();
const x = Float32Array.from({ length: N * D }, (_, i) => Math.sin(i * 1.7) * 2);
const y = Int32Array.from({ length: N }, (_, i) => (i * 7) % 5);
const xPath = path.join(tmp, 'x.npy'),
  yPath = path.join(tmp, 'y.npy');
writeNpy(xPath, { shape: [N, ...SAMPLE], data: x });
writeNpy(yPath, { shape: [N], data: y });

const REF: Record<string, (v: number) => number> = {
  labels: (v) => Math.max(0, v),
  index: (v) => -v,
  manifest: (v) => Math.abs(v),
  acts: (v) => 1 / (1 + Math.exp(-v)),
};

function ctx(signal = new AbortController().signal, onProgress: (done: number) => void = () => undefined): JobContext {
  return { signal, progress: (p) => onProgress(p.done), partial: () => undefined, log: () => undefined };
}

function job(outDir: string, batchSize = 8): ActivationsJob {
  return {
    kind: 'activations',
    modelPath,
    data: { path: xPath, labels: yPath, format: 'npy' },
    tensors: Object.keys(REF),
    reduce: 'none',
    outDir,
    batchSize,
    runtime: { executionProvider: 'cpu' },
  };
}

/** Every tensor file of `out` holds the reference values of its first `rows` samples, labels.npy the labels. */
function checkFolder(out: string, rows: number): void {
  const index = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8')) as Record<string, string>;
  assert.deepEqual(Object.keys(index).sort(), Object.keys(REF).sort());
  assert.equal(new Set(Object.values(index)).size, 4);
  for (const [t, f] of Object.entries(index)) {
    assert.ok(!['labels.npy', 'index.npy', 'manifest.npy'].includes(f.toLowerCase()), `${t} → ${f} takes a fixed name`);
    const a = readNpy(path.join(out, f));
    assert.deepEqual(a.shape, [rows, ...SAMPLE], t);
    for (let i = 0; i < rows * D; i++) assert.ok(Math.abs((a.data[i] as number) - REF[t](x[i])) < 1e-6, `${t}[${i}]`);
  }
  const l = readNpy(path.join(out, 'labels.npy'));
  assert.equal(l.dtype, 'int64');
  assert.deepEqual([...l.data].map(Number), [...y.subarray(0, rows)]);
  const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(m.samples, rows);
  assert.equal(m.labels, 'labels.npy');
}

function noTempFiles(dir: string): void {
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    `temporary files left in ${dir}`,
  );
}

/** A file outside the output folder and a symlink to it at `link`. */
function plantLink(link: string, name: string): string {
  const outside = path.join(tmp, `outside-${name}`);
  fs.writeFileSync(outside, `precious ${name}\n`);
  fs.symlinkSync(outside, link);
  return outside;
}

function assertRegularAndOutsideIntact(file: string, outside: string, name: string): void {
  assert.ok(fs.lstatSync(file).isFile(), `${file} is a regular file, not a symlink`);
  assert.equal(fs.readFileSync(outside, 'utf8'), `precious ${name}\n`, `${outside} unchanged`);
}

test('tensors named labels, index, manifest do not overwrite the fixed files; values, labels are right', async () => {
  const out = path.join(tmp, 'acts');
  const r = await runActivationsJob(job(out), pool, ctx());
  assert.equal(r.samples, N);
  checkFolder(out, N);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).complete, true);
  noTempFiles(out);
  // Names stay as they were where nothing collides, and collisions are case-insensitive.
  const names = tensorFileNames(['acts', 'Labels', 'a/b', 'a:b'], ['labels']);
  assert.equal(names.get('acts'), 'acts.npy');
  assert.match(names.get('Labels')!, /^Labels-[0-9a-f]{8}\.npy$/);
  assert.equal(new Set(names.values()).size, 4);
});

test('symlinks planted in an activations folder are replaced, their targets untouched', async () => {
  const out = path.join(tmp, 'acts-links');
  fs.mkdirSync(out);
  const planted = ['acts.npy', 'labels.npy', 'index.json', 'manifest.json'].map((f) => ({
    f,
    outside: plantLink(path.join(out, f), f),
  }));
  await runActivationsJob(job(out), pool, ctx());
  for (const { f, outside } of planted) assertRegularAndOutsideIntact(path.join(out, f), outside, f);
  checkFolder(out, N);
  noTempFiles(out);
});

test('a cancelled activations run keeps its finished rows readable and leaves no temporary file', async () => {
  const out = path.join(tmp, 'acts-cancel');
  const ac = new AbortController();
  await assert.rejects(
    runActivationsJob(
      job(out, 4),
      pool,
      ctx(ac.signal, (done) => {
        if (done >= 4) ac.abort();
      }),
    ),
    (e: unknown) => e instanceof ReplensError && e.code === 'E_CANCELLED',
  );
  const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(m.complete, false);
  assert.ok(m.samples >= 4 && m.samples < N && m.samples % 4 === 0, `stopped after ${m.samples}`);
  checkFolder(out, m.samples);
  noTempFiles(out);
});

test('an output folder that is a file is a one-line error; one that is a symlink to a folder is used', async () => {
  const file = path.join(tmp, 'not-a-folder');
  fs.writeFileSync(file, 'x');
  await assert.rejects(
    runActivationsJob(job(file), pool, ctx()),
    (e: unknown) =>
      e instanceof ReplensError &&
      /not-a-folder exists and is not a folder/.test(e.message) &&
      !e.message.includes('\n'),
  );
  assert.equal(fs.readFileSync(file, 'utf8'), 'x');
  const real = path.join(tmp, 'real-out');
  fs.mkdirSync(real);
  const link = path.join(tmp, 'linked-out');
  fs.symlinkSync(real, link);
  await runActivationsJob(job(link), pool, ctx());
  checkFolder(real, N);
});

test('analyze: symlinks at report.html, result.json and layers.csv are replaced, their targets untouched', async () => {
  const out = path.join(tmp, 'report');
  fs.mkdirSync(out);
  const planted = ['report.html', 'result.json', 'layers.csv'].map((f) => ({
    f,
    outside: plantLink(path.join(out, f), f),
  }));
  const ex = path.join(__dirname, '..', 'examples', 'fashion-mnist');
  await runAnalyzeCommand(
    {
      kind: 'analyze',
      modelPath: path.join(ex, 'model.onnx'),
      data: { path: path.join(ex, 'data', 't10k-images-idx3-ubyte.gz') },
      samples: 20,
      analyses: ['summary'],
      runtime: { executionProvider: 'cpu', intraOpThreads: 1 },
      noCache: true,
      cacheDir: path.join(tmp, 'cache'),
    },
    out,
    { signal: new AbortController().signal, progress: () => undefined, partial: () => undefined, log: () => undefined },
  );
  for (const { f, outside } of planted) assertRegularAndOutsideIntact(path.join(out, f), outside, f);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')).dataset.samples, 20);
  assert.match(fs.readFileSync(path.join(out, 'report.html'), 'utf8'), /^<!DOCTYPE html>/i);
  noTempFiles(out);
});

test('grad --out and --out-dir: a symlink at the output is replaced; the gradients are right', async () => {
  const runtime = { executionProvider: 'cpu' as const, intraOpThreads: 1 };
  const xs = x.subarray(0, 2 * D);
  const x2 = path.join(tmp, 'x2.npy');
  writeNpy(x2, { shape: [2, D], data: xs });
  // d(Σ y[:, 1]) / dx = W[:, 1] for every sample.
  const out = path.join(tmp, 'grad-out');
  fs.mkdirSync(out);
  const g = path.join(out, 'g.npy');
  const gOutside = plantLink(g, 'g.npy');
  await runGradCommand({ model: linearPath, input: x2, tensor: 'y', channel: '1', out: g, runtime });
  assertRegularAndOutsideIntact(g, gOutside, 'g.npy');
  const ga = readNpy(g);
  assert.deepEqual(ga.shape, [2, D]);
  for (let n = 0; n < 2; n++)
    for (let i = 0; i < D; i++) assert.ok(Math.abs((ga.data[n * D + i] as number) - W[i * 4 + 1]) < 1e-6);
  noTempFiles(out);
  // d mean((xW − t)²) / dW = 2/(2·4) · xᵀ(xW − t).
  const t = Float32Array.from({ length: 8 }, (_, i) => i / 4 - 1);
  const tPath = path.join(tmp, 't.npy');
  writeNpy(tPath, { shape: [2, 4], data: t });
  const dir = path.join(tmp, 'grad-dir');
  fs.mkdirSync(dir);
  const wOutside = plantLink(path.join(dir, 'W.npy'), 'W.npy');
  await runGradCommand({ model: linearPath, input: x2, mseTarget: tPath, wrt: 'W', outDir: dir, runtime });
  assertRegularAndOutsideIntact(path.join(dir, 'W.npy'), wOutside, 'W.npy');
  const gw = readNpy(path.join(dir, 'W.npy')).data as Float32Array;
  for (let i = 0; i < D; i++)
    for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let n = 0; n < 2; n++) {
        let yv = 0;
        for (let k = 0; k < D; k++) yv += xs[n * D + k] * W[k * 4 + j];
        s += xs[n * D + i] * (yv - t[n * 4 + j]);
      }
      assert.ok(Math.abs(gw[i * 4 + j] - (2 / 8) * s) < 1e-5, `dW[${i},${j}]`);
    }
  noTempFiles(dir);
});

test('fswrite: writeAtomic replaces a symlink; in-place files refuse an existing name; failure leaves no temp', () => {
  const dir = path.join(tmp, 'fswrite');
  ensureDir(dir);
  const f = path.join(dir, 'a.json');
  const outside = plantLink(f, 'a.json');
  writeAtomic(f, '{"ok":true}\n');
  assertRegularAndOutsideIntact(f, outside, 'a.json');
  assert.equal(fs.readFileSync(f, 'utf8'), '{"ok":true}\n');
  // Scratch files are created exclusively: a planted symlink is refused, not followed.
  const s = path.join(dir, 'spill.npy');
  const sOutside = plantLink(s, 'spill.npy');
  assert.throws(() => new OutputFile(s, { inPlace: true }), /spill\.npy/);
  assert.throws(() => new NpyWriter(s, 'float32', [2], { inPlace: true }), /spill\.npy/);
  assert.equal(fs.readFileSync(sOutside, 'utf8'), 'precious spill.npy\n');
  // A rename onto a folder fails with one line, and the temporary file goes.
  fs.mkdirSync(path.join(dir, 'taken.npy'));
  assert.throws(
    () => writeNpy(path.join(dir, 'taken.npy'), { shape: [1], data: new Float32Array(1) }),
    /taken\.npy is a folder/,
  );
  // An aborted streaming writer leaves nothing; a closed one leaves exactly its rows.
  const w = new NpyWriter(path.join(dir, 'dropped.npy'), 'float32', [2]);
  w.append(new Float32Array([1, 2]), 1);
  w.abort();
  assert.ok(!fs.existsSync(path.join(dir, 'dropped.npy')));
  const bad = new NpyWriter(path.join(dir, 'bad.npy'), 'float32', [2]);
  assert.throws(() => bad.append(new Float64Array(2), 1), /float64 values for a float32 file/);
  bad.abort();
  noTempFiles(dir);
});

test('spilled tensors whose names sanitise alike keep separate files', () => {
  const store = new ActivationStore(64, path.join(tmp));
  try {
    store.append('a/b', new Float32Array(8).fill(1), 2, [4]);
    store.append('a:b', new Float32Array(8).fill(2), 2, [4]);
    store.append('c', new Float32Array(16).fill(3), 4, [4]); // spills both of the others at once
    assert.deepEqual(store.spilled.sort(), ['a/b', 'a:b']);
    assert.deepEqual([...store.materialize('a/b')], new Array(8).fill(1));
    assert.deepEqual([...store.materialize('a:b')], new Array(8).fill(2));
  } finally {
    store.dispose();
  }
});
