// The Analysis panel without vscode: the controller with a fake runner (streaming, cancel keeps what finished,
// replay on ready, export), the result registry on disk, the throttle, the tab registry; and the analyze job on the
// real worker (partial documents per finished layer, cancel midway).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import {
  AnalysisController,
  type AnalysisControllerHost,
  type AnalyzeRunner,
} from '../src/extension/analysisController';
import { ResultRegistry } from '../src/extension/results';
import { analysisHtml } from '../src/extension/analysisHtml';
import { throttle } from '../src/engine/analyses/job';
import { AnalysisWorker, type RunHandlers } from '../src/worker/client';
import { ReplensError } from '../src/engine/errors';
import {
  parseAnalysisViewToHost,
  parseHostToAnalysisView,
  type AnalyzeJob,
  type HostToAnalysisView,
  type JobResult,
} from '../src/shared/messages';
import type { AnalysisResult } from '../src/shared/result';
import { PANEL_TABS, panelTabs, sparklinePoints } from '../webview/analysis/tabs';
import { DEFAULT_LIGHT } from '../webview/charts/theme';
import { runLine, stateText } from '../webview/analysis/state';
import { tabCharts } from '../webview/views/registry';
import { gatedWorker, runGated } from './helpers/gate';
import { tempDir } from './helpers/tmp';

const SAMPLE = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'fixtures', 'report', 'sample-result.json'), 'utf8'),
) as AnalysisResult;
const WORKER = path.join(__dirname, '..', 'dist', 'worker.js');
const EX = path.join(__dirname, '..', 'examples');
const job: AnalyzeJob = {
  kind: 'analyze',
  modelPath: '/m/a.onnx',
  data: { path: '/d/x.npy' },
  analyses: ['rra'],
  samples: 100,
};
const flush = () => new Promise((r) => setImmediate(r));

class FakeRunner implements AnalyzeRunner {
  calls: { job: AnalyzeJob; handlers: RunHandlers; resolve: (r: JobResult) => void; reject: (e: Error) => void }[] = [];
  run(job: AnalyzeJob, handlers: RunHandlers): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      this.calls.push({ job, handlers, resolve, reject });
      handlers.signal?.addEventListener('abort', () => reject(new ReplensError('E_CANCELLED', 'cancelled')));
    });
  }
}

function harness() {
  const posted: HostToAnalysisView[] = [];
  const results: { state: string; layers: number }[] = [];
  const runner = new FakeRunner();
  const readme: string[] = [];
  const host: AnalysisControllerHost = {
    post: (m) => {
      posted.push(parseHostToAnalysisView(JSON.parse(JSON.stringify(m))));
    },
    runner: () => runner,
    log: () => undefined,
    showLog: () => undefined,
    openReadme: (anchor) => readme.push(anchor),
    onResult: (r, _m, state) => {
      results.push({ state, layers: r.analyses.rra?.perLayer.length ?? 0 });
    },
    exportResult: async (_r, f) => `/out/x.${f}`,
  };
  return { c: new AnalysisController(host), posted, results, runner, readme };
}

const partial = (layers: number): AnalysisResult => ({
  ...SAMPLE,
  complete: false,
  analyses: {
    ...SAMPLE.analyses,
    rra: { ...SAMPLE.analyses.rra!, perLayer: SAMPLE.analyses.rra!.perLayer.slice(0, layers) },
  },
});

test('controller: partial documents stream as "running"; the final one, complete, goes to the registry', async () => {
  const { c, posted, results, runner } = harness();
  const done = c.start(job);
  await flush();
  runner.calls[0].handlers.onProgress!({ stage: 'RRA: kNN graphs', done: 1, total: 4, etaSeconds: 3 });
  runner.calls[0].handlers.onPartial!({ kind: 'analysis', result: partial(1) });
  runner.calls[0].resolve({ kind: 'analyze', result: SAMPLE, modules: [], executionProvider: 'cpu', seconds: 1 });
  assert.equal(await done, 'complete');
  assert.deepEqual(
    posted.map((m) => (m.type === 'result' ? `result:${m.state}` : m.type)),
    ['run', 'progress', 'result:running', 'result:complete'],
  );
  assert.deepEqual(results, [{ state: 'complete', layers: SAMPLE.analyses.rra!.perLayer.length }]);
  // The webview reloads: it gets the run and the final document again.
  posted.length = 0;
  await c.onMessage({ v: 1, type: 'ready' });
  assert.deepEqual(
    posted.map((m) => m.type),
    ['run', 'result'],
  );
  await c.onMessage({ v: 1, type: 'export', format: 'csv' });
  assert.deepEqual(posted.at(-1), { v: 1, type: 'exported', what: 'CSV', path: '/out/x.csv' });
});

