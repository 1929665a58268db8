// The gradient builder's core: objectives against closed forms, the path (only what the objective needs),
// finite differences through pass-through ops, promoted initializers, and the one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../src/engine/onnx/builder';
import { onnx } from '../src/engine/onnx/proto';
import { buildGradientModel, runGradient } from '../src/engine/autodiff/gradient';
import { LABELS_INPUT, TARGET_INPUT } from '../src/engine/autodiff/objective';
import { ReplensError } from '../src/engine/errors';
import { gradCheck, gradPool, randomFeed } from './helpers/gradcheck';
import type { Feed } from '../src/engine/runtime/session';

const D = onnx.TensorProto.DataType.DOUBLE;

/** x (N, C, H, W) → Identity → y */
function identityModel(dims: number[], type = D) {
  const b = new GraphBuilder('id', 13);
  b.input('x', dims, type);
  b.node('Identity', ['x'], {}, { outputs: ['y'] });
  b.output('y', null, type);
  return b.build();
}

let k = 0;
async function grad(
  model: ReturnType<typeof identityModel>,
  spec: Parameters<typeof buildGradientModel>[1],
  feeds: Record<string, Feed>,
) {
  const key = `core-${k++}`;
  const gm = await buildGradientModel(model, spec, { x: feeds.x }, gradPool, key);
  return runGradient(gm, gradPool, `${key}#g`, feeds);
}

test('channel objective: value and gradient are the channel mask (sum and mean, scalar and per sample)', async () => {
  const x = randomFeed([2, 3, 2, 2], 1, 'float64');
  const m = identityModel([2, 3, 2, 2]);
  const r = await grad(m, { objective: { kind: 'channel', tensor: 'y', channel: 1 }, wrt: ['x'] }, { x });
  const xs = x.data as Float64Array;
  let want = 0;
  for (let n = 0; n < 2; n++) for (let s = 0; s < 4; s++) want += xs[n * 12 + 4 + s];
  assert.ok(Math.abs(Number(r.objective.data[0]) - want) < 1e-12);
  assert.deepEqual(r.objective.dims, []);
  const g = r.gradients.get('x')!.data;
  for (let i = 0; i < 24; i++) assert.equal(g[i], Math.floor(i / 4) % 3 === 1 ? 1 : 0);
  const mean = await grad(
    m,
    { objective: { kind: 'channel', tensor: 'y', channel: 2, reduce: 'mean' }, wrt: ['x'], perSample: true },
    { x },
  );
  assert.deepEqual(mean.objective.dims, [2]);
  for (let n = 0; n < 2; n++) {
    let s = 0;
    for (let t = 0; t < 4; t++) s += xs[n * 12 + 8 + t];
    assert.ok(Math.abs(Number(mean.objective.data[n]) - s / 4) < 1e-12);
  }
  assert.equal(mean.gradients.get('x')!.data[8], 0.25);
});

test('IAM objective: row r maximises channel r against the mean of the others (h = spatial mean)', async () => {
  const C = 3,
    HW = 4;
  const x = randomFeed([C, C, 2, 2], 2, 'float64');
  const r = await grad(
    identityModel([C, C, 2, 2]),
    { objective: { kind: 'iam', tensor: 'y' }, wrt: ['x'], perSample: true },
    { x },
  );
  const xs = x.data as Float64Array;
  for (let row = 0; row < C; row++) {
    const h = Array.from({ length: C }, (_, j) => {
      let s = 0;
      for (let t = 0; t < HW; t++) s += xs[(row * C + j) * HW + t];
      return s / HW;
    });
    const want = h[row] - h.filter((_, j) => j !== row).reduce((a, b) => a + b, 0) / C;
    assert.ok(Math.abs(Number(r.objective.data[row]) - want) < 1e-12, `row ${row}`);
    for (let j = 0; j < C; j++)
      assert.ok(
        Math.abs(Number(r.gradients.get('x')!.data[(row * C + j) * HW]) - (j === row ? 1 : -1 / C) / HW) < 1e-15,
      );
  }
});

