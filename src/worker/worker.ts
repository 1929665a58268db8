// The analysis worker: runs engine jobs off the extension host's thread (onnxruntime blocks its thread while it
// runs), streams progress and partial results, and cancels between batches.
import { parentPort } from 'worker_threads';
import { runJob } from '../engine/jobs';
import { cachedRunner } from './jobcache';
import { errorCode, errorMessage } from '../engine/errors';
import { assertNever, parseHostToWorker, type WorkerToHost } from '../shared/messages';

if (!parentPort) throw new Error('worker.js must run in a worker thread');
const port = parentPort;
const running = new Map<number, AbortController>();
const send = (m: WorkerToHost) => port.postMessage(m);
// Model checks answered once per model file version (jobcache.ts).
const run = cachedRunner(runJob);

port.on('message', (raw: unknown) => {
  let msg;
  try {
    msg = parseHostToWorker(raw);
  } catch (e) {
    const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : -1;
    send({ v: 1, type: 'error', id, error: { code: 'E_PROTOCOL', message: errorMessage(e) } });
    return;
  }
  switch (msg.type) {
    case 'cancel':
      running.get(msg.id)?.abort();
      return;
    case 'run': {
      const id = msg.id;
      const ac = new AbortController();
      running.set(id, ac);
      run(msg.job, {
        signal: ac.signal,
        progress: (progress) => send({ v: 1, type: 'progress', id, progress }),
        partial: (partial) => send({ v: 1, type: 'partial', id, partial }),
        log: (line) => send({ v: 1, type: 'log', line }),
      })
        .then((result) => send({ v: 1, type: 'result', id, result }))
        .catch((e) => send({ v: 1, type: 'error', id, error: { code: errorCode(e), message: errorMessage(e) } }))
        .finally(() => running.delete(id));
      return;
    }
    default:
      assertNever(msg);
  }
});

send({ v: 1, type: 'ready' });
