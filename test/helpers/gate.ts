// Starts jobs on test/helpers/gated-worker.js (dist/worker.js held at a known point until the host's cancel arrives).
import * as path from 'path';
import { AnalysisWorker, type RunHandlers } from '../../src/worker/client';
import type { Job, JobResult } from '../../src/shared/messages';

export const GATED_WORKER = path.join(__dirname, 'gated-worker.js');
export type Gate = { on: 'progress'; min: number } | { on: 'partial'; min: number; spacingMs: number };

/** Runs `job` on a fresh gated worker (the gate is read when the worker thread starts, on the first run). */
export function runGated(w: AnalysisWorker, gate: Gate, job: Job, handlers: RunHandlers): Promise<JobResult> {
  if (w.alive) throw new Error('runGated needs a worker that has not started');
  process.env.REPLENS_TEST_GATE = JSON.stringify(gate);
  try {
    return w.run(job, handlers);
  } finally {
    delete process.env.REPLENS_TEST_GATE;
  }
}

export const gatedWorker = () => new AnalysisWorker(GATED_WORKER);
