// What one Inspect panel does, without vscode: runs the inspect job on the worker, forwards progress, the result or
// the error to the webview, re-posts the last message when the webview (re)loads, answers Retry / Show Log, and
// cancels its job when the panel goes away. inspectPanel.ts wires it to a WebviewPanel.
import * as path from 'path';
import { ReplensError, errorCode, errorMessage } from '../engine/errors';
import {
  assertNever,
  parseWebviewToHost,
  type ErrorInfo,
  type HostToWebview,
  type InspectJob,
  type JobResult,
  type WebviewToHost,
} from '../shared/messages';
import type { RunHandlers } from '../worker/client';
import { postSafely } from './post';
import { formatDuration } from '../shared/duration';

function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export interface JobRunner {
  run(job: InspectJob, handlers: RunHandlers): Promise<JobResult>;
}

export interface InspectControllerHost {
  /** Sends to the webview (a panel that is gone just drops it). */
  post(message: HostToWebview): void | PromiseLike<unknown>;
  /** The worker, started on first use. */
  runner(): JobRunner;
  /**
   * The job for this panel with the current settings, or an error (e.g. an untrusted workspace) that prevents running.
   */
  makeJob(): InspectJob | ErrorInfo;
  log(line: string): void;
  showLog(): void;
  /** A failure worth a notification besides the error card (the worker died). */
  notify?(error: ErrorInfo): void;
}

export class InspectController {
  private running: AbortController | null = null;
  private generation = 0;
  private last: HostToWebview | null = null;
  private disposed = false;

  constructor(private readonly host: InspectControllerHost) {}

  get busy(): boolean {
    return this.running !== null;
  }
  /** The message the webview gets again when it says `ready`. */
  get lastMessage(): HostToWebview | null {
    return this.last;
  }

  /** Runs (or re-runs) the inspect job; a running one is cancelled first. Never rejects. */
  async start(): Promise<void> {
    if (this.disposed) return;
    this.cancel('superseded by a new run');
    const made = this.host.makeJob();
    if (!('kind' in made)) {
      this.host.log(`inspect not started: ${made.message}`);
      this.send({ v: 1, type: 'error', error: made });
      return;
    }
    const job = made;
    const gen = ++this.generation;
    const ac = new AbortController();
    this.running = ac;
    const name = path.basename(job.modelPath);
    const rt = job.runtime ?? {};
    this.host.log(
      `inspect ${job.modelPath} (executionProvider ${rt.executionProvider ?? 'auto'}, ` +
        `intraOpThreads ${rt.intraOpThreads ?? 0}, interOpThreads ${rt.interOpThreads ?? 0})`,
    );
    this.send({
      v: 1,
      type: 'progress',
      progress: { stage: `inspecting ${name}`, done: 0, total: 0, etaSeconds: null },
    });
    const t0 = Date.now();
    const secs = () => formatDuration((Date.now() - t0) / 1000);
    try {
      const result = await this.host.runner().run(job, {
        signal: ac.signal,
        onProgress: (progress) => {
          if (gen === this.generation && !this.disposed) this.send({ v: 1, type: 'progress', progress });
        },
      });
      if (gen !== this.generation || this.disposed) return;
      if (result.kind !== 'inspect')
        throw new ReplensError('E_PROTOCOL', `the worker answered an inspect job with a '${result.kind}' result`);
      const s = result.summary;
      this.host.log(
        `inspect ${name}: ${s.layers.length} layers, ${formatCount(s.totalParams)} parameters, ` +
          `opset ${s.opset}, execution provider ${result.executionProvider}, ${secs()}`,
      );
      this.send({ v: 1, type: 'inspect', result });
    } catch (e) {
      const error: ErrorInfo = { code: errorCode(e), message: errorMessage(e) };
      if (gen !== this.generation || this.disposed) {
        this.host.log(`inspect ${name}: stopped (${error.message}) after ${secs()}`);
        return;
      }
      this.host.log(`inspect ${name} failed after ${secs()}: [${error.code}] ${error.message}`);
      this.send({ v: 1, type: 'error', error });
      if (error.code === 'E_WORKER') this.host.notify?.(error);
    } finally {
      if (gen === this.generation) this.running = null;
    }
  }

  /** Cancels the running job, if any (its result is dropped). */
  cancel(why = 'cancelled'): void {
    if (!this.running) return;
    this.host.log(`inspect: cancelling the running job (${why})`);
    this.generation++;
    this.running.abort();
    this.running = null;
  }

  /** A message from the webview; malformed ones are logged and dropped. */
  onMessage(raw: unknown): Promise<void> {
    let msg: WebviewToHost;
    try {
      msg = parseWebviewToHost(raw);
    } catch (e) {
      this.host.log(`ignored a webview message: ${errorMessage(e)}`);
      return Promise.resolve();
    }
    switch (msg.type) {
      case 'ready':
        if (this.last) this.send(this.last);
        return Promise.resolve();
      case 'showLog':
        this.host.showLog();
        return Promise.resolve();
      case 'retry':
        return this.start();
      default:
        return assertNever(msg);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.cancel('panel closed');
    this.disposed = true;
  }

  private send(message: HostToWebview): void {
    this.last = message;
    if (this.disposed) return;
    postSafely(
      (m: HostToWebview) => this.host.post(m),
      message,
      (l) => this.host.log(l),
    );
  }
}