test('controller: Cancel keeps finished layers (state cancelled, no error card); failure adds the error', async () => {
  const { c, posted, results, runner } = harness();
  const done = c.start(job);
  await flush();
  runner.calls[0].handlers.onPartial!({ kind: 'analysis', result: partial(2) });
  await c.onMessage({ v: 1, type: 'cancel' });
  assert.equal(await done, 'cancelled');
  const last = posted.at(-1)!;
  assert.equal(last.type, 'result');
  if (last.type === 'result') {
    assert.equal(last.state, 'cancelled');
    assert.equal(last.result.analyses.rra!.perLayer.length, 2);
  }
  assert.ok(!posted.some((m) => m.type === 'error'));
  assert.deepEqual(results, [{ state: 'cancelled', layers: 2 }]);
  const again = c.start(job);
  await flush();
  runner.calls[1].reject(new ReplensError('E_DATASET', 'x.npy: bad'));
  assert.equal(await again, 'failed');
  assert.deepEqual(posted.at(-1), { v: 1, type: 'error', error: { code: 'E_DATASET', message: 'x.npy: bad' } });
});

test('messages: the analysis view protocol refuses malformed messages with one line', () => {
  assert.throws(
    () => parseHostToAnalysisView({ v: 1, type: 'result', result: { schema: 'x' }, state: 'running' }),
    /replens.result\/2/,
  );
  assert.throws(
    () => parseHostToAnalysisView({ v: 1, type: 'result', result: SAMPLE, state: 'paused' }),
    /'state' must be/,
  );
  assert.throws(() => parseAnalysisViewToHost({ v: 1, type: 'export', format: 'pdf' }), /html, json or csv/);
  assert.throws(
    () => parseAnalysisViewToHost({ v: 1, type: 'png', chart: 'a', dataUrl: 'data:text/html,<b>' }),
    /PNG data URL/,
  );
  for (const anchor of ['', 'a b', '../x', 'x'.repeat(81), 7])
    assert.throws(() => parseAnalysisViewToHost({ v: 1, type: 'readme', anchor }), /README heading id/);
});

test("controller: an ⓘ's README link opens the bundled README at the section; a malformed one, nothing", async () => {
  const { c, readme } = harness();
  await c.onMessage({ v: 1, type: 'readme', anchor: 'info-nncs' });
  await c.onMessage({ v: 1, type: 'readme', anchor: 'javascript:alert(1)' });
  assert.deepEqual(readme, ['info-nncs']);
});

test('registry: results survive a reload from disk; unreadable files are skipped with a note', () => {
  const dir = tempDir('replens-reg-');
  const a = new ResultRegistry(dir);
  let changes = 0;
  a.onDidChange(() => changes++);
  a.set('/m/a.onnx', SAMPLE, [{ module: 'conv1', index: 0, op: 'Conv' }], 'complete');
  assert.equal(changes, 1);
  fs.writeFileSync(path.join(dir, 'junk.json'), '{');
  const logs: string[] = [];
  const b = new ResultRegistry(dir, (l) => logs.push(l));
  assert.deepEqual(b.models(), [path.resolve('/m/a.onnx')]);
  assert.deepEqual(b.get('/m/a.onnx')!.modules, [{ module: 'conv1', index: 0, op: 'Conv' }]);
  assert.equal(b.get('/m/a.onnx')!.result.model.sha256, SAMPLE.model.sha256);
  assert.match(logs.join(), /skipped the stored result junk\.json/);
});

