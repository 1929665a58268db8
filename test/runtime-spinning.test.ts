// The editor's runtime settings (issue 15: the worker's onnxruntime must not starve the UI): sessions created with
// idle threads that sleep (allowSpinning false) and fewer intra-op threads give the same numbers as the defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { SessionPool, runSession } from '../src/engine/runtime/session';
import { loadModel } from '../src/engine/onnx/model';
import { parseHostToWorker } from '../src/shared/messages';

const MODEL = path.join(__dirname, '..', 'examples', 'fashion-mnist', 'model.onnx');

test('allowSpinning false (session config entries), one intra-op thread: bit-identical outputs', async () => {
  const { proto } = await loadModel(MODEL);
  const x = Float32Array.from({ length: 4 * 784 }, (_, i) => Math.sin(i) * 0.5);
  const feed = { input: { data: x, dims: [4, 1, 28, 28], type: 'float32' as const } };
  const plain = new SessionPool({ executionProvider: 'cpu' });
  const quiet = new SessionPool({ executionProvider: 'cpu', allowSpinning: false, intraOpThreads: 1 });
  try {
    const a = await runSession(await plain.get('m', proto, 'model'), feed, 'model');
    const b = await runSession(await quiet.get('m', proto, 'model'), feed, 'model');
    assert.deepEqual(Array.from(b.logits.data as Float32Array), Array.from(a.logits.data as Float32Array));
  } finally {
    await plain.dispose();
    await quiet.dispose();
  }
});

test('the job protocol carries allowSpinning as a boolean', () => {
  const job = { kind: 'inspect', modelPath: '/m.onnx' };
  const run = (runtime: unknown) => parseHostToWorker({ v: 1, type: 'run', id: 1, job: { ...job, runtime } });
  assert.doesNotThrow(() => run({ allowSpinning: false }));
  assert.throws(() => run({ allowSpinning: 'no' }), /'runtime.allowSpinning' must be a boolean/);
});
