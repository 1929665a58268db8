import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { saveModel } from '../src/engine/onnx/model';
import { readNpy, writeNpy } from '../src/engine/npy';
import { zooModel, randomInput } from './helpers/models';
import * as R from './helpers/reference';
import { tempDir } from './helpers/tmp';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const FIX = path.join(__dirname, 'fixtures', 'onnx');
const tmp = tempDir('replens-cli-');
const z = zooModel();
const modelPath = path.join(tmp, 'zoo.onnx');
saveModel(z.model, modelPath);
const x = randomInput(3, z.inputShape);
const xPath = path.join(tmp, 'x.npy');
writeNpy(xPath, { shape: [3, 4, 9, 9], data: x });

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, REPLENS_VERBOSE: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function failsWith(r: ReturnType<typeof cli>, code: number, re: RegExp) {
  assert.equal(r.code, code, `exit code; stderr: ${r.err}`);
  assert.match(r.err, re);
  assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
}

test('layers prints a table and --json the node list with name/op/output/shape', () => {
  const t = cli('layers', modelPath);
  assert.equal(t.code, 0, t.err);
  const lines = t.out.split('\n');
  assert.match(lines[0], /^name\s+op\s+output\s+shape\s+params\s+module$/);
  assert.ok(
    lines.some((l) =>
      /^\/block\/conv_a\/Conv\s+Conv\s+\/block\/conv_a\/Conv_output_0\s+batch×6×10×8\s+114\s+block\.conv_a$/.test(l),
    ),
    t.out,
  );
  assert.match(t.out, /\n\n13 nodes, 539 parameters/);
  const j = cli('layers', modelPath, '--json');
  const rows = JSON.parse(j.out);
  assert.equal(rows.length, 13);
  for (const r of rows) for (const k of ['name', 'op', 'output', 'shape']) assert.ok(k in r, k);
  assert.deepEqual(rows.find((r: { op: string }) => r.op === 'Gemm').shape, ['batch', 5]);
});

test('activations writes float32 .npy per tensor with safe names and index.json; values match the reference', () => {
  const out = path.join(tmp, 'acts');
  const r = cli(
    'activations',
    modelPath,
    '--input',
    xPath,
    '--tensors',
    `${z.names.ca},${z.names.cc},logits`,
    '--out-dir',
    out,
    '--batch-size',
    '2',
  );
  assert.equal(r.code, 0, r.err);
  const index = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8'));
  assert.deepEqual(Object.keys(index).sort(), [z.names.ca, z.names.cc, 'logits'].sort());
  const ref = z.reference(x);
  for (const [tensor, file] of Object.entries<string>(index)) {
    assert.match(file, /^[A-Za-z0-9._-]+\.npy$/);
    const a = readNpy(path.join(out, file));
    assert.equal(a.dtype, 'float32');
    assert.deepEqual(a.shape, ref.get(tensor)!.shape);
    assert.ok(R.maxAbsDiff(a.data as Float32Array, ref.get(tensor)!.data) < 1e-4, tensor);
  }
});

test('activations --reduce mean and op: selectors', () => {
  const out = path.join(tmp, 'mean');
  const r = cli(
    'activations',
    modelPath,
    '--input',
    xPath,
    '--tensors',
    'op:Conv',
    '--reduce',
    'mean',
    '--out-dir',
    out,
  );
  assert.equal(r.code, 0, r.err);
  const index = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8'));
  assert.deepEqual(Object.keys(index).sort(), [z.names.ca, z.names.cb, z.names.cs].sort());
  const ref = z.reference(x);
  const a = readNpy(path.join(out, index[z.names.cb]));
  assert.deepEqual(a.shape, [3, 6]);
  assert.ok(R.maxAbsDiff(a.data as Float32Array, R.globalAvg(ref.get(z.names.cb)!).data) < 1e-5);
});

