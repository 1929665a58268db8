// Class selectivity (Morcos et al. 2018): hand-computed units, conv channels, absent classes, eps, fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { classSelectivity } from '../src/engine/metrics/selectivity';
import { ReplensError } from '../src/engine/errors';

const FX = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'metrics', 'rra', 'rra.json'), 'utf8'));
const f64 = (xs: number[]) => Float64Array.from(xs);

test('classSelectivity: hand-computed (n, units) case with a dead unit', () => {
  // labels 0,0,1,1. unit 0: 2,4 | 1,1 → means 3, 1 → (3−1)/(3+1) = 0.5. unit 1: all 0 → dead → 0.
  // unit 2: 0,0 | 5,3 → means 0, 4 → (4−0)/(4+0) = 1.
  const acts = f64([2, 0, 0, 4, 0, 0, 1, 0, 5, 1, 0, 3]);
  const r = classSelectivity(acts, [4, 3], Int32Array.from([0, 0, 1, 1]));
  assert.deepEqual(r.per_unit, [0.5, 0, 1]);
  assert.deepEqual(r.argmax_class, [0, 0, 1]);
  assert.equal(r.value, 0.5);
  const e = classSelectivity(acts, [4, 3], Int32Array.from([0, 0, 1, 1]), { eps: 1 });
  assert.deepEqual(e.per_unit, [2 / 5, 0, 4 / 5]);
  assert.ok(Math.abs(e.value - 0.4) < 1e-15);
});

test('classSelectivity: conv channels are reduced by spatial mean; absent classes are excluded', () => {
  // (n=2, C=1, H=1, W=2): sample 0 (class 0) → [1, 3] mean 2; sample 1 → [0, 2] mean 1. SI = (2−1)/(2+1).
  const acts = f64([1, 3, 0, 2]);
  const r = classSelectivity(acts, [2, 1, 1, 2], [0, 1]);
  assert.ok(Math.abs(r.per_unit[0] - 1 / 3) < 1e-15);
  // Labels 0 and 2: class 1 has no samples and does not count (with a zero mean it would give 1.5/2.5 = 0.6).
  const g = classSelectivity(acts, [2, 1, 1, 2], [0, 2]);
  assert.ok(Math.abs(g.per_unit[0] - 1 / 3) < 1e-15);
  assert.deepEqual(g.argmax_class, [0]);
  const h = classSelectivity(f64([1, 3, 0, 2]), [2, 1, 2, 1], [7, 2]); // H = 2, W = 1; labels need not start at 0
  assert.deepEqual(h.argmax_class, [7]);
  // three classes: means 6, 2, 0 → μ−max = 1 → (6 − 1)/(6 + 1)
  const t = classSelectivity(f64([6, 2, 0]), [3, 1], [0, 1, 2]);
  assert.ok(Math.abs(t.value - 5 / 7) < 1e-15);
});

test('classSelectivity: equals the numpy fixtures to 1e-12', () => {
  for (const f of FX.selectivity) {
    const r = classSelectivity(f64(f.data), f.shape, Int32Array.from(f.labels), { eps: f.eps });
    assert.deepEqual(r.argmax_class, f.argmax_class);
    r.per_unit.forEach((v, u) =>
      assert.ok(Math.abs(v - f.per_unit[u]) <= 1e-12, `eps ${f.eps} unit ${u}: ${v} vs ${f.per_unit[u]}`),
    );
    assert.ok(Math.abs(r.value - f.value) <= 1e-12);
    assert.equal(r.per_unit[2], 0); // the dead unit
  }
});

test('classSelectivity: argument errors', () => {
  const bad = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof ReplensError && e.code === 'E_ARGUMENT' && re.test(e.message));
  bad(() => classSelectivity(f64([1, 2, 3, 4]), [2, 2], [0, 0]), /at least 2 classes/);
  bad(() => classSelectivity(f64([1, 2, 3, 4]), [2, 2], [0, 1, 1]), /3 entries but there are 2 samples/);
  bad(() => classSelectivity(f64([1, NaN, 3, 4]), [2, 2], [0, 1]), /activations contains NaN at flat index 1$/);
  bad(() => classSelectivity(f64([1, 2, 3]), [2, 2], [0, 1]), /needs 4 values/);
  bad(() => classSelectivity(f64([1, 2]), [2], [0, 1]), /shape \(n, units/);
  bad(() => classSelectivity(f64([1, 2, 3, 4]), [2, 2], [0, 1], { eps: -1 }), /eps/);
});

test('classSelectivity on signed values (logits) says so: warns with the count of signed units and the minimum', () => {
  // labels 0,0,1,1. unit 0: 2,4 | 1,1 (non-negative). unit 1 (logit-like): −3, −1 | 2, 0 → means −2, 1:
  // the formula gives (1 − (−2))/(1 + (−2)) = −3, outside [0, 1] — the number means nothing and the result says so.
  const acts = f64([2, -3, 4, -1, 1, 2, 1, 0]);
  const r = classSelectivity(acts, [4, 2], [0, 0, 1, 1]);
  assert.deepEqual(r.per_unit, [0.5, -3]);
  assert.equal(r.warnings?.length, 1);
  assert.match(r.warnings[0], /negative activations \(min -3, in 1 of 2 units\)/);
  // Non-negative input: no warnings field at all.
  assert.equal(classSelectivity(f64([2, 0, 4, 0, 1, 5, 1, 3]), [4, 2], [0, 0, 1, 1]).warnings, undefined);
});