test('throttle: at most one send per interval, the latest value, flush sends what is pending', async () => {
  let t = 0;
  const sent: number[] = [];
  const th = throttle<number>(
    (v) => sent.push(v),
    100,
    () => t,
  );
  th.push(1);
  th.push(2);
  th.push(3);
  assert.deepEqual(sent, [1]);
  t = 50;
  th.push(4);
  th.flush();
  assert.deepEqual(sent, [1, 4]);
  th.flush();
  assert.deepEqual(sent, [1, 4]);
});

test('tabs: each analysis of the sample result gets its tab and the report charts are all placed exactly once', () => {
  const tabs = panelTabs(SAMPLE, DEFAULT_LIGHT);
  assert.deepEqual(
    tabs.map((t) => t.tab.id),
    PANEL_TABS.filter((t) => t.has(SAMPLE)).map((t) => t.id),
  );
  assert.ok(tabs.some((t) => t.tab.id === 'rra' && t.charts.some((c) => c.id === 'nnls')));
  const placed = tabs.flatMap((t) => t.charts.map((c) => c.id));
  assert.equal(new Set(placed).size, placed.length);
  assert.equal(sparklinePoints([0, 2, 1], 60, 16), '0.0,16.0 30.0,0.0 60.0,8.0');
  assert.equal(sparklinePoints([0, 0], 60, 16), '');
  const html = analysisHtml({
    cspSource: 'vscode-resource:',
    nonce: 'N0nce',
    plotlyUri: 'p.js',
    scriptUri: 's.js',
    styleUri: 'c.css',
    modelPath: '/m/<a>.onnx',
  });
  assert.match(html, /script-src 'nonce-N0nce'/);
  assert.equal((html.match(/<script nonce="N0nce"/g) ?? []).length, 2);
  assert.ok(!html.includes('<a>.onnx'));
});

test(
  'with the real worker: partial documents per finished RRA layer; cancel midway keeps them',
  { timeout: 300_000, skip: !fs.existsSync(WORKER) && 'dist/worker.js is missing (npm run build)' },
  async () => {
    const w = new AnalysisWorker(WORKER);
    const cacheDir = tempDir('replens-wcache-');
    const base: AnalyzeJob = {
      kind: 'analyze',
      modelPath: path.join(EX, 'fashion-mnist', 'model.onnx'),
      data: { path: path.join(EX, 'fashion-mnist', 'data', 't10k-images-idx3-ubyte.gz') },
      analyses: ['summary', 'rra'],
      samples: 150,
      k: 4,
      cacheDir,
      noCache: true,
      runtime: { executionProvider: 'cpu' },
    };
    try {
      const seen: number[] = [];
      const r = await w.run(base, {
        onPartial: (p) => {
          if (p.kind === 'analysis') seen.push(p.result.analyses.rra?.perLayer.length ?? 0);
        },
      });
      assert.equal(r.kind, 'analyze');
      if (r.kind !== 'analyze') return;
      assert.ok(
        r.modules.some((m) => m.module === 'stem.conv'),
        'module index for the lenses',
      );
      assert.ok(seen.length >= 2 && seen.at(-1)! >= 1, `partials ${seen.join(',')}`);
      assert.ok(
        seen.every((v, i) => i === 0 || v >= seen[i - 1]),
        'monotone',
      );
      // Cancel once two layers are done: the last partial still has them. The gated worker sends each layer's partial
      // at once (it waits out the 250 ms partial throttle after each) and holds the job at the partial with two layers
      // until the host's cancel has arrived, so the cancel lands before the third layer by construction.
      const g = gatedWorker();
      try {
        const ac = new AbortController();
        let kept = 0;
        await assert.rejects(
          runGated(g, { on: 'partial', min: 2, spacingMs: 300 }, base, {
            signal: ac.signal,
            onPartial: (p) => {
              if (p.kind !== 'analysis') return;
              kept = p.result.analyses.rra?.perLayer.length ?? 0;
              if (kept >= 2) ac.abort();
            },
          }),
          (e: unknown) => e instanceof ReplensError && e.code === 'E_CANCELLED',
        );
        assert.equal(kept, 2);
      } finally {
        await g.dispose();
      }
    } finally {
      await w.dispose();
    }
  },
);

