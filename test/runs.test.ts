// Runs are first-class (issue 15): the registry's history per model (cap, old single-result files, persistence
// across a reload, a cancelled or failed run's finished part as its own run), overlayRuns, and the panel controller
// over the history (show a stored run, overlay another, a restored panel shows the same, Compare With… keeps the run
// it started from).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { MAX_RUNS, ResultRegistry } from '../src/extension/results';
import { AnalysisController, type AnalyzeRunner } from '../src/extension/analysisController';
import { ReplensError } from '../src/engine/errors';
import { overlayRuns, dataDifference, formatWhen } from '../src/shared/overlay';
import type { AnalyzeJob, AnalysisRuns, HostToAnalysisView, JobResult } from '../src/shared/messages';
import { parseHostToAnalysisView } from '../src/shared/messages';
import type { AnalysisResult } from '../src/shared/result';
import type { RunHandlers } from '../src/worker/client';
import { runLine } from '../webview/analysis/state';
import { tempDir } from './helpers/tmp';

const SAMPLE = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'fixtures', 'report', 'sample-result.json'), 'utf8'),
) as AnalysisResult;
const A = path.resolve('/m/a.onnx');
const B = path.resolve('/m/b.onnx');
/** The sample result as a run of `model` with `samples` samples, started a second after the last (the sample is a
 * comparison: `single` drops that). */
let clock = 0;
function doc(model: string, samples: number, single = true): AnalysisResult {
  const { compare, ...rest } = SAMPLE;
  const r: AnalysisResult = {
    ...rest,
    createdAt: new Date(Date.UTC(2026, 11, 3, 12, 0, clock++)).toISOString(), // each run its own start
    ...(single ? {} : { compare }),
    model: { ...SAMPLE.model, path: model, name: path.basename(model) },
    dataset: { ...SAMPLE.dataset, samples },
  };
  return JSON.parse(JSON.stringify(r)) as AnalysisResult;
}
const files = (dir: string) => fs.readdirSync(dir, { recursive: true }).map(String).sort();

test('registry: every ended run is kept, newest first; lenses read the latest single-model run', () => {
  const dir = tempDir('replens-runs-');
  const reg = new ResultRegistry(dir);
  let changes = 0;
  reg.onDidChange(() => changes++);
  const r1 = reg.add(A, doc(A, 100), [{ module: 'conv1', index: 0, op: 'Conv' }], 'complete');
  const r2 = reg.add(A, doc(A, 200, false), [], 'complete'); // a Compare With… run
  const r3 = reg.add(A, doc(A, 300), [], 'cancelled'); // what a cancelled run finished
  assert.equal(changes, 3);
  assert.deepEqual(
    reg.runs(A).map((s) => [s.id, s.samples, s.state, s.compare ?? null]),
    [
      [r3.id, 300, 'cancelled', null],
      [r2.id, 200, 'complete', SAMPLE.compare!.path],
      [r1.id, 100, 'complete', null],
    ],
  );
  // The lenses read the newest run without a compared model: the cancelled one's finished part.
  assert.equal(reg.get(A)!.id, r3.id);
  assert.equal(reg.load(r2.id)!.result.dataset.samples, 200);
  const s = reg.runs(A)[2];
  assert.deepEqual(
    [s.analyses, s.dataset, s.datasetIdentity, s.cached],
    [SAMPLE.settings.analyses, SAMPLE.dataset.description, SAMPLE.dataset.identity, []],
  );
  // On disk: one folder per model, an index and one file per run.
  const folder = fs.readdirSync(dir)[0];
  assert.deepEqual(files(dir), [folder, ...[r1.id, r2.id, r3.id, 'index'].map((f) => `${folder}/${f}.json`).sort()]);
});

