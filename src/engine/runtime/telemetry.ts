// onnxruntime (≥ 1.29 on Linux and macOS) records telemetry on every run: a debug log and a session file in the
// temp folder, and an event queue with the model's graph name and producer under ~/.cache. RepLens turns it off
// unless the user allows it. The documented switch is the environment variable ORT_DISABLE_TELEMETRY=1, read once
// when onnxruntime starts its environment (the first session of the process). It must be set on the process's main
// thread: a worker thread's process.env is a copy that the native library never sees.
import { isMainThread } from 'worker_threads';

export type TelemetryPolicy = 'disabled' | 'allowed' | 'user-set';

let setByUs = false;

/**
 * Applies RepLens's telemetry policy to this process: off unless `allow` (default: REPLENS_ORT_TELEMETRY=1).
 * A value of ORT_DISABLE_TELEMETRY that the user set themselves is left as it is. Returns what holds.
 */
export function applyTelemetryPolicy(allow = process.env.REPLENS_ORT_TELEMETRY === '1'): TelemetryPolicy {
  if (!setByUs && (process.env.ORT_DISABLE_TELEMETRY ?? '') !== '') return 'user-set';
  // A worker cannot change it: the thread that started it decided (the CLI launcher, the extension host).
  if (!isMainThread) return allow ? 'allowed' : 'disabled';
  if (allow) {
    if (setByUs) delete process.env.ORT_DISABLE_TELEMETRY;
    setByUs = false;
    return 'allowed';
  }
  process.env.ORT_DISABLE_TELEMETRY = '1';
  setByUs = true;
  return 'disabled';
}
