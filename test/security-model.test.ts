// Malicious models: external data hidden in every place onnx.proto allows a tensor, side files that are not regular
// files, ranges past the end, .onnx files that are devices or too large. Each must end in one ReplensError line, and
// nothing may reach onnxruntime with an external reference (it resolves those against the working directory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { encodeModel, loadModel, modelTensors, saveModel } from '../src/engine/onnx/model';
import { onnx, make, type ModelProto, type NodeProto, type TensorProto } from '../src/engine/onnx/proto';
import { float32Tensor, int64Tensor } from '../src/engine/onnx/tensor';
import { makeValueInfo, type Dim } from '../src/engine/onnx/graph';
import { SessionPool, runSession } from '../src/engine/runtime/session';
import { runJob } from '../src/engine/jobs';
import { writeNpy } from '../src/engine/npy';
import { ReplensError } from '../src/engine/errors';

const ROOT = path.join(__dirname, '..');
const pool = new SessionPool({ executionProvider: 'cpu' });
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'replens-sec-')));
const SECRET = Buffer.from('SECRETSECRETSECR'); // 16 bytes: four finite float32s
fs.writeFileSync(path.join(tmp, 'secret'), SECRET);
const WEIGHTS = Float32Array.from([0.5, -1.25, 2, 3.75]);
const posix = process.platform !== 'win32';

const F = onnx.TensorProto.DataType.FLOAT;
const A = onnx.AttributeProto.AttributeType;
const kv = (key: string, value: string) => onnx.StringStringEntryProto.create({ key, value });

function ext(
  name: string,
  location: string,
  o: { offset?: number | string; length?: number | string; dims?: number[] } = {},
): TensorProto {
  const entries = [kv('location', location)];
  if (o.offset !== undefined) entries.push(kv('offset', String(o.offset)));
  entries.push(kv('length', String(o.length ?? 16)));
  return make.tensor({
    name,
    dims: o.dims ?? [4],
    dataType: F,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: entries,
  });
}

const vi = (name: string, shape: Dim[] | null, elemType = F) => makeValueInfo(name, shape ? { elemType, shape } : null);
const node = (
  opType: string,
  input: string[],
  output: string[],
  attribute: ReturnType<typeof make.attribute>[] = [],
  domain = '',
): NodeProto => make.node({ opType, input, output, attribute, domain, name: output[0] });
const constant = (out: string, t: TensorProto) =>
  node('Constant', [], [out], [make.attribute({ name: 'value', type: A.TENSOR, t })]);
const sparse = (values: TensorProto) =>
  onnx.SparseTensorProto.create({ values, indices: int64Tensor(`${values.name}_idx`, [4], [0, 1, 2, 3]), dims: [4] });

/** x [N,4] → y = x + c, with the graph around it; `c` comes from wherever the case hides the tensor. */
function model(
  nodes: NodeProto[],
  extra: Partial<onnx.ModelProto.$Properties> & {
    initializer?: TensorProto[];
    sparseInitializer?: onnx.SparseTensorProto[];
  } = {},
): ModelProto {
  const { initializer = [], sparseInitializer = [], ...rest } = extra;
  return make.model({
    irVersion: 8,
    producerName: 'replens-test',
    opsetImport: [make.opset('', 13), make.opset('replens.test', 1)],
    graph: make.graph({
      name: 'main',
      node: nodes,
      input: [vi('x', ['N', 4])],
      output: [vi('y', ['N', 4])],
      initializer,
      sparseInitializer,
    }),
    ...rest,
  });
}

function fn(name: string, nodes: NodeProto[], input = ['x'], output = ['y']): onnx.FunctionProto {
  return onnx.FunctionProto.create({
    name,
    domain: 'replens.test',
    input,
    output,
    node: nodes,
    opsetImport: [make.opset('', 13)],
  });
}

