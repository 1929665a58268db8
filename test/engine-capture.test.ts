import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zooModel, randomInput } from './helpers/models';
import * as R from './helpers/reference';
import { SessionPool } from '../src/engine/runtime/session';
import { tensorShapes } from '../src/engine/runtime/shapes';
import { planCapture, runCapture } from '../src/engine/capture/capture';
import { parseReduce } from '../src/engine/capture/reduce';
import { arrayDataset } from '../src/engine/data/array';
import { listLayers } from '../src/engine/onnx/layers';

const pool = new SessionPool({ executionProvider: 'cpu' });

async function captureAll(reduce: string, n = 5, batch = 2) {
  const z = zooModel();
  const x = randomInput(n, z.inputShape);
  const shapes = await tensorShapes(z.model, pool, 'zoo', { inputShapes: { x: [1, ...z.inputShape] } });
  const tensors = Object.values(z.names);
  const plan = planCapture(z.model, 'zoo', tensors, parseReduce(reduce), shapes);
  const got = new Map<string, number[]>();
  const dims = new Map<string, number[]>();
  for await (const b of runCapture(plan, pool, arrayDataset(x, [n, ...z.inputShape]).batches(batch))) {
    for (const [name, v] of b.values) {
      got.set(name, [...(got.get(name) ?? []), ...v.data]);
      dims.set(name, v.dims);
    }
  }
  return { z, x, got, dims, shapes, ref: z.reference(x) };
}

test('captured activations match float64 (conv groups/dilation/asym pads, BN, pools, add, concat, gemm)', async () => {
  const { z, got, ref } = await captureAll('none');
  for (const [role, name] of Object.entries(z.names)) {
    const r = ref.get(name)!;
    const g = got.get(name)!;
    assert.equal(g.length, r.data.length, `${role}: element count`);
    const err = R.maxAbsDiff(g, r.data);
    assert.ok(err < 1e-4, `${role} (${name}): max abs diff ${err}`);
  }
});

test('dynamic batch: batches of 2 over 5 samples give a ragged last batch and the same values', async () => {
  const a = await captureAll('none', 5, 2);
  const b = await captureAll('none', 5, 5);
  for (const name of Object.values(a.z.names)) assert.deepEqual(a.got.get(name), b.got.get(name));
});

test('reduce mean / max per channel equal the reference reduced in JS', async () => {
  for (const kind of ['mean', 'max'] as const) {
    const { z, got, ref, dims } = await captureAll(kind);
    for (const name of [z.names.ca, z.names.r2, z.names.cc]) {
      const r = ref.get(name)!;
      const want = kind === 'mean' ? R.globalAvg(r) : R.globalMax(r);
      assert.deepEqual(dims.get(name), [1, r.shape[1]], `${name} reduced dims (last batch of 1)`);
      assert.ok(R.maxAbsDiff(got.get(name)!, want.data) < 1e-5, `${kind} ${name}`);
    }
    // Rank-2 tensors are not reduced.
    assert.equal(got.get('logits')!.length, 5 * 5);
  }
});

test('reduce avgpool:K / maxpool:K are non-overlapping K×K windows (floor), global if K exceeds the map', async () => {
  const { z, got, ref } = await captureAll('avgpool:4');
  const r = ref.get(z.names.r2)!; // 5 x 6 x 10 x 8 → 5 x 6 x 2 x 2
  const want = R.pool('avg', r, { kernel: [4, 4], strides: [4, 4] });
  assert.deepEqual(want.shape, [5, 6, 2, 2]);
  assert.ok(R.maxAbsDiff(got.get(z.names.r2)!, want.data) < 1e-5);
  // conv_s output is 3x2 < 4: falls back to the global mean.
  const cs = ref.get(z.names.cs)!;
  assert.ok(R.maxAbsDiff(got.get(z.names.cs)!, R.globalAvg(cs).data) < 1e-5);
  const m = await captureAll('maxpool:2');
  const want2 = R.pool('max', m.ref.get(m.z.names.r2)!, { kernel: [2, 2], strides: [2, 2] });
  assert.ok(R.maxAbsDiff(m.got.get(m.z.names.r2)!, want2.data) < 1e-6);
});

test('shapes come from onnxruntime inference with the batch symbol; layer listing counts parameters', async () => {
  const z = zooModel();
  const shapes = await tensorShapes(z.model, pool, 'zoo', { inputShapes: { x: [1, 4, 9, 9] } });
  assert.deepEqual(shapes.get(z.names.ca), ['batch', 6, 10, 8]);
  assert.deepEqual(shapes.get(z.names.mp), ['batch', 6, 5, 4]);
  assert.deepEqual(shapes.get(z.names.ap), ['batch', 6, 5, 4]);
  assert.deepEqual(shapes.get('logits'), ['batch', 5]);
  const s = listLayers(z.model, shapes);
  const byName = new Map(s.layers.map((l) => [l.name, l]));
  assert.equal(byName.get('/block/conv_a/Conv')!.params, 6 * 2 * 9 + 6);
  assert.equal(byName.get('/block/bn/BatchNormalization')!.params, 24);
  assert.equal(byName.get('/fc/Gemm')!.params, 25);
  assert.equal(byName.get('/block/conv_a/Conv')!.module, 'block.conv_a');
  assert.equal(s.totalParams, 6 * 18 + 6 + 24 + 6 * 54 + 48 + 4 + 25);
  assert.deepEqual(byName.get('/Concat')!.shape, ['batch', 12, 5, 4]);
});