test('registry: a reload reads the indexes and loads runs when asked; a missing run file is dropped', () => {
  const dir = tempDir('replens-runs-');
  const a = new ResultRegistry(dir);
  const r1 = a.add(A, doc(A, 100), [{ module: 'fc', index: 3, op: 'Gemm' }], 'complete');
  const r2 = a.add(A, doc(A, 200), [], 'failed');
  const rb = a.add(B, doc(B, 50), [], 'complete');
  const logs: string[] = [];
  const b = new ResultRegistry(dir, (l) => logs.push(l));
  assert.deepEqual(b.models(), [A, B]);
  assert.deepEqual(
    b.runs(A).map((s) => [s.id, s.state, s.when]),
    [
      [r2.id, 'failed', r2.when],
      [r1.id, 'complete', r1.when],
    ],
  );
  assert.deepEqual(
    b.all().map((s) => s.id),
    [rb.id, r2.id, r1.id],
  );
  assert.deepEqual(b.load(r1.id)!.modules, [{ module: 'fc', index: 3, op: 'Gemm' }]);
  assert.deepEqual(b.load(r1.id)!.result, r1.result);
  // A run file removed behind the registry's back: dropped from the index, with a note; the next run is read.
  fs.rmSync(
    path.join(
      dir,
      fs.readdirSync(dir).find((f) => fs.existsSync(path.join(dir, f, `${r2.id}.json`)))!,
      `${r2.id}.json`,
    ),
  );
  assert.equal(b.get(A)!.id, r1.id);
  assert.match(logs.join('\n'), new RegExp(`dropped the stored run ${r2.id}`));
  assert.deepEqual(
    new ResultRegistry(dir).runs(A).map((s) => s.id),
    [r1.id],
  );
  assert.equal(b.load('no-such-run'), undefined);
});

test(`registry: at most ${MAX_RUNS} runs per model, the oldest go first but never the latest complete one`, () => {
  const dir = tempDir('replens-runs-');
  const reg = new ResultRegistry(dir);
  const first = reg.add(A, doc(A, 7), [], 'complete');
  const later = Array.from({ length: MAX_RUNS + 4 }, (_, i) => reg.add(A, doc(A, 1000 + i), [], 'cancelled'));
  reg.add(B, doc(B, 5), [], 'complete');
  const kept = reg.runs(A);
  assert.equal(kept.length, MAX_RUNS);
  // The only complete run stays (the lenses read it when the cancelled ones go); the oldest cancelled ones went.
  assert.deepEqual(
    kept.map((s) => s.samples),
    [
      ...later
        .slice(5)
        .map((r) => r.result.dataset.samples)
        .reverse(),
      7,
    ],
  );
  assert.equal(kept.at(-1)!.id, first.id);
  const folder = path.dirname(
    files(dir)
      .map((f) => path.join(dir, f))
      .find((f) => f.endsWith(`${first.id}.json`))!,
  );
  assert.equal(fs.readdirSync(folder).length, MAX_RUNS + 1, "the dropped runs' files are removed (+ index.json)");
  assert.equal(reg.runs(B).length, 1, 'the cap is per model');
  assert.equal(new ResultRegistry(dir).runs(A).length, MAX_RUNS);
});

test("registry: an old single-result file becomes the model's oldest run (its file moves in); junk is skipped", () => {
  const dir = tempDir('replens-runs-');
  const old = {
    modelPath: A,
    result: doc(A, 100),
    modules: [{ module: 'conv1', index: 0, op: 'Conv' }],
    state: 'complete',
  };
  fs.writeFileSync(path.join(dir, '0123456789abcdef01234567.json'), JSON.stringify(old));
  // A replens.result/1 document (noise-SVD was `noiseSvd`) of another model
  const { 'noise-svd': ns, ...rest } = doc(B, 40).analyses;
  const v1 = { ...doc(B, 40), schema: 'replens.result/1', analyses: { ...rest, noiseSvd: ns } };
  fs.writeFileSync(
    path.join(dir, 'ffffffffffffffffffffffff.json'),
    JSON.stringify({ modelPath: B, result: v1, modules: [], state: 'cancelled' }),
  );
  fs.writeFileSync(path.join(dir, 'junk.json'), '{');
  const logs: string[] = [];
  const reg = new ResultRegistry(dir, (l) => logs.push(l));
  assert.deepEqual(reg.models(), [A, B]);
  const [s] = reg.runs(A);
  assert.deepEqual([s.when, s.state, s.samples], [old.result.createdAt, 'complete', 100]);
  assert.deepEqual(reg.get(A)!.modules, old.modules);
  assert.deepEqual(reg.get(A)!.result, old.result);
  assert.ok(reg.get(B)!.result.analyses['noise-svd'], 'upgraded to replens.result/2');
  assert.equal(reg.get(B)!.state, 'cancelled');
  assert.match(logs.join('\n'), /skipped the stored result junk\.json/);
  assert.ok(!fs.existsSync(path.join(dir, '0123456789abcdef01234567.json')), 'moved into the runs');
  // A new run comes after it; a reload reads the same.
  const r = reg.add(A, doc(A, 300), [], 'complete');
  assert.deepEqual(
    new ResultRegistry(dir).runs(A).map((x) => [x.id, x.samples]),
    [
      [r.id, 300],
      [s.id, 100],
    ],
  );
});

