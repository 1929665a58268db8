// Regression tests from an abuse run of the dataset loaders: files that are not regular files (a FIFO, /dev/zero),
// headers that declare more than the file holds or the budget allows, gzip bombs, corrupted .npz entries and
// zero-sized images. Each ends in a one-line ReplensError from the same opener the CLI uses; none relies on a timer
// (a FIFO is refused by its type, so the call returns at once).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { zipSync } from 'fflate';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ReplensError, type ErrorCode } from '../src/engine/errors';
import { encodeNpy, type NpyData } from '../src/engine/npy';
import { openDataset, type OpenOptions } from '../src/engine/data/open';
import { readImage } from '../src/engine/data/imagefolder';
import type { DatasetSpec } from '../src/engine/data/dataset';
import { pngChunk } from './helpers/png';

const POSIX = process.platform !== 'win32';
const HAS_DEV_ZERO = POSIX && fs.existsSync('/dev/zero');

const made: string[] = [];
// The sparse files are gigabytes in apparent size: leave nothing behind.
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-sec-'));
  made.push(d);
  return d;
}

function mkfifo(file: string): string {
  execFileSync('mkfifo', [file]);
  return file;
}

/** An IDX file: magic 0 0 type rank, big-endian dims, then the payload. */
function idx(dims: number[], payload: Buffer = Buffer.alloc(dims.reduce((a, b) => a * b, 1)), type = 0x08): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, payload]);
}

/** A .npy header declaring `shape` (uint8), with `body` after it. */
function npyWithShape(shape: number[], body: Buffer): Buffer {
  const real = encodeNpy({ shape: [1], data: new Uint8Array(1) });
  const tuple = `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  const dict = `{'descr': '|u1', 'fortran_order': False, 'shape': ${tuple}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const head = Buffer.alloc(total, 0x20);
  real.copy(head, 0, 0, 8);
  head.writeUInt16LE(total - 10, 8);
  head.write(dict, 10, 'latin1');
  head[total - 1] = 0x0a;
  return Buffer.concat([head, body]);
}

function png(w: number, h: number, gray: number[]): Buffer {
  const p = new PNG({ width: w, height: h });
  p.data = Buffer.from(gray.flatMap((v) => [v, v, v, 255]));
  return PNG.sync.write(p, { colorType: 0, inputColorType: 6, inputHasAlpha: true });
}

/** A gray 8-bit PNG assembled by hand, with the IHDR's width and height as given (CRCs correct). */
function craftedPng(w: number, h: number, rows: Buffer): Buffer {
  const chunk = pngChunk;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An image folder root/k/<name> per entry; returns the root. */
function imageFolder(files: Record<string, Buffer>): string {
  const root = tmpDir();
  fs.mkdirSync(path.join(root, 'k'));
  for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(root, 'k', n), b);
  return root;
}

function npz(file: string, entries: Record<string, { shape: number[]; data: NpyData }>, level: 0 | 6): string {
  const files: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(entries)) files[`${k}.npy`] = new Uint8Array(encodeNpy(v));
  fs.writeFileSync(file, zipSync(files, { level }));
  return file;
}

/** Opens the dataset and reads every batch, as a capture does. */
async function readAll(spec: DatasetSpec, opts: OpenOptions = {}): Promise<number> {
  const ds = await openDataset(spec, opts);
  let n = 0;
  for await (const b of ds.batches(4)) n += b.shape[0];
  return n;
}

