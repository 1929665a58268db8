// An image folder with a corrupt PNG: without dataset.skipUnreadable a one-line error naming the file; with it the run
// completes on the other images (labels follow them) and names the skipped file. An empty class folder is an error
// (as torchvision's ImageFolder); a limit beyond the dataset says how many samples there are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { PNG } from 'pngjs';
import { openDataset } from '../src/engine/data/open';
import { validateConfig } from '../src/engine/data/config';
import { analyze } from '../src/engine/analyses/analyze';
import { SessionPool } from '../src/engine/runtime/session';
import { GraphBuilder } from '../src/engine/onnx/builder';
import { saveModel } from '../src/engine/onnx/model';
import { ReplensError } from '../src/engine/errors';
import type { Batch, Dataset } from '../src/engine/data/dataset';
import { tempDir } from './helpers/tmp';
import { readNpy } from '../src/engine/npy';

const pool = new SessionPool({ executionProvider: 'cpu' });
test.after(() => pool.dispose());
const CLI = path.join(__dirname, '..', 'dist', 'cli.js');

/** An 8×8 gray PNG whose pixel j is (seed·29 + j·3) mod 256. */
function gray(seed: number): { png: Buffer; px: number[] } {
  const px = Array.from({ length: 64 }, (_, j) => (seed * 29 + j * 3) % 256);
  const p = new PNG({ width: 8, height: 8 });
  px.forEach((v, j) => {
    p.data[j * 4] = p.data[j * 4 + 1] = p.data[j * 4 + 2] = v;
    p.data[j * 4 + 3] = 255;
  });
  return { png: PNG.sync.write(p, { colorType: 0, inputColorType: 6, inputHasAlpha: true }), px };
}

/** root/a/0..4.png, root/b/5..9.png (10 images); `corrupt` is cut to half its bytes. */
function folder(corrupt?: string): { root: string; px: Map<string, number[]> } {
  const root = tempDir('replens-skip-');
  const px = new Map<string, number[]>();
  for (let i = 0; i < 10; i++) {
    const rel = path.join(i < 5 ? 'a' : 'b', `${i}.png`);
    const g = gray(i);
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), rel === corrupt ? g.png.subarray(0, g.png.length >> 1) : g.png);
    px.set(rel, g.px);
  }
  return { root, px };
}

async function all(ds: Dataset, batch = 4): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of ds.batches(batch)) out.push(b);
  return out;
}

const BAD = path.join('b', '7.png');
const opts = { preprocess: { channels: 1 as const } };

test('corrupt PNG: one-line error naming it; skipUnreadable: the other 9 images, their labels, its name', async () => {
  const { root, px } = folder(BAD);
  const plain = await openDataset({ path: root }, opts);
  await assert.rejects(
    all(plain),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_IMAGE' &&
      e.message.includes(path.join(root, BAD)) &&
      !e.message.includes('\n'),
  );

  const ds = await openDataset({ path: root, skipUnreadable: true }, opts);
  const batches = await all(ds);
  const x = batches.flatMap((b) => [...b.x]),
    labels = batches.flatMap((b) => [...b.labels!]);
  assert.deepEqual(
    batches.map((b) => b.shape[0]),
    [4, 3, 2],
    'the batch holding 7.png is one short',
  );
  assert.deepEqual(labels, [0, 0, 0, 0, 0, 1, 1, 1, 1]);
  // Each kept sample is its own image (ToTensor: /255 in float32), in order, with 7.png left out.
  const kept = [...px.keys()].filter((k) => k !== BAD);
  kept.forEach((k, i) =>
    assert.deepEqual(
      x.slice(i * 64, (i + 1) * 64),
      px.get(k)!.map((v) => Math.fround(v / 255)),
      k,
    ),
  );
  assert.equal(ds.skipped!.length, 1);
  assert.equal(ds.skipped![0].file, path.join(root, BAD));
  assert.match(ds.skipped![0].reason, /cannot decode .*7\.png: truncated PNG/);
  // Read again (another pass of an analysis): reported once.
  await all(ds);
  assert.equal(ds.skipped!.length, 1);
});

test('skipUnreadable in replens.json is validated; a corrupt first image does not stop the open', async () => {
  assert.throws(
    () => validateConfig({ dataset: { path: 'x', skipUnreadable: 'yes' } }, 'replens.json'),
    /dataset\.skipUnreadable must be true or false/,
  );
  assert.equal(
    validateConfig({ dataset: { path: 'x', skipUnreadable: true } }, 'replens.json').dataset!.skipUnreadable,
    true,
  );
  const { root } = folder(path.join('a', '0.png'));
  await assert.rejects(
    openDataset({ path: root }, opts),
    (e: unknown) => e instanceof ReplensError && e.code === 'E_IMAGE' && /a\/0\.png/.test(e.message),
  );
  const ds = await openDataset({ path: root, skipUnreadable: true }, opts);
  assert.equal(
    (await all(ds)).reduce((n, b) => n + b.shape[0], 0),
    9,
  );
});

test('an empty class folder is an error naming it, as in torchvision', async () => {
  const { root } = folder();
  fs.mkdirSync(path.join(root, 'c'));
  fs.writeFileSync(path.join(root, 'c', 'readme.txt'), 'no images');
  await assert.rejects(
    openDataset({ path: root }, opts),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_DATASET' &&
      e.message ===
        `${root}: found no valid image for the class folder "c" ` +
          '(supported extensions: .png, .jpg, .jpeg); remove it or add images',
  );
});