test('MSE and cross-entropy objectives: closed-form values and gradients', async () => {
  const x = randomFeed([4, 5], 3, 'float64');
  const t = randomFeed([4, 5], 4, 'float64');
  const m = identityModel([4, 5]);
  const r = await grad(m, { objective: { kind: 'mse', tensor: 'y' }, wrt: ['x'] }, { x, [TARGET_INPUT]: t });
  const xs = x.data as Float64Array,
    ts = t.data as Float64Array;
  const mse = xs.reduce((s, v, i) => s + (v - ts[i]) ** 2, 0) / 20;
  assert.ok(Math.abs(Number(r.objective.data[0]) - mse) < 1e-14);
  for (let i = 0; i < 20; i++)
    assert.ok(Math.abs(Number(r.gradients.get('x')!.data[i]) - (2 * (xs[i] - ts[i])) / 20) < 1e-15);
  const labels: Feed = { data: BigInt64Array.from([0n, 4n, 2n, 2n]), dims: [4], type: 'int64' };
  const ce = await grad(
    m,
    { objective: { kind: 'cross-entropy', tensor: 'y' }, wrt: ['x'] },
    { x, [LABELS_INPUT]: labels },
  );
  let want = 0;
  const g = ce.gradients.get('x')!.data as Float64Array;
  for (let n = 0; n < 4; n++) {
    const row = Array.from(xs.subarray(n * 5, n * 5 + 5));
    const mx = Math.max(...row),
      z = row.reduce((s, v) => s + Math.exp(v - mx), 0);
    const y = Number(labels.data[n]);
    want += -(row[y] - mx - Math.log(z)) / 4;
    for (let c = 0; c < 5; c++)
      assert.ok(Math.abs(g[n * 5 + c] - (Math.exp(row[c] - mx) / z - (c === y ? 1 : 0)) / 4) < 1e-15);
  }
  assert.ok(Math.abs(Number(ce.objective.data[0]) - want) < 1e-14);
});

test('weighted objectives add their terms; Relu and Dropout pass finite differences in float64, float32', async () => {
  const b = new GraphBuilder('relu', 13);
  b.input('x', [3, 7], D);
  const r1 = b.node('Relu', ['x']);
  b.node('Dropout', [r1], {}, { outputs: ['y'] });
  b.output('y', null, D);
  const model = b.build();
  // Values away from the kink at 0, so central differences do not straddle it.
  const x = randomFeed([3, 7], 5, 'float64', 0.05, 1);
  const xd = x.data as Float64Array;
  for (let i = 0; i < xd.length; i += 2) xd[i] = -xd[i];
  const res = await gradCheck(model, { inputs: { x }, wrt: ['x'], what: 'relu f64' });
  assert.ok(res.worst < 1e-8, `worst ${res.worst}`);
  const g = res.grads.get('x')!;
  for (let i = 0; i < xd.length; i += 2) assert.ok(g[i] === 0, 'negative inputs get no gradient');
  const b32 = new GraphBuilder('relu32', 13);
  b32.input('x', [3, 7]);
  b32.node('Relu', ['x'], {}, { outputs: ['y'] });
  b32.output('y');
  const x32: Feed = { ...x, data: Float32Array.from(xd), type: 'float32' };
  const r32 = await gradCheck(b32.build(), { inputs: { x: x32 }, wrt: ['x'], what: 'relu f32' });
  assert.ok(r32.worst < 1e-3, `float32 worst ${r32.worst}`);
  const w = await grad(
    model,
    {
      objective: {
        kind: 'weighted',
        terms: [
          { weight: 2, objective: { kind: 'channel', tensor: 'y', channel: 1 } },
          { weight: -1, objective: { kind: 'channel', tensor: 'y', channel: 1, reduce: 'mean' } },
        ],
      },
      wrt: ['x'],
    },
    { x },
  );
  const want = Array.from({ length: 3 }, (_, n) => Math.max(0, xd[n * 7 + 1])).reduce((a, v) => a + v, 0) * (2 - 1 / 3);
  assert.ok(Math.abs(Number(w.objective.data[0]) - want) < 1e-12);
  assert.ok(Math.abs(Number(w.gradients.get('x')!.data[1]) - (xd[1] > 0 ? 2 - 1 / 3 : 0)) < 1e-15);
});

