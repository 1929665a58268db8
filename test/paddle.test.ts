// Issue 13: a model from another exporter (paddle2onnx): weights stored as Constant nodes are parameters, Constant
// rows stay out of the listing, and `analyze` runs on it with the default layers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { loadModel } from '../src/engine/onnx/model';
import { listLayers } from '../src/engine/onnx/layers';
import { elementCount } from '../src/engine/onnx/tensor';
import { writeNpy } from '../src/engine/npy';
import { analyze } from '../src/engine/analyses/analyze';
import { SessionPool } from '../src/engine/runtime/session';
import { tempDir } from './helpers/tmp';

const MODEL = path.join(__dirname, 'fixtures', 'onnx', 'paddle', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const pool = new SessionPool({ executionProvider: 'cpu' });
test.after(() => pool.dispose());

test('PaddleOCR classifier: Constant weights are counted by what ops read; Constant rows are not listed', async () => {
  const { proto } = await loadModel(MODEL);
  const g = proto.graph!;
  assert.equal(g.initializer.length, 0, 'every weight is a Constant node');
  // Independent count: the weight inputs of the parameterised ops, by each op's signature.
  const constants = new Map(g.node.filter((n) => n.opType === 'Constant').map((n) => [n.output[0], n.attribute[0].t!]));
  const weightInputs: Record<string, number[]> = {
    Conv: [1, 2],
    BatchNormalization: [1, 2, 3, 4],
    MatMul: [1],
    Add: [0, 1],
  };
  const counted = new Set<string>();
  let expected = 0;
  for (const n of g.node) {
    for (const k of weightInputs[n.opType] ?? []) {
      const name = n.input[k];
      const t = constants.get(name);
      if (!t || counted.has(name) || elementCount(t) <= 1) continue;
      counted.add(name);
      expected += elementCount(t);
    }
  }
  const s = listLayers(proto);
  assert.equal(s.totalParams, expected);
  assert.equal(s.totalParams, 133628);
  assert.equal(s.layers.length, g.node.length - constants.size);
  assert.ok(!s.layers.some((l) => l.op === 'Constant'));
  assert.equal(listLayers(proto, undefined, { constants: true }).layers.length, g.node.length);
  assert.equal(
    s.layers.find((l) => l.op === 'Conv')!.params,
    3 * 3 * 3 * 8,
    'the first conv: 8 filters of 3×3×3, no bias',
  );
});

test('PaddleOCR classifier: analyze runs with the default layers (main-path outputs, not the SE gates)', async () => {
  const dir = tempDir('replens-paddle-');
  const n = 40;
  const x = new Float32Array(n * 3 * 48 * 192).map((_, i) => Math.sin(i * 12.9898) * 0.5);
  writeNpy(path.join(dir, 'x.npy'), { shape: [n, 3, 48, 192], data: x });
  writeNpy(path.join(dir, 'y.npy'), { shape: [n], data: Int32Array.from({ length: n }, (_, i) => i % 2) });
  const r = await analyze(
    {
      modelPath: MODEL,
      data: { path: path.join(dir, 'x.npy'), labels: path.join(dir, 'y.npy') },
      analyses: ['summary', 'rra'],
      noCache: true,
      cacheDir: path.join(dir, 'cache'),
    },
    pool,
  );
  assert.equal(r.complete, true);
  assert.equal(r.layers.length, 15);
  assert.deepEqual([...new Set(r.layers.map((l) => l.op))].sort(), [
    'Add',
    'GlobalAveragePool',
    'MaxPool',
    'Relu',
    'Softmax',
  ]);
  assert.equal(
    r.analyses.rra!.perLayer.filter((l) => l.id?.twonn !== null && l.id?.twonn !== undefined).length >= 10,
    true,
  );
});
