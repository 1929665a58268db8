import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { ReplensError } from '../src/engine/errors';
import { idxValues, parseIdx, readIdx } from '../src/engine/data/idx';
import { openDataset } from '../src/engine/data/open';
import type { Batch, Dataset } from '../src/engine/data/dataset';
import { tempDir } from './helpers/tmp';

const FMNIST = '/usr/share/datasets/fashion-mnist';

function tmpDir(): string {
  return tempDir('replens-idx-');
}

/** An IDX file written byte by byte: magic 0 0 type rank, big-endian dims, then the payload. */
function idx(type: number, dims: number[], payload: Buffer): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, payload]);
}

async function all(ds: Dataset, batchSize: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of ds.batches(batchSize)) out.push(b);
  return out;
}

test('tiny hand-written IDX: ubyte images [3,2,2] + labels, raw and gzipped, give the same batches', async () => {
  const dir = tmpDir();
  const pixels = Buffer.from([0, 51, 102, 255, 1, 2, 3, 4, 10, 20, 30, 40]);
  fs.writeFileSync(path.join(dir, 'tiny-images-idx3-ubyte'), idx(0x08, [3, 2, 2], pixels));
  fs.writeFileSync(path.join(dir, 'tiny-labels-idx1-ubyte'), idx(0x08, [3], Buffer.from([7, 0, 3])));
  // gzipped copies with a name that does not say so: detection is by magic bytes.
  fs.writeFileSync(path.join(dir, 'gz-images-idx3-ubyte'), zlib.gzipSync(idx(0x08, [3, 2, 2], pixels)));
  fs.writeFileSync(path.join(dir, 'gz-labels-idx1-ubyte.gz'), zlib.gzipSync(idx(0x08, [3], Buffer.from([7, 0, 3]))));

  const raw = await openDataset({ path: path.join(dir, 'tiny-images-idx3-ubyte') });
  assert.equal(raw.length, 3);
  assert.deepEqual(raw.sampleShape, [1, 2, 2]);
  assert.equal(raw.hasLabels, true); // sibling labels file found by name
  assert.equal(raw.description, 'IDX tiny-images-idx3-ubyte (3 × 1×2×2), labels tiny-labels-idx1-ubyte');
  const [b] = await all(raw, 1000);
  assert.deepEqual(b.shape, [3, 1, 2, 2]);
  assert.deepEqual(
    [...b.x],
    [...pixels].map((v) => Math.fround(v / 255)),
  );
  assert.deepEqual([...b.labels!], [7, 0, 3]);
  assert.equal(b.start, 0);

  const gz = await openDataset({ path: path.join(dir, 'gz-images-idx3-ubyte') });
  const [g] = await all(gz, 1000);
  assert.deepEqual(g.x, b.x);
  assert.deepEqual(g.labels, b.labels);
});

test('IDX big-endian int16 / float32 / float64 / int8 values and an [n,h,w,c] file', () => {
  const i16 = Buffer.alloc(8);
  [-2, 300, 0, 32767].forEach((v, i) => i16.writeInt16BE(v, 2 * i));
  assert.deepEqual([...idxValues(parseIdx(idx(0x0b, [1, 2, 2], i16), 't'), 0, 4)], [-2, 300, 0, 32767]);
  const f32 = Buffer.alloc(8);
  f32.writeFloatBE(1.5, 0);
  f32.writeFloatBE(-0.25, 4);
  assert.deepEqual([...idxValues(parseIdx(idx(0x0d, [1, 1, 2], f32), 't'), 0, 2)], [1.5, -0.25]);
  const f64 = Buffer.alloc(16);
  f64.writeDoubleBE(Math.PI, 0);
  f64.writeDoubleBE(-1e300, 8);
  assert.deepEqual([...idxValues(parseIdx(idx(0x0e, [2, 1, 1], f64), 't'), 1, 1)], [-1e300]);
  assert.deepEqual(
    [...idxValues(parseIdx(idx(0x09, [1, 1, 3], Buffer.from([0xff, 0x80, 5])), 't'), 0, 3)],
    [-1, -128, 5],
  );
  const i32 = Buffer.alloc(8);
  i32.writeInt32BE(-70000, 0);
  i32.writeInt32BE(2 ** 31 - 1, 4);
  const a = parseIdx(idx(0x0c, [1, 1, 1, 2], i32), 't');
  assert.deepEqual(a.shape, [1, 1, 1, 2]);
  assert.deepEqual([...idxValues(a, 0, 2)], [-70000, 2 ** 31 - 1]);
});

