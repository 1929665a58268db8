// Seeded fuzzing of model loading and inspection: byte mutations (flips, truncations, splices) and decoded-field
// mutations (dims, element types, external data, op types, attribute types) of real models. Every case must end in
// success or in one ReplensError line that is not E_INTERNAL, within a bounded amount of memory. Deterministic: a
// failure names its case number and mutations, and rerunning reproduces it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import Long from 'long';
import { decodeModel, encodeModel, loadModel } from '../src/engine/onnx/model';
import { onnx, make, type ModelProto, type TensorProto } from '../src/engine/onnx/proto';
import { rng } from '../src/engine/onnx/builder';
import { inspectModel } from '../src/engine/inspect';
import { SessionPool } from '../src/engine/runtime/session';
import { ReplensError } from '../src/engine/errors';
import { zooModel } from './helpers/models';
import { tempDir } from './helpers/tmp';

const ROOT = path.join(__dirname, '..');
const FIX = path.join(__dirname, 'fixtures', 'onnx');
const tmp = tempDir('replens-fuzz-');
const CASES = Number(process.env.REPLENS_FUZZ_CASES ?? 400);
const SEED = Number(process.env.REPLENS_FUZZ_SEED ?? 20240611);
const RSS_LIMIT = 2 * 2 ** 30;

interface Seed {
  name: string;
  bytes: Uint8Array;
  side: Record<string, Buffer>;
}
const read = (p: string) => new Uint8Array(fs.readFileSync(p));
const SEEDS: Seed[] = [
  { name: 'conv', bytes: read(path.join(FIX, 'conv.onnx')), side: {} },
  { name: 'dynamic', bytes: read(path.join(FIX, 'dynamic.onnx')), side: {} },
  {
    name: 'external',
    bytes: read(path.join(FIX, 'external', 'model.onnx')),
    side: { 'weights.bin': fs.readFileSync(path.join(FIX, 'external', 'weights.bin')) },
  },
  { name: 'zoo', bytes: new Uint8Array(encodeModel(zooModel().model)), side: {} },
  { name: 'shallow_cnn', bytes: read(path.join(ROOT, 'examples', 'models', 'shallow_cnn.onnx')), side: {} },
];

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

// ---- byte mutations ----
const BYTE_MUTATIONS: Record<string, (r: Rand, b: Uint8Array, other: Uint8Array) => Uint8Array> = {
  // Uint8Array.from, not slice: the bytes may be a Buffer, whose slice is a view onto the seed.
  flip: (r, b) => {
    const c = Uint8Array.from(b);
    for (let k = 1 + int(r, 8); k > 0; k--) c[int(r, c.length)] ^= 1 << int(r, 8);
    return c;
  },
  set: (r, b) => {
    const c = Uint8Array.from(b);
    for (let k = 1 + int(r, 4); k > 0; k--) c[int(r, c.length)] = pick(r, [0, 0xff, 0x7f, 0x80, int(r, 256)]);
    return c;
  },
  truncate: (r, b) => b.subarray(0, int(r, b.length)),
  splice: (r, b, other) => {
    const at = int(r, b.length),
      from = int(r, other.length);
    return concat(b.subarray(0, at), other.subarray(from, from + 1 + int(r, 64)), b.subarray(at + int(r, 16)));
  },
  duplicate: (r, b) => {
    const s = int(r, b.length),
      e = Math.min(b.length, s + 1 + int(r, 128));
    return concat(b.subarray(0, e), b.subarray(s, e), b.subarray(e));
  },
  // A huge length prefix in the middle of the file: protobuf must not trust it.
  bigLength: (r, b) => {
    const at = int(r, b.length);
    return concat(b.subarray(0, at), Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f), b.subarray(at));
  },
};

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- decoded-field mutations ----
function tensorsOf(m: ModelProto): TensorProto[] {
  const out: TensorProto[] = [...(m.graph?.initializer ?? [])];
  for (const n of m.graph?.node ?? [])
    for (const a of n.attribute) {
      if (a.t) out.push(a.t);
      out.push(...a.tensors);
    }
  return out;
}

