import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AnalysisWorker } from '../src/worker/client';
import {
  parseHostToWorker,
  parseWebviewToHost,
  parseWorkerToHost,
  parseHostToWebview,
  type Progress,
} from '../src/shared/messages';
import { saveModel } from '../src/engine/onnx/model';
import { readNpy, writeNpy } from '../src/engine/npy';
import { ReplensError } from '../src/engine/errors';
import { zooModel, randomInput } from './helpers/models';
import { gatedWorker, runGated } from './helpers/gate';

const WORKER = path.join(__dirname, '..', 'dist', 'worker.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-worker-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const modelPath = path.join(tmp, 'zoo.onnx');
const z = zooModel();
saveModel(z.model, modelPath);

test('messages are validated on receipt: version, type, and required fields', () => {
  assert.throws(() => parseHostToWorker({ v: 2, type: 'run', id: 1 }), /protocol version 2, expected 1/);
  assert.throws(() => parseHostToWorker({ v: 1, type: 'explode', id: 1 }), /unknown type 'explode'/);
  assert.throws(
    () => parseHostToWorker({ v: 1, type: 'run', id: 1, job: { kind: 'inspect' } }),
    /'modelPath' must be a string/,
  );
  assert.throws(
    () =>
      parseHostToWorker({
        v: 1,
        type: 'run',
        id: 1,
        job: { kind: 'activations', modelPath: 'm', outDir: 'o', reduce: 'none', tensors: ['t'] },
      }),
    /needs 'input' or 'data'/,
  );
  assert.throws(
    () =>
      parseHostToWorker({
        v: 1,
        type: 'run',
        id: 1,
        job: { kind: 'inspect', modelPath: 'm', runtime: { executionProvider: 'tpu' } },
      }),
    /executionProvider/,
  );
  assert.throws(() => parseWorkerToHost({ v: 1, type: 'error', id: 3, error: {} }), /must carry a message/);
  assert.throws(() => parseHostToWebview({ v: 1, type: 'inspect', result: { kind: 'activations' } }), /inspect result/);
  assert.throws(() => parseWebviewToHost('ready'), /not an object/);
  assert.deepEqual(parseHostToWorker({ v: 1, type: 'cancel', id: 4 }), { v: 1, type: 'cancel', id: 4 });
});

test('the worker inspects a model off the calling thread', async () => {
  const w = new AnalysisWorker(WORKER);
  try {
    const r = await w.run({ kind: 'inspect', modelPath, runtime: { executionProvider: 'cpu' } });
    assert.equal(r.kind, 'inspect');
    if (r.kind !== 'inspect') return;
    assert.equal(r.summary.layers.length, 13);
    assert.deepEqual(r.summary.layers.find((l) => l.op === 'Concat')!.shape, ['batch', 12, 5, 4]);
    assert.equal(r.executionProvider, 'cpu');
    // Engine errors arrive as one-line ReplensErrors with their code.
    await assert.rejects(
      w.run({ kind: 'inspect', modelPath: path.join(tmp, 'nope.onnx') }),
      (e: unknown) =>
        e instanceof ReplensError && e.code === 'E_NOT_FOUND' && /nope\.onnx: no such file/.test(e.message),
    );
  } finally {
    await w.dispose();
  }
});

test('cancel stops an activations job between batches and keeps what was written', { timeout: 120_000 }, async () => {
  // The gated worker holds the job at its first progress message until the host's cancel has arrived, so the
  // cancel lands before the next batch by construction (the job cannot finish first, however slow the host).
  const n = 200,
    batchSize = 2;
  const x = path.join(tmp, 'big.npy');
  writeNpy(x, { shape: [n, 4, 9, 9], data: randomInput(n, z.inputShape) });
  const out = path.join(tmp, 'cancelled');
  const w = gatedWorker();
  const ac = new AbortController();
  const seen: Progress[] = [];
  let at = -1;
  try {
    await assert.rejects(
      runGated(
        w,
        { on: 'progress', min: batchSize },
        {
          kind: 'activations',
          modelPath,
          input: x,
          tensors: [z.names.r2],
          reduce: 'none',
          outDir: out,
          batchSize,
          runtime: { executionProvider: 'cpu', intraOpThreads: 1 },
        },
        {
          signal: ac.signal,
          onProgress: (p) => {
            seen.push(p);
            if (at < 0 && p.done >= batchSize && p.done < p.total) {
              at = p.done;
              ac.abort();
            }
          },
        },
      ),
      (e: unknown) => e instanceof ReplensError && e.code === 'E_CANCELLED',
    );
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    assert.equal(manifest.complete, false);
    assert.equal(manifest.samples, at, 'stopped right after the batch whose progress triggered the cancel');
    const arr = readNpy(path.join(out, JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8'))[z.names.r2]));
    assert.deepEqual(arr.shape, [manifest.samples, 6, 10, 8]);
    // The values written before the cancel are right.
    const ref = z.reference(randomInput(n, z.inputShape).subarray(0, at * 324)).get(z.names.r2)!;
    assert.equal(arr.data.length, ref.data.length);
    let err = 0;
    for (let i = 0; i < ref.data.length; i++) err = Math.max(err, Math.abs((arr.data[i] as number) - ref.data[i]));
    assert.ok(err < 1e-4, `max error ${err}`);
    assert.ok(seen.every((p) => p.total === n && p.stage === 'capturing activations'));
    assert.ok(seen.some((p) => p.etaSeconds !== null));
  } finally {
    await w.dispose();
  }
});

test('a worker that dies fails its jobs with E_WORKER and the next job starts a fresh one', async () => {
  const crash = path.join(tmp, 'crash-worker.js');
  fs.writeFileSync(crash, "require('worker_threads').parentPort.on('message', () => process.exit(3));\n");
  const c = new AnalysisWorker(crash);
  await assert.rejects(
    c.run({ kind: 'inspect', modelPath }),
    (e: unknown) => e instanceof ReplensError && e.code === 'E_WORKER' && /exited with code 3/.test(e.message),
  );
  assert.equal(c.alive, false);
  await c.dispose();

  const w = new AnalysisWorker(WORKER);
  try {
    const pending = w.run({ kind: 'inspect', modelPath });
    await w.restart();
    await assert.rejects(pending, (e: unknown) => e instanceof ReplensError && e.code === 'E_WORKER');
    const r = await w.run({ kind: 'inspect', modelPath });
    assert.equal(r.kind, 'inspect');
  } finally {
    await w.dispose();
  }
});