test('IDX errors name the file: bad magic, unknown type, truncated data', () => {
  const dir = tmpDir();
  const bad = path.join(dir, 'bad-idx3');
  fs.writeFileSync(bad, Buffer.from([1, 2, 8, 3]));
  assert.throws(
    () => readIdx(bad),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_DATASET' &&
      e.message === `${bad} is not an IDX file (bad magic bytes)`,
  );
  assert.throws(
    () => parseIdx(Buffer.from([0, 0, 0x0a, 1, 0, 0, 0, 1, 0]), 'f.idx'),
    /f\.idx: unknown IDX data type 0x0a/,
  );
  const short = path.join(dir, 'short-images-idx3-ubyte.gz');
  fs.writeFileSync(short, zlib.gzipSync(idx(0x08, [2, 3, 3], Buffer.alloc(17))));
  assert.throws(
    () => readIdx(short),
    new RegExp(
      `^ReplensError: ${short.replace(/[.]/g, '\\.')} is truncated: ` +
        `header says shape \\(2, 3, 3\\) = 18 bytes, file has 17$`,
    ),
  );
});

test('labels count mismatch in IDX → E_LABELS naming the labels file', async () => {
  const dir = tmpDir();
  const images = path.join(dir, 'a-images-idx3-ubyte'),
    labels = path.join(dir, 'other-labels');
  fs.writeFileSync(images, idx(0x08, [1000, 1, 1], Buffer.alloc(1000)));
  fs.writeFileSync(labels, idx(0x08, [999], Buffer.alloc(999)));
  await assert.rejects(
    openDataset({ path: images, labels }),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_LABELS' &&
      e.message === `labels: 999 entries for 1000 samples in ${labels}`,
  );
});

test('real Fashion-MNIST t10k: 10000 images 28×28, checked against an independent parse', async (t) => {
  const images = path.join(FMNIST, 't10k-images-idx3-ubyte.gz');
  if (!fs.existsSync(images)) {
    t.skip(`${FMNIST} is absent (Fashion-MNIST not installed on this machine)`);
    return;
  }
  const ds = await openDataset({ path: images }, { modelInputShape: ['N', 1, 28, 28] });
  assert.equal(ds.length, 10000);
  assert.deepEqual(ds.sampleShape, [1, 28, 28]);
  assert.equal(ds.description, 'IDX t10k-images-idx3-ubyte.gz (10000 × 1×28×28), labels t10k-labels-idx1-ubyte.gz');

  // Independent reading: gunzip, skip the 16-byte header, pixels are row-major uint8.
  const raw = zlib.gunzipSync(fs.readFileSync(images));
  assert.deepEqual([...raw.subarray(0, 16)], [0, 0, 8, 3, 0, 0, 0x27, 0x10, 0, 0, 0, 28, 0, 0, 0, 28]);
  const rawLabels = zlib.gunzipSync(fs.readFileSync(path.join(FMNIST, 't10k-labels-idx1-ubyte.gz'))).subarray(8);

  let n = 0,
    mismatches = 0;
  const counts = new Array<number>(10).fill(0);
  for await (const b of ds.batches(777)) {
    assert.equal(b.start, n);
    for (let i = 0; i < b.x.length; i++) if (b.x[i] !== Math.fround(raw[16 + n * 784 + i] / 255)) mismatches++;
    for (let i = 0; i < b.labels!.length; i++) {
      assert.equal(b.labels![i], rawLabels[n + i]);
      counts[b.labels![i]]++;
    }
    n += b.shape[0];
  }
  assert.equal(n, 10000);
  assert.equal(mismatches, 0);
  assert.deepEqual(counts, new Array(10).fill(1000)); // the test split is balanced
  // the first t10k image is an ankle boot
  for await (const b of ds.batches(1, { end: 1 })) assert.equal(b.labels![0], 9);
});