test("overlayRuns: A with B as its compared model — B's per-model analyses, no between-model matrices", () => {
  const a = doc(A, 1000, false); // a Compare With… run: it has between-model matrices with another model
  assert.ok(a.analyses.similarity!.compare && a.analyses.rra!.interModel, 'the fixture has between-model matrices');
  const b = doc(B, 1000);
  b.createdAt = new Date(2026, 11, 3, 18, 2, 11).toISOString();
  b.model.accuracy = { top1: 0.9, correct: 900, samples: 1000, output: 'logits' };
  const o = overlayRuns(a, b);
  assert.deepEqual(
    { ...o.compare, analyses: undefined },
    { ...b.model, name: 'b.onnx', layers: b.layers, analyses: undefined },
  );
  assert.deepEqual(Object.keys(o.compare!.analyses!).sort(), ['rra', 'selectivity', 'summary']);
  assert.deepEqual(o.compare!.analyses!.summary, b.analyses.summary);
  assert.deepEqual(o.compare!.analyses!.selectivity, b.analyses.selectivity);
  const { interModel: _i, ...bRra } = b.analyses.rra!;
  assert.deepEqual(o.compare!.analyses!.rra, bRra);
  // A's own analyses stay, without the matrices that paired it with its compared model.
  assert.equal(o.analyses.similarity!.compare, undefined);
  assert.equal(o.analyses.rra!.interModel, undefined);
  assert.equal(o.analyses.similarity!.cca?.perLayerB, undefined);
  assert.deepEqual(o.analyses.similarity!.cka, a.analyses.similarity!.cka);
  assert.deepEqual(o.analyses.rra!.perLayer, a.analyses.rra!.perLayer);
  assert.deepEqual(o.analyses['noise-svd'], a.analyses['noise-svd']);
  assert.deepEqual([o.model, o.layers, o.dataset, o.complete], [a.model, a.layers, a.dataset, a.complete]);
  // Same data and samples: one note naming the overlaid run; the inputs are left as they were.
  assert.deepEqual(o.notes.slice(0, a.notes.length), a.notes);
  assert.deepEqual(o.notes.slice(a.notes.length), ['Overlaid run: b.onnx (run of 2026-12-03 18:02:11).']);
  assert.ok(a.analyses.similarity!.compare && a.analyses.rra!.interModel && !a.notes.some((n) => /Overlaid/.test(n)));
  // The run line names the overlaid run (a Compare With… run's names its compared model).
  assert.match(runLine(undefined, o, true), / · overlaid with b\.onnx$/);
  assert.match(runLine(undefined, a), new RegExp(` · compared with ${path.basename(SAMPLE.compare!.path)}$`));
  // Overlaying again replaces the notes; an overlay of the same model names the run.
  const a200 = doc(A, 200);
  const again = overlayRuns(o, a200);
  assert.equal(again.compare!.name, `a.onnx (run of ${formatWhen(a200.createdAt)})`);
  assert.deepEqual(again.notes.slice(a.notes.length), [
    `Overlaid run: a.onnx (run of ${formatWhen(a200.createdAt)}).`,
    'Overlaid run used other samples (200, not 1000): its numbers are not on the same samples.',
  ]);
});

