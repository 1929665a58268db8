// Summary and CLI selectivity on signed layers (issue 13): sparsity and dead channels are "not applicable" on a
// layer with negative values (logits), and `metric selectivity` warns in its JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SummaryAccumulator } from '../src/engine/analyses/summary';
import { runMetric } from '../src/cli/metric';
import { writeNpy } from '../src/engine/npy';

test('summary: a ReLU layer keeps sparsity and dead channels; a logit layer marks them n/a, with the reason', () => {
  // (n=2, C=3): ReLU-like, channel 1 dead. Values ≤ 0: 3 of 6.
  const relu = new SummaryAccumulator('relu');
  relu.add(Float32Array.from([1, 0, 0, 2, 0, 3]), [2, 3]);
  const r = relu.result();
  assert.equal(r.sparsity, 0.5);
  assert.equal(r.deadChannels, 1);
  assert.equal(r.sparsityNotApplicable, undefined);
  // Logits: signed; class 1's logit is negative for both samples — not a dead unit.
  const logits = new SummaryAccumulator('logits');
  logits.add(Float32Array.from([2.5, -1, 0.5, -0.25, -3, 1]), [2, 3]);
  const l = logits.result();
  assert.equal(l.min, -3);
  assert.match(l.sparsityNotApplicable ?? '', /^signed values \(min -3\): not a ReLU-like layer/);
});

test('metric selectivity: a warnings field on negative inputs, none on non-negative ones', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-sel-'));
  try {
    const labels = path.join(dir, 'labels.npy');
    writeNpy(labels, { shape: [4], data: Int32Array.from([0, 0, 1, 1]) });
    const logits = path.join(dir, 'logits.npy'),
      relu = path.join(dir, 'relu.npy');
    writeNpy(logits, { shape: [4, 2], data: Float32Array.from([2, -3, 4, -1, 1, 2, 1, 0]) });
    writeNpy(relu, { shape: [4, 2], data: Float32Array.from([2, 0, 4, 0, 1, 5, 1, 3]) });
    const a = (await runMetric(['selectivity', '--acts', logits, '--labels', labels])) as {
      value: number;
      warnings?: string[];
    };
    assert.equal(a.value, (0.5 - 3) / 2);
    assert.match(a.warnings?.[0] ?? '', /negative activations/);
    const b = (await runMetric(['selectivity', '--acts', relu, '--labels', labels])) as { warnings?: string[] };
    assert.equal(b.warnings, undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('metric svcca / cca warn in the trivial regime (kept directions > n/10), not below it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-cca-'));
  try {
    let s = 1;
    const rnd = () => {
      s = (s * 16807) % 2147483647;
      return s / 2147483647 - 0.5;
    };
    const save = (name: string, n: number, p: number) => {
      const f = path.join(dir, name);
      writeNpy(f, { shape: [n, p], data: Float64Array.from({ length: n * p }, rnd) });
      return f;
    };
    const x = save('x.npy', 100, 30),
      y = save('y.npy', 100, 40);
    const r = (await runMetric(['svcca', '--x', x, '--y', y])) as { kx: number; warnings?: string[] };
    assert.ok(r.kx > 10);
    assert.match(r.warnings?.[0] ?? '', /more than ⌊n\/10⌋ = 10\): the trivial regime/);
    const xs = save('xs.npy', 100, 5),
      ys = save('ys.npy', 100, 8);
    const c = (await runMetric(['cca', '--x', xs, '--y', ys])) as { warnings?: string[] };
    assert.equal(c.warnings, undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
