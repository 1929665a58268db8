// The analyze job of the worker protocol: `analyze` with its partial documents throttled (the panel gets the
// result so far at most every `intervalMs`, and always the last one before the end or an error), so a run on many
// layers never floods the host with a message per number.
import type { SessionPool } from '../runtime/session';
import type { JobContext } from '../jobs';
import type { AnalyzeJob, AnalyzeJobResult } from '../../shared/messages';
import type { AnalysisResult } from '../../shared/result';
import { analyze } from './analyze';
import { formatDuration } from '../../shared/duration';

/** Calls `send` at most every `intervalMs` with the latest value; `flush` sends a pending one at once. */
export function throttle<T>(
  send: (v: T) => void,
  intervalMs: number,
  now: () => number = Date.now,
): { push(v: T): void; flush(): void } {
  let last = -Infinity;
  let pending: T | undefined;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const fire = () => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (pending !== undefined) {
      const v = pending;
      pending = undefined;
      last = now();
      send(v);
    }
  };
  return {
    push(v: T) {
      pending = v;
      const wait = last + intervalMs - now();
      if (wait <= 0) fire();
      else if (!timer) {
        timer = setTimeout(fire, wait);
        timer.unref?.();
      }
    },
    flush: fire,
  };
}

/** A deep copy: the engine keeps mutating its document after a partial is taken. */
const snapshot = (r: AnalysisResult): AnalysisResult => JSON.parse(JSON.stringify(r)) as AnalysisResult;

export async function runAnalyzeJob(
  job: AnalyzeJob,
  pool: SessionPool,
  ctx: JobContext,
  intervalMs = 250,
): Promise<AnalyzeJobResult> {
  const t0 = Date.now();
  const partials = throttle<AnalysisResult>((r) => ctx.partial({ kind: 'analysis', result: r }), intervalMs);
  try {
    // The job is the request (validated by the protocol parser and by analyze()); the context adds the hooks.
    const { kind: _kind, runtime: _runtime, ...settings } = job;
    const result = await analyze(
      {
        ...settings,
        signal: ctx.signal,
        onProgress: ctx.progress,
        log: ctx.log,
        onPartial: (r) => partials.push(snapshot(r)),
      },
      pool,
    );
    partials.flush();
    for (const [k, v] of Object.entries(result.timings)) ctx.log(`${result.model.name}: ${k} ${formatDuration(v)}`);
    ctx.log(`${result.model.name}: execution provider ${pool.executionProvider ?? 'cpu'}`);
    return {
      kind: 'analyze',
      result,
      modules: result.modules ?? [],
      executionProvider: pool.executionProvider ?? 'cpu',
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    partials.flush(); // the finished layers reach the host before an error or a cancel does
  }
}