/** The runnable places a tensor can hide; each builds y = x + t. */
const CASES: Record<string, (t: TensorProto) => ModelProto> = {
  'function body Constant': (t) =>
    model([node('AddC', ['x'], ['y'], [], 'replens.test')], {
      functions: [fn('AddC', [constant('c', t), node('Add', ['x', 'c'], ['y'])])],
    }),
  'Constant sparse_value': (t) =>
    model([
      node(
        'Constant',
        [],
        ['c'],
        [make.attribute({ name: 'sparse_value', type: A.SPARSE_TENSOR, sparseTensor: sparse(t) })],
      ),
      node('Add', ['x', 'c'], ['y']),
    ]),
  sparse_initializer: (t) => model([node('Add', ['x', t.name], ['y'])], { sparseInitializer: [sparse(t)] }),
  'If then_branch': (t) =>
    model([
      constant(
        'cond',
        make.tensor({ name: 'cond', dims: [], dataType: onnx.TensorProto.DataType.BOOL, rawData: Uint8Array.of(1) }),
      ),
      node(
        'If',
        ['cond'],
        ['c'],
        [
          make.attribute({
            name: 'then_branch',
            type: A.GRAPH,
            g: make.graph({ name: 'then', node: [constant('c_then', t)], output: [vi('c_then', [4])] }),
          }),
          make.attribute({
            name: 'else_branch',
            type: A.GRAPH,
            g: make.graph({
              name: 'else',
              node: [constant('c_else', float32Tensor('z', [4], [0, 0, 0, 0]))],
              output: [vi('c_else', [4])],
            }),
          }),
        ],
      ),
      node('Add', ['x', 'c'], ['y']),
    ]),
  'Loop body': (t) =>
    model([
      constant('M', int64Tensor('M', [], [1])),
      node(
        'Loop',
        ['M', '', 'x'],
        ['y'],
        [
          make.attribute({
            name: 'body',
            type: A.GRAPH,
            g: make.graph({
              name: 'body',
              initializer: [t],
              node: [node('Identity', ['cond_in'], ['cond_out']), node('Add', ['v_in', t.name], ['v_out'])],
              input: [
                vi('i', [], onnx.TensorProto.DataType.INT64),
                vi('cond_in', [], onnx.TensorProto.DataType.BOOL),
                vi('v_in', null),
              ],
              output: [vi('cond_out', [], onnx.TensorProto.DataType.BOOL), vi('v_out', null)],
            }),
          }),
        ],
      ),
    ]),
  'function in a function subgraph': (t) =>
    model([node('AddC', ['x'], ['y'], [], 'replens.test')], {
      functions: [
        fn('AddC', [
          constant(
            'cond',
            make.tensor({
              name: 'cond',
              dims: [],
              dataType: onnx.TensorProto.DataType.BOOL,
              rawData: Uint8Array.of(1),
            }),
          ),
          node(
            'If',
            ['cond'],
            ['c'],
            [
              make.attribute({
                name: 'then_branch',
                type: A.GRAPH,
                g: make.graph({ name: 'then', node: [constant('c_then', t)], output: [vi('c_then', [4])] }),
              }),
              make.attribute({
                name: 'else_branch',
                type: A.GRAPH,
                g: make.graph({
                  name: 'else',
                  node: [constant('c_else', float32Tensor('z', [4], [0, 0, 0, 0]))],
                  output: [vi('c_else', [4])],
                }),
              }),
            ],
          ),
          node('Add', ['x', 'c'], ['y']),
        ]),
      ],
    }),
  'training_info graph': (t) =>
    model([node('Add', ['x', 'c'], ['y'])], {
      initializer: [float32Tensor('c', [4], WEIGHTS)],
      trainingInfo: [
        onnx.TrainingInfoProto.create({
          initialization: make.graph({
            name: 'init',
            initializer: [t],
            node: [node('Identity', [t.name], ['c_new'])],
            output: [vi('c_new', [4])],
          }),
          algorithm: make.graph({ name: 'algo', node: [], output: [] }),
          initializationBinding: [kv('c', 'c_new')],
        }),
      ],
    }),
  'function attribute default': withDefault,
};

