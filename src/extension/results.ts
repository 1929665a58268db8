// The stored runs of each model in this workspace (pure Node, no vscode): the last MAX_RUNS runs per model, each its
// result, module index, state and when it ended. The code lenses, hovers and the status bar read a model's latest
// single-model run (`get`); the panel's run pickers list them all (`runs`, `all`) and load one (`load`).
//
// On disk, under the extension's workspace storage: `<dir>/<model hash>/index.json` (the summaries the pickers list,
// small) and one `<run id>.json` per run (read when a run is shown, a few kept in memory), so activation reads the
// indexes only. A `<dir>/<model hash>.json` file of the single-result layout before runs were kept is moved into
// the model's runs when found. Every file is written atomically (fswrite); a run file is written before the index
// names it, and a summary whose file is gone is dropped when it is asked for.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { AnalysisRunState, AnalyzeJob, ModuleIndex, RunSummary } from '../shared/messages';
import { upgradeResult, type AnalysisResult } from '../shared/result';
import { analyzeSettingsProblem } from '../shared/analyses';
import { writeAtomic } from '../engine/fswrite';

/** Runs kept per model: the oldest go first (never the latest complete single-model run, which lenses read). */
export const MAX_RUNS = 20;
/** Run documents kept in memory (besides the index): a result can be megabytes (per-unit selectivity, spectra). */
const LOADED = 8;
const INDEX_SCHEMA = 'replens.runs/1';
const STATES: readonly AnalysisRunState[] = ['running', 'complete', 'cancelled', 'failed'];

export interface StoredAnalysis {
  modelPath: string;
  result: AnalysisResult;
  modules: ModuleIndex[];
  state: AnalysisRunState;
}

export interface StoredRun extends StoredAnalysis {
  id: string;
  /** The request that made it (Re-run runs it again), when the run was stored with one. */
  job?: AnalyzeJob;
  /** When the run started: its result's createdAt. */
  when: string;
}

interface ModelRuns {
  modelPath: string;
  /** Oldest first. */
  runs: RunSummary[];
}

const hash = (key: string) => crypto.createHash('sha256').update(key).digest('hex').slice(0, 24);

/** What the pickers show of a run: read from its result (what ran) and the state it ended in. */
export function summarize(id: string, result: AnalysisResult, state: AnalysisRunState, when: string): RunSummary {
  return {
    id,
    modelPath: path.resolve(result.model.path),
    when,
    state,
    analyses: [...result.settings.analyses],
    samples: result.dataset.samples,
    dataset: result.dataset.path ?? result.dataset.description,
    datasetIdentity: result.dataset.identity,
    ...(result.compare ? { compare: result.compare.path } : {}),
    cached: [...(result.cached ?? [])],
  };
}

function isSummary(x: unknown): x is RunSummary {
  const s = x as RunSummary;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.id === 'string' &&
    /^[\w-]+$/.test(s.id) &&
    typeof s.when === 'string' &&
    STATES.includes(s.state) &&
    Array.isArray(s.analyses) &&
    typeof s.samples === 'number' &&
    typeof s.dataset === 'string' &&
    Array.isArray(s.cached)
  );
}

export class ResultRegistry {
  private readonly byModel = new Map<string, ModelRuns>();
  /** Loaded run documents by id, least recently used first. */
  private readonly loaded = new Map<string, StoredRun>();
  private readonly listeners = new Set<() => void>();
  private seq = 0;

  /** `dir`: where to keep the runs (null: memory only). Unreadable files are skipped and reported to `log`. */
  constructor(
    private readonly dir: string | null,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    if (!dir || !fs.existsSync(dir)) return;
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    for (const e of entries.filter((x) => x.isDirectory())) this.readIndex(e.name);
    for (const e of entries.filter((x) => x.isFile() && x.name.endsWith('.json'))) this.upgradeOld(e.name);
  }

  private readIndex(name: string): void {
    const file = path.join(this.dir!, name, 'index.json');
    try {
      const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { schema?: unknown; modelPath?: unknown; runs?: unknown };
      if (j.schema !== INDEX_SCHEMA || typeof j.modelPath !== 'string' || !Array.isArray(j.runs))
        throw new Error('not a RepLens run index');
      const key = path.resolve(j.modelPath);
      const runs = j.runs.filter(isSummary);
      if (runs.length < j.runs.length) this.log(`skipped ${j.runs.length - runs.length} malformed run(s) in ${file}`);
      this.byModel.set(key, { modelPath: key, runs });
    } catch (e) {
      this.log(`skipped the stored runs in ${name}: ${(e as Error).message}`);
    }
  }

  /** A single-result file of the layout before runs were kept: becomes the model's oldest run. */
  private upgradeOld(name: string): void {
    const file = path.join(this.dir!, name);
    try {
      const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StoredAnalysis>;
      const result = upgradeResult(s?.result);
      if (!result || typeof s.modelPath !== 'string') throw new Error('not a stored analysis');
      const state = STATES.includes(s.state!) ? s.state! : result.complete ? 'complete' : 'cancelled';
      const when = Number.isNaN(Date.parse(result.createdAt))
        ? fs.statSync(file).mtime.toISOString()
        : result.createdAt;
      const run = this.store(s.modelPath, result, Array.isArray(s.modules) ? s.modules : [], state, when, 'first');
      fs.unlinkSync(file);
      this.log(`moved the stored result ${name} into the runs of ${s.modelPath} (run ${run.id})`);
    } catch (e) {
      this.log(`skipped the stored result ${name}: ${(e as Error).message}`);
    }
  }