/** A one-line ReplensError with `code` whose message matches `re`. */
const fails = (code: ErrorCode, re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof ReplensError, `not a ReplensError: ${(e as Error)?.stack ?? String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.ok(!e.message.includes('\n'), `message has a newline: ${JSON.stringify(e.message)}`);
  assert.match(e.message, re);
  return true;
};

test(
  'a FIFO named a.png in an image folder is skipped with a note, never opened; the reader refuses one by type',
  { skip: !POSIX },
  async () => {
    const root = imageFolder({ 'b.png': png(2, 1, [10, 20]) });
    mkfifo(path.join(root, 'k', 'a.png'));
    const ds = await openDataset({ path: root });
    assert.equal(ds.length, 1);
    assert.match(ds.description, /1 other file skipped \(k\/a\.png is not a regular file\)/);
    assert.equal(await readAll({ path: root }), 1);
    // Defence in depth: the image reader itself refuses a FIFO (a path swapped after the scan).
    await assert.rejects(
      readImage(path.join(root, 'k', 'a.png')),
      fails('E_IMAGE', /a\.png is a named pipe \(FIFO\), not a regular file; refused/),
    );
    // A folder whose only "image" is a FIFO holds no images.
    const only = tmpDir();
    fs.mkdirSync(path.join(only, 'k'));
    mkfifo(path.join(only, 'k', 'a.png'));
    await assert.rejects(
      openDataset({ path: only }),
      fails('E_DATASET', /found no valid image for the class folder "k"/),
    );
  },
);

test('a FIFO as the dataset path is refused by type, whatever its name or format', { skip: !POSIX }, async () => {
  const dir = tmpDir();
  for (const name of ['d.npy', 'd.npz', 't10k-images-idx3-ubyte', 'data']) {
    const fifo = mkfifo(path.join(dir, name));
    await assert.rejects(
      readAll({ path: fifo }),
      fails('E_DATASET', /is a named pipe \(FIFO\), not a regular file or a folder; refused/),
      name,
    );
    for (const format of ['idx', 'npy', 'npz', 'imagefolder'] as const) {
      await assert.rejects(
        readAll({ path: fifo, format }),
        fails('E_DATASET', /named pipe \(FIFO\)/),
        `${name} as ${format}`,
      );
    }
  }
});

test('a FIFO as the labels path is refused by type (IDX, .npy and .npz datasets)', { skip: !POSIX }, async () => {
  const dir = tmpDir();
  const images = path.join(dir, 'x-images-idx3-ubyte');
  fs.writeFileSync(images, idx([2, 2, 2]));
  const x = path.join(dir, 'x.npy');
  fs.writeFileSync(x, encodeNpy({ shape: [2, 2, 2], data: new Uint8Array(8) }));
  const z = npz(path.join(dir, 'x.npz'), { x: { shape: [2, 2, 2], data: new Uint8Array(8) } }, 0);
  const fifo = mkfifo(path.join(dir, 'labels.npy'));
  for (const p of [images, x, z]) {
    await assert.rejects(
      readAll({ path: p, labels: fifo }),
      fails('E_DATASET', /labels\.npy is a named pipe \(FIFO\), not a regular file; refused/),
      p,
    );
  }
  // A FIFO where the MNIST sibling labels file would be is not taken as one.
  mkfifo(path.join(dir, 'x-labels-idx1-ubyte'));
  const ds = await openDataset({ path: images });
  assert.equal(ds.hasLabels, false);
});

test(
  'images, labels and datasets linked to /dev/zero are refused by type, never read',
  { skip: !HAS_DEV_ZERO },
  async () => {
    const root = imageFolder({ 'b.png': png(1, 1, [5]) });
    fs.symlinkSync('/dev/zero', path.join(root, 'k', 'a.png'));
    const ds = await openDataset({ path: root });
    assert.equal(ds.length, 1);
    assert.match(ds.description, /1 other file skipped \(k\/a\.png is not a regular file\)/);
    await assert.rejects(
      readImage(path.join(root, 'k', 'a.png')),
      fails('E_IMAGE', /a\.png is a character device, not a regular file; refused/),
    );

    const dir = tmpDir();
    const images = path.join(dir, 'x-images-idx3-ubyte');
    fs.writeFileSync(images, idx([2, 2, 2]));
    const zero = path.join(dir, 'zero-labels');
    fs.symlinkSync('/dev/zero', zero);
    await assert.rejects(
      readAll({ path: images, labels: zero }),
      fails('E_DATASET', /zero-labels is a character device, not a regular file; refused/),
    );
    for (const name of ['z.npy', 'z.npz', 'z-idx3-ubyte', 'z']) {
      const p = path.join(dir, name);
      fs.symlinkSync('/dev/zero', p);
      await assert.rejects(
        readAll({ path: p }),
        fails('E_DATASET', /is a character device, not a regular file or a folder; refused/),
        name,
      );
    }
  },
);

/** `members` gzip members of 16 MiB of zeros after an IDX header: a few KB that inflate to members × 16 MiB. */
function gzipBomb(dims: number[], members: number): Buffer {
  const zeros = zlib.gzipSync(Buffer.alloc(16 << 20), { level: 9 });
  const first = zlib.gzipSync(Buffer.concat([idx(dims, Buffer.alloc(0)), Buffer.alloc(16 << 20)]), { level: 9 });
  return Buffer.concat([first, ...new Array<Buffer>(members - 1).fill(zeros)]);
}

test('gzip bomb IDX stops at its declared size; a declared size over the file or budget is refused first', async () => {
  const dir = tmpDir();
  const bomb = gzipBomb([1, 28, 28], 256); // ~4 GiB once inflated
  assert.ok(bomb.length < 8 << 20);
  const small = path.join(dir, 'small-images-idx3-ubyte.gz');
  fs.writeFileSync(small, bomb);
  await assert.rejects(
    readAll({ path: small }),
    fails('E_DATASET', /decompresses to more than the 800 bytes its header declares \(shape \(1, 28, 28\)\); refused/),
  );
  // The same bomb as a labels file.
  const images = path.join(dir, 'x-images-idx3-ubyte');
  fs.writeFileSync(images, idx([1, 2, 2]));
  const labels = path.join(dir, 'bomb-labels.gz');
  fs.writeFileSync(labels, gzipBomb([1], 4));
  await assert.rejects(
    readAll({ path: images, labels }),
    fails('E_DATASET', /decompresses to more than the 9 bytes its header declares/),
  );
  // A shape more than the gzip data can hold at deflate's best ratio: refused before inflating anything.
  const huge = path.join(dir, 'huge-images-idx3-ubyte.gz');
  fs.writeFileSync(huge, gzipBomb([100000, 1000, 1000], 2));
  await assert.rejects(
    readAll({ path: huge }),
    fails(
      'E_DATASET',
      /is truncated: header says shape \(100000, 1000, 1000\) = 93\.1 GiB, more than its .* of gzip data can hold/,
    ),
  );
  // A shape the data could hold, but over the memory budget.
  const big = path.join(dir, 'big-images-idx3-ubyte.gz');
  fs.writeFileSync(big, gzipBomb([64, 1024, 1024], 8));
  await assert.rejects(
    readAll({ path: big }, { memoryBudgetMB: 32 }),
    fails(
      'E_MEMORY_BUDGET',
      /big-images-idx3-ubyte\.gz: header shape \(64, 1024, 1024\) needs 64\.0 MiB, over the 32\.0 MiB memory budget/,
    ),
  );
});

test('an IDX or .npy header declaring far more than the file holds is refused before allocating', async () => {
  const dir = tmpDir();
  const i = path.join(dir, 'i-images-idx3-ubyte');
  fs.writeFileSync(i, idx([60000, 28, 28], Buffer.alloc(100)));
  await assert.rejects(
    readAll({ path: i }),
    fails('E_DATASET', /is truncated: header says shape \(60000, 28, 28\) = 47040000 bytes, file has 100/),
  );
  const maxDims = path.join(dir, 'm-images-idx3-ubyte');
  fs.writeFileSync(maxDims, idx([0xffffffff, 0xffffffff, 0xffffffff], Buffer.alloc(8)));
  await assert.rejects(
    readAll({ path: maxDims }),
    fails('E_DATASET', /is truncated: header says shape \(4294967295, 4294967295, 4294967295\)/),
  );
  const n = path.join(dir, 'n.npy');
  fs.writeFileSync(n, npyWithShape([1000000, 28, 28], Buffer.alloc(100)));
  await assert.rejects(
    readAll({ path: n }),
    fails('E_DATASET', /n\.npy is truncated: header says shape \(1000000, 28, 28\) = 784000000 bytes, file has 100/),
  );
  // As a labels file (read whole), and with dims past 2^53.
  const images = path.join(dir, 'x-images-idx3-ubyte');
  fs.writeFileSync(images, idx([2, 2, 2]));
  const l = path.join(dir, 'l.npy');
  fs.writeFileSync(l, npyWithShape([1e12], Buffer.alloc(2)));
  await assert.rejects(
    readAll({ path: images, labels: l }),
    fails('E_DATASET', /l\.npy is truncated: header says shape \(1000000000000\)/),
  );
  fs.writeFileSync(l, npyWithShape([2 ** 60], Buffer.alloc(2)));
  await assert.rejects(readAll({ path: images, labels: l }), fails('E_DATASET', /l\.npy: malformed shape/));
});

// POSIX only: extending a file on Windows may allocate its zeros.
test(
  'a sparse file whose size matches a header over the memory budget is refused before allocating',
  { skip: !POSIX },
  async () => {
    const dir = tmpDir();
    const i = path.join(dir, 's-images-idx3-ubyte');
    fs.writeFileSync(i, idx([3000, 1000, 1000], Buffer.alloc(0)));
    fs.truncateSync(i, 16 + 3e9); // sparse: no disk used
    await assert.rejects(
      readAll({ path: i }),
      fails(
        'E_MEMORY_BUDGET',
        /s-images-idx3-ubyte: header shape \(3000, 1000, 1000\) needs 2\.8 GiB, over the 2\.0 GiB memory budget/,
      ),
    );
    // A .npy streams by batch, but one sample larger than the budget is refused when opened.
    const n = path.join(dir, 's.npy');
    const head = npyWithShape([2, 1, 30000, 30000], Buffer.alloc(0));
    fs.writeFileSync(n, head);
    fs.truncateSync(n, head.length + 2 * 9e8);
    await assert.rejects(
      readAll({ path: n }),
      fails(
        'E_MEMORY_BUDGET',
        /one preprocessed sample \(1×30000×30000 float32\) needs 3\.4 GiB, over the 2\.0 GiB memory budget/,
      ),
    );
  },
);

/** Offset of an entry's data in a zip whose first local header is at 0. */
function firstEntryData(zip: Buffer): { start: number; size: number } {
  assert.equal(zip.readUInt32LE(0), 0x04034b50);
  return { start: 30 + zip.readUInt16LE(26) + zip.readUInt16LE(28), size: zip.readUInt32LE(18) };
}

test('.npz: a flipped byte in a stored or deflated entry fails its CRC-32 (numpy refuses such files too)', async () => {
  const dir = tmpDir();
  const x = { shape: [4, 3, 3], data: Uint8Array.from({ length: 36 }, (_, i) => i * 7) };
  for (const level of [0, 6] as const) {
    const file = npz(
      path.join(dir, `l${level}.npz`),
      { x, y: { shape: [4], data: Int32Array.from([0, 1, 2, 3]) } },
      level,
    );
    assert.equal(await readAll({ path: file }), 4);
    const buf = fs.readFileSync(file);
    const { start, size } = firstEntryData(buf);
    buf[start + size - 3] ^= 0x01; // in the data, past the .npy header (stored) / in the deflate stream
    fs.writeFileSync(file, buf);
    await assert.rejects(
      readAll({ path: file }),
      fails(
        'E_DATASET',
        new RegExp(
          `l${level}\\.npz is not a readable \\.npz \\(zip\\) archive: x\\.npy ` +
            `(is corrupted \\(CRC-32 0x[0-9a-f]{8}, the archive records 0x[0-9a-f]{8}\\)|does not inflate)`,
        ),
      ),
    );
  }
  // numpy's own files (zip64 local headers, deflate): a flipped data byte is caught too.
  for (const name of ['numpy-stored.npz', 'numpy-compressed.npz']) {
    const buf = fs.readFileSync(path.join(__dirname, 'fixtures', 'data', name));
    const { start } = firstEntryData(buf);
    const file = path.join(dir, name);
    buf[start + 140] ^= 0x40;
    fs.writeFileSync(file, buf);
    await assert.rejects(
      readAll({ path: file }),
      fails('E_DATASET', /is not a readable \.npz \(zip\) archive: .*(is corrupted \(CRC-32|does not inflate)/),
      name,
    );
  }
});

test('.npz: an entry declaring more than its data can hold, or than the budget, is refused pre-inflation', async () => {
  const dir = tmpDir();
  const file = npz(path.join(dir, 'd.npz'), { x: { shape: [4, 3, 3], data: new Uint8Array(36) } }, 6);
  const buf = fs.readFileSync(file);
  const cd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  buf.writeUInt32LE(0xfffffff0, cd + 24); // uncompressed size: 4 GiB from a few dozen bytes
  fs.writeFileSync(file, buf);
  await assert.rejects(
    readAll({ path: file }),
    fails('E_DATASET', /x\.npy declares 4\.0 GiB, more than its .* of deflate data can hold/),
  );
  const stored = npz(path.join(dir, 's.npz'), { x: { shape: [64, 1024, 1024], data: new Uint8Array(64 << 20) } }, 0);
  await assert.rejects(
    readAll({ path: stored }, { memoryBudgetMB: 16 }),
    fails('E_MEMORY_BUDGET', /s\.npz:x\.npy: the entry needs 64\.0 MiB, over the 16\.0 MiB memory budget/),
  );
});

test('zero-sized PNG (0 wide), JPEG (0 high), IDX [10, 28, 0], .npy/.npz (10, 28, 0): one-line errors', async () => {
  const zeroW = imageFolder({ 'a.png': craftedPng(0, 28, Buffer.alloc(28)) });
  await assert.rejects(
    readAll({ path: zeroW }),
    fails(
      'E_IMAGE',
      /a\.png: the PNG header declares 0×28 pixels \(width × height\); an image needs at least one pixel/,
    ),
  );
  // A later image with no pixels fails in its batch, not with NaN activations.
  const later = imageFolder({ 'a.png': png(1, 1, [9]), 'b.png': craftedPng(3, 0, Buffer.alloc(0)) });
  await assert.rejects(
    readAll({ path: later }, { preprocess: { resize: 1 } }),
    fails('E_IMAGE', /b\.png: the PNG header declares 3×0 pixels/),
  );
  const jpg = Buffer.from(jpeg.encode({ width: 8, height: 8, data: Buffer.alloc(256, 128) }, 90).data);
  const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
  jpg.writeUInt16BE(0, sof + 5);
  const zeroH = imageFolder({ 'a.jpg': jpg });
  await assert.rejects(readAll({ path: zeroH }), fails('E_IMAGE', /a\.jpg: the JPEG header declares 8×0 pixels/));

  const dir = tmpDir();
  const i = path.join(dir, 'z-images-idx3-ubyte');
  fs.writeFileSync(i, idx([10, 28, 0]));
  await assert.rejects(
    readAll({ path: i }),
    fails(
      'E_DATASET',
      /z-images-idx3-ubyte: samples of shape \(10, 28, 0\) have a zero-sized dimension \(28×0, 1 channel\)/,
    ),
  );
  const n = path.join(dir, 'z.npy');
  fs.writeFileSync(n, encodeNpy({ shape: [10, 28, 0], data: new Float32Array(0) }));
  await assert.rejects(
    readAll({ path: n }),
    fails('E_DATASET', /z\.npy: samples of shape \(10, 28, 0\) have a zero-sized dimension/),
  );
  const c = path.join(dir, 'c.npy');
  fs.writeFileSync(c, encodeNpy({ shape: [10, 0, 28, 28], data: new Float32Array(0) }));
  await assert.rejects(
    readAll({ path: c, layout: 'NCHW' }),
    fails('E_DATASET', /c\.npy: samples of shape \(10, 0, 28, 28\) have a zero-sized dimension \(28×28, 0 channels\)/),
  );
  const z = npz(path.join(dir, 'z.npz'), { x: { shape: [10, 28, 0], data: new Uint8Array(0) } }, 6);
  await assert.rejects(
    readAll({ path: z }),
    fails('E_DATASET', /z\.npz:x: samples of shape \(10, 28, 0\) have a zero-sized dimension/),
  );
});

test('a PNG/JPEG header declaring more pixels than the file or budget allows is refused before decoding', async () => {
  const huge = imageFolder({ 'a.png': craftedPng(100000, 100000, Buffer.alloc(1)) });
  await assert.rejects(
    readAll({ path: huge }),
    fails(
      'E_IMAGE',
      /a\.png: the PNG header declares 100000×100000 pixels \(width × height\), over the 178956970 pixel limit/,
    ),
  );
  const bomb = imageFolder({ 'a.png': craftedPng(10000, 10000, Buffer.alloc(1)) });
  await assert.rejects(
    readAll({ path: bomb }),
    fails(
      'E_IMAGE',
      /a\.png: the PNG header declares 10000×10000 pixels .* more than its .* can hold; the file is corrupt/,
    ),
  );
  const ok = imageFolder({ 'a.png': png(64, 64, new Array<number>(4096).fill(7)) });
  await assert.rejects(
    readAll({ path: ok }, { memoryBudgetMB: 0.01 }),
    fails(
      'E_MEMORY_BUDGET',
      /a\.png: decoding its 64×64 pixels \(width × height\) needs .*, over the 10\.2 KiB memory budget/,
    ),
  );
  const jpg = Buffer.from(jpeg.encode({ width: 8, height: 8, data: Buffer.alloc(256, 128) }, 90).data);
  const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
  jpg.writeUInt16BE(60000, sof + 5);
  jpg.writeUInt16BE(60000, sof + 7);
  const bigJpeg = imageFolder({ 'a.jpg': jpg });
  await assert.rejects(
    readAll({ path: bigJpeg }),
    fails('E_IMAGE', /a\.jpg: the JPEG header declares 60000×60000 pixels/),
  );
});

test('float16 labels are read as numbers, not as their raw bits', async () => {
  const dir = tmpDir();
  const images = path.join(dir, 'x-images-idx3-ubyte');
  fs.writeFileSync(images, idx([2, 1, 1]));
  const l = path.join(dir, 'l.npy');
  // float16 1.0, 2.0
  fs.writeFileSync(l, encodeNpy({ shape: [2], data: Uint16Array.from([0x3c00, 0x4000]), dtype: 'float16' }));
  const ds = await openDataset({ path: images, labels: l });
  for await (const b of ds.batches(2)) assert.deepEqual([...b.labels!], [1, 2]);
});