const HUGE = [0, -1, 1, 3, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER];
const LOCATIONS = [
  'weights.bin',
  '../weights.bin',
  '/etc/hostname',
  'missing.bin',
  '',
  '.',
  'sub/../weights.bin',
  'weights.bin\0x',
  '*/_ORT_MEM_ADDR_/*',
];
const OFFSETS = ['0', '16', '432', '448', '449', '-1', 'abc', '1e3', ' 4', '99999999999999999999'];
const OPS = [
  'Conv',
  'Relu',
  'Add',
  'MatMul',
  'Gemm',
  'Reshape',
  'Flatten',
  'MaxPool',
  'Loop',
  'If',
  'Scan',
  'Constant',
  'Identity',
  'Split',
  'Concat',
  'FancyOp',
  '',
  'Conv\n',
];
const FIELD_MUTATIONS: Record<string, (r: Rand, m: ModelProto) => string | void> = {
  dims: (r, m) => {
    const t = pick(r, tensorsOf(m));
    if (!t) return 'no tensor';
    const d = Long.fromNumber(pick(r, HUGE));
    if (!t.dims.length || r() < 0.3) t.dims.push(d as never);
    else t.dims[int(r, t.dims.length)] = d;
    return `${t.name} dims [${t.dims.join(',')}]`;
  },
  dataType: (r, m) => {
    const t = pick(r, tensorsOf(m));
    if (!t) return;
    t.dataType = int(r, 26);
    return `${t.name} type ${t.dataType}`;
  },
  rawData: (r, m) => {
    const t = pick(r, tensorsOf(m));
    if (!t) return;
    t.rawData = t.rawData.subarray(0, int(r, t.rawData.length + 1));
    return `${t.name} raw ${t.rawData.length}`;
  },
  external: (r, m) => {
    const t = pick(r, tensorsOf(m));
    if (!t) return;
    t.dataLocation = pick(r, [0, 1, 1, 1]);
    const kv = (key: string, value: string) => onnx.StringStringEntryProto.create({ key, value });
    t.externalData = [kv('location', pick(r, LOCATIONS))];
    if (r() < 0.7) t.externalData.push(kv('offset', pick(r, OFFSETS)));
    if (r() < 0.7) t.externalData.push(kv('length', pick(r, OFFSETS)));
    if (r() < 0.5) t.rawData = new Uint8Array(0);
    const fields = t.externalData.map((e) => `${e.key}=${JSON.stringify(e.value)}`);
    return `${t.name} external ${t.dataLocation} ${fields.join(' ')}`;
  },
  opType: (r, m) => {
    const n = pick(r, m.graph?.node ?? []);
    if (!n) return;
    n.opType = pick(r, OPS);
    return `${n.name} op ${JSON.stringify(n.opType)}`;
  },
  domain: (r, m) => {
    const n = pick(r, m.graph?.node ?? []);
    if (!n) return;
    n.domain = pick(r, ['', 'ai.onnx', 'com.microsoft', 'replens.test']);
    return `${n.name} domain ${n.domain}`;
  },
  attributeType: (r, m) => {
    const n = pick(
      r,
      (m.graph?.node ?? []).filter((x) => x.attribute.length),
    );
    if (!n) return;
    const a = pick(r, n.attribute);
    a.type = int(r, 16);
    return `${n.name}.${a.name} type ${a.type}`;
  },
  attributeValue: (r, m) => {
    const n = pick(
      r,
      (m.graph?.node ?? []).filter((x) => x.attribute.some((a) => a.ints.length)),
    );
    if (!n) return;
    const a = pick(
      r,
      n.attribute.filter((x) => x.ints.length),
    );
    a.ints[int(r, a.ints.length)] = Long.fromNumber(pick(r, [0, -1, -5, 2 ** 31, 1000]));
    return `${n.name}.${a.name} [${a.ints.join(',')}]`;
  },
  rewire: (r, m) => {
    const g = m.graph;
    const n = g && pick(r, g.node);
    if (!g || !n || !n.input.length) return;
    const names = [...g.node.flatMap((x) => x.output), ...g.input.map((i) => i.name), '', 'nowhere'];
    n.input[int(r, n.input.length)] = pick(r, names);
    return `${n.name} inputs ${n.input.join(',')}`;
  },
  inputDims: (r, m) => {
    const d = m.graph?.input[0]?.type?.tensorType?.shape?.dim;
    if (!d?.length) return;
    const k = int(r, d.length);
    d[k] = onnx.TensorShapeProto.Dimension.create(
      r() < 0.5 ? { dimValue: pick(r, [0, 1, 5, 2 ** 20, -3]) } : { dimParam: pick(r, ['N', 'H', '']) },
    ) as (typeof d)[number];
    return `input dim ${k}`;
  },
  versions: (r, m) => {
    m.irVersion = pick(r, [0, 1, 3, 7, 8, 10, 100]);
    if (m.opsetImport[0]) m.opsetImport[0].version = pick(r, [0, 1, 7, 13, 18, 99]);
    return `ir ${m.irVersion} opset ${String(m.opsetImport[0]?.version)}`;
  },
  // Containers the old walker skipped, with external data, so mutations reach the new walker too.
  hidden: (r, m) => {
    if (!m.graph) return;
    const t = make.tensor({
      name: 'hidden',
      dims: [1],
      dataType: 1,
      dataLocation: 1,
      externalData: [onnx.StringStringEntryProto.create({ key: 'location', value: pick(r, LOCATIONS) })],
    });
    const A = onnx.AttributeProto.AttributeType;
    const where = pick(r, ['function', 'default', 'sparse', 'training']);
    if (where === 'function')
      m.functions.push(
        onnx.FunctionProto.create({
          name: 'F',
          domain: 'x',
          node: [
            make.node({
              opType: 'Constant',
              output: ['h'],
              attribute: [make.attribute({ name: 'value', type: A.TENSOR, t })],
            }),
          ],
        }) as never,
      );
    if (where === 'default')
      m.functions.push(
        onnx.FunctionProto.create({
          name: 'D',
          domain: 'x',
          attributeProto: [make.attribute({ name: 'w', type: A.TENSOR, t })],
        }) as never,
      );
    if (where === 'sparse')
      m.graph.sparseInitializer.push(
        onnx.SparseTensorProto.create({
          values: t,
          indices: make.tensor({ name: 'i', dims: [1], dataType: 7, int64Data: [0] }),
          dims: [4],
        }) as never,
      );
    if (where === 'training')
      m.trainingInfo.push(
        onnx.TrainingInfoProto.create({ initialization: make.graph({ name: 'ti', initializer: [t] }) }) as never,
      );
    return `hidden ${where} ${t.externalData[0].value}`;
  },
  // An initializer turned sparse, with indices that may not fit: onnxruntime densifies it while loading.
  sparse: (r, m) => {
    const g = m.graph;
    const t = g && pick(r, g.initializer);
    if (!g || !t) return;
    g.initializer.splice(g.initializer.indexOf(t), 1);
    const n = int(r, 5);
    const indices = make.tensor({
      name: `${t.name}.idx`,
      dims: [Long.fromNumber(n)] as never,
      dataType: 7,
      int64Data: Array.from({ length: n }, () => Long.fromNumber(pick(r, [0, 1, 2, -1, 2 ** 40]))),
    });
    const values = make.tensor({ ...t, dims: [Long.fromNumber(pick(r, [n, n + 1, 0]))] as never });
    g.sparseInitializer.push(onnx.SparseTensorProto.create({ values, indices, dims: t.dims }) as never);
    return `${t.name} sparse, ${n} indices`;
  },
  // Names with control characters and newlines must not break a message into lines.
  names: (r, m) => {
    const n = pick(r, m.graph?.node ?? []);
    if (!n || !n.output.length) return;
    const bad = pick(r, ['a\nb', '\u001b[2J', 'x'.repeat(5000), '\u0000', 'conv']);
    for (const other of m.graph!.node) other.input = other.input.map((i) => (i === n.output[0] ? bad : i));
    n.name = bad;
    n.output[0] = bad;
    return `node renamed ${JSON.stringify(bad.slice(0, 8))}`;
  },
  dropGraphPart: (r, m) => {
    const g = m.graph;
    if (!g) return;
    const part = pick(r, ['node', 'initializer', 'output', 'input'] as const);
    const list = g[part] as unknown[];
    if (list.length) list.splice(int(r, list.length), 1);
    return `drop a graph ${part}`;
  },
};

