// Seeded mutation fuzzing of the dataset loaders: small valid IDX (raw and gzip), .npy, .npz (stored and deflated),
// PNG, JPEG, labels files and replens.json texts are mutated (bit flips, interesting values, truncation, insertion,
// deletion, chunk duplication) and pushed through the opener the CLI uses, reading every batch. Each case must end
// in success or a one-line ReplensError whose code is not E_INTERNAL, with memory staying bounded. Deterministic:
// a fixed seed drives a small PRNG, so a failure names a case that reproduces.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { zipSync } from 'fflate';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ReplensError } from '../src/engine/errors';
import { encodeNpy, type NpyData } from '../src/engine/npy';
import { openDataset } from '../src/engine/data/open';
import { loadConfig } from '../src/engine/data/config';
import type { DatasetSpec } from '../src/engine/data/dataset';
import { rng } from '../src/engine/onnx/builder';

// REPLENS_FUZZ_SEED / REPLENS_FUZZ_CASES run a longer or different campaign locally; CI uses the defaults.
const SEED = Number(process.env.REPLENS_FUZZ_SEED ?? 0x5eed1234);
const CASES_PER_SEED = Number(process.env.REPLENS_FUZZ_CASES ?? 28);
/** Budget for the loaders during fuzzing: small, so a header that passes every check still cannot take much memory. */
const BUDGET_MB = 64;
const RSS_LIMIT = 2 * 2 ** 30;

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0x100, 28, 0xfffffff0];

/** One mutation of `buf`; positions favour the first 64 bytes, where the headers are. */
function mutate(buf: Buffer, rnd: () => number): { out: Buffer; what: string } {
  const int = (n: number) => Math.floor(rnd() * n);
  const pos = (n: number) => (n <= 0 ? 0 : rnd() < 0.5 ? int(Math.min(n, 64)) : int(n));
  const b = Buffer.from(buf);
  switch (int(7)) {
    case 0: {
      const p = pos(b.length),
        bit = int(8);
      if (b.length) b[p] ^= 1 << bit;
      return { out: b, what: `flip bit ${bit} at ${p}` };
    }
    case 1: {
      const p = pos(b.length),
        v = INTERESTING_8[int(INTERESTING_8.length)];
      if (b.length) b[p] = v;
      return { out: b, what: `byte ${v} at ${p}` };
    }
    case 2: {
      const p = pos(Math.max(0, b.length - 4)),
        v = INTERESTING_32[int(INTERESTING_32.length)],
        le = rnd() < 0.5;
      if (b.length >= 4) {
        if (le) b.writeUInt32LE(v, p);
        else b.writeUInt32BE(v, p);
      }
      return { out: b, what: `u32${le ? 'le' : 'be'} ${v} at ${p}` };
    }
    case 3: {
      const n = int(b.length + 1);
      return { out: b.subarray(0, n), what: `truncate to ${n}` };
    }
    case 4: {
      const p = pos(b.length),
        n = 1 + int(16),
        ins = Buffer.from(Array.from({ length: n }, () => int(256)));
      return { out: Buffer.concat([b.subarray(0, p), ins, b.subarray(p)]), what: `insert ${n} at ${p}` };
    }
    case 5: {
      const p = pos(b.length),
        n = 1 + int(16);
      return { out: Buffer.concat([b.subarray(0, p), b.subarray(p + n)]), what: `delete ${n} at ${p}` };
    }
    default: {
      const p = pos(b.length),
        n = 1 + int(64);
      return {
        out: Buffer.concat([b.subarray(0, p + n), b.subarray(p, p + n), b.subarray(p + n)]),
        what: `duplicate ${n} at ${p}`,
      };
    }
  }
}