test('initializers are promoted to inputs; a layer-3 objective never touches layers 4+', async () => {
  const g = new GraphBuilder('chain', 13);
  g.input('x', [2, 4], D);
  const l1 = g.node('Relu', ['x'], {}, { name: 'l1', outputs: ['h1'] });
  const l2 = g.node('Identity', [l1], {}, { name: 'l2', outputs: ['h2'] });
  const l3 = g.node('Relu', [l2], {}, { name: 'l3', outputs: ['h3'] });
  g.node('Softsign', [l3], {}, { name: 'l4', outputs: ['y'] }); // no gradient rule: must not matter for h2
  g.output('y', null, D);
  const m = g.build();
  const x = randomFeed([2, 4], 6, 'float64', 0.1, 1);
  const gm = await buildGradientModel(
    m,
    { objective: { kind: 'channel', tensor: 'h2', channel: 0 }, wrt: ['x'] },
    { x },
    gradPool,
    'chain',
  );
  assert.equal(gm.pathNodes, 2);
  assert.ok(!gm.proto.graph!.node.some((n) => n.name === 'l3' || n.name === 'l4'), 'later layers are cut');
  await assert.rejects(
    buildGradientModel(
      m,
      { objective: { kind: 'channel', tensor: 'y', channel: 0 }, wrt: ['x'] },
      { x },
      gradPool,
      'chain2',
    ),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_UNSUPPORTED_OP' &&
      /no gradient rule for node 'l4' \(op Softsign\)/.test(e.message) &&
      !e.message.includes('\n'),
  );
});

test('bad requests are one-line errors', async () => {
  const m = identityModel([2, 3]);
  const x = randomFeed([2, 3], 7, 'float64');
  const err =
    (re: RegExp, code = 'E_ARGUMENT') =>
    (e: unknown) =>
      e instanceof ReplensError && e.code === code && re.test(e.message) && !e.message.includes('\n');
  await assert.rejects(
    buildGradientModel(
      m,
      { objective: { kind: 'channel', tensor: 'yy', channel: 0 }, wrt: ['x'] },
      { x },
      gradPool,
      'bad1',
    ),
    err(/yy/, 'E_UNKNOWN_TENSOR'),
  );
  await assert.rejects(
    buildGradientModel(
      m,
      { objective: { kind: 'channel', tensor: 'y', channel: 0 }, wrt: ['xx'] },
      { x },
      gradPool,
      'bad2',
    ),
    err(/'xx'.*did you mean 'x'/, 'E_UNKNOWN_TENSOR'),
  );
  await assert.rejects(
    buildGradientModel(
      m,
      { objective: { kind: 'channel', tensor: 'y', channel: 3 }, wrt: ['x'] },
      { x },
      gradPool,
      'bad3',
    ),
    err(/channel 3 is out of range: 'y' has 3 channels/),
  );
  await assert.rejects(
    buildGradientModel(
      m,
      { objective: { kind: 'iam', tensor: 'y', channels: [0] }, wrt: ['x'] },
      { x },
      gradPool,
      'bad4',
    ),
    err(/1 target channels for a batch of 2/),
  );
  // An objective on a tensor that does not depend on the differentiated input.
  const b = new GraphBuilder('two', 13);
  b.input('x', [2, 3], D);
  b.input('z', [2, 3], D);
  b.node('Identity', ['z'], {}, { outputs: ['y'] });
  b.output('y', null, D);
  await assert.rejects(
    buildGradientModel(
      b.build(),
      { objective: { kind: 'channel', tensor: 'y', channel: 0 }, wrt: ['x'] },
      { x, z: x },
      gradPool,
      'bad5',
    ),
    err(/'y' does not depend on 'x'/),
  );
  // NaN in the loss stops with the cause.
  const nan = randomFeed([2, 3], 8, 'float64');
  (nan.data as Float64Array)[4] = NaN;
  const gm = await buildGradientModel(
    m,
    { objective: { kind: 'mse', tensor: 'y' }, wrt: ['x'] },
    { x },
    gradPool,
    'bad6',
  );
  await assert.rejects(
    runGradient(gm, gradPool, 'bad6#g', { x, [TARGET_INPUT]: nan }),
    err(/objective is NaN/, 'E_RUNTIME'),
  );
});
