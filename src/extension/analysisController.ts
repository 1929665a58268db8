// What one Analysis panel does, without vscode: runs the analyze job on the worker, streams the partial documents
// (finished analyses and layers) and progress to the webview, keeps what finished when the run is cancelled or
// fails, replays its state when the webview (re)loads, and answers the webview's Cancel / Re-run / Export / Show
// Log and its run pickers: each ended run is stored (onResult → the registry's run id); any stored run can be shown,
// and another overlaid on it (overlayRuns). analysisPanel.ts wires it to a WebviewPanel; extension.ts supplies the
// job and the side effects.
import * as path from 'path';
import { ReplensError, errorCode, errorMessage } from '../engine/errors';
import {
  assertNever,
  parseAnalysisViewToHost,
  type AnalysisRunInfo,
  type AnalysisRunState,
  type AnalysisViewToHost,
  type AnalyzeJob,
  type AnalyzeJobResult,
  type AnalysisRuns,
  type ErrorInfo,
  type HostToAnalysisView,
  type JobResult,
  type Progress,
  type RunSummary,
} from '../shared/messages';
import { overlayRuns } from '../shared/overlay';
import { formatDuration } from '../shared/duration';
import type { AnalysisResult } from '../shared/result';
import type { RunHandlers } from '../worker/client';
import type { StoredRun } from './results';
import { postSafely } from './post';

export interface AnalyzeRunner {
  run(job: AnalyzeJob, handlers: RunHandlers): Promise<JobResult>;
}

/** The stored runs (the ResultRegistry) as one panel sees them. */
export interface RunHistory {
  /** The panel's model's runs, newest first. */
  runs(): RunSummary[];
  /** Other models' runs, newest first (a run of any model can be overlaid). */
  others(): RunSummary[];
  load(id: string): StoredRun | undefined;
}

export interface AnalysisControllerHost {
  post(message: HostToAnalysisView): void | PromiseLike<unknown>;
  runner(): AnalyzeRunner;
  log(line: string): void;
  showLog(): void;
  /** Opens the bundled README at a section (an ⓘ's link). */
  openReadme?(anchor: string): void;
  /** Progress of the running job (the status bar follows it); null when it ends. */
  onProgress?(p: Progress | null, modelPath: string): void;
  /**
   * A finished (or partly finished, on cancel or failure) document: stored as a run with the request that made it
   * (code lenses and the status bar read it; Re-run, after a reload too, runs the request again); returns the stored
   * run's id.
   */
  onResult?(
    result: AnalysisResult,
    modules: AnalyzeJobResult['modules'],
    state: AnalysisRunState,
    job: AnalyzeJob,
  ): string | null | undefined | void;
  history?: RunHistory;
  /** Export: asks where and writes; resolves to the path written, or null when the user cancelled. */
  exportResult?(result: AnalysisResult, format: 'html' | 'json' | 'csv'): Promise<string | null>;
  savePng?(chart: string, png: Buffer): Promise<string | null>;
  /** A failure worth a notification besides the error card (the worker died). */
  notify?(error: ErrorInfo): void;
}

export class AnalysisController {
  private running: AbortController | null = null;
  private generation = 0;
  private disposed = false;
  private job: AnalyzeJob | null = null;
  private runInfo: AnalysisRunInfo | null = null;
  private result: AnalysisResult | null = null;
  private state: AnalysisRunState | null = null;
  /** The stored run shown (null while a run is live and before it is stored) and the one overlaid on it. */
  private shownId: string | null = null;
  private overlayId: string | null = null;
  private overlaid: { key: string; doc: AnalysisResult } | null = null;
  /** The request of each run stored from this panel: Re-run runs the shown run's request again. */
  private readonly jobs = new Map<string, AnalyzeJob>();
  private error: ErrorInfo | null = null;
  private progress: Progress | null = null;
  /** The layer a lens asked for: replayed after the result, since a hidden panel's webview reloads on reveal. */
  private revealed: string | null = null;