/** A text mutation for JSON: a structural character, a digit run or a huge number inserted, or a span deleted. */
function mutateText(s: string, rnd: () => number): { out: string; what: string } {
  const int = (n: number) => Math.floor(rnd() * n);
  const p = int(s.length + 1);
  const pieces = [
    '{',
    '}',
    '[',
    ']',
    '"',
    ',',
    ':',
    '0',
    '-1',
    '1e999',
    '99999999',
    'null',
    'true',
    '"x"',
    '\n',
    '\\',
    '\u0000',
    '\uFEFF',
  ];
  if (rnd() < 0.5) {
    const ins = pieces[int(pieces.length)];
    return { out: s.slice(0, p) + ins + s.slice(p), what: `insert ${JSON.stringify(ins)} at ${p}` };
  }
  const n = 1 + int(8);
  return { out: s.slice(0, p) + s.slice(p + n), what: `delete ${n} at ${p}` };
}

const ODD_VALUES: unknown[] = [
  0,
  -1,
  0.5,
  1e9,
  2 ** 31,
  2 ** 53,
  1e-9,
  '',
  'x',
  'NHWC',
  [],
  [0],
  [1, 2, 3],
  [100000, 100000],
  [1e9, 1],
  {},
  null,
  true,
];

/** Sets one leaf of the config (or a new key in one of its objects) to an odd value. */
function mutateValue(base: Record<string, unknown>, rnd: () => number): { out: string; what: string } {
  const int = (n: number) => Math.floor(rnd() * n);
  const obj = structuredClone(base) as Record<string, Record<string, unknown>>;
  const blocks = ['dataset', 'preprocess', ''];
  const block = blocks[int(blocks.length)];
  const target: Record<string, unknown> = block ? obj[block] : obj;
  const keys = [...Object.keys(target), 'format', 'x', 'layout', 'resize', 'executionProvider'];
  const key = keys[int(keys.length)],
    value = ODD_VALUES[int(ODD_VALUES.length)];
  target[key] = value;
  return { out: JSON.stringify(obj), what: `${block ? `${block}.` : ''}${key} = ${JSON.stringify(value)}` };
}

function idx(type: number, dims: number[], payload: Buffer): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, payload]);
}

function pngOf(w: number, h: number, colorType: 0 | 2 | 6): Buffer {
  const p = new PNG({ width: w, height: h });
  p.data = Buffer.from(Array.from({ length: w * h * 4 }, (_, i) => (i * 37) % 256));
  return PNG.sync.write(p, { colorType, inputColorType: 6, inputHasAlpha: true });
}

function npzOf(level: 0 | 6, entries: Record<string, { shape: number[]; data: NpyData }>): Buffer {
  const files: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(entries)) files[`${k}.npy`] = new Uint8Array(encodeNpy(v));
  return Buffer.from(zipSync(files, { level }));
}

interface Seed {
  name: string;
  bytes: Buffer;
  /** Where the mutated bytes go and how the dataset is opened. */
  spec: (file: string, dir: string) => DatasetSpec;
  file: string;
}

