// A comparison as two single runs plus the between-model part (issue 15): the compared model's own analyses
// (`compare.analyses`) are exactly those of a run of that model alone; each model's own analyses and the
// between-model part go through the cache separately, so a comparison after single runs reuses them and a single run
// after a comparison is served from it. Real models (the bundled Fashion-MNIST model and the shallow CNN) and images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { analyze, type AnalyzeOptions } from '../src/engine/analyses/analyze';
import { readCacheBlobs, writeCacheBlobs } from '../src/engine/analyses/cache';
import { SessionPool, runSession } from '../src/engine/runtime/session';
import { loadModel } from '../src/engine/onnx/model';
import { exposeTensors } from '../src/engine/onnx/graph';
import { readIdx, idxValues } from '../src/engine/data/idx';
import { knnWithDistances } from '../src/engine/metrics/knn';
import { nnlsFromGraphs } from '../src/engine/metrics/nnls';
import { linearCKA } from '../src/engine/metrics/cka';
import type { AnalysisResult } from '../src/shared/result';
import { tempDir } from './helpers/tmp';

const ROOT = path.join(__dirname, '..');
const A = path.join(ROOT, 'examples', 'fashion-mnist', 'model.onnx');
const B = path.join(ROOT, 'examples', 'models', 'shallow_cnn.onnx');
const DATA = { path: path.join(ROOT, 'examples', 'fashion-mnist', 'data', 't10k-images-idx3-ubyte.gz') };
const pool = new SessionPool({ executionProvider: 'cpu' });
const N = 100;
const base = {
  data: DATA,
  analyses: ['summary', 'selectivity', 'rra', 'similarity'] as AnalyzeOptions['analyses'],
  samples: N,
  k: 4,
};

/** What a result says beyond its numbers' provenance: without the timings, the date and the cache labels. */
function content(r: AnalysisResult) {
  const d = JSON.parse(JSON.stringify(r)) as Partial<AnalysisResult>;
  delete d.createdAt;
  delete d.timings;
  delete d.cached;
  if (d.compare) {
    delete d.compare.cached;
    delete d.compare.betweenCached;
  }
  return d;
}

/** The first n test images through a plain session exposing `tensors` (preprocessed as replens.json says). */
async function activations(model: string, tensors: string[], n: number) {
  const px = idxValues(readIdx(DATA.path), 0, n * 784);
  const f = Math.fround;
  const x = Float32Array.from({ length: n * 784 }, (_, i) => f(f(f(f(px[i]) / 255) - f(0.286)) / f(0.353)));
  const { proto } = await loadModel(model);
  const s = await pool.get(`cmp-ref:${model}`, exposeTensors(proto, tensors, false), 'test');
  const name = proto.graph!.input[0].name;
  const out = await runSession(s, { [name]: { data: x, dims: [n, 1, 28, 28], type: 'float32' } }, 'test');
  return (t: string) => {
    const a = out[t].data as Float32Array;
    return { data: Float64Array.from(a), rows: n, cols: a.length / n };
  };
}

test("compare.analyses: the compared model's own analyses, bit for bit those of a run of it alone", async () => {
  const cacheDir = tempDir('replens-cmp-');
  const both = await analyze({ ...base, modelPath: A, compare: B, cacheDir, noCache: true }, pool);
  const alone = await analyze({ ...base, modelPath: B, cacheDir, noCache: true }, pool);
  assert.equal(both.settings.batchSize, alone.settings.batchSize, 'the same batches (the cache key has the size)');
  const own = both.compare!.analyses!;
  assert.deepEqual(Object.keys(own), ['summary', 'selectivity', 'rra'], 'the overlays: not similarity, not noise-svd');
  for (const id of ['summary', 'selectivity', 'rra'] as const) assert.deepStrictEqual(own[id], alone.analyses[id], id);
  assert.equal(own.rra!.perLayer.length, both.compare!.layers.length);
  assert.ok(own.rra!.perLayer.every((l) => l.id!.twonn! > 0 && l.nncs! > 0));
  // Its notes come prefixed with its name; its timings labelled.
  assert.ok(
    both.notes.includes(
      'compared model shallow_cnn.onnx: selectivity left out for output: negative activations ' +
        '(the index is defined for non-negative ones)',
    ),
    both.notes.join('\n'),
  );
  assert.ok('rra (compared model)' in both.timings && 'rra (between models)' in both.timings);
  // The between-model numbers against the metrics on independently captured activations of both models.
  const la = both.layers.map((l) => l.tensor),
    lb = both.compare!.layers.map((l) => l.tensor);
  const xa = await activations(A, la, N),
    xb = await activations(B, lb, N);
  const [i, j] = [3, 2];
  const ga = await knnWithDistances(xa(la[i]), 4, { screening: 'float64' });
  const gb = await knnWithDistances(xb(lb[j]), 4, { screening: 'float64' });
  const nnls = both.analyses.rra!.interModel!.values[i][j]!;
  assert.ok(Math.abs(nnls - nnlsFromGraphs(ga.indices, gb.indices, N, 4).value) < 1e-12, `inter-model NNLS ${nnls}`);
  const cka = both.analyses.similarity!.compare!.cka.values[i][j]!;
  const ref = (await linearCKA(xa(la[i]), xb(lb[j]))).value;
  assert.ok(Math.abs(cka - ref) < 1e-5, `between-model CKA ${cka} vs ${ref}`);
  assert.ok(cka > 0.1 && cka < 0.999, `a real pair of different models: ${cka}`);
  // The guard's warning is made once, over every cell (within and between), as one pass over both models made it.
  const guard = both.notes.filter((t) => /^SVCCA\/PWCCA: /.test(t));
  assert.deepEqual(guard, both.analyses.similarity!.warnings);
  assert.match(guard[0], /\d+ layer\(s\) had more directions/);
  assert.equal(both.analyses.similarity!.cca!.perLayerB!.length, lb.length);
});

