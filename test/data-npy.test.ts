import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { zipSync } from 'fflate';
import { ReplensError } from '../src/engine/errors';
import { encodeNpy, type NpyData } from '../src/engine/npy';
import { openDataset } from '../src/engine/data/open';
import type { Batch, Dataset, DatasetSpec } from '../src/engine/data/dataset';
import { tempDir } from './helpers/tmp';

const FIX = path.join(__dirname, 'fixtures', 'data');
const f = Math.fround;

function tmpDir(): string {
  return tempDir('replens-npy-');
}

function npz(file: string, entries: Record<string, { shape: number[]; data: NpyData }>, level: 0 | 6 = 6): string {
  const files: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(entries)) files[`${k}.npy`] = new Uint8Array(encodeNpy(v));
  fs.writeFileSync(file, zipSync(files, { level }));
  return file;
}

async function one(ds: Dataset): Promise<Batch> {
  const out: Batch[] = [];
  for await (const b of ds.batches(ds.length)) out.push(b);
  assert.equal(out.length, 1);
  return out[0];
}

const isErr = (code: string, message: string | RegExp) => (e: unknown) =>
  e instanceof ReplensError &&
  e.code === code &&
  (typeof message === 'string' ? e.message === message : message.test(e.message));

test('npz written with fflate: uint8 x [2,3,3] + int64 y, pixels scaled by 1/255', async () => {
  const dir = tmpDir();
  const x = Uint8Array.from({ length: 18 }, (_, i) => i * 14);
  const file = npz(path.join(dir, 'd.npz'), {
    x: { shape: [2, 3, 3], data: x },
    y: { shape: [2], data: BigInt64Array.from([5n, 9n]) },
  });
  const ds = await openDataset({ path: file });
  assert.equal(ds.description, 'NPZ d.npz[x] (2 × 1×3×3), labels y');
  const b = await one(ds);
  assert.deepEqual(b.shape, [2, 1, 3, 3]);
  assert.deepEqual(
    [...b.x],
    [...x].map((v) => f(v / 255)),
  );
  assert.deepEqual([...b.labels!], [5, 9]);
});

test('npz images/labels keys, NHWC float32 inferred (last dim 3, second not), taken as already scaled', async () => {
  const dir = tmpDir();
  // [1, 2, 2, 3]: pixel p, channel c = 10·p + c.
  const x = Float32Array.from({ length: 12 }, (_, i) => 10 * Math.floor(i / 3) + (i % 3));
  const file = npz(
    path.join(dir, 'd.npz'),
    { images: { shape: [1, 2, 2, 3], data: x }, labels: { shape: [1], data: Float32Array.from([2]) } },
    0,
  );
  const ds = await openDataset({ path: file });
  assert.deepEqual(ds.sampleShape, [3, 2, 2]);
  const b = await one(ds);
  assert.deepEqual([...b.x], [0, 10, 20, 30, 1, 11, 21, 31, 2, 12, 22, 32]);
  assert.deepEqual([...b.labels!], [2]);
});

test('npz inputs/targets; non-integral float labels → E_LABELS; a missing named key suggests the nearest', async () => {
  const dir = tmpDir();
  const x = { shape: [2, 1, 1], data: Float32Array.from([0.5, -0.5]) };
  const ok = npz(path.join(dir, 'ok.npz'), { inputs: x, targets: { shape: [2], data: Float64Array.from([1, 0]) } });
  const b = await one(await openDataset({ path: ok }));
  assert.deepEqual([...b.x], [0.5, -0.5]);
  assert.deepEqual([...b.labels!], [1, 0]);

  const frac = npz(path.join(dir, 'frac.npz'), { x, y: { shape: [2], data: Float64Array.from([1, 0.5]) } });
  await assert.rejects(
    openDataset({ path: frac }),
    isErr('E_LABELS', `labels: entry 1 is 0.5, not a class index, in ${frac}:y`),
  );

  await assert.rejects(
    openDataset({ path: ok, x: 'input' }),
    isErr('E_DATASET', `${ok} has no entry 'input' (did you mean 'inputs'?); entries: inputs, targets`),
  );
  const none = npz(path.join(dir, 'none.npz'), { a: x, b: x });
  await assert.rejects(
    openDataset({ path: none }),
    isErr('E_DATASET', `${none} has no 'x', 'images', 'inputs' entry; set dataset.x to one of: a, b`),
  );
});

