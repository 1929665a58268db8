import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { zipSync } from 'fflate';
import { ReplensError } from '../src/engine/errors';
import { encodeNpy, type NpyData } from '../src/engine/npy';
import { inferFormat, openDataset } from '../src/engine/data/open';
import type { Batch } from '../src/engine/data/dataset';
import { tempDir } from './helpers/tmp';

const f = Math.fround;

function tmpDir(): string {
  return tempDir('replens-open-');
}
function npz(file: string, entries: Record<string, { shape: number[]; data: NpyData }>): string {
  const files: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(entries)) files[`${k}.npy`] = new Uint8Array(encodeNpy(v));
  fs.writeFileSync(file, zipSync(files));
  return file;
}
/** n gray 2×2 uint8 images, pixel value = 4·sample + position. */
function grayNpz(dir: string, n: number, labels?: NpyData): string {
  const x = Uint8Array.from({ length: n * 4 }, (_, i) => i % 256);
  return npz(path.join(dir, `g${n}.npz`), {
    x: { shape: [n, 2, 2], data: x },
    ...(labels ? { y: { shape: [labels.length], data: labels } } : {}),
  });
}
const err = (code: string, message: string | RegExp) => (e: unknown) =>
  e instanceof ReplensError &&
  e.code === code &&
  (typeof message === 'string' ? e.message === message : message.test(e.message));

test('labels: count mismatch, negative, or beyond classNames → E_LABELS', async () => {
  const dir = tmpDir();
  const n1000 = grayNpz(dir, 1000, new Int32Array(999));
  await assert.rejects(
    openDataset({ path: n1000 }),
    err('E_LABELS', `labels: 999 entries for 1000 samples in ${n1000}:y`),
  );
  // Separate labels .npy: the message names that file.
  const lab = path.join(dir, 'lab.npy');
  fs.writeFileSync(lab, encodeNpy({ shape: [1001], data: new Int32Array(1001) }));
  await assert.rejects(
    openDataset({ path: n1000, labels: lab }),
    err('E_LABELS', `labels: 1001 entries for 1000 samples in ${lab}`),
  );

  const neg = grayNpz(dir, 3, Int32Array.from([0, -1, 2]));
  await assert.rejects(
    openDataset({ path: neg }),
    err('E_LABELS', `labels: entry 1 is -1; class indices cannot be negative, in ${neg}:y`),
  );
  const big = grayNpz(dir, 4, BigInt64Array.from([0n, 1n, 2n, 3n]));
  await assert.rejects(
    openDataset({ path: big }, { classNames: ['a', 'b', 'c'] }),
    err('E_LABELS', `labels: entry 3 is 3 but there are only 3 class names, in ${big}:y`),
  );
  // limit keeps only samples whose labels are in range: fine.
  const ok = await openDataset({ path: big, limit: 3 }, { classNames: ['a', 'b', 'c'] });
  assert.equal(ok.length, 3);
  assert.deepEqual(ok.classNames, ['a', 'b', 'c']);
});