test('overlayRuns: a note when the runs used other data or other samples', () => {
  const a = doc(A, 1000);
  assert.equal(dataDifference(a, doc(B, 1000)), null);
  assert.equal(dataDifference(a, doc(B, 500)), 'other samples (500, not 1000)');
  const other = doc(B, 1000);
  other.dataset = { ...other.dataset, identity: 'mnist@sha256:1', path: '/d/t10k-images-idx3-ubyte.gz' };
  assert.equal(dataDifference(a, other), `other data (t10k-images-idx3-ubyte.gz, not ${SAMPLE.dataset.description})`);
  assert.match(overlayRuns(a, other).notes.at(-1)!, /^Overlaid run used other data \(t10k-images-idx3-ubyte\.gz, not /);
  assert.equal(formatWhen('not a date'), 'not a date');
});

// ---- the controller over the history ---------------------------------------------------------------------------

class FakeRunner implements AnalyzeRunner {
  calls: { job: AnalyzeJob; handlers: RunHandlers; resolve: (r: JobResult) => void; reject: (e: Error) => void }[] = [];
  run(job: AnalyzeJob, handlers: RunHandlers): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      this.calls.push({ job, handlers, resolve, reject });
      handlers.signal?.addEventListener('abort', () => reject(new ReplensError('E_CANCELLED', 'cancelled')));
    });
  }
}

/** A panel of model A over a registry, the way analysisPanel.ts wires it. */
function panel(reg: ResultRegistry) {
  const posted: HostToAnalysisView[] = [];
  const runner = new FakeRunner();
  const c = new AnalysisController({
    post: (m) => {
      posted.push(parseHostToAnalysisView(JSON.parse(JSON.stringify(m))));
    },
    runner: () => runner,
    log: () => undefined,
    showLog: () => undefined,
    onResult: (r, modules, state, j) => reg.add(r.model.path, r, modules, state, j).id,
    history: {
      runs: () => reg.runs(A),
      others: () => reg.all().filter((s) => s.modelPath !== A),
      load: (id) => reg.load(id),
    },
  });
  const last = <T extends HostToAnalysisView['type']>(type: T) =>
    posted.filter((m) => m.type === type).at(-1) as Extract<HostToAnalysisView, { type: T }> | undefined;
  return { c, posted, runner, last };
}
const job = (compare?: string): AnalyzeJob => ({
  kind: 'analyze',
  modelPath: A,
  ...(compare ? { compare } : {}),
  data: { path: '/d/x.npy' },
  analyses: ['summary', 'rra'],
  samples: 100,
});
const flush = () => new Promise((r) => setImmediate(r));
const finish = (p: ReturnType<typeof panel>, result: AnalysisResult) =>
  p.runner.calls.at(-1)!.resolve({ kind: 'analyze', result, modules: [], executionProvider: 'cpu', seconds: 1 });

test('controller: Compare With… is a new run; the single-model run before it stays and can be picked', async () => {
  const reg = new ResultRegistry(null);
  const p = panel(reg);
  const single = p.c.start(job());
  await flush();
  finish(p, doc(A, 100));
  await single;
  const [first] = reg.runs(A);
  assert.deepEqual(p.last('runs')!.runs.shown, first.id);
  const cmp = p.c.start(job(B));
  await flush();
  const live: AnalysisRuns = p.last('runs')!.runs;
  assert.deepEqual([live.shown, live.own.length], [null, 1], 'a live run is not stored yet');
  finish(p, doc(A, 100, false));
  await cmp;
  const runs = reg.runs(A);
  assert.deepEqual(
    runs.map((s) => s.compare ?? null),
    [SAMPLE.compare!.path, null],
  );
  assert.equal(p.last('runs')!.runs.shown, runs[0].id);
  // The run picker shows the single-model run again, with its noise-SVD result; the lenses read it all along.
  await p.c.onMessage({ v: 1, type: 'showRun', id: first.id });
  const shown = p.last('result')!;
  assert.deepEqual(
    [shown.state, shown.result.compare, !!shown.result.analyses['noise-svd']],
    ['complete', undefined, true],
  );
  assert.equal(p.last('runs')!.runs.shown, first.id);
  assert.equal(p.last('run')!.run.compare, undefined);
  assert.equal(reg.get(A)!.id, first.id);
  // Re-run runs the shown run's request again (not the comparison's, which ran last).
  assert.equal(p.last('run')!.run.rerun, true);
  void p.c.onMessage({ v: 1, type: 'rerun' });
  await flush();
  assert.equal(p.runner.calls.at(-1)!.job.compare, undefined);
  p.c.dispose();
});