test('cache: a comparison reuses both single runs and computes only the between-model part, and back', async () => {
  const cacheDir = tempDir('replens-cmp-');
  const reference = await analyze({ ...base, modelPath: A, compare: B, cacheDir: tempDir('replens-ref-') }, pool);
  const single = await analyze({ ...base, modelPath: A, cacheDir }, pool);
  assert.equal(single.cached, undefined);
  assert.ok(
    fs.readdirSync(cacheDir).some((f) => f.endsWith('.bin')),
    'the kNN graphs are kept next to the entry',
  );

  const first = await analyze({ ...base, modelPath: A, compare: B, cacheDir }, pool);
  assert.deepEqual(first.cached, ['summary', 'selectivity', 'rra', 'similarity'], "the first model's own parts");
  assert.equal(first.compare!.cached, undefined, 'the compared model was never run alone');
  assert.equal(first.compare!.betweenCached, undefined);
  assert.ok(!('rra' in first.timings) && 'rra (cached)' in first.timings);
  assert.ok(!('similarity' in first.timings) && 'similarity (cached)' in first.timings);
  assert.ok('rra (between models)' in first.timings && 'similarity (between models)' in first.timings);
  // Both models' graphs were kept (the first's read back from the cache): the between part built none.
  assert.ok(!('rra: kNN graphs (between models)' in first.timings), JSON.stringify(first.timings));
  assert.deepStrictEqual(content(first), content(reference), 'the same document as a comparison computed whole');

  // A single run of the compared model: every analysis it ran in the comparison comes from there.
  const alone = await analyze({ ...base, analyses: ['summary', 'selectivity', 'rra'], modelPath: B, cacheDir }, pool);
  assert.deepEqual(alone.cached, ['summary', 'selectivity', 'rra']);
  for (const id of ['summary', 'selectivity', 'rra'] as const)
    assert.deepStrictEqual(alone.analyses[id], first.compare!.analyses![id]);

  // The same comparison again: everything from the cache.
  const again = await analyze({ ...base, modelPath: A, compare: B, cacheDir }, pool);
  assert.deepEqual(again.cached, ['summary', 'selectivity', 'rra', 'similarity']);
  assert.deepEqual(again.compare!.cached, ['summary', 'selectivity', 'rra']);
  assert.deepEqual(again.compare!.betweenCached, ['rra', 'similarity']);
  assert.deepStrictEqual(content(again), content(reference));
});

test('cache: without kept graphs (an older entry) the between part builds them: the same numbers', async () => {
  const cacheDir = tempDir('replens-cmp-');
  const opts = { ...base, analyses: ['rra'] as AnalyzeOptions['analyses'], cacheDir };
  const reference = await analyze({ ...opts, modelPath: A, compare: B, cacheDir: tempDir('replens-ref-') }, pool);
  await analyze({ ...opts, modelPath: A }, pool);
  await analyze({ ...opts, modelPath: B }, pool);
  for (const f of fs.readdirSync(cacheDir)) if (f.endsWith('.bin')) fs.rmSync(path.join(cacheDir, f));
  const r = await analyze({ ...opts, modelPath: A, compare: B }, pool);
  assert.deepEqual(r.cached, ['rra']);
  assert.deepEqual(r.compare!.cached, ['rra']);
  assert.ok('rra: kNN graphs (between models)' in r.timings, 'both models graphs built again');
  assert.deepStrictEqual(r.analyses.rra, reference.analyses.rra);
});

test('cache blobs: named int32 arrays round-trip; a damaged file reads as none', () => {
  const dir = tempDir('replens-blob-');
  const a = Int32Array.from([0, -1, 2 ** 31 - 1, -(2 ** 31), 7]);
  writeCacheBlobs(
    dir,
    'k',
    new Map([
      ['knn:4:x', a],
      ['none', new Int32Array(0)],
      ['é', Int32Array.from([3])],
    ]),
  );
  const back = readCacheBlobs(dir, 'k')!;
  assert.deepEqual([...back.keys()], ['knn:4:x', 'none', 'é']);
  assert.deepEqual(back.get('knn:4:x'), a);
  assert.equal(back.get('none')!.length, 0);
  assert.deepEqual(back.get('é'), Int32Array.from([3]));
  assert.equal(readCacheBlobs(dir, 'missing'), null);
  const file = path.join(dir, 'k.bin');
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 2));
  assert.equal(readCacheBlobs(dir, 'k'), null, 'truncated');
  fs.writeFileSync(file, Buffer.concat([bytes, Buffer.alloc(4)]));
  assert.equal(readCacheBlobs(dir, 'k'), null, 'trailing bytes');
  fs.writeFileSync(file, Buffer.from('XXXX' + bytes.toString('latin1').slice(4), 'latin1'));
  assert.equal(readCacheBlobs(dir, 'k'), null, 'bad magic');
});