  constructor(private readonly host: AnalysisControllerHost) {}

  get busy(): boolean {
    return this.running !== null;
  }
  get lastResult(): AnalysisResult | null {
    return this.result;
  }
  get lastState(): AnalysisRunState | null {
    return this.state;
  }

  /**
   * Shows a stored run (a restored panel, a lens click, the run picker); false when it cannot be loaded or a run is
   * going on (it streams into the view).
   */
  showRun(id: string): boolean {
    if (this.running || this.disposed) return false;
    const run = this.host.history?.load(id);
    if (!run) {
      this.host.log(`analyze: the stored run ${id} cannot be shown (no longer stored)`);
      this.sendRuns();
      return false;
    }
    this.shownId = id;
    if (run.job && !this.jobs.has(id)) this.jobs.set(id, run.job);
    this.result = run.result;
    this.state = run.state;
    this.runInfo = { ...runInfoOf(run.result), rerun: this.jobs.has(id) };
    this.error = null;
    this.send({ v: 1, type: 'run', run: this.runInfo });
    this.sendRuns();
    this.sendResult();
    return true;
  }

  /** Shows `shown` (else the model's newest run) with `overlay` on it, when they are stored: a restored panel. */
  restore(shown?: string | null, overlay?: string | null): void {
    const h = this.host.history;
    if (!h) return;
    const ids = [shown, h.runs()[0]?.id].filter((x): x is string => !!x);
    this.overlayId = overlay && h.load(overlay) ? overlay : null;
    for (const id of ids) if (this.showRun(id)) return;
    this.overlayId = null;
  }

  /** Overlays a stored run (of this model or another) on the shown one; null removes it. */
  overlay(id: string | null): void {
    if (this.running) return;
    if (id && !this.host.history?.load(id)) {
      this.host.log(`analyze: the stored run ${id} cannot be overlaid (no longer stored)`);
      id = null;
    }
    this.overlayId = id;
    this.sendRuns();
    this.sendResult();
  }

  /** The document the view shows: the result, with the overlaid run as its compared model. */
  private view(): AnalysisResult | null {
    const a = this.result;
    if (!a || !this.overlayId || this.state === 'running') return a;
    const key = `${this.shownId ?? ''}|${this.overlayId}`;
    if (this.overlaid?.key === key && this.overlaid.doc.createdAt === a.createdAt) return this.overlaid.doc;
    const b = this.host.history?.load(this.overlayId);
    if (!b) return a;
    this.overlaid = { key, doc: overlayRuns(a, b.result) };
    return this.overlaid.doc;
  }