interface Case {
  id: number;
  seed: Seed;
  steps: string[];
  bytes: Uint8Array;
}

function makeCase(id: number, r: Rand): Case {
  const seed = pick(r, SEEDS);
  const steps: string[] = [seed.name];
  let bytes = seed.bytes;
  if (r() < 0.6) {
    const m = onnx.ModelProto.decode(bytes) as unknown as ModelProto;
    for (let k = 1 + int(r, 3); k > 0; k--) {
      const name = pick(r, Object.keys(FIELD_MUTATIONS));
      steps.push(`${name}: ${FIELD_MUTATIONS[name](r, m) ?? '-'}`);
    }
    bytes = encodeModel(m);
  }
  if (steps.length === 1 || r() < 0.3) {
    const name = pick(r, Object.keys(BYTE_MUTATIONS));
    bytes = BYTE_MUTATIONS[name](r, bytes, pick(r, SEEDS).bytes);
    steps.push(name);
  }
  return { id, seed, steps, bytes };
}

function checkError(e: unknown, c: Case, stage: string): void {
  const where = `case ${c.id} (${c.steps.join('; ')}), ${stage}`;
  assert.ok(e instanceof ReplensError, `${where}: not a ReplensError: ${(e as Error)?.stack ?? String(e)}`);
  assert.notEqual(e.code, 'E_INTERNAL', `${where}: ${e.message}`);
  assert.ok(!e.message.includes('\n'), `${where}: message has a newline: ${e.message}`);
}