test('the panel status: a cancelled or failed run says whether anything finished', () => {
  const none = { ...SAMPLE, analyses: {} };
  assert.equal(stateText('failed', none), 'failed — nothing had finished');
  assert.equal(stateText('cancelled', undefined), 'cancelled — nothing had finished');
  assert.equal(stateText('cancelled', partial(1)), 'cancelled — finished layers kept');
  assert.equal(stateText('complete', SAMPLE), 'complete');
});

test('tabCharts: each tab gets exactly the charts panelTabs gives it, building only its own views', () => {
  for (const { tab, charts } of panelTabs(SAMPLE, DEFAULT_LIGHT)) {
    assert.deepEqual(
      tabCharts(SAMPLE, DEFAULT_LIGHT, tab.id).map((c) => c.id),
      charts.map((c) => c.id),
      tab.id,
    );
  }
  // The RRA tab does not build the noise-SVD view's figures: a noise-SVD value that breaks them does not matter there.
  const trap = Object.defineProperty({}, 'series', {
    get() {
      throw new Error('the noise-SVD figure was built');
    },
  });
  const broken = { ...SAMPLE, analyses: { ...SAMPLE.analyses, 'noise-svd': trap } } as unknown as AnalysisResult;
  assert.ok(tabCharts(broken, DEFAULT_LIGHT, 'rra').some((c) => c.id === 'depth'));
  assert.throws(() => tabCharts(broken, DEFAULT_LIGHT, 'noise-svd'), /was built/);
});

test('controller: a run that finished nothing keeps the last complete result; Recompute skips the cache', async () => {
  const { c, posted, results, runner } = harness();
  const first = c.start(job);
  await flush();
  runner.calls[0].resolve({ kind: 'analyze', result: SAMPLE, modules: [], executionProvider: 'cpu', seconds: 1 });
  assert.equal(await first, 'complete');
  // Re-run (the cache allowed), failing before any analysis finished: the good result stays, with the error card.
  const done = c.onMessage({ v: 1, type: 'rerun' });
  await flush();
  assert.equal(runner.calls[1].job.noCache, false);
  runner.calls[1].handlers.onPartial!({ kind: 'analysis', result: { ...SAMPLE, complete: false, analyses: {} } });
  runner.calls[1].reject(new ReplensError('E_DATASET', 'x.npy: bad'));
  await done;
  const shown = posted.filter((m) => m.type === 'result').at(-1)!;
  assert.ok(shown.type === 'result' && shown.state === 'complete', 'the previous result, complete');
  if (shown.type === 'result') assert.deepEqual(shown.result, SAMPLE);
  assert.deepEqual(posted.at(-1), { v: 1, type: 'error', error: { code: 'E_DATASET', message: 'x.npy: bad' } });
  assert.equal(c.lastResult, SAMPLE);
  assert.deepEqual(results, [{ state: 'complete', layers: SAMPLE.analyses.rra!.perLayer.length }]);
  // Recompute: the same job without the cache.
  void c.onMessage({ v: 1, type: 'rerun', recompute: true });
  await flush();
  assert.equal(runner.calls.at(-1)!.job.noCache, true);
  assert.throws(
    () => parseAnalysisViewToHost({ v: 1, type: 'rerun', recompute: 'yes' }),
    /'recompute' must be a boolean/,
  );
  c.dispose();
});

test('the run line: from the result once there is one, so a live and a restored panel say the same', () => {
  const run = { modelPath: '/m/a.onnx', dataset: '/d/x.npy', analyses: ['rra'], samples: undefined };
  assert.equal(runLine(run, undefined), 'data x.npy · rra');
  const r = { ...SAMPLE, dataset: { ...SAMPLE.dataset, path: '/d/x.npy', samples: 120 } } as AnalysisResult;
  const restored = { modelPath: r.model.path, dataset: r.dataset.path!, analyses: r.settings.analyses, samples: 120 };
  assert.equal(runLine(run, r), runLine(restored, r));
  assert.match(runLine(run, r), new RegExp(`^data x\\.npy · ${r.settings.analyses.join(', ')} · 120 samples`));
  // A result written before datasets had a path falls back to the description.
  const old = { ...SAMPLE, dataset: { ...SAMPLE.dataset, path: undefined } } as AnalysisResult;
  assert.ok(runLine(undefined, old).startsWith(`data ${SAMPLE.dataset.description.split('/').pop()}`));
});