  /** Runs `job` (a running one is cancelled first). Resolves when it ends; never rejects. */
  async start(job: AnalyzeJob): Promise<AnalysisRunState> {
    if (this.disposed) return 'cancelled';
    this.cancel('superseded by a new run');
    const gen = ++this.generation;
    const ac = new AbortController();
    this.running = ac;
    this.job = job;
    this.runInfo = {
      modelPath: job.modelPath,
      compare: job.compare,
      dataset: job.data.path,
      analyses: job.analyses,
      samples: job.samples,
    };
    // The shown run stays until the new run has something to show (a run that finishes nothing keeps it).
    const previous =
      this.result && this.state && this.state !== 'running'
        ? { result: this.result, state: this.state, id: this.shownId }
        : null;
    this.result = null;
    this.shownId = null;
    this.overlayId = null;
    this.state = 'running';
    this.error = null;
    this.progress = null;
    const name = path.basename(job.modelPath);
    const rt = job.runtime ?? {};
    this.host.log(
      `analyze ${job.modelPath}${job.compare ? ` vs ${job.compare}` : ''} on ${job.data.path}: ` +
        `${job.analyses.join(', ')}, ${job.samples ?? 'default'} samples (executionProvider ` +
        `${rt.executionProvider ?? 'auto'}, intraOpThreads ${rt.intraOpThreads ?? 0})`,
    );
    this.send({ v: 1, type: 'run', run: this.runInfo });
    this.sendRuns();
    const live = () => gen === this.generation && !this.disposed;
    const t0 = Date.now();
    const took = () => formatDuration((Date.now() - t0) / 1000);
    try {
      const r = await this.host.runner().run(job, {
        signal: ac.signal,
        onProgress: (progress) => {
          if (!live()) return;
          this.progress = progress;
          this.host.onProgress?.(progress, job.modelPath);
          this.send({ v: 1, type: 'progress', progress });
        },
        onPartial: (p) => {
          if (!live() || p.kind !== 'analysis') return;
          this.result = p.result;
          this.send({ v: 1, type: 'result', result: p.result, state: 'running' });
        },
      });
      if (r.kind !== 'analyze')
        throw new ReplensError('E_PROTOCOL', `the worker answered an analyze job with a '${r.kind}' result`);
      if (!live()) return 'cancelled';
      this.result = r.result;
      this.state = 'complete';
      this.host.log(
        `analyze ${name}: done in ${took()} on ${r.executionProvider}; ${Object.entries(r.result.timings)
          .map(([k, v]) => `${k} ${formatDuration(v)}`)
          .join(', ')}`,
      );
      for (const n of r.result.notes) this.host.log(`analyze ${name}: note: ${n}`);
      this.send({ v: 1, type: 'result', result: r.result, state: 'complete' });
      this.stored(this.host.onResult?.(r.result, r.modules, 'complete', job));
      return 'complete';
    } catch (e) {
      const error: ErrorInfo = { code: errorCode(e), message: errorMessage(e) };
      if (gen !== this.generation || this.disposed) {
        this.host.log(`analyze ${name}: stopped (${error.message}) after ${took()}`);
        return 'cancelled';
      }
      const cancelled = error.code === 'E_CANCELLED';
      const outcome: AnalysisRunState = cancelled ? 'cancelled' : 'failed';
      this.state = outcome;
      this.host.log(
        cancelled
          ? `analyze ${name}: cancelled after ${took()}${this.result ? ' (finished layers kept)' : ''}`
          : `analyze ${name} failed after ${took()}: [${error.code}] ${error.message}`,
      );
      // What finished stays on screen (and feeds the lenses); a failure adds the error card. A run that finished
      // nothing leaves the previous complete result in place, never an empty document.
      // A finished part is a run of its own; the runs before it stay stored.
      const finished = this.result && Object.keys(this.result.analyses).length > 0;
      if (finished && this.result) {
        this.send({ v: 1, type: 'result', result: this.result, state: this.state });
        this.stored(this.host.onResult?.(this.result, this.result.modules ?? [], this.state, job));
      } else if (previous) {
        this.result = previous.result;
        this.state = previous.state;
        this.shownId = previous.id;
        this.send({ v: 1, type: 'result', result: previous.result, state: previous.state });
        this.sendRuns();
      }
      if (!cancelled) {
        this.error = error;
        this.send({ v: 1, type: 'error', error });
        if (error.code === 'E_WORKER') this.host.notify?.(error);
      }
      return outcome;
    } finally {
      if (gen === this.generation) {
        this.running = null;
        this.progress = null;
        this.host.onProgress?.(null, job.modelPath);
      }
    }
  }

  /** Stops the running job (its partial result stays, marked cancelled). */
  cancel(why = 'cancelled'): void {
    if (!this.running) return;
    this.host.log(`analyze: cancelling the running job (${why})`);
    this.running.abort();
  }

  reveal(tensor: string): void {
    this.revealed = tensor;
    this.send({ v: 1, type: 'reveal', tensor });
  }