test(`fuzz: ${CASES} seeded mutations of real models inspect, or fail with one ReplensError line`, async (t) => {
  const r = rng(SEED);
  const pool = new SessionPool({ executionProvider: 'cpu', intraOpThreads: 1 }, 2);
  const outcomes: Record<string, number> = {};
  try {
    for (let id = 0; id < CASES; id++) {
      const c = makeCase(id, r);
      // A folder per case: the session cache keys on path, and side files sit beside the model.
      const dir = path.join(tmp, String(id));
      fs.mkdirSync(dir);
      for (const [name, data] of Object.entries(c.seed.side)) fs.writeFileSync(path.join(dir, name), data);
      const file = path.join(dir, 'model.onnx');
      fs.writeFileSync(file, c.bytes);
      let outcome = 'ok';
      try {
        decodeModel(c.bytes, 'model.onnx');
        await loadModel(file);
        await inspectModel(file, pool);
      } catch (e) {
        checkError(e, c, 'load/inspect');
        outcome = (e as ReplensError).code;
      }
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      const rss = process.memoryUsage().rss;
      assert.ok(
        rss < RSS_LIMIT,
        `case ${c.id} (${c.steps.join('; ')}): RSS ${(rss / 2 ** 20).toFixed(0)} MiB over ${RSS_LIMIT / 2 ** 20} MiB`,
      );
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await pool.dispose();
  }
  t.diagnostic(`outcomes: ${JSON.stringify(outcomes)}`);
  // The mutations must exercise both sides: some cases load and inspect, most fail in many different ways.
  assert.ok((outcomes.ok ?? 0) > CASES / 20, JSON.stringify(outcomes));
  assert.ok(Object.keys(outcomes).length >= 5, JSON.stringify(outcomes));
});