/** Small valid inputs, and the good companions (images, labels) that mutated labels/images are paired with. */
function seeds(dir: string): Seed[] {
  const px = Buffer.from(Array.from({ length: 4 * 5 * 6 }, (_, i) => (i * 7) % 256));
  const labelsIdx = idx(0x08, [4], Buffer.from([3, 0, 2, 1]));
  const goodImages = path.join(dir, 'good-images-idx3-ubyte');
  fs.writeFileSync(goodImages, idx(0x08, [4, 5, 6], px));
  const goodLabels = path.join(dir, 'good-labels.npy');
  fs.writeFileSync(goodLabels, encodeNpy({ shape: [4], data: BigInt64Array.from([3n, 0n, 2n, 1n]) }));
  const x = { shape: [4, 5, 6], data: new Uint8Array(px) };
  const y = { shape: [4], data: Int32Array.from([3, 0, 2, 1]) };
  const imageFolder = (name: string) => (file: string) => {
    const root = path.join(dir, `if-${name}`);
    fs.mkdirSync(path.join(root, 'k'), { recursive: true });
    fs.copyFileSync(file, path.join(root, 'k', name));
    return { path: root };
  };
  return [
    { name: 'idx raw', file: 'a-images-idx3-ubyte', bytes: idx(0x08, [4, 5, 6], px), spec: (f) => ({ path: f }) },
    {
      name: 'idx float32 4-D',
      file: 'b-images-idx3-ubyte',
      bytes: idx(0x0d, [2, 2, 3, 1], Buffer.alloc(48, 0x3f)),
      spec: (f) => ({ path: f }),
    },
    {
      name: 'idx gz',
      file: 'c-images-idx3-ubyte.gz',
      bytes: zlib.gzipSync(idx(0x08, [4, 5, 6], px)),
      spec: (f) => ({ path: f }),
    },
    {
      name: 'idx labels',
      file: 'l-labels-idx1-ubyte',
      bytes: labelsIdx,
      spec: (f) => ({ path: goodImages, labels: f }),
    },
    {
      name: 'idx labels gz',
      file: 'l-labels-idx1-ubyte.gz',
      bytes: zlib.gzipSync(labelsIdx),
      spec: (f) => ({ path: goodImages, labels: f }),
    },
    { name: 'npy uint8', file: 'd.npy', bytes: encodeNpy(x), spec: (f) => ({ path: f, labels: goodLabels }) },
    {
      name: 'npy float32 NHWC',
      file: 'e.npy',
      bytes: encodeNpy({ shape: [2, 3, 2, 3], data: Float32Array.from({ length: 36 }, (_, i) => i / 8) }),
      spec: (f) => ({ path: f }),
    },
    {
      name: 'npy labels',
      file: 'l.npy',
      bytes: encodeNpy({ shape: [4], data: BigInt64Array.from([3n, 0n, 2n, 1n]) }),
      spec: (f) => ({ path: goodImages, labels: f }),
    },
    { name: 'npz stored', file: 'f.npz', bytes: npzOf(0, { x, y }), spec: (f) => ({ path: f }) },
    { name: 'npz deflated', file: 'g.npz', bytes: npzOf(6, { images: x, labels: y }), spec: (f) => ({ path: f }) },
    {
      name: 'numpy npz',
      file: 'h.npz',
      bytes: fs.readFileSync(path.join(__dirname, 'fixtures', 'data', 'numpy-compressed.npz')),
      spec: (f) => ({ path: f }),
    },
    { name: 'png gray', file: 'a.png', bytes: pngOf(5, 4, 0), spec: imageFolder('a.png') },
    { name: 'png rgba', file: 'b.png', bytes: pngOf(3, 6, 6), spec: imageFolder('b.png') },
    {
      name: 'jpeg',
      file: 'c.jpg',
      bytes: Buffer.from(jpeg.encode({ width: 16, height: 8, data: Buffer.alloc(16 * 8 * 4, 99) }, 80).data),
      spec: imageFolder('c.jpg'),
    },
  ];
}

/** Opens and reads every batch, as a capture does. */
async function readAll(spec: DatasetSpec, opts: Parameters<typeof openDataset>[1] = {}): Promise<void> {
  const ds = await openDataset(spec, { memoryBudgetMB: BUDGET_MB, ...opts });
  for await (const b of ds.batches(3))
    assert.equal(
      b.x.length,
      b.shape.reduce((p, d) => p * d, 1),
    );
  await ds.close?.();
}

const made: string[] = [];
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

interface Tally {
  ok: number;
  errors: Map<string, number>;
}

/** Runs one case: success, or a one-line ReplensError that is not E_INTERNAL; anything else fails the test. */
async function runCase(label: string, fn: () => Promise<void>, tally: Tally): Promise<void> {
  try {
    await fn();
    tally.ok++;
  } catch (e) {
    if (!(e instanceof ReplensError)) assert.fail(`${label}: threw ${(e as Error)?.stack ?? String(e)}`);
    assert.notEqual(e.code, 'E_INTERNAL', `${label}: ${e.message}`);
    assert.ok(!/[\r\n]/.test(e.message), `${label}: message has a line break: ${JSON.stringify(e.message)}`);
    tally.errors.set(e.code, (tally.errors.get(e.code) ?? 0) + 1);
  }
  const rss = process.memoryUsage().rss;
  assert.ok(rss < RSS_LIMIT, `${label}: rss ${rss} bytes`);
}

