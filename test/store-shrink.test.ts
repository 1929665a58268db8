// Issue 13: the store makes room for an analysis's own working memory — shrinkTo spills the largest tensors until
// what it holds fits the lower budget, and their values read back unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivationStore } from '../src/engine/capture/store';
import { tempDir } from './helpers/tmp';

test('shrinkTo spills the largest tensors until the store fits, values unchanged; it never raises the budget', () => {
  const store = new ActivationStore(2 ** 20, tempDir('replens-shrink-'));
  const sizes = { a: 30000, b: 70000, c: 50000 }; // floats: 120 KB, 280 KB, 200 KB
  for (const [t, n] of Object.entries(sizes))
    store.append(
      t,
      Float32Array.from({ length: n }, (_, i) => i + n),
      10,
      [n / 10],
    );
  assert.deepEqual(store.spilled, []);
  assert.equal(store.bytesInMemory, 4 * (30000 + 70000 + 50000));
  store.shrinkTo(300_000);
  // b (280 KB) leaves 320 KB, over; c (200 KB) too; a (120 KB) fits.
  assert.deepEqual(store.spilled.sort(), ['b', 'c']);
  assert.equal(store.bytesInMemory, 120_000);
  for (const [t, n] of Object.entries(sizes)) {
    const v = store.materialize(t);
    assert.ok(v.length === n && v.every((x, i) => x === i + n), t);
  }
  store.shrinkTo(10 * 2 ** 20);
  assert.equal(store.budgetBytes, 300_000);
  store.dispose();
});
