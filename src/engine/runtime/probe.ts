// Runs of a model whose outcome is not known in advance — the shape probe on zero inputs — happen in a child
// process with a time limit and a memory limit, and stop when cancelled. onnxruntime blocks its thread and cannot
// be interrupted from JavaScript, so a Loop that spins or a huge input shape would otherwise hang or exhaust
// the process that asked (the CLI, the extension's worker).
import { fork } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ReplensError, cancelled, oneLine } from '../errors';
import { formatBytes } from '../fsafe';
import { BYTES_PER_ELEMENT } from '../onnx/proto';

export interface ProbeFeed {
  name: string;
  elemType: number;
  dims: number[];
}
export interface ProbeRequest {
  model: Uint8Array;
  runs: ProbeFeed[][];
  fetches: string[];
  threads?: number;
}
/** `peakBytes`: the child's peak resident memory, so a run that went over the budget between two looks is caught. */
export type ProbeReply = ({ ok: true; dims: Record<string, number[]>[] } | { ok: false; message: string }) & {
  peakBytes: number;
};

export interface ProbeLimits {
  /** Wall-clock limit for the whole probe (default REPLENS_PROBE_TIMEOUT_S or 120 s). */
  timeoutMs?: number;
  /** The child's resident memory limit (default 2 GiB: the default memory budget). */
  budgetBytes?: number;
  signal?: AbortSignal;
  threads?: number;
  /** What is probed, for messages ('shape probe'). */
  what?: string;
}

export const DEFAULT_PROBE_TIMEOUT_S = 120;

export function probeTimeoutMs(): number {
  const s = Number(process.env.REPLENS_PROBE_TIMEOUT_S);
  return (Number.isFinite(s) && s > 0 ? s : DEFAULT_PROBE_TIMEOUT_S) * 1000;
}

/**
 * The child's entry: dist/probe.js beside a bundle, or else the TypeScript source, run the way this process runs
 * TypeScript (tests run under `node --import tsx`).
 */
function childEntry(): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, 'probe.js');
  if (fs.existsSync(js)) return { file: js, execArgv: [] };
  const loader = process.execArgv.some((a) => /tsx/.test(a))
    ? process.execArgv.filter((a) => !a.startsWith('--test'))
    : ['--import', 'tsx'];
  return { file: path.join(__dirname, 'probe-child.ts'), execArgv: loader };
}

/** Refuses feeds that cannot be allocated or would not fit the budget, before any process starts. */
export function checkFeeds(runs: ProbeFeed[][], budgetBytes: number, what: string): void {
  for (const run of runs) {
    let bytes = 0;
    for (const f of run) {
      const n = f.dims.reduce((a, b) => a * b, 1);
      const size = n * (BYTES_PER_ELEMENT[f.elemType] ?? 4);
      if (!Number.isSafeInteger(n) || n > 2 ** 32 - 1) {
        throw new ReplensError(
          'E_INPUT_SHAPE',
          `${what}: input '${f.name}' of shape [${f.dims.join(', ')}] has ${n.toExponential(2)} ` +
            'elements, more than one array can hold; give a smaller input shape',
        );
      }
      bytes += size;
    }
    if (bytes > budgetBytes) {
      throw new ReplensError(
        'E_MEMORY_BUDGET',
        `${what}: inputs of shape ${run.map((f) => `[${f.dims.join(', ')}]`).join(', ')} ` +
          `need ${formatBytes(bytes)}, over the ${formatBytes(budgetBytes)} memory budget; ` +
          'give a smaller input shape or raise --memory-budget',
      );
    }
  }
}

/** Resident memory of a process in bytes (Linux /proc); null where it cannot be read. */
function residentBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Runs `req` in a child process; returns the dims of each fetched output per run. */
export function probeRuns(req: ProbeRequest, limits: ProbeLimits = {}): Promise<Record<string, number[]>[]> {
  const what = limits.what ?? 'shape probe';
  const timeoutMs = limits.timeoutMs ?? probeTimeoutMs();
  const budget = limits.budgetBytes ?? 2 ** 31;
  checkFeeds(req.runs, budget, what);
  if (limits.signal?.aborted) return Promise.reject(cancelled());
  const entry = childEntry();
  return new Promise((resolve, reject) => {
    const child = fork(entry.file, [], {
      execArgv: entry.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    let settled = false;
    const finish = (err: Error | null, dims?: Record<string, number[]>[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(watch);
      limits.signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(dims!);
    };
    const onAbort = () => finish(cancelled());
    limits.signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(
      () =>
        finish(
          new ReplensError(
            'E_RUNTIME',
            `${what}: the model did not finish one run on zero inputs within ` +
              `${timeoutMs / 1000} s (a Loop that never ends, or a model too slow for ` +
              'its input shape); refused (REPLENS_PROBE_TIMEOUT_S sets the limit)',
          ),
        ),
      timeoutMs,
    );
    let peak = 0;
    const overBudget = () =>
      new ReplensError(
        'E_MEMORY_BUDGET',
        `${what}: running the model on inputs of shape ` +
          `${req.runs[req.runs.length - 1].map((f) => `[${f.dims.join(', ')}]`).join(', ')} ` +
          `took more than the ${formatBytes(budget)} memory budget; ` +
          'stopped (give a smaller input shape or raise --memory-budget)',
      );
    // Linux: watch the child's resident memory and stop it as soon as it passes the budget. Elsewhere the peak it
    // reports at the end is the check.
    const watch = setInterval(() => {
      const rss = child.pid ? residentBytes(child.pid) : null;
      if (rss === null) return;
      peak = Math.max(peak, rss);
      if (rss > budget) finish(overBudget());
    }, 25);
    child.on('message', (reply: ProbeReply) => {
      if (reply.peakBytes > budget) finish(overBudget());
      else if (reply.ok) finish(null, reply.dims);
      else finish(new ReplensError('E_RUNTIME', `${what}: onnxruntime failed: ${oneLine(reply.message)}`));
    });
    child.on('error', (e) =>
      finish(new ReplensError('E_RUNTIME', `${what}: cannot start the probe process: ${e.message}`)),
    );
    child.on('exit', (code, signal) => {
      if (settled) return;
      const tail = oneLine(stderr).slice(-300);
      finish(
        new ReplensError(
          signal === 'SIGKILL' || code === 137 ? 'E_MEMORY_BUDGET' : 'E_RUNTIME',
          `${what}: the probe process ended (${signal ?? `exit code ${code}`}) before ` +
            `answering${peak ? ` at ${formatBytes(peak)} resident` : ''}${tail ? `: ${tail}` : ''}`,
        ),
      );
    });
    child.send(req);
  });
}
