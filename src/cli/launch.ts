// The `replens` executable. The command runs in a worker thread so that this thread stays free for signals:
// onnxruntime blocks the thread it runs on, and a JavaScript SIGINT handler on that thread would wait for the run
// to end. The first Ctrl-C asks the command to cancel after the current batch (finished work is kept); the second
// ends the process at once, whatever the worker is doing.
import { Worker, isMainThread, parentPort, workerData } from 'worker_threads';
import { errorMessage } from '../engine/errors';
import { applyTelemetryPolicy } from '../engine/runtime/telemetry';
import { main } from './cli';

interface LaunchData {
  argv: string[];
  stderrIsTTY: boolean;
}
/** Output of the command, posted by the worker: a worker's own stdio is flushed by its event loop, which a blocking
 * onnxruntime run stalls, so a progress line or log written just before a long run would show only after it. */
interface Output {
  fd: 1 | 2;
  text: string;
}

function launch(argv: string[]): void {
  // Before the worker loads onnxruntime: the switch is read from the process environment (telemetry.ts).
  applyTelemetryPolicy();
  const worker = new Worker(__filename, {
    workerData: { argv, stderrIsTTY: !!process.stderr.isTTY } satisfies LaunchData,
  });
  const onSigint = () => {
    // With no listener left, the next SIGINT takes the default action: the process ends at once. The listener goes
    // first: removing it restores the default action, and a second Ctrl-C that arrived while it was still installed
    // (right after the message below) would be taken by libuv and dropped.
    process.off('SIGINT', onSigint);
    worker.postMessage('cancel');
    process.stderr.write('\nreplens: cancelling after the current batch (Ctrl-C again to quit now)\n');
  };
  process.on('SIGINT', onSigint);
  // A reader that went away (`replens layers … | head`) closes the pipe: drop what follows instead of crashing.
  const closed = new Set<number>();
  for (const [fd, stream] of [
    [1, process.stdout],
    [2, process.stderr],
  ] as const) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') closed.add(fd);
      else throw e;
    });
  }
  worker.on('message', (m: Output) => {
    if (!closed.has(m.fd)) (m.fd === 1 ? process.stdout : process.stderr).write(m.text);
  });
  worker.on('error', (e) => {
    process.stderr.write(`replens: ${e.message}\n`);
    process.exitCode = 70;
  });
  worker.on('exit', (code) => {
    process.off('SIGINT', onSigint);
    if (process.exitCode === undefined) process.exitCode = code;
  });
}

function runInWorker(): void {
  const data = workerData as LaunchData;
  const ac = new AbortController();
  parentPort!.on('message', (m) => {
    if (m === 'cancel') ac.abort();
  });
  for (const fd of [1, 2] as const) {
    const stream = fd === 1 ? process.stdout : process.stderr;
    stream.write = (chunk: string | Uint8Array, enc?: unknown, cb?: unknown) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      parentPort!.postMessage({ fd, text } satisfies Output);
      const done = typeof enc === 'function' ? enc : cb;
      if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
      return true;
    };
  }
  // The port would keep the worker alive once the command is done.
  parentPort!.unref();
  // main reports its own errors and resolves to the exit code; a rejection would be a bug in it: one line, and the
  // exit code of an uncaught error in the worker (launch's 'error' handler).
  main(data.argv, { signal: ac.signal, stderrIsTTY: data.stderrIsTTY }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`replens: ${errorMessage(e)}\n`);
      process.exitCode = 70;
    },
  );
}

if (isMainThread) launch(process.argv.slice(2));
else runInWorker();