// FunctionProto.attribute_proto (IR 9): an attribute default whose tensor onnxruntime applies.
function withDefault(t: TensorProto): ModelProto {
  const f = fn('AddC', [
    node('Constant', [], ['c'], [make.attribute({ name: 'value', type: A.TENSOR, refAttrName: 'w' })]),
    node('Add', ['x', 'c'], ['y']),
  ]);
  f.attributeProto = [make.attribute({ name: 'w', type: A.TENSOR, t })];
  return model([node('AddC', ['x'], ['y'], [], 'replens.test')], { functions: [f] });
}

function caseDir(name: string): string {
  const dir = path.join(tmp, name.replace(/[^A-Za-z0-9]+/g, '-'));
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function oneLineError(e: unknown, code: string, re?: RegExp): true {
  assert.ok(e instanceof ReplensError, `not a ReplensError: ${(e as Error)?.stack ?? String(e)}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
  return true;
}
const rejectsWith = (p: Promise<unknown>, code: string, re?: RegExp) =>
  assert.rejects(p, (e) => oneLineError(e, code, re));

async function addsWeights(m: ModelProto, key: string): Promise<void> {
  const ms = await pool.get(key, m, key);
  const x = Float32Array.from([1, 2, 3, 4, -1, -2, -3, -4]);
  const out = await runSession(ms, { x: { data: x, dims: [2, 4] } }, key);
  assert.deepEqual(out.y.dims, [2, 4]);
  assert.deepEqual(
    [...(out.y.data as Float32Array)],
    [...x].map((v, i) => v + WEIGHTS[i % 4]),
    key,
  );
}

test('modelTensors finds a tensor in every place onnx.proto has one', () => {
  const t = (name: string) => ext(name, 'w.bin');
  const S = (name: string) => onnx.SparseTensorProto.create({ values: t(name), indices: t(`${name}.idx`), dims: [4] });
  const g = (name: string, inner: string) =>
    make.graph({
      name,
      initializer: [t(`${inner}.init`)],
      sparseInitializer: [S(`${inner}.sparse`)],
      node: [constant('k', t(`${inner}.const`))],
    });
  const everything = make.node({
    opType: 'Custom',
    domain: 'replens.test',
    name: 'custom',
    attribute: [
      make.attribute({ name: 't', type: A.TENSOR, t: t('attr.t') }),
      make.attribute({ name: 'ts', type: A.TENSORS, tensors: [t('attr.ts0'), t('attr.ts1')] }),
      make.attribute({ name: 'st', type: A.SPARSE_TENSOR, sparseTensor: S('attr.st') }),
      make.attribute({ name: 'sts', type: A.SPARSE_TENSORS, sparseTensors: [S('attr.sts0'), S('attr.sts1')] }),
      make.attribute({ name: 'g', type: A.GRAPH, g: g('sub', 'g') }),
      make.attribute({
        name: 'gs',
        type: A.GRAPHS,
        graphs: [
          g('sub0', 'gs0'),
          make.graph({
            name: 'sub1',
            node: [
              node('If', [], ['o'], [make.attribute({ name: 'then_branch', type: A.GRAPH, g: g('deep', 'deep') })]),
            ],
          }),
        ],
      }),
    ],
  });
  const m = withDefault(t('fn.default'));
  m.graph = make.graph({
    name: 'main',
    initializer: [t('init')],
    sparseInitializer: [S('sparse')],
    node: [everything],
  });
  m.functions[0].node.push(
    node(
      'Constant',
      [],
      ['k2'],
      [make.attribute({ name: 'sparse_value', type: A.SPARSE_TENSOR, sparseTensor: S('fn.sparse') })],
    ),
  );
  m.trainingInfo = make.model({
    trainingInfo: [{ initialization: g('ti.init', 'ti.init'), algorithm: g('ti.algo', 'ti.algo') }],
  }).trainingInfo;
  const names = modelTensors(m)
    .map((r) => r.tensor.name)
    .sort();
  const graphNames = (p: string) => [`${p}.init`, `${p}.sparse`, `${p}.sparse.idx`, `${p}.const`];
  const want = [
    'init',
    'sparse',
    'sparse.idx',
    'attr.t',
    'attr.ts0',
    'attr.ts1',
    'attr.st',
    'attr.st.idx',
    'attr.sts0',
    'attr.sts0.idx',
    'attr.sts1',
    'attr.sts1.idx',
    ...graphNames('g'),
    ...graphNames('gs0'),
    ...graphNames('deep'),
    'fn.default',
    'fn.sparse',
    'fn.sparse.idx',
    ...graphNames('ti.init'),
    ...graphNames('ti.algo'),
  ].sort();
  assert.deepEqual(names, want);
});

test('external data outside the model folder, wherever a tensor can hide, is refused before it is read', async () => {
  for (const [name, build] of Object.entries(CASES)) {
    for (const location of ['../secret', path.join(tmp, 'secret'), 'sub/../../secret']) {
      const dir = caseDir(`out-${name}`);
      saveModel(build(ext('c_ext', location)), path.join(dir, 'model.onnx'));
      await rejectsWith(
        loadModel(path.join(dir, 'model.onnx')),
        'E_PATH_TRAVERSAL',
        new RegExp(
          `external data path '${location.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}' ` +
            `of tensor 'c_ext' \\(.*\\) points outside the model's folder`,
        ),
      );
    }
  }
});