test('E_INPUT_SHAPE names both shapes and the setting that fixes it', async () => {
  const dir = tmpDir();
  const file = grayNpz(dir, 2);
  await assert.rejects(
    openDataset({ path: file }, { modelInputShape: ['N', 3, 4, 4], preprocess: { channels: 1, resize: 2 } }),
    err(
      'E_INPUT_SHAPE',
      `${file}: samples are 1×2×2 after preprocessing but the model input is [N, 3, 4, 4]; ` +
        'set preprocess.channels to 3 and preprocess.resize to [4, 4]',
    ),
  );
  await assert.rejects(
    openDataset({ path: file }, { modelInputShape: ['N', 2, 2, 1], preprocess: { layout: 'NCHW' } }),
    err(
      'E_INPUT_SHAPE',
      `${file}: samples are 1×2×2 after preprocessing but the model input is [N, 2, 2, 1]; ` +
        'set preprocess.layout to "NHWC"',
    ),
  );
  await assert.rejects(
    openDataset({ path: file }, { modelInputShape: ['N', 4] }),
    err(
      'E_INPUT_SHAPE',
      /samples are 1×2×2 after preprocessing but the model input is \[N, 4\]; RepLens feeds images as/,
    ),
  );
  // 5-channel data cannot become RGB; with the model's input fixing 3 (or 1) channels no setting helps (issue 15:
  // "set preprocess.channels to 5" cannot work for such a model), with channels only from the config it does.
  const five = npz(path.join(dir, 'five.npz'), { x: { shape: [1, 5, 2, 2], data: new Float32Array(20) } });
  for (const c of [3, 1]) {
    await assert.rejects(
      openDataset({ path: five }, { modelInputShape: [1, c, 2, 2] }),
      err(
        'E_INPUT_SHAPE',
        `${five}: samples have 5 channels, which cannot be converted to ${c}; ` +
          `the model's input takes ${c}: use ${c}-channel data, or a model that takes 5`,
      ),
    );
  }
  await assert.rejects(
    openDataset({ path: five }, { modelInputShape: ['N', 'C', 2, 2], preprocess: { channels: 3 } }),
    err(
      'E_INPUT_SHAPE',
      `${five}: samples have 5 channels, which cannot be converted to 3; ` +
        'set preprocess.channels to 5 or use 3-channel data',
    ),
  );
});

test('the model input supplies channels, resize and layout when the config does not', async () => {
  const dir = tmpDir();
  const file = grayNpz(dir, 1);
  const ds = await openDataset({ path: file }, { modelInputShape: ['N', 4, 4, 3], preprocess: { scale: 1 } });
  assert.deepEqual(ds.sampleShape, [4, 4, 3]);
  assert.equal(ds.description, 'NPZ g1.npz[x] (1 × 4×4×3), resized 2×2 → 4×4, 1 → 3 channels');
  let b!: Batch;
  for await (const x of ds.batches(1)) b = x;
  // Source [[0,1],[2,3]] upsampled ×2: row 0 = [0, .25, .75, 1]; rows add 0, .5, 1.5, 2 (vertical step is 2).
  const plane = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
  assert.deepEqual(
    [...b.x],
    plane.flatMap((v) => [v, v, v]),
  );
  // Dynamic spatial dims (symbolic or -1) keep the data's size.
  assert.deepEqual((await openDataset({ path: file }, { modelInputShape: [-1, 1, -1, -1] })).sampleShape, [1, 2, 2]);
  assert.deepEqual((await openDataset({ path: file }, { modelInputShape: ['N', 3, 'H', 'W'] })).sampleShape, [3, 2, 2]);
});

test('cancellation: an abort stops the stream before the next batch (E_CANCELLED)', async () => {
  const dir = tmpDir();
  const ds = await openDataset({ path: grayNpz(dir, 10) });
  const ac = new AbortController();
  const seen: number[] = [];
  await assert.rejects(
    async () => {
      for await (const b of ds.batches(3, { signal: ac.signal })) {
        seen.push(b.start);
        ac.abort();
      }
    },
    err('E_CANCELLED', 'cancelled'),
  );
  assert.deepEqual(seen, [0]);
  // Already aborted: not a single batch.
  await assert.rejects(
    async () => {
      for await (const _ of ds.batches(3, { signal: ac.signal })) seen.push(-1);
    },
    err('E_CANCELLED', 'cancelled'),
  );
  assert.deepEqual(seen, [0]);
});

