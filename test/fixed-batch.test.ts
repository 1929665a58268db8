// Issue 13: models exported with a fixed batch size run by default. A safe model gets a relaxed batch dimension
// (checked by running it); one whose graph bakes the batch into a Reshape runs at its own batch size, the last
// batch padded. Both must give exactly the activations of running the model one fixed-size batch at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GraphBuilder } from '../src/engine/onnx/builder';
import { saveModel } from '../src/engine/onnx/model';
import type { ModelProto } from '../src/engine/onnx/proto';
import { readNpy, writeNpy } from '../src/engine/npy';
import { SessionPool, runSession } from '../src/engine/runtime/session';
import { adaptBatch, fixedBatch, rebatch } from '../src/engine/runtime/batch';
import { runActivationsJob } from '../src/engine/capture/activations';
import { analyze } from '../src/engine/analyses/analyze';
import type { Batch } from '../src/engine/data/dataset';

const pool = new SessionPool({ executionProvider: 'cpu' });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-fixed-batch-'));
test.after(async () => {
  await pool.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** x [B,2,5,5] → Conv → Relu → (Flatten | Reshape to the constant [B, -1]) → Gemm → y [B,3]. */
function model(batch: number, flatten: 'flatten' | 'reshape-constant'): ModelProto {
  const g = new GraphBuilder('fixed', 13, 7);
  const x = g.input('x', [batch, 2, 5, 5]);
  const conv = g.node(
    'Conv',
    [x, g.randomInit('w', [4, 2, 3, 3]), g.randomInit('b', [4])],
    { pads: [1, 1, 1, 1] },
    { name: '/conv/Conv', outputs: ['conv_out'] },
  );
  const relu = g.node('Relu', [conv], {}, { name: '/relu/Relu', outputs: ['relu_out'] });
  const flat =
    flatten === 'flatten'
      ? g.node('Flatten', [relu], { axis: 1 }, { name: '/flat/Flatten', outputs: ['flat_out'] })
      : // What torch's legacy exporter emits for x.view(1, -1) traced at batch 1: the batch is baked in.
        g.node(
          'Reshape',
          [relu, g.initInt64('shape', [2], [batch, -1])],
          {},
          { name: '/flat/Reshape', outputs: ['flat_out'] },
        );
  g.node(
    'Gemm',
    [flat, g.randomInit('fw', [3, 100]), g.randomInit('fb', [3])],
    { transB: 1 },
    { name: '/fc/Gemm', outputs: ['y'] },
  );
  g.output('y', [batch, 3]);
  return g.build();
}

function samples(n: number, seed: number): Float32Array {
  const x = new Float32Array(n * 50);
  let s = seed;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = s / 2147483648 - 0.5;
  }
  return x;
}

/** The reference: the original model run at its own batch size, one sample padded run at a time. */
async function reference(
  m: ModelProto,
  key: string,
  batch: number,
  x: Float32Array,
  n: number,
  tensor: string,
): Promise<Float32Array> {
  const withTensor = {
    ...m,
    graph: { ...m.graph!, output: [...m.graph!.output, { ...m.graph!.output[0], name: tensor, type: null }] },
  } as ModelProto;
  const ms = await pool.get(`${key}#ref:${tensor}`, withTensor, 'reference');
  const rows: number[] = [];
  for (let i = 0; i < n; i += batch) {
    const chunk = new Float32Array(batch * 50);
    chunk.set(x.subarray(i * 50, Math.min(n, i + batch) * 50));
    const out = await runSession(ms, { x: { data: chunk, dims: [batch, 2, 5, 5], type: 'float32' } }, 'reference');
    const t = out[tensor].data as Float32Array;
    const per = t.length / batch;
    rows.push(...t.subarray(0, Math.min(batch, n - i) * per));
  }
  return Float32Array.from(rows);
}

test("fixedBatch reads the input's first dimension; dynamic models are left alone", async () => {
  assert.equal(fixedBatch(model(1, 'flatten'), 'x'), 1);
  assert.equal(fixedBatch(model(2, 'reshape-constant'), 'x'), 2);
  const dyn = model(1, 'flatten');
  dyn.graph!.input[0].type!.tensorType!.shape!.dim[0] = { dimParam: 'N' } as never;
  assert.equal(fixedBatch(dyn, 'x'), null);
  const a = await adaptBatch(dyn, 'x', [2, 5, 5], pool, 'dyn');
  assert.deepEqual([a.proto === dyn, a.runBatch, a.note], [true, null, null]);
});

test('a fixed batch that is safe to free is relaxed; one baked into a Reshape runs at its size', async () => {
  const safe = await adaptBatch(model(1, 'flatten'), 'x', [2, 5, 5], pool, 'safe');
  assert.equal(safe.runBatch, null);
  assert.match(safe.note!, /fixed at 1; running a copy with a free batch dimension/);
  assert.equal(fixedBatch(safe.proto, 'x'), null);
  const baked = await adaptBatch(model(2, 'reshape-constant'), 'x', [2, 5, 5], pool, 'baked');
  assert.equal(baked.runBatch, 2);
  assert.match(
    baked.note!,
    /fixed at 2 and cannot be freed \(.*\); running 2 samples at a time, the last batch padded/,
  );
});

test('rebatch regroups any batches into runs of the fixed size and pads only the last', async () => {
  async function* source(): AsyncGenerator<Batch> {
    let start = 0;
    for (const n of [3, 1, 4]) {
      const x = new Float32Array(n * 2).map((_, i) => start * 2 + i);
      yield { x, shape: [n, 2], labels: Int32Array.from({ length: n }, (_, i) => start + i), start };
      start += n;
    }
  }
  const runs = [];
  for await (const b of rebatch(source(), 3))
    runs.push({ x: [...b.x], shape: b.shape, labels: [...b.labels!], start: b.start, valid: b.valid });
  assert.deepEqual(runs, [
    { x: [0, 1, 2, 3, 4, 5], shape: [3, 2], labels: [0, 1, 2], start: 0, valid: 3 },
    { x: [6, 7, 8, 9, 10, 11], shape: [3, 2], labels: [3, 4, 5], start: 3, valid: 3 },
    { x: [12, 13, 14, 15, 0, 0], shape: [3, 2], labels: [6, 7], start: 6, valid: 2 },
  ]);
});

test("activations on fixed-batch models at the default batch size equal runs at the model's batch size", async () => {
  const n = 7; // odd: with a fixed batch of 2 the last run is padded
  const x = samples(n, 3);
  const xFile = path.join(tmp, 'x.npy');
  writeNpy(xFile, { shape: [n, 2, 5, 5], data: x });
  for (const [batch, kind] of [
    [1, 'flatten'],
    [2, 'reshape-constant'],
    [2, 'flatten'],
  ] as const) {
    const m = model(batch, kind);
    const file = path.join(tmp, `m-${batch}-${kind}.onnx`);
    saveModel(m, file);
    const out = path.join(tmp, `out-${batch}-${kind}`);
    const log: string[] = [];
    const res = await runActivationsJob(
      { kind: 'activations', modelPath: file, tensors: ['relu_out', 'y'], reduce: 'none', outDir: out, input: xFile },
      pool,
      {
        signal: new AbortController().signal,
        progress: () => undefined,
        partial: () => undefined,
        log: (l) => {
          log.push(l);
        },
      },
    );
    assert.equal(res.samples, n);
    assert.ok(
      log.some((l) => /batch size is fixed at/.test(l)),
      log.join('\n'),
    );
    for (const t of ['relu_out', 'y']) {
      const got = readNpy(path.join(out, res.files[t]));
      const want = await reference(m, file, batch, x, n, t);
      assert.equal(got.shape[0], n, `${file} ${t}`);
      assert.equal(got.data.length, want.length);
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs((got.data as Float32Array)[i] - want[i]));
      assert.ok(err < 1e-5, `${batch}/${kind} ${t}: max error ${err}`);
    }
  }
});

