import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { ReplensError } from '../src/engine/errors';
import { decodeImage, scanImageFolder } from '../src/engine/data/imagefolder';
import { openDataset } from '../src/engine/data/open';
import type { Batch } from '../src/engine/data/dataset';
import { tempDir } from './helpers/tmp';
import { pngChunk } from './helpers/png';

const f = Math.fround;

function tmpDir(): string {
  return tempDir('replens-if-');
}

/** 8-bit PNG via pngjs from RGBA pixels; `colorType` 0 gray, 2 RGB, 6 RGBA. */
function pngjs(w: number, h: number, rgba: number[], colorType: 0 | 2 | 6): Buffer {
  const png = new PNG({ width: w, height: h });
  png.data = Buffer.from(rgba);
  return PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true });
}

/** 16-bit gray PNG via pngjs (input: native-endian 16-bit RGBA). */
function png16(w: number, h: number, gray: number[]): Buffer {
  const png = new PNG({ width: w, height: h });
  const px = new Uint16Array(w * h * 4);
  gray.forEach((v, i) => {
    px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = v;
    px[4 * i + 3] = 65535;
  });
  png.data = Buffer.from(px.buffer);
  return PNG.sync.write(png, { colorType: 0, bitDepth: 16, inputColorType: 6, inputHasAlpha: true });
}

