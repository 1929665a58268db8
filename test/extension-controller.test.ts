import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { InspectController, type InspectControllerHost, type JobRunner } from '../src/extension/inspectController';
import { runtimeSettings, timestamp, isOnnxPath } from '../src/extension/settings';
import { ReplensError } from '../src/engine/errors';
import { AnalysisWorker, type RunHandlers } from '../src/worker/client';
import { saveModel } from '../src/engine/onnx/model';
import type { ErrorInfo, HostToWebview, InspectJob, InspectResult, JobResult } from '../src/shared/messages';
import { zooModel } from './helpers/models';
import { tempDir } from './helpers/tmp';

const fakeResult = (modelPath: string): InspectResult => ({
  kind: 'inspect',
  modelPath,
  fileBytes: 10,
  executionProvider: 'cpu',
  summary: { inputs: [], outputs: [], opset: 13, irVersion: 8, producer: 'p', totalParams: 5, layers: [] },
});

/** A runner whose jobs the test resolves by hand. */
class FakeRunner implements JobRunner {
  calls: { job: InspectJob; handlers: RunHandlers; resolve: (r: JobResult) => void; reject: (e: Error) => void }[] = [];
  run(job: InspectJob, handlers: RunHandlers): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      this.calls.push({ job, handlers, resolve, reject });
      handlers.signal?.addEventListener('abort', () => reject(new ReplensError('E_CANCELLED', 'cancelled')));
    });
  }
}

function harness(makeJob?: () => InspectJob | ErrorInfo) {
  const posted: HostToWebview[] = [];
  const logs: string[] = [];
  const notified: ErrorInfo[] = [];
  let showLog = 0;
  const runner = new FakeRunner();
  let jobs = 0;
  const host: InspectControllerHost = {
    post: (m) => {
      posted.push(m);
    },
    runner: () => runner,
    makeJob:
      makeJob ??
      (() => ({
        kind: 'inspect',
        modelPath: `/m/model.onnx`,
        runtime: { executionProvider: 'cpu', intraOpThreads: ++jobs },
      })),
    log: (l) => logs.push(l),
    showLog: () => {
      showLog++;
    },
    notify: (e) => notified.push(e),
  };
  const c = new InspectController(host);
  return { c, posted, logs, notified, runner, showLogs: () => showLog };
}

const flush = () => new Promise((r) => setImmediate(r));

test('a run posts progress, then the result; `ready` re-posts the last message', async () => {
  const h = harness();
  const done = h.c.start();
  assert.equal(h.c.busy, true);
  assert.deepEqual(h.posted, [
    { v: 1, type: 'progress', progress: { stage: 'inspecting model.onnx', done: 0, total: 0, etaSeconds: null } },
  ]);
  h.runner.calls[0].handlers.onProgress!({ stage: 'shapes', done: 1, total: 2, etaSeconds: 1 });
  h.runner.calls[0].resolve(fakeResult('/m/model.onnx'));
  await done;
  assert.equal(h.c.busy, false);
  assert.deepEqual(
    h.posted.map((m) => m.type),
    ['progress', 'progress', 'inspect'],
  );
  assert.ok(
    h.logs.some((l) =>
      /inspect model\.onnx: 0 layers, 5 parameters, opset 13, execution provider cpu, \d+\.\d s/.test(l),
    ),
    h.logs.join('\n'),
  );
  await h.c.onMessage({ v: 1, type: 'ready' });
  assert.equal(h.posted.length, 4);
  assert.deepEqual(h.posted[3], h.posted[2]);
});

test('errors reach the webview with their code; a dead worker also notifies; Retry re-reads settings', async () => {
  const h = harness();
  const first = h.c.start();
  h.runner.calls[0].reject(
    new ReplensError('E_WORKER', 'the analysis worker crashed: boom; it restarts on the next run'),
  );
  await first;
  assert.deepEqual(h.posted.at(-1), {
    v: 1,
    type: 'error',
    error: { code: 'E_WORKER', message: 'the analysis worker crashed: boom; it restarts on the next run' },
  });
  assert.deepEqual(
    h.notified.map((e) => e.code),
    ['E_WORKER'],
  );
  const retry = h.c.onMessage({ v: 1, type: 'retry' });
  assert.equal(h.runner.calls.length, 2);
  assert.equal(h.runner.calls[1].job.runtime?.intraOpThreads, 2, 'a new job from makeJob');
  h.runner.calls[1].reject(new Error('something odd\n  at line 2'));
  await retry;
  assert.deepEqual(h.posted.at(-1), {
    v: 1,
    type: 'error',
    error: { code: 'E_INTERNAL', message: 'something odd at line 2' },
  });
  assert.equal(h.notified.length, 1, 'only a dead worker notifies');
});

test('Show Log, malformed messages, and a job that cannot be made', async () => {
  const h = harness(() => ({ code: 'E_UNTRUSTED', message: 'RepLens runs models only in trusted workspaces' }));
  await h.c.onMessage({ v: 1, type: 'showLog' });
  assert.equal(h.showLogs(), 1);
  await h.c.onMessage({ v: 1, type: 'explode' });
  await h.c.onMessage('ready');
  assert.equal(h.logs.filter((l) => /ignored a webview message/.test(l)).length, 2);
  await h.c.start();
  assert.equal(h.runner.calls.length, 0);
  assert.deepEqual(h.posted, [
    { v: 1, type: 'error', error: { code: 'E_UNTRUSTED', message: 'RepLens runs models only in trusted workspaces' } },
  ]);
});

