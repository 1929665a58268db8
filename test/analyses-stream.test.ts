// Streaming analyses: batch-by-batch accumulation equals the whole-array computations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SummaryAccumulator } from '../src/engine/analyses/summary';
import { SelectivityAccumulator, HISTOGRAM_BINS } from '../src/engine/analyses/selectivity';
import { classSelectivity } from '../src/engine/metrics/selectivity';
import { rng } from '../src/engine/onnx/builder';

test('summary: hand case — mean, std, sparsity, dead channels, whatever the batching', () => {
  // 2 samples, 3 channels, 2 positions; channel 2 is ≤ 0 everywhere (dead).
  const x = Float32Array.from([1, 0, 3, -1, 0, -2, /* sample 2 */ 0, 2, 1, 1, -1, 0]);
  const want = { mean: 4 / 12, sparsity: 7 / 12, dead: 1 };
  const q = Array.from(x).reduce((s, v) => s + v * v, 0) / 12;
  for (const split of [[2], [1, 1]]) {
    const a = new SummaryAccumulator('t');
    let o = 0;
    for (const c of split) {
      a.add(x.subarray(o * 6, (o + c) * 6), [c, 3, 2]);
      o += c;
    }
    const r = a.result();
    assert.ok(Math.abs(r.mean - want.mean) < 1e-15);
    assert.ok(Math.abs(r.std - Math.sqrt(q - want.mean ** 2)) < 1e-15);
    assert.equal(r.sparsity, want.sparsity);
    assert.equal(r.deadChannels, want.dead);
    assert.equal(r.channels, 3);
  }
});

test('selectivity: accumulated over ragged batches equals classSelectivity on the whole array', () => {
  const r = rng(4);
  const n = 53,
    U = 7,
    S = 6;
  const x = Float32Array.from({ length: n * U * S }, () => Math.max(0, r() * 2 - 0.6));
  for (let i = 0; i < n; i++) for (let t = 0; t < S; t++) x[(i * U + 6) * S + t] = 0; // unit 6 dead
  const labels = Int32Array.from({ length: n }, () => Math.floor(r() * 4)); // classes 0..3 (class 4 declared, absent)
  const ref = classSelectivity(Float64Array.from(x), [n, U, S], labels);
  const a = new SelectivityAccumulator('t', [0, 1, 2, 3, 4]);
  for (const [s, e] of [
    [0, 10],
    [10, 11],
    [11, 40],
    [40, 53],
  ])
    a.add(x.subarray(s * U * S, e * U * S), [e - s, U, S], labels.subarray(s, e));
  const got = a.result();
  for (let u = 0; u < U; u++) assert.ok(Math.abs(got.perUnit[u] - ref.per_unit[u]) < 1e-12, `unit ${u}`);
  assert.equal(got.perUnit[6], 0);
  assert.ok(Math.abs(got.mean - ref.value) < 1e-12);
  assert.equal(
    got.histogram.counts.reduce((s, c) => s + c, 0),
    U,
  );
  assert.equal(got.histogram.edges.length, HISTOGRAM_BINS + 1);
  const sorted = [...got.perUnit].sort((p, q) => p - q);
  assert.equal(got.median, sorted[3]);
  assert.throws(() => new SelectivityAccumulator('t', [0, 1]).result(), /no samples/);
  const one = new SelectivityAccumulator('t', [0, 1]);
  one.add(Float32Array.from([1, 2]), [2, 1], [0, 0]);
  assert.throws(() => one.result(), /at least 2 classes/);
});
