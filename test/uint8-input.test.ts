// Issue 13: a model whose input is uint8 (normalisation inside the model) is fed pixel values in its own type; a
// normalisation configured for it is refused with the setting that fixes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GraphBuilder } from '../src/engine/onnx/builder';
import { onnx } from '../src/engine/onnx/proto';
import { saveModel } from '../src/engine/onnx/model';
import { readNpy } from '../src/engine/npy';
import { SessionPool, runSession } from '../src/engine/runtime/session';
import { runActivationsJob } from '../src/engine/capture/activations';
import { idxValues, readIdx } from '../src/engine/data/idx';

const pool = new SessionPool({ executionProvider: 'cpu' });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-uint8-'));
test.after(async () => {
  await pool.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});
const IMAGES = path.join(__dirname, '..', 'examples', 'fashion-mnist', 'data', 't10k-images-idx3-ubyte.gz');
const ctx = (log: string[] = []) => ({
  signal: new AbortController().signal,
  progress: () => undefined,
  partial: () => undefined,
  log: (l: string) => {
    log.push(l);
  },
});

/** x uint8 [N,1,28,28] → Cast → Div 255 → Conv → Relu (as exporters write a model that takes raw pixels). */
function model(batch: number | string): string {
  const g = new GraphBuilder('uint8-in', 13, 9);
  g.input('x', [batch, 1, 28, 28], onnx.TensorProto.DataType.UINT8);
  const f = g.node('Cast', ['x'], { to: onnx.TensorProto.DataType.FLOAT }, { name: '/cast/Cast' });
  const s = g.node('Div', [f, g.init('k255', [], [255])], {}, { name: '/scale/Div' });
  const c = g.node(
    'Conv',
    [s, g.randomInit('w', [3, 1, 3, 3]), g.randomInit('b', [3])],
    { pads: [1, 1, 1, 1] },
    { name: '/conv/Conv' },
  );
  g.node('Relu', [c], {}, { name: '/relu/Relu', outputs: ['y'] });
  g.output('y', [batch, 3, 28, 28]);
  const file = path.join(tmp, `uint8-${batch}.onnx`);
  saveModel(g.build(), file);
  return file;
}

test('a uint8 input gets uint8 pixel values, dynamic or fixed batch; activations match a direct run', async () => {
  const n = 5;
  const pixels = Uint8Array.from(idxValues(readIdx(IMAGES), 0, n * 784) as ArrayLike<number>);
  // Away from the example's replens.json, which normalises for its float model.
  const images = path.join(tmp, 'plain', 'images-idx3-ubyte.gz');
  fs.mkdirSync(path.dirname(images));
  fs.copyFileSync(IMAGES, images);
  for (const batch of ['N', 1] as const) {
    const file = model(batch);
    const out = path.join(tmp, `out-${batch}`);
    const res = await runActivationsJob(
      {
        kind: 'activations',
        modelPath: file,
        tensors: ['y'],
        reduce: 'none',
        outDir: out,
        data: { path: images, limit: n },
      },
      pool,
      ctx(),
    );
    const got = readNpy(path.join(out, res.files.y)).data as Float32Array;
    const ms = await pool.get(`${file}#ref`, fs.readFileSync(file), 'ref');
    const rows: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = await runSession(
        ms,
        { x: { data: pixels.subarray(i * 784, (i + 1) * 784), dims: [1, 1, 28, 28], type: 'uint8' } },
        'ref',
      );
      rows.push(...(r.y.data as Float32Array));
    }
    assert.equal(got.length, rows.length);
    let err = 0;
    for (let i = 0; i < rows.length; i++) err = Math.max(err, Math.abs(got[i] - rows[i]));
    assert.ok(err < 1e-6, `batch ${batch}: max error ${err}`);
  }
});

test('a normalisation configured for a uint8 model is refused, naming the settings that fix it', async () => {
  const dir = path.join(tmp, 'cfg');
  fs.mkdirSync(dir);
  fs.copyFileSync(IMAGES, path.join(dir, 'images-idx3-ubyte.gz'));
  fs.writeFileSync(path.join(dir, 'replens.json'), JSON.stringify({ preprocess: { mean: [0.286], std: [0.353] } }));
  fs.mkdirSync(path.join(dir, '.git'));
  await assert.rejects(
    runActivationsJob(
      {
        kind: 'activations',
        modelPath: model('N'),
        tensors: ['y'],
        reduce: 'none',
        outDir: path.join(tmp, 'out-cfg'),
        data: { path: path.join(dir, 'images-idx3-ubyte.gz'), limit: 3 },
      },
      pool,
      ctx(),
    ),
    (e: Error & { code?: string }) =>
      e.code === 'E_INPUT_DTYPE' &&
      /takes uint8 pixel values.*remove preprocess\.mean and preprocess\.std and set preprocess\.scale to 1/.test(
        e.message,
      ),
  );
});