test('a model with unresolved external data never reaches onnxruntime', async () => {
  for (const [name, build] of Object.entries(CASES)) {
    const m = build(ext('c_ext', 'secret'));
    await rejectsWith(
      pool.get(`unresolved-${name}`, m, name),
      'E_EXTERNAL_DATA',
      /still refers to external data 'secret' that RepLens has not read; refused/,
    );
    await rejectsWith(pool.get(`unresolved-bytes-${name}`, encodeModel(m), name), 'E_EXTERNAL_DATA', /tensor 'c_ext'/);
    // loadModel without external data (layers --input-shape, analyze's input check) keeps the references…
    const dir = caseDir(`unresolved-${name}`);
    saveModel(m, path.join(dir, 'model.onnx'));
    fs.writeFileSync(path.join(dir, 'secret'), SECRET);
    const lazy = await loadModel(path.join(dir, 'model.onnx'), { externalData: false });
    await rejectsWith(pool.get(`lazy-${name}`, lazy.proto, name), 'E_EXTERNAL_DATA', /still refers to external data/);
    // …and loading it with its data resolves every one of them.
    const full = await loadModel(path.join(dir, 'model.onnx'));
    assert.ok(
      modelTensors(full.proto).every((r) => r.tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL),
      name,
    );
    assert.deepEqual(full.externalTensors, ['c_ext'], name);
  }
});

test('external data beside the model, in functions, subgraphs and sparse tensors, is resolved and runs', async () => {
  for (const [name, build] of Object.entries(CASES)) {
    const dir = caseDir(`ok-${name}`);
    // Two tensors' worth in one file; the weights sit at offset 16, after 16 bytes of something else.
    fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from(WEIGHTS.buffer)]));
    saveModel(build(ext('c_ext', 'w.bin', { offset: 16 })), path.join(dir, 'model.onnx'));
    const m = await loadModel(path.join(dir, 'model.onnx'));
    assert.equal(m.bytes, fs.statSync(path.join(dir, 'model.onnx')).size + 16, name);
    if (name === 'training_info graph') {
      // onnxruntime's inference ignores training_info; the tensor is resolved all the same.
      const init = m.proto.trainingInfo[0].initialization!.initializer[0];
      assert.deepEqual([...new Float32Array(Uint8Array.from(init.rawData).buffer)], [...WEIGHTS]);
    }
    await addsWeights(m.proto, `ok-${name}`);
  }
});

