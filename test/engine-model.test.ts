import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel, encodeModel, loadModel, saveModel } from '../src/engine/onnx/model';
import { onnx } from '../src/engine/onnx/proto';
import { cutGraph, exposeTensors, prefixModel, suffixModel } from '../src/engine/onnx/graph';
import { torchModulePath } from '../src/engine/onnx/layers';
import { SessionPool, runSession } from '../src/engine/runtime/session';
import { tensorShapes } from '../src/engine/runtime/shapes';
import { ReplensError } from '../src/engine/errors';
import { zooModel, randomInput } from './helpers/models';
import * as R from './helpers/reference';
import { tempDir } from './helpers/tmp';

const FIX = path.join(__dirname, 'fixtures', 'onnx');
const pool = new SessionPool({ executionProvider: 'cpu' });
const tmp = tempDir('replens-model-');

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ReplensError, `not a ReplensError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

test('a text file is not ONNX; a truncated model is corrupt; an empty file is named', async () => {
  await rejectsWith(loadModel(path.join(FIX, 'notonnx.onnx')), 'E_NOT_ONNX', /notonnx\.onnx is not an ONNX model/);
  await rejectsWith(
    loadModel(path.join(FIX, 'truncated.onnx')),
    'E_MODEL_CORRUPT',
    /truncated\.onnx is truncated or corrupt/,
  );
  const empty = path.join(tmp, 'empty.onnx');
  fs.writeFileSync(empty, '');
  await rejectsWith(loadModel(empty), 'E_NOT_ONNX', /empty/);
  await rejectsWith(loadModel(path.join(tmp, 'missing.onnx')), 'E_NOT_FOUND', /missing\.onnx: no such file/);
  // Every truncation point of a real model is caught, by protobuf or by the dangling-tensor check.
  const bytes = encodeModel(zooModel().model);
  for (let cut = 1; cut < bytes.length; cut += 97) {
    assert.throws(
      () => decodeModel(bytes.subarray(0, cut), 'z.onnx'),
      (e: unknown) => e instanceof ReplensError && ['E_MODEL_CORRUPT', 'E_NOT_ONNX'].includes(e.code),
      `cut at ${cut}`,
    );
  }
});

test('external data is read from beside the model and gives the reference output', async () => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'external', 'expected.json'), 'utf8'));
  const m = await loadModel(path.join(FIX, 'external', 'model.onnx'));
  assert.deepEqual(m.externalTensors.sort(), Object.keys(expected.initializers ?? { B: 0, W: 0 }).sort());
  const ms = await pool.get('external', m.proto, 'external');
  const out = await runSession(
    ms,
    { x: { data: Float32Array.from(expected.input.data), dims: expected.input.shape } },
    'external',
  );
  assert.deepEqual(out.y.dims, expected.output.shape);
  assert.ok(R.maxAbsDiff(out.y.data as Float32Array, expected.output.data) < 1e-5);
  let sum = 0;
  for (const t of m.proto.graph!.initializer)
    for (const v of new Float32Array(new Uint8Array(t.rawData).buffer)) sum += v;
  assert.ok(Math.abs(sum - expected.weights_sum) < 1e-5);
});

test('an external-data path that leaves the model folder is refused before anything is read', async () => {
  await rejectsWith(
    loadModel(path.join(FIX, 'traversal', 'model.onnx')),
    'E_PATH_TRAVERSAL',
    /'\.\.\/\.\.\/outside\/weights\.bin'.*outside the model's folder; refused/,
  );
  // Absolute paths and symlinks pointing out are refused too.
  const src = (await loadModel(path.join(FIX, 'external', 'model.onnx'), { externalData: false })).proto;
  for (const [name, location] of [
    ['abs', '/etc/passwd'],
    ['link', 'link.bin'],
  ] as const) {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir, { recursive: true });
    if (name === 'link') fs.symlinkSync('/etc/hostname', path.join(dir, 'link.bin'));
    for (const t of src.graph!.initializer)
      t.externalData = t.externalData.map((e) =>
        e.key === 'location' ? onnx.StringStringEntryProto.create({ key: 'location', value: location }) : e,
      );
    saveModel(src, path.join(dir, 'model.onnx'));
    await rejectsWith(loadModel(path.join(dir, 'model.onnx')), 'E_PATH_TRAVERSAL', /outside the model's folder/);
  }
});

test('external data shorter than its declared length is named', async () => {
  const dir = path.join(tmp, 'short');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(FIX, 'external', 'model.onnx'), path.join(dir, 'model.onnx'));
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(20));
  await rejectsWith(loadModel(path.join(dir, 'model.onnx')), 'E_EXTERNAL_DATA', /beyond the end of 'weights\.bin'/);
});

test('an operator onnxruntime does not know is reported with its name', async () => {
  const m = await loadModel(path.join(FIX, 'custom-op.onnx'));
  await rejectsWith(
    pool.get('custom', m.proto, 'custom-op.onnx'),
    'E_UNSUPPORTED_OP',
    /does not support operator 'com\.example:FancyOp'/,
  );
});

test('dynamic spatial dims: shapes need a concrete input and then come from a run', async () => {
  const m = await loadModel(path.join(FIX, 'dynamic.onnx'));
  await rejectsWith(tensorShapes(m.proto, pool, 'dyn'), 'E_INPUT_SHAPE', /input 'x' has dynamic dims \[N, 3, H, W\]/);
  const shapes = await tensorShapes(m.proto, pool, 'dyn', { inputShapes: { x: [1, 3, 5, 7] } });
  assert.deepEqual(shapes.get('conv_out'), ['N', 4, 5, 7]);
});

test('graph surgery: prefix ∘ suffix reproduces the model; the prefix holds only what it needs', async () => {
  const z = zooModel();
  const x = randomInput(3, z.inputShape);
  const full = await runSession(
    await pool.get('zoo-full', z.model, 'full'),
    { x: { data: x, dims: [3, 4, 9, 9] } },
    'full',
  );
  const cut = z.names.r1;
  const pre = prefixModel(z.model, [cut]);
  assert.deepEqual(
    pre.graph!.node.map((n) => n.opType),
    ['Conv', 'BatchNormalization', 'Relu'],
  );
  assert.deepEqual(pre.graph!.initializer.map((t) => t.name).sort(), [
    'ba',
    'bn.bias',
    'bn.mean',
    'bn.scale',
    'bn.var',
    'wa',
  ]);
  const shapes = await tensorShapes(z.model, pool, 'zoo', { inputShapes: { x: [1, 4, 9, 9] } });
  const suf = suffixModel(z.model, [cut], new Map([[cut, { elemType: 1, shape: shapes.get(cut)! }]]));
  assert.ok(!suf.graph!.node.some((n) => n.opType === 'BatchNormalization'));
  const mid = await runSession(await pool.get('zoo-pre', pre, 'pre'), { x: { data: x, dims: [3, 4, 9, 9] } }, 'pre');
  const end = await runSession(
    await pool.get('zoo-suf', suf, 'suf'),
    { [cut]: { data: mid[cut].data, dims: mid[cut].dims } },
    'suf',
  );
  assert.ok(R.maxAbsDiff(end.logits.data as Float32Array, full.logits.data as Float32Array) < 1e-6);
  // Exposing keeps the original outputs; a cut that needs an input it was not given says so.
  assert.deepEqual(
    exposeTensors(z.model, [cut]).graph!.output.map((o) => o.name),
    ['logits', cut],
  );
  assert.throws(() => cutGraph(z.model, { inputs: [z.names.cb], outputs: ['logits'] }), /needs graph input 'x'/);
  assert.throws(
    () => prefixModel(z.model, ['/block/relu/Relu_output']),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_UNKNOWN_TENSOR' &&
      /closest: '\/block\/relu\/Relu_output_0'/.test(e.message),
  );
});

test('a decode/encode round trip keeps the model byte-identical', () => {
  const bytes = encodeModel(zooModel().model);
  assert.deepEqual(Buffer.from(encodeModel(decodeModel(bytes, 'zoo'))), Buffer.from(bytes));
});

test('torch.onnx node names map to PyTorch module paths', () => {
  assert.equal(torchModulePath('/layer1/layer1.0/conv1/Conv'), 'layer1.0.conv1');
  assert.equal(torchModulePath('/layer2/layer2.0/downsample/downsample.0/Conv'), 'layer2.0.downsample.0');
  assert.equal(torchModulePath('/features/features.3/Conv'), 'features.3');
  assert.equal(torchModulePath('/layer1/layer1.0/Add'), 'layer1.0');
  assert.equal(torchModulePath('/Flatten'), '');
  assert.equal(torchModulePath('/stem/stem.0/Conv_1'), 'stem.0');
  assert.equal(torchModulePath('Conv_12'), null);
  assert.equal(torchModulePath(''), null);
});

test('execution provider: auto falls back to CPU with the reason; cuda fails with one line without CUDA', async (t) => {
  const { cudaProviderInstalled } = await import('../src/engine/runtime/session');
  const why = cudaProviderInstalled();
  if (!why) {
    t.skip('this machine has the CUDA provider installed');
    return;
  }
  const logs: string[] = [];
  const auto = new SessionPool({ executionProvider: 'auto', log: (l) => logs.push(l) });
  const ms = await auto.get('ep-auto', zooModel().model, 'zoo');
  assert.equal(ms.ep, 'cpu');
  assert.match(logs.join('\n'), /CUDA unavailable \(onnxruntime-node is the CPU build/);
  const cuda = new SessionPool({ executionProvider: 'cuda' });
  await rejectsWith(
    cuda.get('ep-cuda', zooModel().model, 'zoo'),
    'E_EXECUTION_PROVIDER',
    /CUDA execution provider cannot be loaded/,
  );
});