test('analyze on fixed-batch models: relaxed and padded paths give the same numbers, say what they did', async () => {
  const n = 9;
  const xFile = path.join(tmp, 'x9.npy');
  writeNpy(xFile, { shape: [n, 2, 5, 5], data: samples(n, 11) });
  const results = [];
  for (const kind of ['flatten', 'reshape-constant'] as const) {
    const file = path.join(tmp, `analyze-${kind}.onnx`);
    saveModel(model(2, kind), file);
    const r = await analyze(
      {
        modelPath: file,
        data: { path: xFile },
        analyses: ['summary', 'rra'],
        layers: ['relu_out', 'y'],
        k: 3,
        noCache: true,
        cacheDir: path.join(tmp, 'cache'),
      },
      pool,
    );
    assert.equal(r.complete, true);
    assert.equal(r.dataset.samples, n);
    assert.ok(
      r.notes.some((note) =>
        new RegExp(
          kind === 'flatten'
            ? 'fixed at 2; running a copy with a free batch dimension'
            : 'fixed at 2 and cannot be freed',
        ).test(note),
      ),
      r.notes.join('\n'),
    );
    results.push(r);
  }
  const [relaxed, padded] = results;
  for (const [i, a] of relaxed.analyses.summary!.perLayer.entries()) {
    const b = padded.analyses.summary!.perLayer[i];
    assert.ok(
      Math.abs(a.mean - b.mean) < 1e-6 && Math.abs(a.std - b.std) < 1e-6,
      `${a.tensor}: ${a.mean}/${a.std} vs ${b.mean}/${b.std}`,
    );
  }
  assert.deepEqual(
    padded.analyses.rra!.perLayer.map((l) => l.id?.twonn?.toFixed(4)),
    relaxed.analyses.rra!.perLayer.map((l) => l.id?.twonn?.toFixed(4)),
  );
});

test("--compare-layers names the second model's layers in its own terms", async () => {
  const n = 9;
  const xFile = path.join(tmp, 'x9c.npy');
  writeNpy(xFile, { shape: [n, 2, 5, 5], data: samples(n, 12) });
  const a = path.join(tmp, 'cmp-a.onnx'),
    b = path.join(tmp, 'cmp-b.onnx');
  saveModel(model(2, 'flatten'), a);
  saveModel(model(2, 'reshape-constant'), b);
  const r = await analyze(
    {
      modelPath: a,
      compare: b,
      data: { path: xFile },
      analyses: ['rra'],
      layers: ['relu_out', 'y'],
      compareLayers: ['/relu/Relu', '/fc/Gemm'],
      k: 3,
      noCache: true,
      cacheDir: path.join(tmp, 'cache'),
    },
    pool,
  );
  assert.deepEqual(
    r.compare!.layers.map((l) => l.tensor),
    ['relu_out', 'y'],
  );
  // The same weights: identical activations, so identical kNN graphs between the models.
  const inter = r.analyses.rra!.interModel!;
  assert.deepEqual([inter.values[0][0], inter.values[1][1]], [1, 1]);
});