test('a limit beyond the dataset is a note saying how many samples there are', async () => {
  const { root } = folder();
  const ds = await openDataset({ path: root, limit: 99999 }, opts);
  assert.equal(ds.length, 10);
  assert.deepEqual(ds.notes, [`dataset.limit 99999 is more than ${root} holds: all 10 samples used`]);
  assert.deepEqual((await openDataset({ path: root, limit: 4 }, opts)).notes, []);
});

/** x[N,1,8,8] → Relu → Flatten: the layer is the (non-negative) pixels themselves. */
function model(dir: string): string {
  const b = new GraphBuilder('pix', 13);
  const x = b.input('x', ['N', 1, 8, 8]);
  b.node(
    'Flatten',
    [b.node('Relu', [x], {}, { name: '/relu/Relu' })],
    { axis: 1 },
    { name: '/Flatten', outputs: ['out'] },
  );
  b.output('out', ['N', 64]);
  const file = path.join(dir, 'pix.onnx');
  saveModel(b.build(), file);
  return file;
}

test('analyze completes with N − 1 samples and names the skipped file; unset, it fails naming it', async () => {
  const { root } = folder(BAD);
  const m = model(tempDir('replens-skipm-'));
  const run = (skipUnreadable?: boolean) =>
    analyze(
      {
        modelPath: m,
        data: { path: root, ...(skipUnreadable ? { skipUnreadable } : {}) },
        analyses: ['summary'],
        noCache: true,
      },
      pool,
    );
  await assert.rejects(
    run(),
    (e: unknown) => e instanceof ReplensError && e.code === 'E_IMAGE' && e.message.includes(path.join(root, BAD)),
  );
  const r = await run(true);
  assert.equal(r.complete, true);
  assert.equal(r.dataset.samples, 9);
  assert.ok(
    r.notes.some(
      (n) => n.startsWith('1 unreadable image skipped (dataset.skipUnreadable)') && n.includes(path.join(root, BAD)),
    ),
    r.notes.join(' | '),
  );
  // The summary is over the 9 readable images: the mean of their pixels / 255.
  const kept = [...Array(10).keys()].filter((i) => i !== 7).flatMap((i) => gray(i).px.map((v) => Math.fround(v / 255)));
  const mean = kept.reduce((a, v) => a + v, 0) / kept.length;
  assert.ok(
    Math.abs(r.analyses.summary!.perLayer[0].mean - mean) < 1e-12,
    `${r.analyses.summary!.perLayer[0].mean} vs ${mean}`,
  );
  // The same setting from a replens.json in the dataset's folder.
  fs.writeFileSync(path.join(root, 'replens.json'), JSON.stringify({ dataset: { path: '.', skipUnreadable: true } }));
  assert.equal((await run()).dataset.samples, 9);
});

test(
  'CLI: --skip-unreadable; a limit beyond the dataset is noted',
  { skip: !fs.existsSync(CLI) && 'dist/cli.js is missing (npm run build)' },
  () => {
    const { root } = folder(BAD);
    const dir = tempDir('replens-skipcli-');
    const m = model(dir);
    const cli = (...a: string[]) =>
      spawnSync(
        process.execPath,
        [
          CLI,
          'analyze',
          m,
          '--data',
          root,
          '--analyses',
          'summary',
          '--no-cache',
          '--quiet',
          '--out',
          path.join(dir, 'out'),
          ...a,
        ],
        { encoding: 'utf8', env: { ...process.env, REPLENS_CACHE_DIR: dir } },
      );
    const bad = cli();
    assert.equal(bad.status, 1, bad.stderr);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.ok(bad.stderr.includes(path.join(root, BAD)), bad.stderr);
    const ok = cli('--skip-unreadable', '--limit', '99999');
    assert.equal(ok.status, 0, ok.stderr);
    const r = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'result.json'), 'utf8'));
    assert.equal(r.dataset.samples, 9);
    assert.ok(r.notes.some((n: string) => n.includes(path.join(root, BAD))));
    assert.ok(
      r.notes.includes(`dataset.limit 99999 is more than ${root} holds: all 10 samples used`),
      r.notes.join(' | '),
    );
  },
);

test('activations --skip-unreadable: the files hold the 9 readable images and labels; the skipped one is named', () => {
  const { root, px } = folder(BAD);
  const out = tempDir('replens-skip-acts-');
  const g = new GraphBuilder('id', 13, 1);
  g.input('x', ['N', 1, 8, 8]);
  g.node('Identity', ['x'], {}, { name: '/id/Identity', outputs: ['y'] });
  g.output('y', ['N', 1, 8, 8]);
  const model = path.join(out, 'id.onnx');
  saveModel(g.build(), model);
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'activations',
      model,
      '--data',
      root,
      '--tensors',
      'y',
      '--out-dir',
      path.join(out, 'acts'),
      '--skip-unreadable',
      '--json',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as {
    samples: number;
    files: Record<string, string>;
    skipped?: { file: string; reason: string }[];
  };
  assert.equal(res.samples, 9);
  assert.deepEqual(
    res.skipped?.map((k) => path.relative(root, k.file)),
    [BAD],
  );
  const y = readNpy(path.join(out, 'acts', res.files.y));
  assert.deepEqual(y.shape, [9, 1, 8, 8]);
  // Row 7 is image 8 (b/8.png): the rows after the skipped image move up, in order. Pixels are /255 (ToTensor).
  const kept = [...px.keys()].filter((k) => k !== BAD);
  assert.ok(
    kept.every((k, row) =>
      px.get(k)!.every((v, j) => Math.abs((y.data as Float32Array)[row * 64 + j] - v / 255) < 1e-6),
    ),
  );
  const labels = readNpy(path.join(out, 'acts', 'labels.npy'));
  assert.deepEqual([...(labels.data as BigInt64Array)].map(Number), [0, 0, 0, 0, 0, 1, 1, 1, 1]);
});
