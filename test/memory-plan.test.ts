// Issue 13: the memory budget holds at 224² — the batch size follows from the budget and the layers' sizes, and
// the activation store gets what the process, the weights, RRA's working memory and a batch leave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../src/engine/onnx/builder';
import {
  BATCH_SHARE,
  KNN_TILE_BYTES,
  PROCESS_BYTES,
  planMemory,
  rraWorkingBytes,
  weightBytes,
  workBytesPerSample,
} from '../src/engine/capture/memory';

const MB = 2 ** 20,
  GB = 2 ** 30;

test("workBytesPerSample sums every node output's sample; weightBytes the initializers", () => {
  const g = new GraphBuilder('m', 13, 1);
  const x = g.input('x', ['N', 3, 8, 8]);
  const c = g.node('Conv', [x, g.randomInit('w', [4, 3, 3, 3])], { pads: [1, 1, 1, 1] }, { outputs: ['c'] });
  g.node('Relu', [c], {}, { outputs: ['y'] });
  g.output('y', ['N', 4, 8, 8]);
  const m = g.build();
  const shapes = new Map([
    ['c', ['N', 4, 8, 8]],
    ['y', ['N', 4, 8, 8]],
  ] as [string, (string | number)[]][]);
  assert.equal(workBytesPerSample(m, shapes), 2 * 4 * 8 * 8 * 4);
  assert.equal(weightBytes(m), 4 * 3 * 3 * 3 * 4);
  // An unknown dim counts nothing rather than a guess.
  assert.equal(workBytesPerSample(m, new Map([['c', ['N', 4, 'H', 8]]])), 0);
});

test('planMemory: a 224² resnet18-sized model gets a batch within a quarter of the budget; the store the rest', () => {
  const model = { inputBytes: 3 * 224 * 224 * 4, tapBytes: 7.6 * MB, workBytes: 30 * MB, weights: 46 * MB };
  const perSample = 2 * model.inputBytes + model.workBytes + 3 * model.tapBytes;
  const rra = rraWorkingBytes(200, 20, 12);
  assert.equal(rra, KNN_TILE_BYTES + 200 * 48 * 12 + 12 * 200 * 20 * 4);
  const p = planMemory(2 * GB, [model], undefined, rra);
  assert.equal(p.batchSize, Math.floor((BATCH_SHARE * 2 * GB) / perSample));
  assert.equal(p.fixedBytes, PROCESS_BYTES + 2 * model.weights + rra);
  assert.equal(p.storeBytes, 2 * GB - p.fixedBytes - p.batchSize * perSample);
  assert.ok(p.fixedBytes + p.batchBytes + p.storeBytes <= 2 * GB);
  assert.match(p.note!, /^batch size 9 \(a sample moves 53\.9 MiB through the model/);
  // Small inputs keep batch 64 and say nothing; an explicit batch size is kept and warned about when too big.
  const small = planMemory(2 * GB, [{ inputBytes: 3136, tapBytes: 20000, workBytes: 60000, weights: MB }], undefined);
  assert.deepEqual([small.batchSize, small.note], [64, null]);
  const forced = planMemory(2 * GB, [model], 64);
  assert.equal(forced.batchSize, 64);
  assert.match(forced.note!, /--batch-size 64 keeps about .* over 25 % of the 2\.0 GiB memory budget \(9 would fit\)/);
  // The store never falls below a quarter of the budget, even when the rest is spoken for.
  assert.equal(planMemory(512 * MB, [model], 64).storeBytes, 128 * MB);
});