const summary = (t: Tally) => `${t.ok} read, errors ${[...t.errors].map(([c, n]) => `${c} ${n}`).join(', ')}`;

test('fuzz: mutated IDX, .npy, .npz, PNG, JPEG, labels files end in success or a one-line ReplensError', async (t) => {
  const dir = tmpDir('replens-fuzz-');
  const rnd = rng(SEED);
  const tally: Tally = { ok: 0, errors: new Map() };
  for (const s of seeds(dir)) {
    const file = path.join(dir, s.file);
    fs.writeFileSync(file, s.bytes);
    for (let i = 0; i < CASES_PER_SEED; i++) {
      // One to three stacked mutations.
      let bytes = s.bytes;
      const steps: string[] = [];
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
        const m = mutate(bytes, rnd);
        bytes = m.out;
        steps.push(m.what);
      }
      fs.writeFileSync(file, bytes);
      await runCase(`${s.name} #${i} [${steps.join('; ')}]`, () => readAll(s.spec(file, dir)), tally);
    }
  }
  t.diagnostic(summary(tally));
  // The mutations must have exercised both outcomes.
  assert.ok(tally.ok > 0 && tally.errors.size > 0, summary(tally));
});

test('fuzz: the unmutated seeds all read', async () => {
  const dir = tmpDir('replens-fuzz-');
  for (const s of seeds(dir)) {
    const file = path.join(dir, s.file);
    fs.writeFileSync(file, s.bytes);
    await readAll(s.spec(file, dir));
  }
});

test('fuzz: mutated replens.json texts load (their dataset opens) or fail with a one-line ReplensError', async (t) => {
  const dir = tmpDir('replens-fuzz-cfg-');
  fs.writeFileSync(path.join(dir, 'images-idx3-ubyte'), idx(0x08, [4, 5, 6], Buffer.alloc(120, 9)));
  fs.writeFileSync(path.join(dir, 'labels-idx1-ubyte'), idx(0x08, [4], Buffer.from([0, 1, 1, 0])));
  const config = {
    dataset: { path: 'images-idx3-ubyte', labels: 'labels-idx1-ubyte', format: 'idx', limit: 3 },
    preprocess: { resize: [6, 7], mean: [0.5], std: [0.25], channels: 1, layout: 'NCHW', scale: 0.5 },
    classNames: ['a', 'b'],
    batchSize: 2,
    memoryBudgetMB: 64,
  };
  const base = JSON.stringify(config, null, 2);
  const rnd = rng(SEED ^ 0x9e3779b9);
  const tally: Tally = { ok: 0, errors: new Map() };
  const file = path.join(dir, 'replens.json');
  for (let i = 0; i < 4 * CASES_PER_SEED; i++) {
    // Half the cases break the JSON text, half set a value the validator or the loaders must refuse (or accept).
    let text = base;
    const steps: string[] = [];
    if (i % 2)
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
        const m = mutateText(text, rnd);
        text = m.out;
        steps.push(m.what);
      }
    else {
      const m = mutateValue(config, rnd);
      text = m.out;
      steps.push(m.what);
    }
    fs.writeFileSync(file, text);
    await runCase(
      `replens.json #${i} [${steps.join('; ')}]`,
      async () => {
        const cfg = loadConfig(file);
        if (!cfg.dataset) return;
        const ds = await openDataset(cfg.dataset, {
          preprocess: cfg.preprocess,
          classNames: cfg.classNames,
          memoryBudgetMB: Math.min(cfg.memoryBudgetMB ?? BUDGET_MB, BUDGET_MB),
        });
        for await (const b of ds.batches(cfg.batchSize ?? 2))
          assert.equal(
            b.x.length,
            b.shape.reduce((p, d) => p * d, 1),
          );
      },
      tally,
    );
  }
  t.diagnostic(summary(tally));
  assert.ok(tally.ok > 0 && tally.errors.size > 0, summary(tally));
});
