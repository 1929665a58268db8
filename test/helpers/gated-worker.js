// dist/worker.js for cancellation tests, held at a known point until the host's cancel arrives: the cancel then
// lands before the job's next cancellation check by construction, whatever the host's latency (a loaded machine
// let jobs finish before the abort landed).
//
// REPLENS_TEST_GATE (JSON, read when the worker starts):
//   { "on": "progress", "min": n }  hold at the first progress message with n ≤ done < total;
//   { "on": "partial", "min": n, "spacingMs": ms }  hold at the first analysis partial with n ≤ finished RRA layers
//   < layers; after every partial sent, sleep `spacingMs` (at least the job's partial throttle interval), so each
//   layer's partial is sent at once instead of being merged with the next by the throttle.
//   the partial gate may add "model": "name.onnx" to hold only runs of that model (the e2e suite gates one of several).
// REPLENS_TEST_WORKER: the real worker script (default: the repository's dist/worker.js; the e2e suite points it at
// the installed extension's copy).
// While held, the worker thread reads its port synchronously; every message (the cancel included) goes to
// worker.js's own handler, so the cancel takes the real path.
'use strict';
const { parentPort, receiveMessageOnPort } = require('worker_threads');
const path = require('path');

const gate = JSON.parse(process.env.REPLENS_TEST_GATE || '{}');
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function matches(m) {
  if (
    gate.model &&
    !(m.type === 'partial' && m.partial.kind === 'analysis' && m.partial.result.model.name === gate.model)
  ) {
    return false;
  }
  if (gate.on === 'progress' && m.type === 'progress')
    return m.progress.done >= gate.min && m.progress.done < m.progress.total;
  if (gate.on === 'partial' && m.type === 'partial' && m.partial.kind === 'analysis') {
    const r = m.partial.result,
      done = r.analyses.rra ? r.analyses.rra.perLayer.length : 0;
    return done >= gate.min && done < r.layers.length;
  }
  return false;
}

/** Delivers the port's messages to worker.js until the cancel of job `id` has been delivered. */
function holdUntilCancel(id) {
  for (;;) {
    const r = receiveMessageOnPort(parentPort);
    if (!r) {
      sleep(2);
      continue;
    }
    parentPort.emit('message', r.message);
    if (r.message && r.message.type === 'cancel' && r.message.id === id) return;
  }
}

const post = parentPort.postMessage.bind(parentPort);
let held = false;
parentPort.postMessage = (m) => {
  post(m);
  if (held) return;
  if (matches(m)) {
    held = true;
    holdUntilCancel(m.id);
    return;
  }
  if (m.type === 'partial' && gate.spacingMs) sleep(gate.spacingMs);
};

require(process.env.REPLENS_TEST_WORKER || path.join(__dirname, '..', '..', 'dist', 'worker.js'));
