// The Fashion-MNIST example workspace holds the same test images as IDX, .npz and PNG/JPEG ImageFolders:
// all readers must agree (bit for bit for the lossless ones), and agree with the x.npy its author made in numpy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../src/engine/data/config';
import { scanImageFolder } from '../src/engine/data/imagefolder';
import { openDataset } from '../src/engine/data/open';
import type { Dataset } from '../src/engine/data/dataset';
import { readNpy } from '../src/engine/npy';

const EX = path.join(__dirname, '..', 'examples', 'fashion-mnist');
const MODEL_INPUT = ['N', 1, 28, 28];
const PER = 784;

interface Manifest {
  classNames: string[];
  classDirs: string[];
  images: { file: string; index: number; label: number }[];
}

async function collect(ds: Dataset): Promise<{ x: Float32Array; labels: Int32Array }> {
  const x = new Float32Array(ds.length * PER),
    labels = new Int32Array(ds.length);
  for await (const b of ds.batches(128)) {
    x.set(b.x, b.start * PER);
    labels.set(b.labels!, b.start);
  }
  return { x, labels };
}

const present = (...files: string[]) => files.every((f) => fs.existsSync(path.join(EX, f)));

test('examples/fashion-mnist: IDX, npz and PNG ImageFolder give identical float32 batches', async (t) => {
  if (!present('replens.json', 'data-1000.npz', 'images/manifest.json')) {
    t.skip(`${EX} is absent or incomplete`);
    return;
  }
  const cfg = loadConfig(path.join(EX, 'replens.json'));
  const opts = { preprocess: cfg.preprocess, modelInputShape: MODEL_INPUT };
  const idx = await collect(await openDataset(cfg.dataset!, { ...opts, classNames: cfg.classNames }));
  const npz = await collect(await openDataset({ path: path.join(EX, 'data-1000.npz') }, opts));
  assert.equal(idx.x.length, 1000 * PER);
  assert.deepEqual(npz.x, idx.x);
  assert.deepEqual(npz.labels, idx.labels);

  const root = path.join(EX, 'images');
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'manifest.json'), 'utf8')) as Manifest;
  const byFile = new Map(manifest.images.map((m) => [path.join(root, m.file), m]));
  const files = scanImageFolder(root).files;
  // Folder names are the class names made file-safe, so with replens.json's classNames the labels follow the
  // model's class order (not the folders' alphabetical one) and equal the IDX labels.
  const folder = await openDataset({ path: root }, { ...opts, classNames: cfg.classNames });
  assert.equal(folder.length, manifest.images.length);
  assert.match(folder.description, /labels in classNames order/);
  const png = await collect(folder);
  files.forEach((file, k) => {
    const m = byFile.get(file);
    assert.ok(m, `${file} is not in the manifest`);
    assert.equal(idx.labels[m.index], m.label);
    assert.equal(png.labels[k], m.label, file);
    assert.deepEqual(png.x.subarray(k * PER, (k + 1) * PER), idx.x.subarray(m.index * PER, (m.index + 1) * PER), file);
  });
  // Without classNames: torchvision's alphabetical folder order.
  const plain = await openDataset({ path: root }, opts);
  assert.deepEqual(plain.classNames, [...manifest.classDirs].sort());
});

test('examples/fashion-mnist: replens.json preprocessing gives x.npy exactly; JPEG copies are close', async (t) => {
  if (!present('replens.json', 'x.npy', 'y.npy')) {
    t.skip(`${EX} is absent or incomplete`);
    return;
  }
  const cfg = loadConfig(path.join(EX, 'replens.json'));
  const ref = readNpy(path.join(EX, 'x.npy')),
    refY = readNpy(path.join(EX, 'y.npy'));
  const ds = await openDataset(
    { ...cfg.dataset!, limit: ref.shape[0] },
    { preprocess: cfg.preprocess, modelInputShape: MODEL_INPUT },
  );
  const got = await collect(ds);
  assert.deepEqual(got.x, ref.data);
  assert.deepEqual([...got.labels], [...(refY.data as BigInt64Array)].map(Number));

  if (!present('images-jpeg/manifest.json')) return;
  const root = path.join(EX, 'images-jpeg');
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'manifest.json'), 'utf8')) as Manifest;
  const byFile = new Map(manifest.images.map((m) => [path.join(root, m.file), m]));
  const raw = await collect(
    await openDataset(cfg.dataset!, { preprocess: { scale: 1 }, modelInputShape: MODEL_INPUT }),
  );
  const jpg = await collect(
    await openDataset({ path: root }, { preprocess: { scale: 1 }, modelInputShape: MODEL_INPUT }),
  );
  let sum = 0,
    worst = 0;
  scanImageFolder(root).files.forEach((file, k) => {
    const m = byFile.get(file)!;
    for (let i = 0; i < PER; i++) {
      const d = Math.abs(jpg.x[k * PER + i] - raw.x[m.index * PER + i]);
      sum += d;
      worst = Math.max(worst, d);
    }
  });
  const mean = sum / (manifest.images.length * PER);
  // Quality-95 JPEGs measured 0.90 mean / 8 max gray levels off when this was written.
  assert.ok(mean < 1.5, `mean |JPEG − IDX| = ${mean.toFixed(3)} gray levels`);
  assert.ok(worst <= 16, `max |JPEG − IDX| = ${worst} gray levels`);
});