test('side files that are not regular files, or too short, end in one line and never block', async () => {
  const base = (location: string, o: Parameters<typeof ext>[2] = {}) =>
    CASES['function body Constant'](ext('c_ext', location, o));
  async function refused(
    name: string,
    m: ModelProto,
    code: string,
    re: RegExp,
    setup: (dir: string) => void = () => undefined,
  ) {
    const dir = caseDir(`file-${name}`);
    setup(dir);
    saveModel(m, path.join(dir, 'model.onnx'));
    await rejectsWith(loadModel(path.join(dir, 'model.onnx')), code, re);
  }
  if (posix) {
    // A FIFO would block a reader forever waiting for a writer; it is refused by type.
    await refused(
      'fifo',
      base('pipe'),
      'E_EXTERNAL_DATA',
      /external data 'pipe' of tensor 'c_ext' .*named pipe \(FIFO\), not a regular file/,
      (dir) => execFileSync('mkfifo', [path.join(dir, 'pipe')]),
    );
    await refused(
      'devzero',
      base('zero.bin'),
      'E_PATH_TRAVERSAL',
      /'zero\.bin' of tensor 'c_ext'.*outside the model's folder/,
      (dir) => fs.symlinkSync('/dev/zero', path.join(dir, 'zero.bin')),
    );
    await refused(
      'link-out',
      base('etc/passwd'),
      'E_PATH_TRAVERSAL',
      /'etc\/passwd'.*outside the model's folder/,
      (dir) => fs.symlinkSync('/etc', path.join(dir, 'etc')),
    );
  }
  await refused('folder', base('sub'), 'E_EXTERNAL_DATA', /external data 'sub' .*a folder, not a regular file/, (dir) =>
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true }),
  );
  await refused(
    'missing',
    base('nothing.bin'),
    'E_EXTERNAL_DATA',
    /external data 'nothing\.bin' of tensor 'c_ext' .*cannot be read: .*no such file/,
  );
  const short = (dir: string) => fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.alloc(20));
  await refused(
    'past-end',
    base('w.bin', { offset: 8, length: 16 }),
    'E_EXTERNAL_DATA',
    /\(offset 8, length 16\) lies beyond the end of 'w\.bin' \(20 bytes\)/,
    short,
  );
  await refused(
    'offset-past-end',
    base('w.bin', { offset: 24 }),
    'E_EXTERNAL_DATA',
    /\(offset 24, length 16\) lies beyond the end of 'w\.bin'/,
    short,
  );
  await refused(
    'bad-offset',
    base('w.bin', { offset: '-4' }),
    'E_EXTERNAL_DATA',
    /has offset '-4', not a byte count/,
    short,
  );
  await refused(
    'huge-length',
    base('w.bin', { length: '99999999999999999999' }),
    'E_EXTERNAL_DATA',
    /has length '99999999999999999999', not a byte count/,
    short,
  );
  // Untrusted strings stay one line and carry no terminal control sequences into a message.
  await refused(
    'nul',
    base('w.bin\0/../../secret'),
    'E_EXTERNAL_DATA',
    /external data path 'w\.bin\\x00\/\.\.\/\.\.\/secret' of tensor 'c_ext' .*contains a NUL byte; refused$/,
  );
  await refused(
    'control',
    base('\u001b[2J\nw.bin'),
    'E_EXTERNAL_DATA',
    new RegExp(
      /^external data '\\x1b\[2J\\nw\.bin' of tensor 'c_ext' [^\u0000-\u001f\u007f]* /.source +
        /cannot be read: [^\u0000-\u001f\u007f]*no such file$/.source,
    ),
  );
  await refused(
    'no-location',
    model([
      constant(
        'c',
        make.tensor({ name: 'c_ext', dims: [4], dataType: F, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL }),
      ),
      node('Add', ['x', 'c'], ['y']),
    ]),
    'E_EXTERNAL_DATA',
    /tensor 'c_ext' \(attribute 'value' of node 'c' in graph 'main'\) is marked external but names no location/,
  );
  // Sizes are checked before anything is read: sparse files, so the test allocates nothing.
  const sparseFile = (size: number) => (dir: string) => {
    const fd = fs.openSync(path.join(dir, 'big.bin'), 'w');
    fs.ftruncateSync(fd, size);
    fs.closeSync(fd);
  };
  await refused(
    'tensor-too-big',
    base('big.bin', { length: 2 ** 32 + 1 }),
    'E_EXTERNAL_DATA',
    new RegExp(
      /tensor 'c_ext' .* is 4294967297 bytes \(4\.0 GiB\), /.source +
        /over the 4294967296 bytes one tensor can hold in memory; refused/.source,
    ),
    sparseFile(2 ** 32 + 16),
  );
  const many = model([node('Add', ['x', 'c0'], ['y'])], {
    initializer: [0, 1, 2].map((i) => ext(`c${i}`, 'big.bin', { length: 2 ** 32 })),
  });
  await refused(
    'total-too-big',
    many,
    'E_EXTERNAL_DATA',
    /external data of tensor 'c2' .*brings the model's external data to 12\.0 GiB, over the 8\.0 GiB limit/,
    sparseFile(2 ** 32),
  );
});

