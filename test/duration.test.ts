// The one duration/ETA formatter (src/shared/duration.ts) used by the notification, the panels and the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatEta } from '../src/shared/duration';

test('formatDuration: tenths < 10 s, whole seconds < 1 min, tenths of a minute < 1 h, then h + min', () => {
  const cases: [number, string][] = [
    [0, '0.0 s'],
    [0.04, '0.0 s'],
    [0.05, '0.1 s'],
    [0.4, '0.4 s'],
    [1, '1.0 s'],
    [9.94, '9.9 s'],
    [9.95, '10 s'],
    [10, '10 s'],
    [45, '45 s'],
    [45.5, '46 s'],
    [59.49, '59 s'],
    [59.5, '1.0 min'],
    [60, '1.0 min'],
    [61, '1.0 min'],
    [90, '1.5 min'],
    [192, '3.2 min'],
    [3590, '59.8 min'],
    [3596.9, '59.9 min'],
    [3597, '1 h 00 min'],
    [3600, '1 h 00 min'],
    [3900, '1 h 05 min'],
    [7199, '2 h 00 min'],
    [5400, '1 h 30 min'],
    [96000, '26 h 40 min'],
  ];
  for (const [s, want] of cases) assert.equal(formatDuration(s), want, `formatDuration(${s})`);
});

test('formatDuration: a negative duration counts as 0; NaN and ±Infinity are a dash', () => {
  assert.equal(formatDuration(-3), '0.0 s');
  assert.equal(formatDuration(-0), '0.0 s');
  assert.equal(formatDuration(NaN), '—');
  assert.equal(formatDuration(Infinity), '—');
  assert.equal(formatDuration(-Infinity), '—');
});

test('formatEta: rounded up to whole seconds, at least 1 s, then the duration style', () => {
  const cases: [number, string][] = [
    [0, '1 s'],
    [0.2, '1 s'],
    [1, '1 s'],
    [1.01, '2 s'],
    [44.1, '45 s'],
    [58.5, '59 s'],
    [59, '59 s'],
    [59.5, '1.0 min'],
    [60, '1.0 min'],
    [75, '1.3 min'],
    [192, '3.2 min'],
    [3600, '1 h 00 min'],
    [3900, '1 h 05 min'],
  ];
  for (const [s, want] of cases) assert.equal(formatEta(s), want, `formatEta(${s})`);
});

test('formatEta: unknown (null, undefined, NaN, ±Infinity) is "", a negative estimate is 1 s', () => {
  for (const s of [null, undefined, NaN, Infinity, -Infinity]) assert.equal(formatEta(s), '', `formatEta(${s})`);
  assert.equal(formatEta(-5), '1 s');
});