test('npz written by numpy (deflate; stored with zip64 local headers)', async () => {
  // numpy-compressed.npz: images uint8 [4,5,6] = (7·i) mod 256, labels int64 [3, 0, 2, 1].
  const c = await openDataset({ path: path.join(FIX, 'numpy-compressed.npz') });
  assert.equal(c.description, 'NPZ numpy-compressed.npz[images] (4 × 1×5×6), labels labels');
  const cb = await one(c);
  assert.deepEqual(
    [...cb.x],
    Array.from({ length: 120 }, (_, i) => f(((7 * i) % 256) / 255)),
  );
  assert.deepEqual([...cb.labels!], [3, 0, 2, 1]);
  // numpy-stored.npz: x float32 NHWC [2,3,4,3] = arange/8 (ambiguous: second dim 3), y int32 [1, 0].
  const s = await openDataset({ path: path.join(FIX, 'numpy-stored.npz'), layout: 'NHWC' });
  assert.deepEqual(s.sampleShape, [3, 3, 4]);
  const sb = await one(s);
  const expect: number[] = [];
  for (let n = 0; n < 2; n++)
    for (let ch = 0; ch < 3; ch++) for (let p = 0; p < 12; p++) expect.push((n * 36 + p * 3 + ch) / 8);
  assert.deepEqual([...sb.x], expect);
  assert.deepEqual([...sb.labels!], [1, 0]);
  // Without layout the ambiguous [2,3,4,3] is read as NCHW, as PyTorch stores it.
  const amb = await openDataset({ path: path.join(FIX, 'numpy-stored.npz') });
  assert.deepEqual(amb.sampleShape, [3, 4, 3]);
});

test('.npy written by numpy: Fortran order, float16 with float labels', async () => {
  const fo = await one(await openDataset({ path: path.join(FIX, 'fortran.npy') }, { preprocess: { scale: 1 } }));
  const expect: number[] = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 5; k++) expect.push(100 * i + 10 * j + k);
  assert.deepEqual([...fo.x], expect);
  assert.equal(fo.labels, null);
  const half = await openDataset({ path: path.join(FIX, 'half.npy'), labels: path.join(FIX, 'half-labels.npy') });
  const hb = await one(half);
  assert.deepEqual([...hb.x], [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
  assert.deepEqual([...hb.labels!], [4, 7]);
});

test('.npy streams batches from disk; start/end select a range', async () => {
  const dir = tmpDir();
  const x = Float32Array.from({ length: 7 * 4 }, (_, i) => i / 4);
  fs.writeFileSync(path.join(dir, 'x.npy'), encodeNpy({ shape: [7, 1, 2, 2], data: x }));
  fs.writeFileSync(path.join(dir, 'y.npy'), encodeNpy({ shape: [7], data: Int32Array.from([0, 1, 2, 3, 4, 5, 6]) }));
  const spec: DatasetSpec = { path: path.join(dir, 'x.npy'), labels: path.join(dir, 'y.npy') };
  const ds = await openDataset(spec);
  const got: Batch[] = [];
  for await (const b of ds.batches(2, { start: 1, end: 6 })) got.push(b);
  assert.deepEqual(
    got.map((b) => [b.start, b.shape[0]]),
    [
      [1, 2],
      [3, 2],
      [5, 1],
    ],
  );
  assert.deepEqual([...got[1].x], [...x.subarray(12, 20)]);
  assert.deepEqual([...got[2].labels!], [5]);
  await assert.rejects(
    async () => {
      for await (const _ of ds.batches(2, { start: 3, end: 9 })) {
        /* */
      }
    },
    isErr('E_ARGUMENT', "batch range 3..9 is outside the dataset's 7 samples"),
  );

  // A truncated .npy is refused up front, naming the file.
  const bytes = encodeNpy({ shape: [7, 1, 2, 2], data: x });
  fs.writeFileSync(path.join(dir, 'cut.npy'), bytes.subarray(0, bytes.length - 5));
  await assert.rejects(
    openDataset({ path: path.join(dir, 'cut.npy') }),
    isErr(
      'E_DATASET',
      `${path.join(dir, 'cut.npy')} is truncated: header says shape (7, 1, 2, 2) = 112 bytes, file has 107`,
    ),
  );
  // Flat vectors are not images.
  fs.writeFileSync(path.join(dir, 'flat.npy'), encodeNpy({ shape: [2, 4], data: new Float32Array(8) }));
  await assert.rejects(
    openDataset({ path: path.join(dir, 'flat.npy') }),
    isErr('E_DATASET', /samples of shape \(2, 4\) are not images/),
  );
});
