// The worker's memory of model checks: Analyze Model… checks the model before the pickers (model-check), and the
// Inspect panel probes the same shapes; both are answered once per model file version — (path, mtime, size) and the
// runtime settings — so the second ask is free. A file that changes on disk is probed again.
import * as fs from 'fs';
import * as path from 'path';
import type { Job, JobResult } from '../shared/messages';

export type RunJob<C> = (job: Job, ctx: C) => Promise<JobResult>;

/** The cache key of a job whose result depends only on the model file and the runtime, else null. */
export async function cacheKeyOf(job: Job): Promise<string | null> {
  const plain = job.kind === 'model-check' || (job.kind === 'inspect' && !job.inputShapes && !job.constants);
  if (!plain) return null;
  const file = path.resolve(job.modelPath);
  const st = await fs.promises.stat(file).catch(() => null);
  if (!st) return null; // the job itself says why the file cannot be read
  const budget = job.kind === 'inspect' ? (job.memoryBudgetMB ?? null) : null;
  return JSON.stringify([job.kind, file, st.mtimeMs, st.size, job.runtime ?? null, budget]);
}

/** Wraps `run` with the cache: a check already answered for this file version is returned without running. */
export function cachedRunner<C>(run: RunJob<C>, max = 16): RunJob<C> & { size(): number } {
  const done = new Map<string, Promise<JobResult>>();
  const wrapped = async (job: Job, ctx: C): Promise<JobResult> => {
    const key = await cacheKeyOf(job);
    if (key === null) return run(job, ctx);
    let p = done.get(key);
    if (!p) {
      p = run(job, ctx);
      done.set(key, p);
      // Failures are not remembered: a cancelled check, or one fixed by the user, runs again.
      p.catch(() => done.delete(key));
      while (done.size > max) done.delete(done.keys().next().value!);
    }
    // A model-check result carries the inspect result: remember it for the Inspect panel too.
    const r = await p;
    if (r.kind === 'model-check' && job.kind === 'model-check') {
      const ik = await cacheKeyOf({ kind: 'inspect', modelPath: job.modelPath, runtime: job.runtime });
      if (ik && !done.has(ik)) done.set(ik, Promise.resolve(r.inspect));
    }
    return r;
  };
  return Object.assign(wrapped, { size: () => done.size });
}