test('controller: overlay a run; a restored panel shows the same run and overlay; failures keep runs', async () => {
  const dir = tempDir('replens-runs-');
  const reg = new ResultRegistry(dir);
  const older = reg.add(A, doc(A, 100), [], 'complete');
  const other = reg.add(B, doc(B, 100), [], 'complete');
  const p = panel(reg);
  const run = p.c.start(job());
  await flush();
  finish(p, doc(A, 300));
  await run;
  const newest = reg.runs(A)[0];
  await p.c.onMessage({ v: 1, type: 'showRun', id: older.id });
  await p.c.onMessage({ v: 1, type: 'overlay', id: other.id });
  const o = p.last('result')!.result;
  assert.deepEqual(o, overlayRuns(older.result, other.result));
  assert.deepEqual(p.last('runs')!.runs, {
    own: reg.runs(A),
    others: [reg.runs(B)[0]],
    shown: older.id,
    overlay: other.id,
  });
  // The webview keeps `runs` in its state; after a window reload the new controller restores from it.
  const restored = panel(new ResultRegistry(dir));
  restored.c.restore(older.id, other.id);
  await restored.c.onMessage({ v: 1, type: 'ready' });
  assert.deepEqual(restored.last('result')!.result, o);
  assert.deepEqual([restored.last('runs')!.runs.shown, restored.last('runs')!.runs.overlay], [older.id, other.id]);
  // The same run line; a restored panel never saw the run's request, so it offers no Re-run.
  assert.deepEqual(restored.last('run')!.run, { ...p.last('run')!.run, rerun: false });
  assert.equal(p.last('run')!.run.rerun, false, 'a run stored before this panel existed');
  // The newest run was stored with its request: after a reload, Re-run runs it again.
  const again = panel(new ResultRegistry(dir));
  again.c.restore(newest.id);
  assert.equal(again.last('run')!.run.rerun, true);
  void again.c.onMessage({ v: 1, type: 'rerun' });
  await flush();
  assert.deepEqual(again.runner.calls.at(-1)!.job, { ...job(), noCache: false });
  again.c.dispose();
  // Without a state (an older panel): the newest run, no overlay. An id no longer stored falls back the same way.
  const plain = panel(reg);
  plain.c.restore('gone', 'gone-too');
  assert.deepEqual([plain.last('runs')!.runs.shown, plain.last('runs')!.runs.overlay], [newest.id, null]);
  // Removing the overlay shows the run itself.
  await p.c.onMessage({ v: 1, type: 'overlay', id: null });
  assert.deepEqual(p.last('result')!.result, older.result);
  // A run that fails before finishing anything: the shown run stays, nothing is stored; the overlay is off.
  const failing = p.c.start(job());
  await flush();
  p.runner.calls.at(-1)!.reject(new ReplensError('E_DATASET', 'x.npy: bad'));
  await failing;
  assert.equal(reg.runs(A).length, 2);
  assert.deepEqual(p.last('result')!.result, older.result);
  assert.equal(p.last('runs')!.runs.shown, older.id);
  // One that fails after a part finished: the part is a run of its own, the complete runs stay.
  const partial = p.c.start(job());
  await flush();
  const part = { ...doc(A, 300), complete: false, analyses: { summary: SAMPLE.analyses.summary } };
  p.runner.calls.at(-1)!.handlers.onPartial!({ kind: 'analysis', result: part });
  p.runner.calls.at(-1)!.reject(new ReplensError('E_DATASET', 'x.npy: bad'));
  await partial;
  assert.deepEqual(
    reg.runs(A).map((s) => s.state),
    ['failed', 'complete', 'complete'],
  );
  assert.equal(p.last('runs')!.runs.shown, reg.runs(A)[0].id);
  // While a run goes on, the pickers' messages are ignored (the run streams into the view).
  const going = p.c.start(job());
  await flush();
  assert.equal(p.c.showRun(older.id), false);
  p.c.dispose();
  await going;
});
