// The --compare-data order check on hand-made streams: pixel units undo each side's normalisation; labels are
// compared when the input shapes differ; nothing to compare is reported as 'none'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SampleOrder } from '../src/engine/analyses/sample-order';
import type { Batch, Dataset } from '../src/engine/data/dataset';

function ds(shape: number[], mean: number, std: number, labels: boolean): Dataset {
  return {
    identity: 'x',
    description: 'x',
    length: 0,
    sampleShape: shape,
    hasLabels: labels,
    pixelSpace: { mean: [mean], std: [std], layout: 'NCHW', clip: [0, 1] },
    batches: async function* () {
      /* unused */
    },
  };
}
/** A batch of pixel images (values in [0, 1]) normalised with (mean, std). */
function batch(pixels: number[][], mean: number, std: number, labels: number[] | null): Batch {
  const x = Float32Array.from(pixels.flat().map((v) => (v - mean) / std));
  return { x, shape: [pixels.length, pixels[0].length], labels: labels ? Int32Array.from(labels) : null, start: 0 };
}

const imgs = [
  [0, 0.2, 0.4, 1],
  [0.5, 0.5, 0.5, 0.5],
  [1, 0, 0, 1],
  [0.1, 0.9, 0.3, 0.7],
];

test('SampleOrder: the same images under two normalisations pass; a swap names the first sample', () => {
  const a = ds([4], 0.3, 0.2, true),
    b = ds([4], 0.5, 0.5, true);
  const ok = new SampleOrder(a, b);
  assert.equal(ok.kind, 'images');
  ok.record(batch(imgs.slice(0, 2), 0.3, 0.2, null));
  ok.record(batch(imgs.slice(2), 0.3, 0.2, null));
  ok.check(batch(imgs.slice(0, 3), 0.5, 0.5, null));
  ok.check(batch(imgs.slice(3), 0.5, 0.5, null));
  const bad = new SampleOrder(a, b);
  bad.record(batch(imgs, 0.3, 0.2, null));
  bad.check(batch(imgs.slice(0, 1), 0.5, 0.5, null));
  assert.throws(() => bad.check(batch([imgs[2], imgs[1]], 0.5, 0.5, null)), /sample 1 is a different image/);
  // A change of one pixel by 1/255 is caught too.
  const tiny = new SampleOrder(a, b);
  tiny.record(batch(imgs, 0.3, 0.2, null));
  assert.throws(() => tiny.check(batch([imgs[0], imgs[1], [1, 0, 1 / 255, 1], imgs[3]], 0.5, 0.5, null)), /sample 2/);
});

test('SampleOrder: other input shapes fall back to the labels; without labels nothing is checked', () => {
  const byLabel = new SampleOrder(ds([4], 0, 1, true), ds([2, 2, 2], 0, 1, true));
  assert.equal(byLabel.kind, 'labels');
  byLabel.record(batch(imgs, 0, 1, [3, 1, 4, 1]));
  assert.throws(
    () =>
      byLabel.check(
        batch(
          imgs.map((r) => [...r, ...r]),
          0,
          1,
          [3, 1, 1, 4],
        ),
      ),
    /sample 2 has label 4 in --data and 1 in --compare-data/,
  );
  const none = new SampleOrder(ds([4], 0, 1, false), ds([8], 0, 1, true));
  assert.equal(none.kind, 'none');
  none.record(batch(imgs, 0, 1, null));
  none.check(
    batch(
      imgs.map((r) => [...r, ...r]),
      0,
      1,
      [0, 0, 0, 0],
    ),
  );
});