test('a .onnx that is a device, FIFO, folder or over 2 GiB is refused by type or size before it is read', async () => {
  const dir = caseDir('model-files');
  if (posix) {
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero.onnx'));
    await rejectsWith(
      loadModel(path.join(dir, 'zero.onnx')),
      'E_IO',
      /zero\.onnx is a character device, not a regular file; refused/,
    );
    execFileSync('mkfifo', [path.join(dir, 'pipe.onnx')]);
    await rejectsWith(
      loadModel(path.join(dir, 'pipe.onnx')),
      'E_IO',
      /pipe\.onnx is a named pipe \(FIFO\), not a regular file/,
    );
  }
  fs.mkdirSync(path.join(dir, 'folder.onnx'));
  await rejectsWith(loadModel(path.join(dir, 'folder.onnx')), 'E_IO', /folder\.onnx is a folder/);
  const fd = fs.openSync(path.join(dir, 'huge.onnx'), 'w');
  fs.ftruncateSync(fd, 2 ** 31);
  fs.closeSync(fd);
  await rejectsWith(
    loadModel(path.join(dir, 'huge.onnx')),
    'E_MODEL_CORRUPT',
    new RegExp(
      /huge\.onnx is 2\.0 GiB \(2147483648 bytes\), /.source +
        /over protobuf's limit of 2147483647 bytes for one \.onnx file; refused/.source,
    ),
  );
});

// The reproduction: a function body whose Constant points at `etc/secret`, relative to the working directory that
// onnxruntime resolves it against when it gets the model as bytes. The bytes are uint8 and cast, because
// onnxruntime's optimizers refuse a float constant with external data in a model without a path, but not this.
function leakModel(location: string): ModelProto {
  const t = make.tensor({
    name: 'leak',
    dims: [4],
    dataType: onnx.TensorProto.DataType.UINT8,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [kv('location', location), kv('length', '4')],
  });
  return model([node('Leak', ['x'], ['y'], [], 'replens.test')], {
    functions: [
      fn('Leak', [
        constant('c', t),
        node('Cast', ['c'], ['cf'], [make.attribute({ name: 'to', type: A.INT, i: F })]),
        node('Add', ['x', 'cf'], ['y']),
      ]),
    ],
  });
}
const LEAKED = [...SECRET.subarray(0, 4)]; // what y = 0 + secret bytes would hold

test("reproduction: onnxruntime itself reads a function body's external data from the working directory", async () => {
  const cwd = caseDir('repro-cwd');
  fs.mkdirSync(path.join(cwd, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(cwd, 'etc', 'secret'), SECRET);
  const old = process.cwd();
  process.chdir(cwd);
  try {
    // Bypassing RepLens, with the session options RepLens uses, the model leaks: this is what the guards prevent.
    const s = await ort.InferenceSession.create(encodeModel(leakModel('etc/secret')), {
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4]) });
    await s.release();
    assert.deepEqual([...(out.y.data as Float32Array)], LEAKED);
    await rejectsWith(
      pool.get('repro', leakModel('etc/secret'), 'repro'),
      'E_EXTERNAL_DATA',
      /tensor 'leak' .* still refers to external data 'etc\/secret'/,
    );
  } finally {
    process.chdir(old);
  }
});

