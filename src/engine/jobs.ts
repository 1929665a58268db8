// Runs a job from the shared protocol. The worker thread calls this; so can tests and the CLI.
import { SessionPool, type RuntimeOptions } from './runtime/session';
import { inspectModel } from './inspect';
import { runActivationsJob } from './capture/activations';
import { runAnalyzeJob } from './analyses/job';
import { modelCheck, probeDatasets, timeBatch } from './precheck';
import { assertNever, type Job, type JobResult, type PartialResult, type Progress } from '../shared/messages';

export interface JobContext {
  signal: AbortSignal;
  progress: (p: Progress) => void;
  partial: (p: PartialResult) => void;
  log: (line: string) => void;
}

const pools = new Map<string, SessionPool>();

/** One session pool per runtime setting, kept across jobs so a model's session is created once per worker. */
export function poolFor(runtime: Job['runtime'], log: (line: string) => void): SessionPool {
  const opts: RuntimeOptions = {
    executionProvider: runtime?.executionProvider ?? 'auto',
    intraOpThreads: runtime?.intraOpThreads,
    interOpThreads: runtime?.interOpThreads,
    ...(runtime?.allowSpinning === false ? { allowSpinning: false } : {}),
  };
  const key = JSON.stringify(opts);
  let pool = pools.get(key);
  if (!pool) {
    pool = new SessionPool(opts);
    pools.set(key, pool);
  }
  pool.log = log;
  return pool;
}

export async function runJob(job: Job, ctx: JobContext): Promise<JobResult> {
  const pool = poolFor(job.runtime, ctx.log);
  switch (job.kind) {
    case 'inspect':
      return inspectModel(job.modelPath, pool, {
        inputShapes: job.inputShapes,
        signal: ctx.signal,
        memoryBudgetMB: job.memoryBudgetMB,
        constants: job.constants,
      });
    case 'activations':
      return runActivationsJob(job, pool, ctx);
    case 'analyze':
      return runAnalyzeJob(job, pool, ctx);
    case 'model-check':
      return modelCheck(job.modelPath, pool, { signal: ctx.signal });
    case 'probe-datasets':
      return probeDatasets(job, ctx.signal);
    case 'time-batch':
      return timeBatch(job, pool, { signal: ctx.signal, log: ctx.log });
    default:
      return assertNever(job, 'job');
  }
}