test('a new run cancels the running one, whose late result is dropped', async () => {
  const h = harness();
  const a = h.c.start();
  const b = h.c.start();
  assert.equal(h.runner.calls[0].handlers.signal!.aborted, true);
  assert.equal(h.runner.calls[1].handlers.signal!.aborted, false);
  await a;
  h.runner.calls[1].resolve(fakeResult('/m/model.onnx'));
  await b;
  assert.deepEqual(
    h.posted.map((m) => m.type),
    ['progress', 'progress', 'inspect'],
  );
});

test('closing the panel cancels its job and nothing more is posted', async () => {
  const h = harness();
  const run = h.c.start();
  h.c.dispose();
  assert.equal(h.runner.calls[0].handlers.signal!.aborted, true);
  await run;
  assert.deepEqual(
    h.posted.map((m) => m.type),
    ['progress'],
  );
  assert.ok(h.logs.some((l) => /cancelling the running job \(panel closed\)/.test(l)));
  await h.c.start();
  await h.c.onMessage({ v: 1, type: 'ready' });
  assert.equal(h.posted.length, 1);
  assert.equal(h.runner.calls.length, 1);
});

test('a failing post (the panel is gone) is logged, not thrown', async () => {
  const logs: string[] = [];
  const c = new InspectController({
    post: () => Promise.reject(new Error('Webview is disposed')),
    runner: () => ({ run: async () => fakeResult('/m/x.onnx') }),
    makeJob: () => ({ kind: 'inspect', modelPath: '/m/x.onnx' }),
    log: (l) => logs.push(l),
    showLog: () => undefined,
  });
  await c.start();
  await flush();
  assert.ok(
    logs.some((l) => /posting to the webview failed: Webview is disposed/.test(l)),
    logs.join('\n'),
  );
});

const WORKER = path.join(__dirname, '..', 'dist', 'worker.js');
test(
  'with the real worker: a model is inspected off the host thread; a corrupt file gives an error card message',
  { skip: !fs.existsSync(WORKER) && 'dist/worker.js is missing (npm run build)' },
  async () => {
    const dir = tempDir('replens-ext-');
    const good = path.join(dir, 'zoo.onnx');
    const bad = path.join(dir, 'broken.onnx');
    saveModel(zooModel().model, good);
    fs.writeFileSync(bad, 'this is not an ONNX model\n');
    const logs: string[] = [];
    const worker = new AnalysisWorker(WORKER, (l) => logs.push(`worker: ${l}`));
    try {
      for (const [file, expect] of [
        [good, 'inspect'],
        [bad, 'error'],
        [good, 'inspect'],
      ] as const) {
        const posted: HostToWebview[] = [];
        const c = new InspectController({
          post: (m) => {
            posted.push(m);
          },
          runner: () => worker,
          makeJob: () => ({
            kind: 'inspect',
            modelPath: file,
            runtime: runtimeSettings((k) => (({ executionProvider: 'cpu' }) as Record<string, unknown>)[k]).runtime,
          }),
          log: (l) => logs.push(l),
          showLog: () => undefined,
        });
        await c.start();
        const last = posted.at(-1)!;
        assert.equal(last.type, expect, JSON.stringify(last));
        if (last.type === 'inspect') {
          assert.equal(last.result.summary.layers.length, 13);
          assert.equal(last.result.executionProvider, 'cpu');
        }
        if (last.type === 'error') {
          assert.equal(last.error.code, 'E_NOT_ONNX');
          assert.ok(!last.error.message.includes('\n'));
        }
      }
    } finally {
      await worker.dispose();
    }
  },
);

test('settings: valid values pass through, invalid ones fall back with a warning', () => {
  const cfg = (o: Record<string, unknown>) => (k: string) => o[k];
  assert.deepEqual(runtimeSettings(cfg({})), {
    runtime: { executionProvider: 'auto', intraOpThreads: 0, interOpThreads: 0, allowSpinning: false },
    warnings: [],
  });
  // The editor leaves the UI a core unless the user set the threads; idle onnxruntime threads never spin.
  assert.equal(runtimeSettings(cfg({}), 8).runtime.intraOpThreads, 7);
  assert.equal(runtimeSettings(cfg({}), 1).runtime.intraOpThreads, 0);
  const set = runtimeSettings(cfg({ executionProvider: 'cuda', intraOpThreads: 4, interOpThreads: 2 }), 8);
  assert.deepEqual(set.runtime, {
    executionProvider: 'cuda',
    intraOpThreads: 4,
    interOpThreads: 2,
    allowSpinning: false,
  });
  const bad = runtimeSettings(cfg({ executionProvider: 'tpu', intraOpThreads: -1, interOpThreads: 1.5 }));
  assert.deepEqual(bad.runtime, {
    executionProvider: 'auto',
    intraOpThreads: 0,
    interOpThreads: 0,
    allowSpinning: false,
  });
  assert.equal(bad.warnings.length, 3);
  assert.match(bad.warnings[0], /replens\.executionProvider must be one of auto, cpu, cuda \(got "tpu"\)/);
  assert.match(timestamp(new Date(2024, 0, 2, 3, 4, 5, 6)), /^03:04:05\.006$/);
  assert.ok(isOnnxPath('/a/B.ONNX') && !isOnnxPath('/a/b.onnx.txt'));
});