/** A PNG assembled by hand (pngjs cannot write palette or low-bit-depth files): unfiltered rows. */
function rawPng(
  w: number,
  h: number,
  depth: number,
  colorType: number,
  rows: number[][],
  extra: [string, Buffer][] = [],
): Buffer {
  const chunk = pngChunk;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const idat = zlib.deflateSync(Buffer.concat(rows.map((r) => Buffer.from([0, ...r]))));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra.map(([t, d]) => chunk(t, d)),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const pixels = (b: Buffer, file = 'x.png') => {
  const s = decodeImage(b, file);
  return { c: s.channels, h: s.height, w: s.width, v: [...s.data] };
};

test('PNG decoding: gray, RGB, RGBA, 16-bit gray, palette, 2-bit gray', () => {
  const gray = pngjs(2, 1, [0, 0, 0, 255, 200, 200, 200, 255], 0);
  assert.deepEqual(pixels(gray), { c: 1, h: 1, w: 2, v: [0, 200] });
  const rgb = pngjs(2, 1, [1, 2, 3, 255, 250, 128, 0, 255], 2);
  assert.deepEqual(pixels(rgb), { c: 3, h: 1, w: 2, v: [1, 2, 3, 250, 128, 0] });
  const rgba = pngjs(1, 2, [9, 8, 7, 6, 100, 110, 120, 255], 6);
  assert.deepEqual(pixels(rgba), { c: 4, h: 2, w: 1, v: [9, 8, 7, 6, 100, 110, 120, 255] });
  // 16-bit is put on the 0–255 scale (÷257) without losing precision to 8 bits.
  const g16 = png16(4, 1, [0, 65535, 25700, 1000]);
  assert.deepEqual(pixels(g16), { c: 1, h: 1, w: 4, v: [0, 255, 100, f(1000 / 257)] });
  const pal = rawPng(
    2,
    2,
    8,
    3,
    [
      [0, 1],
      [2, 1],
    ],
    [['PLTE', Buffer.from([255, 0, 0, 0, 128, 255, 10, 20, 30])]],
  );
  assert.deepEqual(pixels(pal), { c: 3, h: 2, w: 2, v: [255, 0, 0, 0, 128, 255, 10, 20, 30, 0, 128, 255] });
  // 2-bit gray 0,1,2,3 packed in one byte → 0, 85, 170, 255.
  const g2 = rawPng(4, 1, 2, 0, [[0b00011011]]);
  assert.deepEqual(pixels(g2), { c: 1, h: 1, w: 4, v: [0, 85, 170, 255] });
});

test('JPEG decoding (jpeg-js) within the codec tolerance', () => {
  const w = 16,
    h = 8,
    rgba: number[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba.push(100, 150, 200, 255);
  const buf = jpeg.encode({ width: w, height: h, data: Buffer.from(rgba) }, 95).data;
  const s = decodeImage(buf, 'a.jpg');
  assert.deepEqual([s.channels, s.height, s.width], [3, 8, 16]);
  for (let i = 0; i < w * h; i++) {
    assert.ok(
      Math.abs(s.data[3 * i] - 100) <= 2 &&
        Math.abs(s.data[3 * i + 1] - 150) <= 2 &&
        Math.abs(s.data[3 * i + 2] - 200) <= 2,
      `pixel ${i}`,
    );
  }
});

test('ImageFolder: torchvision class order and file walk, other files skipped and counted', async () => {
  const root = tmpDir();
  const mk = (rel: string, data: Buffer | string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  };
  const g = (v: number) => pngjs(1, 1, [v, v, v, 255], 0);
  mk('dog/y.png', g(1));
  mk('dog/sub/z.png', g(2));
  mk('dog/c.JPG', jpeg.encode({ width: 1, height: 1, data: Buffer.from([30, 30, 30, 255]) }, 100).data);
  mk('cat/a.png', g(3));
  mk('cat/B.png', g(4)); // code-point order, as Python's sorted(): 'B' < 'a'
  mk('cat/notes.txt', 'x');
  mk('cat/.hidden.png', 'x');
  mk('.ipynb_checkpoints/x.png', g(5));
  mk('README.md', 'x');
  const idx = scanImageFolder(root);
  assert.deepEqual(idx.classes, ['cat', 'dog']);
  assert.deepEqual(
    idx.files.map((p) => path.relative(root, p)),
    ['cat/B.png', 'cat/a.png', 'dog/c.JPG', 'dog/y.png', 'dog/sub/z.png'],
  );
  assert.deepEqual([...idx.labels], [0, 0, 1, 1, 1]);
  assert.equal(idx.skipped, 3);

  const ds = await openDataset({ path: root }, { preprocess: { channels: 1, scale: 1 } });
  assert.equal(ds.description, `ImageFolder ${path.basename(root)} (5 × 1×1×1), 2 classes, 3 other files skipped`);
  assert.deepEqual(ds.classNames, ['cat', 'dog']);
  const batches: Batch[] = [];
  for await (const b of ds.batches(2)) batches.push(b);
  assert.deepEqual(
    batches.map((b) => [...b.x]),
    [[4, 3], [30, 1], [2]],
  );
  assert.deepEqual(
    batches.map((b) => [...b.labels!]),
    [[0, 0], [1, 1], [1]],
  );
});

test('ImageFolder default is RGB (gray repeated), 8-bit scaled by /255; mixed sizes need resize', async () => {
  const root = tmpDir();
  fs.mkdirSync(path.join(root, 'a'));
  fs.writeFileSync(path.join(root, 'a', '1.png'), pngjs(2, 1, [51, 51, 51, 255, 0, 0, 0, 255], 0));
  fs.writeFileSync(path.join(root, 'a', '2.png'), pngjs(1, 1, [255, 0, 102, 255], 2));
  const ds = await openDataset({ path: root });
  assert.deepEqual(ds.sampleShape, [3, 1, 2]);
  await assert.rejects(
    async () => {
      for await (const _ of ds.batches(2)) {
        /* */
      }
    },
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_INPUT_SHAPE' &&
      e.message ===
        `${path.join(root, 'a', '2.png')} is 1×1 but ${path.join(root, 'a', '1.png')} is 1×2; ` +
          'set preprocess.resize to give all images one size',
  );
  const rs = await openDataset({ path: root }, { preprocess: { resize: [1, 2] } });
  const out: number[][] = [];
  for await (const b of rs.batches(2)) out.push([...b.x]);
  const [v51, v102] = [f(51 / 255), f(102 / 255)];
  assert.deepEqual(out, [[v51, 0, v51, 0, v51, 0, 1, 1, 0, 0, v102, v102]]);
});

test('a corrupt PNG → E_IMAGE naming the full path, raised lazily by the batch that holds it', async () => {
  const root = tmpDir();
  fs.mkdirSync(path.join(root, 'k'));
  const ok = pngjs(1, 1, [7, 7, 7, 255], 0);
  fs.writeFileSync(path.join(root, 'k', '1.png'), ok);
  const bad = path.join(root, 'k', '2.png');
  fs.writeFileSync(bad, ok.subarray(0, ok.length - 20)); // cut inside IDAT
  const garbage = path.join(root, 'k', '3.png');
  fs.writeFileSync(garbage, 'not an image at all');
  const ds = await openDataset({ path: root }, { preprocess: { channels: 1 } });
  const it = ds.batches(1)[Symbol.asyncIterator]();
  assert.deepEqual([...(await it.next()).value.x], [f(7 / 255)]);
  await assert.rejects(
    it.next(),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_IMAGE' &&
      e.message === `cannot decode ${bad}: truncated PNG (the file ends before the image data does)`,
  );
  await assert.rejects(
    async () => {
      for await (const _ of ds.batches(1, { start: 2 })) {
        /* */
      }
    },
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_IMAGE' &&
      e.message === `cannot decode ${garbage}: not a PNG or JPEG file`,
  );
});

test('a folder without class sub-folders or without images → E_DATASET', async () => {
  const root = tmpDir();
  fs.writeFileSync(path.join(root, 'x.png'), pngjs(1, 1, [0, 0, 0, 255], 0));
  await assert.rejects(
    openDataset({ path: root }),
    (e: unknown) => e instanceof ReplensError && e.code === 'E_DATASET' && /has no class folders/.test(e.message),
  );
  fs.mkdirSync(path.join(root, 'empty'));
  await assert.rejects(
    openDataset({ path: root }),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_DATASET' &&
      e.message ===
        `${root}: found no valid image for the class folder "empty" ` +
          '(supported extensions: .png, .jpg, .jpeg); remove it or add images',
  );
});

test('with classNames, folders named after them give labels in classNames order; a partial match fails', async () => {
  const root = tmpDir();
  const img = pngjs(1, 1, [1, 1, 1, 255], 0);
  for (const d of ['Ankle_boot', 'T-shirt_top', 'Zebra']) {
    fs.mkdirSync(path.join(root, d));
    fs.writeFileSync(path.join(root, d, '0.png'), img);
  }
  const names = ['T-shirt/top', 'Zebra', 'Ankle boot'];
  const ds = await openDataset({ path: root }, { classNames: names });
  const labels: number[] = [];
  for await (const b of ds.batches(8)) labels.push(...b.labels!);
  assert.deepEqual(labels, [2, 0, 1]); // folders sorted: Ankle_boot, T-shirt_top, Zebra
  assert.deepEqual(ds.classNames, names);
  // Names unrelated to the folders: positional, torchvision order.
  const pos = await openDataset({ path: root }, { classNames: ['a', 'b', 'c'] });
  for await (const b of pos.batches(8)) assert.deepEqual([...b.labels!], [0, 1, 2]);
  await assert.rejects(
    openDataset({ path: root }, { classNames: ['T-shirt/top', 'Horse', 'Ankle boot'] }),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_LABELS' &&
      e.message === `class folders of ${root} partly match classNames: "Zebra" matches no entry`,
  );
});
