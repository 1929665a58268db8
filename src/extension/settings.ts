// Reading RepLens settings into the job's runtime options (pure; extension.ts passes VS Code's configuration getter).
import type { RuntimeSettings } from '../shared/messages';

const PROVIDERS = ['auto', 'cpu', 'cuda'] as const;

/**
 * `get(key)` returns the value of `replens.<key>` (undefined when unset). Invalid values fall back to the defaults;
 * each fallback adds a line to `warnings`. In the editor onnxruntime leaves the UI a core: unless set, one thread
 * fewer than the `cores` inside an operator, and its idle threads sleep rather than spin.
 */
export function runtimeSettings(
  get: (key: string) => unknown,
  cores = 0,
): { runtime: RuntimeSettings; warnings: string[] } {
  const warnings: string[] = [];
  const ep = get('executionProvider') ?? 'auto';
  let executionProvider: RuntimeSettings['executionProvider'] = 'auto';
  if (typeof ep === 'string' && (PROVIDERS as readonly string[]).includes(ep))
    executionProvider = ep as (typeof PROVIDERS)[number];
  else
    warnings.push(
      `replens.executionProvider must be one of ${PROVIDERS.join(', ')} (got ${JSON.stringify(ep)}); using auto`,
    );
  const threads = (key: string): number => {
    const v = get(key) ?? 0;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
    warnings.push(`replens.${key} must be an integer >= 0 (got ${JSON.stringify(v)}); using 0 (onnxruntime's default)`);
    return 0;
  };
  return {
    runtime: {
      executionProvider,
      intraOpThreads: threads('intraOpThreads') || (cores > 1 ? cores - 1 : 0),
      interOpThreads: threads('interOpThreads'),
      allowSpinning: false,
    },
    warnings,
  };
}

/** Local time with milliseconds, for the output channel: "14:03:07.412". */
export function timestamp(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function isOnnxPath(p: string): boolean {
  return /\.onnx$/i.test(p);
}