test('bad input: one line naming the cause, non-zero exit', () => {
  failsWith(cli('layers', path.join(FIX, 'notonnx.onnx')), 1, /notonnx\.onnx is not an ONNX model/);
  failsWith(cli('layers', path.join(FIX, 'truncated.onnx')), 1, /truncated or corrupt/);
  failsWith(cli('layers', path.join(tmp, 'missing.onnx')), 1, /missing\.onnx: no such file/);
  failsWith(cli('layers', path.join(FIX, 'traversal', 'model.onnx')), 1, /outside the model's folder; refused/);
  failsWith(cli('layers', path.join(FIX, 'custom-op.onnx')), 1, /does not support operator 'com\.example:FancyOp'/);
  failsWith(
    cli('activations', modelPath, '--input', xPath, '--tensors', '/block/conv_a/Conv_out', '--out-dir', tmp),
    1,
    /unknown tensor '\/block\/conv_a\/Conv_out'; closest: .*'\/block\/conv_a\/Conv_output_0'/,
  );
  const wrongShape = path.join(tmp, 'wrong.npy');
  writeNpy(wrongShape, { shape: [2, 3, 9, 9], data: new Float32Array(2 * 3 * 81) });
  failsWith(
    cli('activations', modelPath, '--input', wrongShape, '--tensors', 'logits', '--out-dir', tmp),
    1,
    /wrong\.npy gives samples of shape \[2, 3, 9, 9\]; model input 'x' takes \[batch, 4, 9, 9\]/,
  );
  const wrongType = path.join(tmp, 'f64.npy');
  writeNpy(wrongType, { shape: [1, 4, 9, 9], data: new Float64Array(324) });
  failsWith(
    cli('activations', modelPath, '--input', wrongType, '--tensors', 'logits', '--out-dir', tmp),
    1,
    /f64\.npy holds float64; model input 'x' takes float32/,
  );
  failsWith(
    cli('activations', modelPath, '--input', xPath, '--tensors', 'logits', '--out-dir', tmp, '--reduce', 'median'),
    2,
    /--reduce 'median' is not one of/,
  );
  failsWith(
    cli(
      'activations',
      modelPath,
      '--input',
      xPath,
      '--tensors',
      'op:Conv',
      '--out-dir',
      tmp,
      '--memory-budget',
      '1',
      '--batch-size',
      '1000',
    ),
    1,
    new RegExp(
      /a batch of 1000 needs 5\.0 MB for its input and 3 captured tensors, over the 1 MB memory budget; /.source +
        /use --batch-size 200 or raise the budget/.source,
    ),
  );
  // Data errors reach the CLI as one line too: a corrupt image (named), labels that do not match the samples.
  const fashion = path.join(ROOT, 'examples', 'fashion-mnist');
  const folder = path.join(tmp, 'images', 'Bag');
  fs.mkdirSync(folder, { recursive: true });
  fs.copyFileSync(
    path.join(fashion, 'images', 'Bag', fs.readdirSync(path.join(fashion, 'images', 'Bag'))[0]),
    path.join(folder, 'good.png'),
  );
  fs.writeFileSync(path.join(folder, 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\nnot really'));
  failsWith(
    cli(
      'activations',
      path.join(fashion, 'model.onnx'),
      '--data',
      path.join(tmp, 'images'),
      '--tensors',
      'logits',
      '--out-dir',
      path.join(tmp, 'img-out'),
    ),
    1,
    /cannot decode .*broken\.png/,
  );
  const labels = path.join(tmp, 'labels.npy');
  writeNpy(labels, { shape: [999], data: new Int32Array(999) });
  failsWith(
    cli(
      'activations',
      path.join(fashion, 'model.onnx'),
      '--data',
      path.join(fashion, 'data', 't10k-images-idx3-ubyte.gz'),
      '--labels',
      labels,
      '--tensors',
      'logits',
      '--out-dir',
      path.join(tmp, 'lab-out'),
    ),
    1,
    /999 .*1000/,
  );
  failsWith(cli('layers', modelPath, '--jsn'), 2, /unknown option '--jsn'; did you mean '--json'/);
  failsWith(cli('layrs', modelPath), 2, /unknown command 'layrs'; did you mean 'layers'/);
});

test('a reader that closes the pipe early (replens layers … | head) ends nothing in a crash', async () => {
  const { spawn } = await import('child_process');
  const child = spawn(process.execPath, [CLI, 'layers', modelPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  // Close our end before anything is written, so every write of the CLI meets a closed pipe (as after `head -1`).
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0, err);
  assert.doesNotMatch(err, /EPIPE|Unhandled/);
});
