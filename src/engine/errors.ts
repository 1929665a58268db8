// One error type for everything the engine rejects. The message is one line that names the cause;
// `code` lets the CLI pick an exit code and the panel pick an icon without parsing text.
import { printable } from '../shared/printable';

export type ErrorCode =
  | 'E_ARGUMENT' // a bad option or argument value
  | 'E_NOT_FOUND' // a file that does not exist
  | 'E_NOT_ONNX' // a file that is not an ONNX model at all
  | 'E_MODEL_CORRUPT' // an ONNX file that is truncated or inconsistent
  | 'E_EXTERNAL_DATA' // external tensor data missing or short
  | 'E_PATH_TRAVERSAL' // an external-data path that leaves the model's folder
  | 'E_UNKNOWN_TENSOR' // a tensor name the model does not have
  | 'E_INPUT_SHAPE' // an input whose shape does not fit the model
  | 'E_INPUT_DTYPE' // an input whose element type does not fit the model
  | 'E_DATASET' // a dataset that cannot be read
  | 'E_IMAGE' // an image file that cannot be decoded
  | 'E_LABELS' // labels that do not match the samples
  | 'E_CONFIG' // replens.json or settings that are invalid
  | 'E_UNSUPPORTED_OP' // an operator onnxruntime cannot run
  | 'E_RUNTIME' // onnxruntime failed while running
  | 'E_EXECUTION_PROVIDER' // the requested execution provider cannot be loaded
  | 'E_MEMORY_BUDGET' // more data than the memory budget allows
  | 'E_CANCELLED' // the user cancelled
  | 'E_WORKER' // the worker thread died
  | 'E_PROTOCOL' // a malformed message between host, worker and webview
  | 'E_IO' // reading or writing a file failed
  | 'E_INTERNAL'; // a bug in RepLens (an invariant did not hold)

export class ReplensError extends Error {
  override readonly name = 'ReplensError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(oneLine(message));
  }
}

/**
 * Collapses whitespace so messages stay one line in a terminal, a notification or an error card, and shows other
 * control characters as escapes: messages quote node names and paths, which must not drive a terminal.
 */
export function oneLine(message: string): string {
  return printable(message.replace(/\s+/g, ' ').trim());
}

/** The one-line message for anything thrown. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return oneLine(e.message || e.name);
  return oneLine(String(e));
}

export function errorCode(e: unknown): ErrorCode | 'E_INTERNAL' {
  if (e instanceof ReplensError) return e.code;
  if (e && typeof e === 'object' && (e as { name?: string }).name === 'AbortError') return 'E_CANCELLED';
  return 'E_INTERNAL';
}

export function cancelled(): ReplensError {
  return new ReplensError('E_CANCELLED', 'cancelled');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelled();
}

/** Levenshtein distance, for "did you mean" suggestions on tensor and option names. */
export function editDistance(a: string, b: string): number {
  const m = a.length,
    n = b.length;
  let prev = new Uint32Array(n + 1),
    cur = new Uint32Array(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n];
}

/** Up to `k` candidates closest to `name`: substring matches first, then by edit distance. */
export function closest(name: string, candidates: Iterable<string>, k = 3): string[] {
  const lower = name.toLowerCase();
  const scored: [number, string][] = [];
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const d =
      cl.includes(lower) || lower.includes(cl)
        ? -1 / (1 + Math.abs(cl.length - lower.length))
        : editDistance(lower, cl);
    scored.push([d, c]);
  }
  scored.sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]));
  return scored.slice(0, k).map((s) => s[1]);
}
