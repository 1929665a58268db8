// The `replens` executable. The command runs in a worker thread so that this thread stays free for signals:
// onnxruntime blocks the thread it runs on, and a JavaScript SIGINT handler on that thread would wait for the run
// to end. The first Ctrl-C asks the command to cancel after the current batch (finished work is kept); the second
// ends the process at once, whatever the worker is doing.
import { Worker, isMainThread, parentPort, workerData } from 'worker_threads';
import { applyTelemetryPolicy } from '../engine/runtime/telemetry';
import { main } from './cli';

interface LaunchData { argv: string[]; stderrIsTTY: boolean }

function launch(argv: string[]): void {
  // Before the worker loads onnxruntime: the switch is read from the process environment (telemetry.ts).
  applyTelemetryPolicy();
  const worker = new Worker(__filename, { workerData: { argv, stderrIsTTY: !!process.stderr.isTTY } satisfies LaunchData });
  const onSigint = () => {
    process.stderr.write('\nreplens: cancelling after the current batch (Ctrl-C again to quit now)\n');
    worker.postMessage('cancel');
    // With no listener left, the next SIGINT takes the default action: the process ends at once.
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  worker.on('error', (e) => { process.stderr.write(`replens: ${e.message}\n`); process.exitCode = 70; });
  worker.on('exit', (code) => {
    process.off('SIGINT', onSigint);
    if (process.exitCode === undefined) process.exitCode = code;
  });
}

function runInWorker(): void {
  const data = workerData as LaunchData;
  const ac = new AbortController();
  parentPort!.on('message', (m) => { if (m === 'cancel') ac.abort(); });
  // The port would keep the worker alive once the command is done.
  parentPort!.unref();
  main(data.argv, { signal: ac.signal, stderrIsTTY: data.stderrIsTTY }).then((code) => { process.exitCode = code; });
}

if (isMainThread) launch(process.argv.slice(2));
else runInWorker();
