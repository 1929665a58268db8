// Host side of the analysis worker: starts worker.js, runs jobs with progress/partial callbacks and cancellation,
// and survives the worker dying (pending jobs fail with E_WORKER; the next job starts a fresh worker).
import { Worker } from 'worker_threads';
import { ReplensError } from '../engine/errors';
import {
  assertNever,
  parseWorkerToHost,
  type Job,
  type JobResult,
  type PartialResult,
  type Progress,
  type WorkerToHost,
} from '../shared/messages';

export interface RunHandlers {
  onProgress?: (p: Progress) => void;
  onPartial?: (p: PartialResult) => void;
  signal?: AbortSignal;
}

interface Pending extends RunHandlers {
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
}

export class AnalysisWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  /** How long a cancelled job may take to stop before the worker is terminated. */
  cancelGraceMs = 15000;

  constructor(
    private readonly workerPath: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  get alive(): boolean {
    return this.worker !== null;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.workerPath);
    w.on('message', (raw) => this.onMessage(raw));
    w.on('error', (e) => this.onExit(`crashed: ${e.message}`));
    w.on('exit', (code) => this.onExit(`exited with code ${code}`));
    this.worker = w;
    return w;
  }

  private onExit(why: string): void {
    if (!this.worker) return;
    this.worker = null;
    this.log(`analysis worker ${why}`);
    const err = new ReplensError('E_WORKER', `the analysis worker ${why}; it restarts on the next run`);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private onMessage(raw: unknown): void {
    let msg: WorkerToHost;
    try {
      msg = parseWorkerToHost(raw);
    } catch (e) {
      this.log(`ignored a malformed worker message: ${(e as Error).message}`);
      return;
    }
    switch (msg.type) {
      case 'ready':
        return;
      case 'log':
        this.log(msg.line);
        return;
      case 'progress':
        this.pending.get(msg.id)?.onProgress?.(msg.progress);
        return;
      case 'partial':
        this.pending.get(msg.id)?.onPartial?.(msg.partial);
        return;
      case 'result': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.resolve(msg.result);
        return;
      }
      case 'error': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.reject(new ReplensError(msg.error.code as never, msg.error.message));
        return;
      }
      default:
        assertNever(msg);
    }
  }

  run(job: Job, handlers: RunHandlers = {}): Promise<JobResult> {
    const w = this.start();
    const id = this.nextId++;
    return new Promise<JobResult>((resolve, reject) => {
      if (handlers.signal?.aborted) {
        reject(new ReplensError('E_CANCELLED', 'cancelled'));
        return;
      }
      this.pending.set(id, { ...handlers, resolve, reject });
      handlers.signal?.addEventListener(
        'abort',
        () => {
          if (!this.pending.has(id)) return;
          w.postMessage({ v: 1, type: 'cancel', id });
          // A job stuck inside one long onnxruntime call cannot see the signal: stop the whole worker.
          const timer = setTimeout(() => {
            if (this.pending.has(id)) void this.restart();
          }, this.cancelGraceMs);
          timer.unref?.();
        },
        { once: true },
      );
      w.postMessage({ v: 1, type: 'run', id, job });
    });
  }

  /** Terminates the worker (pending jobs fail with E_WORKER); the next run starts a new one. */
  async restart(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    await w.terminate();
    this.onExit('was stopped');
  }

  async dispose(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new ReplensError('E_CANCELLED', 'RepLens is shutting down'));
    this.pending.clear();
    if (w) await w.terminate();
  }
}