test('limit, start/end and batch contents; bad batch sizes are refused', async () => {
  const dir = tmpDir();
  const ds = await openDataset({
    path: grayNpz(
      dir,
      10,
      Int32Array.from({ length: 10 }, (_, i) => i % 3),
    ),
    limit: 7,
  });
  assert.equal(ds.length, 7);
  assert.equal(ds.description, 'NPZ g10.npz[x] (7 × 1×2×2), labels y, first 7 of 10');
  const got: Batch[] = [];
  for await (const b of ds.batches(4, { start: 2 })) got.push(b);
  assert.deepEqual(
    got.map((b) => [b.start, ...b.shape]),
    [
      [2, 4, 1, 2, 2],
      [6, 1, 1, 2, 2],
    ],
  );
  assert.deepEqual(
    [...got[1].x],
    [24, 25, 26, 27].map((v) => f(v / 255)),
  );
  assert.deepEqual([...got[0].labels!], [2, 0, 1, 2]);
  await assert.rejects(
    async () => {
      for await (const _ of ds.batches(0)) {
        /* */
      }
    },
    err('E_ARGUMENT', 'batch size must be a positive integer (got 0)'),
  );
  await assert.rejects(
    openDataset({ path: grayNpz(dir, 10), limit: 0 }),
    err('E_CONFIG', 'dataset.limit must be a positive integer (got 0)'),
  );
});

test('empty dataset → E_DATASET; missing path → E_NOT_FOUND', async () => {
  const dir = tmpDir();
  const empty = npz(path.join(dir, 'e.npz'), { x: { shape: [0, 2, 2], data: new Uint8Array(0) } });
  await assert.rejects(openDataset({ path: empty }), err('E_DATASET', `${empty} holds no samples`));
  await assert.rejects(
    openDataset({ path: path.join(dir, 'nope.npy') }),
    err('E_NOT_FOUND', `${path.join(dir, 'nope.npy')}: no such file`),
  );
});

test('identity changes with preprocessing, limit and file contents, not with re-opening', async () => {
  const dir = tmpDir();
  const file = grayNpz(dir, 4);
  const id = async (o: Parameters<typeof openDataset>[1] = {}, limit?: number) =>
    (await openDataset({ path: file, limit }, o)).identity;
  const a = await id();
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal(await id(), a);
  assert.equal(await id({}, 10), a); // limit beyond the data selects the same samples
  assert.notEqual(await id({}, 2), a);
  assert.notEqual(await id({ preprocess: { mean: [0.5] } }), a);
  assert.notEqual(await id({ modelInputShape: ['N', 1, 3, 3] }), a);
  const t = new Date(Date.now() - 60_000);
  fs.utimesSync(file, t, t);
  assert.notEqual(await id(), a);
});

test('format inference: folder, extension, IDX by name, and magic bytes for unnamed files', () => {
  const dir = tmpDir();
  assert.equal(inferFormat(dir), 'imagefolder');
  const w = (name: string, data: Buffer) => {
    fs.writeFileSync(path.join(dir, name), data);
    return path.join(dir, name);
  };
  const npy = encodeNpy({ shape: [1, 1, 1], data: new Uint8Array(1) });
  assert.equal(inferFormat(w('a.npy', npy)), 'npy');
  assert.equal(inferFormat(w('a.npz', Buffer.alloc(4))), 'npz');
  assert.equal(inferFormat(w('train-images-idx3-ubyte.gz', Buffer.alloc(4))), 'idx');
  assert.equal(inferFormat(w('blob1', npy)), 'npy');
  assert.equal(inferFormat(w('blob2', Buffer.from(zipSync({ 'x.npy': new Uint8Array(npy) })))), 'npz');
  const idxBytes = Buffer.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 42]);
  assert.equal(inferFormat(w('blob3', idxBytes)), 'idx');
  assert.equal(inferFormat(w('blob4.bin', zlib.gzipSync(idxBytes))), 'idx');
  assert.throws(
    () => inferFormat(w('blob5', Buffer.from('hello'))),
    err(
      'E_DATASET',
      `cannot tell the format of ${path.join(dir, 'blob5')}; set dataset.format to idx, npy, npz or imagefolder`,
    ),
  );
});
