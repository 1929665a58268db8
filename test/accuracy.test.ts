// The model's top-1 accuracy counted during the capture (src/engine/analyses/accuracy.ts): hand cases, and when it
// is not reported (labels that cannot index the scores, an output that is not one score per class).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccuracyCount, accuracyCount } from '../src/engine/analyses/accuracy';
import { formatAccuracy, type LayerRef } from '../src/shared/result';

test('AccuracyCount: argmax against the label over batches (ties go to the first class)', () => {
  const a = new AccuracyCount('logits', 3);
  // batch 1: argmax 2 (label 2 ✓), argmax 0 (label 1 ✗); batch 2: a tie 0/1 → 0 (label 0 ✓)
  a.add(Float32Array.from([0.1, 0.2, 0.9, 5, -1, 2]), 2, [2, 1]);
  a.add(Float32Array.from([3, 3, 1]), 1, [0]);
  assert.deepEqual(a.result(), { top1: 2 / 3, correct: 2, samples: 3, output: 'logits' });
  assert.equal(formatAccuracy(a.result()!), '66.7 % top-1 (2 of 3 samples, argmax of logits)');
});

test('AccuracyCount: labels that cannot index the scores mean no accuracy at all', () => {
  const a = new AccuracyCount('y', 2);
  a.add(Float32Array.from([1, 0]), 1, [0]);
  a.add(Float32Array.from([1, 0]), 1, [7]);
  assert.equal(a.result(), null);
  assert.equal(new AccuracyCount('y', 2).result(), null, 'no samples');
});

test('accuracyCount: only for one graph output, captured, with one value per class', () => {
  const layer = (tensor: string, shape: number[]): LayerRef => ({
    tensor,
    label: tensor,
    op: 'Gemm',
    shape,
    params: 0,
    index: 0,
  });
  assert.equal(accuracyCount(['y'], [layer('y', [10])])?.classes, 10);
  assert.equal(accuracyCount(['y'], [layer('h', [10])]), null, 'the output is not captured');
  assert.equal(accuracyCount(['y', 'z'], [layer('y', [10])]), null, 'two outputs');
  assert.equal(accuracyCount(['y'], [layer('y', [1])]), null, 'one score');
  assert.equal(accuracyCount(['y'], [layer('y', [4, 7, 7])]), null, 'a feature map');
});