test("activations of the malicious model from the secret's folder fail and write nothing of the secret", async () => {
  const cwd = caseDir('job-cwd');
  fs.mkdirSync(path.join(cwd, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(cwd, 'etc', 'secret'), SECRET);
  const modelDir = path.join(cwd, 'models');
  fs.mkdirSync(modelDir, { recursive: true });
  const xPath = path.join(cwd, 'x.npy');
  writeNpy(xPath, { shape: [2, 4], data: new Float32Array(8) });
  const ctx = {
    signal: new AbortController().signal,
    progress: () => undefined,
    partial: () => undefined,
    log: () => undefined,
  };
  const cases: [string, string, RegExp][] = [
    ['etc/secret', 'E_EXTERNAL_DATA', /external data 'etc\/secret' of tensor 'leak' .*no such file/],
    ['../etc/secret', 'E_PATH_TRAVERSAL', /'\.\.\/etc\/secret' of tensor 'leak' .*outside the model's folder; refused/],
    [path.join(cwd, 'etc', 'secret'), 'E_PATH_TRAVERSAL', /outside the model's folder; refused/],
  ];
  const old = process.cwd();
  process.chdir(cwd);
  try {
    for (const [i, [location, code, re]] of cases.entries()) {
      saveModel(leakModel(location), path.join(modelDir, `leak${i}.onnx`));
      const outDir = path.join(cwd, `out${i}`);
      await rejectsWith(
        runJob(
          {
            kind: 'activations',
            modelPath: path.join(modelDir, `leak${i}.onnx`),
            input: xPath,
            tensors: ['y'],
            reduce: 'none',
            outDir,
            runtime: { executionProvider: 'cpu' },
          },
          ctx,
        ),
        code,
        re,
      );
      assertNoSecret(outDir);
    }
  } finally {
    process.chdir(old);
  }
});

/** Nothing under `dir` holds the secret's bytes, raw or as the float32 values the leak model would write. */
function assertNoSecret(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const asFloats = Buffer.from(Float32Array.from(LEAKED).buffer);
  for (const f of fs.readdirSync(dir, { recursive: true }).map(String)) {
    const p = path.join(dir, f);
    if (!fs.statSync(p).isFile()) continue;
    const bytes = fs.readFileSync(p);
    assert.ok(!bytes.includes(SECRET.subarray(0, 4)) && !bytes.includes(asFloats), `${p} holds the secret`);
    assert.ok(!p.endsWith('.npy'), `${p} was written`);
  }
}

test(
  'the CLI run from / on a model pointing at etc/passwd fails with one line and writes nothing',
  { skip: !posix && 'POSIX paths' },
  () => {
    const dir = caseDir('cli');
    const xPath = path.join(dir, 'x.npy');
    writeNpy(xPath, { shape: [2, 4], data: new Float32Array(8) });
    // The CLI in-process through tsx's CommonJS hook, from /, as `replens activations` would run there.
    const tsx = require.resolve('tsx/cjs', { paths: [ROOT] });
    const cliTs = JSON.stringify(path.join(ROOT, 'src', 'cli', 'cli.ts'));
    const run = `require(${cliTs}).main(process.argv.slice(1)).then((c) => { process.exitCode = c; })`;
    for (const [location, re] of [
      ['etc/passwd', /external data 'etc\/passwd' of tensor 'leak' .*no such file/],
      ['../../../../../../etc/passwd', /outside the model's folder; refused/],
    ] as const) {
      const modelPath = path.join(dir, 'leak.onnx');
      saveModel(leakModel(location), modelPath);
      const outDir = path.join(dir, 'out');
      const r = spawnSync(
        process.execPath,
        [
          '--require',
          tsx,
          '-e',
          run,
          '--',
          'activations',
          modelPath,
          '--input',
          xPath,
          '--tensors',
          'y',
          '--out-dir',
          outDir,
          '--ep',
          'cpu',
          '--quiet',
        ],
        { cwd: '/', encoding: 'utf8', env: { ...process.env, REPLENS_VERBOSE: '' } },
      );
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assertNoSecret(outDir);
    }
  },
);