  onMessage(raw: unknown): Promise<void> {
    let msg: AnalysisViewToHost;
    try {
      msg = parseAnalysisViewToHost(raw);
    } catch (e) {
      this.host.log(`ignored a webview message: ${errorMessage(e)}`);
      return Promise.resolve();
    }
    switch (msg.type) {
      case 'ready':
        this.replay();
        return Promise.resolve();
      case 'readme':
        this.host.openReadme?.(msg.anchor);
        return Promise.resolve();
      case 'showLog':
        this.host.showLog();
        return Promise.resolve();
      case 'cancel':
        this.cancel('Cancel in the panel');
        return Promise.resolve();
      case 'showRun':
        this.showRun(msg.id);
        return Promise.resolve();
      case 'overlay':
        this.overlay(msg.id);
        return Promise.resolve();
      case 'rerun': {
        // Re-run serves cached analyses (labelled in the panel); Recompute runs them all again. The shown run's
        // request, else the last one.
        const job = (this.shownId ? this.jobs.get(this.shownId) : undefined) ?? this.job;
        return job ? this.start({ ...job, noCache: msg.recompute === true }).then(() => undefined) : Promise.resolve();
      }
      case 'export':
        return this.exportAs(msg.format);
      case 'png':
        return this.png(msg.chart, msg.dataUrl);
      default:
        return assertNever(msg);
    }
  }

  private async exportAs(format: 'html' | 'json' | 'csv'): Promise<void> {
    const shown = this.view();
    if (!shown || !this.host.exportResult) return;
    try {
      const file = await this.host.exportResult(shown, format);
      if (file) {
        this.host.log(`exported ${format.toUpperCase()} to ${file}`);
        this.send({ v: 1, type: 'exported', what: format.toUpperCase(), path: file });
      }
    } catch (e) {
      this.host.log(`export failed: ${errorMessage(e)}`);
      this.send({ v: 1, type: 'error', error: { code: errorCode(e), message: `export failed: ${errorMessage(e)}` } });
    }
  }

  private async png(chart: string, dataUrl: string): Promise<void> {
    if (!this.host.savePng) return;
    try {
      const file = await this.host.savePng(
        chart,
        Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64'),
      );
      if (file) this.send({ v: 1, type: 'exported', what: 'PNG', path: file });
    } catch (e) {
      this.host.log(`saving the PNG failed: ${errorMessage(e)}`);
    }
  }

  /** The webview (re)loaded: everything it needs to show the current state. */
  private replay(): void {
    if (this.runInfo) this.send({ v: 1, type: 'run', run: this.runInfo });
    this.sendRuns();
    this.sendResult();
    if (this.progress && this.running) this.send({ v: 1, type: 'progress', progress: this.progress });
    if (this.error) this.send({ v: 1, type: 'error', error: this.error });
    if (this.revealed) this.send({ v: 1, type: 'reveal', tensor: this.revealed });
  }

  dispose(): void {
    if (this.disposed) return;
    this.cancel('panel closed');
    this.disposed = true;
  }

  /** The id the host stored an ended run under: the run shown from now on. */
  private stored(id: string | null | undefined | void): void {
    if (!id) return;
    this.shownId = id;
    if (this.job) this.jobs.set(id, this.job);
    this.sendRuns();
  }

  private sendResult(): void {
    const doc = this.view();
    if (doc && this.state) this.send({ v: 1, type: 'result', result: doc, state: this.state });
  }

  private sendRuns(): void {
    const h = this.host.history;
    if (!h) return;
    const runs: AnalysisRuns = { own: h.runs(), others: h.others(), shown: this.shownId, overlay: this.overlayId };
    this.send({ v: 1, type: 'runs', runs });
  }

  private send(message: HostToAnalysisView): void {
    if (this.disposed) return;
    postSafely(
      (m: HostToAnalysisView) => this.host.post(m),
      message,
      (l) => this.host.log(l),
    );
  }
}

/** What the panel's run line says about a stored run (the same as the live run's once it has a result). */
export function runInfoOf(r: AnalysisResult): AnalysisRunInfo {
  return {
    modelPath: r.model.path,
    compare: r.compare?.path,
    dataset: r.dataset.path ?? r.dataset.description,
    analyses: r.settings.analyses,
    samples: r.dataset.samples,
  };
}
