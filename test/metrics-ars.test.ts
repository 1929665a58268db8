// ARS arithmetic (seed 000, eqs. 3–5): hand-computed RS/AR/ARS with strict comparison, AR = 0 and both-zero cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { ars } from '../src/engine/metrics/ars';
import { ReplensError } from '../src/engine/errors';

const FX = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'metrics', 'rra', 'rra.json'), 'utf8'));

test('ars: hand-computed (3, 3, 1, 2) case', () => {
  const a = Float64Array.from([
    // image 0: kernel 0 [1, 0] (mean 0.5, AR 1/2); kernel 1 mean 2 > 0.5; kernel 2 mean 0.5, not strictly greater
    1, 0, 2, 2, 0.5, 0.5,
    // image 1: kernel 1's own map is all 0 (AR 0); kernel 0 mean 1 > 0 → RS = 1/3 → ARS 1
    1, 1, 0, 0, 0, 0,
    // image 2: everything 0 → RS = AR = 0 → undefined
    0, 0, 0, 0, 0, 0,
  ]);
  const r = ars(a, [3, 3, 1, 2]);
  assert.deepEqual(r.rs, [1 / 3, 1 / 3, 0]);
  assert.deepEqual(r.ar, [0.5, 0, 0]);
  const a0 = (2 * Math.atan(1 / 3 / 0.5)) / Math.PI;
  assert.deepEqual(r.ars, [a0, 1, null]);
  assert.equal(r.value, (a0 + 1) / 2);
});

test('ars: (N, N) input, RS counts the target in N, and a layer with nothing defined', () => {
  // 1×1 maps: image i's responses are row i. Image 0: x = [1, 3, 2] → 2 above, RS = 2/3, AR = 1.
  const r = ars(Float64Array.from([1, 3, 2, 0, 5, 9, 0, 0, 4]), [3, 3]);
  assert.deepEqual(r.rs, [2 / 3, 1 / 3, 0]);
  assert.deepEqual(r.ar, [1, 1, 1]);
  assert.deepEqual(r.ars, [(2 * Math.atan(2 / 3)) / Math.PI, (2 * Math.atan(1 / 3)) / Math.PI, 0]);
  const z = ars(new Float64Array(4), [2, 2]);
  assert.equal(z.value, null);
  assert.deepEqual(z.ars, [null, null]);
});

test('ars: equals the numpy fixture to 1e-12', () => {
  const f = FX.ars[0];
  const r = ars(Float64Array.from(f.data), f.shape);
  assert.deepEqual(r.rs, f.rs);
  assert.deepEqual(r.ar, f.ar);
  r.ars.forEach((v, i) =>
    f.ars[i] === null ? assert.equal(v, null) : assert.ok(Math.abs((v as number) - f.ars[i]) <= 1e-12, `kernel ${i}`),
  );
  assert.ok(Math.abs((r.value as number) - f.value) <= 1e-12);
  assert.ok(r.ars.includes(null) && r.ars.includes(1));
});

test('ars: argument errors', () => {
  const bad = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof ReplensError && e.code === 'E_ARGUMENT' && re.test(e.message));
  bad(() => ars(new Float64Array(6), [2, 3]), /shape \(N, N/);
  bad(() => ars(new Float64Array(4), [4]), /shape \(N, N/);
  bad(() => ars(new Float64Array(3), [2, 2]), /needs 4 values/);
  bad(() => ars(Float64Array.from([0, Infinity, 0, 0]), [2, 2]), /contains (NaN|Infinity)/);
});