  /** The latest single-model run of the model (what lenses and hovers show), else its latest run. */
  get(modelPath: string): StoredRun | undefined {
    const runs = this.byModel.get(path.resolve(modelPath))?.runs ?? [];
    for (const pass of [(s: RunSummary) => !s.compare, () => true])
      for (let i = runs.length - 1; i >= 0; i--) {
        if (!pass(runs[i])) continue;
        const r = this.load(runs[i].id);
        if (r) return r;
      }
    return undefined;
  }

  /** Models with stored runs. */
  models(): string[] {
    return [...this.byModel.entries()]
      .filter(([, m]) => m.runs.length)
      .map(([k]) => k)
      .sort();
  }

  /** The model's runs, newest first. */
  runs(modelPath: string): RunSummary[] {
    return [...(this.byModel.get(path.resolve(modelPath))?.runs ?? [])].reverse();
  }

  /** Every model's runs, newest first. */
  all(): RunSummary[] {
    return [...this.byModel.values()].flatMap((m) => m.runs).sort((a, b) => b.when.localeCompare(a.when));
  }

  /** A stored run by id; undefined (and dropped from the index) when its file cannot be read. */
  load(id: string): StoredRun | undefined {
    const hit = this.loaded.get(id);
    if (hit) {
      this.loaded.delete(id);
      this.loaded.set(id, hit);
      return hit;
    }
    const model = [...this.byModel.values()].find((m) => m.runs.some((s) => s.id === id));
    if (!model || !this.dir) return undefined;
    const summary = model.runs.find((s) => s.id === id)!;
    const file = path.join(this.dir, hash(model.modelPath), `${id}.json`);
    try {
      const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StoredRun>;
      const result = upgradeResult(s?.result);
      if (!result) throw new Error('not a stored analysis');
      // A request that no longer passes the job checks (written by another version) is left out: no Re-run.
      const job =
        s.job && s.job.kind === 'analyze' && !analyzeSettingsProblem(s.job as unknown as Record<string, unknown>)
          ? s.job
          : undefined;
      const run: StoredRun = {
        id,
        when: summary.when,
        modelPath: model.modelPath,
        result,
        modules: Array.isArray(s.modules) ? s.modules : [],
        state: summary.state,
        ...(job ? { job } : {}),
      };
      this.remember(run);
      return run;
    } catch (e) {
      this.log(`dropped the stored run ${id} of ${model.modelPath}: ${(e as Error).message}`);
      model.runs = model.runs.filter((r) => r.id !== id);
      this.writeIndex(model);
      return undefined;
    }
  }

  /** Stores a run that ended (complete, or what a cancelled or failed run finished) as the model's newest. */
  add(
    modelPath: string,
    result: AnalysisResult,
    modules: ModuleIndex[],
    state: AnalysisRunState,
    job?: AnalyzeJob,
  ): StoredRun {
    // When the run started (what its result and an overlay of it say), else now.
    const when = Number.isNaN(Date.parse(result.createdAt)) ? new Date().toISOString() : result.createdAt;
    const run = this.store(modelPath, result, modules, state, when, 'last', job);
    for (const l of this.listeners) l();
    return run;
  }

  /** The name the registry had before it kept runs. */
  set(modelPath: string, result: AnalysisResult, modules: ModuleIndex[], state: AnalysisRunState): StoredRun {
    return this.add(modelPath, result, modules, state);
  }

  private store(
    modelPath: string,
    result: AnalysisResult,
    modules: ModuleIndex[],
    state: AnalysisRunState,
    when: string,
    at: 'first' | 'last',
    job?: AnalyzeJob,
  ): StoredRun {
    const key = path.resolve(modelPath);
    const id = `${Date.now().toString(36)}-${(this.seq++).toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
    const run: StoredRun = { id, when, modelPath: key, result, modules, state, ...(job ? { job } : {}) };
    const model = this.byModel.get(key) ?? { modelPath: key, runs: [] };
    this.byModel.set(key, model);
    if (this.dir) {
      const dir = path.join(this.dir, hash(key));
      fs.mkdirSync(dir, { recursive: true });
      writeAtomic(path.join(dir, `${id}.json`), JSON.stringify({ modelPath: key, result, modules, state, job }));
    }
    const summary = summarize(id, result, state, when);
    if (at === 'first') model.runs.unshift(summary);
    else model.runs.push(summary);
    this.remember(run);
    this.prune(model);
    this.writeIndex(model);
    return run;
  }

  /** Keeps MAX_RUNS runs: the oldest go, except the latest complete single-model run. */
  private prune(model: ModelRuns): void {
    const keep = [...model.runs].reverse().find((s) => s.state === 'complete' && !s.compare)?.id;
    while (model.runs.length > MAX_RUNS) {
      const i = model.runs.findIndex((s) => s.id !== keep);
      const [gone] = model.runs.splice(i, 1);
      this.loaded.delete(gone.id);
      if (this.dir) fs.rmSync(path.join(this.dir, hash(model.modelPath), `${gone.id}.json`), { force: true });
    }
  }

  private writeIndex(model: ModelRuns): void {
    if (!this.dir) return;
    const dir = path.join(this.dir, hash(model.modelPath));
    fs.mkdirSync(dir, { recursive: true });
    writeAtomic(
      path.join(dir, 'index.json'),
      JSON.stringify({ schema: INDEX_SCHEMA, modelPath: model.modelPath, runs: model.runs }),
    );
  }

  private remember(run: StoredRun): void {
    this.loaded.delete(run.id);
    this.loaded.set(run.id, run);
    // Memory only: the loaded documents are the only copy.
    if (!this.dir) return;
    while (this.loaded.size > LOADED) this.loaded.delete(this.loaded.keys().next().value!);
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }
}
