// Training: optimizers against torch.optim trajectories (test/fixtures/optim), learning-rate schedules by hand,
// the network builder's two graphs, and end-to-end training of small networks on onnxruntime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import {
  OptimizerState,
  learningRate,
  epochOrder,
  train,
  evaluate,
  type Optimizer,
} from '../src/engine/autodiff/train';
import { buildNet, initState, shallowCnn, type NetSpec } from '../src/engine/autodiff/netbuilder';
import { loadModel } from '../src/engine/onnx/model';
import { runSession, SessionPool } from '../src/engine/runtime/session';
import { rng } from '../src/engine/onnx/builder';
import { ReplensError } from '../src/engine/errors';
import { gradCheck, randomFeed } from './helpers/gradcheck';
import { tempDir } from './helpers/tmp';

const FX = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'optim', 'optim.json'), 'utf8'));
const pool = new SessionPool({ executionProvider: 'cpu' });

test('optimizers match torch.optim trajectories (SGD, momentum + weight decay, Nesterov, Adam, Adam L2, AdamW)', () => {
  const toOpt = (name: string, kw: Record<string, number | number[] | boolean>): Optimizer => {
    if (name.startsWith('sgd'))
      return {
        kind: 'sgd',
        lr: kw.lr as number,
        momentum: kw.momentum as number,
        weightDecay: kw.weight_decay as number,
        nesterov: !!kw.nesterov,
      };
    const betas = (kw.betas as number[] | undefined) ?? [0.9, 0.999];
    return {
      kind: 'adam',
      lr: kw.lr as number,
      beta1: betas[0],
      beta2: betas[1],
      eps: kw.eps as number | undefined,
      weightDecay: kw.weight_decay as number,
      decoupled: name === 'adamw',
    };
  };
  for (const [name, c] of Object.entries<{ kwargs: Record<string, number>; trajectory: number[][] }>(FX.cases)) {
    const w = { data: Float32Array.from(FX.w0 as number[]) };
    const opt = new OptimizerState(toOpt(name, c.kwargs));
    (FX.grads as number[][]).forEach((g, t) => {
      opt.step(new Map([['w', w]]), new Map([['w', g]]), c.kwargs.lr);
      for (let i = 0; i < 4; i++)
        assert.ok(
          Math.abs(w.data[i] - c.trajectory[t][i]) <= 2e-6 * Math.max(1, Math.abs(c.trajectory[t][i])),
          `${name} step ${t + 1} [${i}]: ${w.data[i]} vs torch ${c.trajectory[t][i]}`,
        );
    });
  }
  assert.throws(
    () => new OptimizerState({ kind: 'sgd', lr: 0 }),
    (e: unknown) => e instanceof ReplensError && /learning rate/.test(e.message),
  );
});

test('learning-rate schedules and warm-up; shuffling is a seeded permutation', () => {
  assert.equal(learningRate(0.1, { kind: 'constant' }, 5, 10, 0), 0.1);
  assert.ok(Math.abs(learningRate(0.1, { kind: 'step', everyEpochs: 2, gamma: 0.5 }, 0, 10, 5) - 0.025) < 1e-15);
  assert.ok(Math.abs(learningRate(0.1, { kind: 'cosine' }, 5, 10, 0) - 0.05) < 1e-15);
  assert.ok(Math.abs(learningRate(0.1, { kind: 'cosine', minLr: 0.01 }, 10, 10, 0) - 0.01) < 1e-15);
  assert.ok(Math.abs(learningRate(0.1, { kind: 'constant' }, 1, 10, 0, 4) - 0.05) < 1e-15);
  const o = epochOrder(100, 3, 1);
  assert.deepEqual(
    [...o].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.deepEqual(epochOrder(100, 3, 1), o);
  assert.notDeepEqual(epochOrder(100, 3, 2), o);
});

/** Two classes of 8×8 images: a bright or a dark blob in the top half or the bottom half, plus noise. */
function blobs(n: number, seed: number): { x: Float32Array; labels: Int32Array; n: number } {
  const r = rng(seed);
  const x = new Float32Array(n * 64),
    labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = i % 2;
    labels[i] = y;
    for (let p = 0; p < 64; p++) {
      const row = Math.floor(p / 8);
      x[i * 64 + p] = (r() - 0.5) * 0.6 + ((y === 0 ? row < 4 : row >= 4) ? 1 : 0);
    }
  }
  return { x, labels, n };
}

const tiny = (bn: boolean): NetSpec => ({
  name: bn ? 'tiny_bn' : 'tiny',
  input: [1, 8, 8],
  layers: [
    { kind: 'conv', name: 'conv1', out: 4, kernel: 3, pad: 1, bias: !bn },
    ...(bn ? [{ kind: 'bn' as const, name: 'bn1' }] : []),
    { kind: 'relu', name: 'relu1' },
    {
      kind: 'residual',
      name: 'res',
      body: [
        { kind: 'conv', name: 'res.conv', out: 4, kernel: 3, pad: 1 },
        { kind: 'relu', name: 'res.relu' },
      ],
    },
    { kind: 'maxpool', name: 'pool', kernel: 2 },
    { kind: 'flatten', name: 'flatten' },
    { kind: 'linear', name: 'fc', out: 2 },
  ],
});

test('the train graph (BatchNorm in training form) passes finite differences for every parameter', async () => {
  // No ReLU or max-pooling here: after BatchNorm many values sit near 0, and central differences across a kink
  // are meaningless (those ops have their own checks).
  const spec: NetSpec = {
    name: 'smooth_bn',
    input: [2, 6, 6],
    layers: [
      { kind: 'conv', name: 'conv1', out: 3, kernel: 3, pad: 1, bias: false },
      { kind: 'bn', name: 'bn1' },
      {
        kind: 'residual',
        name: 'res',
        body: [
          { kind: 'conv', name: 'res.conv', out: 3, kernel: 3, pad: 1 },
          { kind: 'bn', name: 'res.bn' },
        ],
      },
      { kind: 'avgpool', name: 'pool', kernel: 2 },
      { kind: 'flatten', name: 'flatten' },
      { kind: 'linear', name: 'fc', out: 3 },
    ],
  };
  const state = initState(spec, 3);
  const net = buildNet(spec, state, { mode: 'train', batch: 4 });
  const x = randomFeed([4, 2, 6, 6], 9);
  const r = await gradCheck(net.model, {
    inputs: { input: x },
    wrt: ['input', ...state.params.keys()],
    coords: 8,
    what: 'bn train graph',
  });
  assert.ok(r.worst < 5e-3, `worst ${r.worst}`);
});

test('training converges on a separable task, with/without BatchNorm; checkpoints are inference models', async () => {
  for (const bn of [false, true]) {
    const spec = tiny(bn);
    const state = initState(spec, 1);
    const data = blobs(256, 5),
      held = blobs(128, 6);
    const dir = tempDir('replens-train-');
    const before = await evaluate(spec, state, held, 'cross-entropy', pool);
    const t = await train(
      spec,
      state,
      data,
      {
        epochs: 3,
        batchSize: 30,
        loss: 'cross-entropy',
        optimizer: { kind: 'adam', lr: 0.01 },
        seed: 2,
        evalData: held,
        checkpointDir: dir,
      },
      pool,
    );
    assert.equal(t.history.length, 3);
    const last = t.history[2];
    assert.ok(
      last.evalAccuracy! >= 0.95,
      `${spec.name}: held-out accuracy ${last.evalAccuracy} (before ${before.accuracy})`,
    );
    assert.ok(last.loss < t.history[0].loss, 'the training loss goes down');
    // The checkpoint is a normal ONNX model: BatchNorm with running statistics, same outputs as evaluate().
    const ck = await loadModel(path.join(dir, 'epoch-3.onnx'));
    assert.equal(
      ck.proto.graph!.node.some((n) => n.opType === 'BatchNormalization'),
      bn,
    );
    const ms = await pool.get(`ck-${bn}`, ck.proto, 'test');
    const out = await runSession(
      ms,
      { input: { data: held.x.subarray(0, 64 * 4), dims: [4, 1, 8, 8], type: 'float32' } },
      'test',
    );
    const ref = buildNet(spec, state, { mode: 'eval' });
    const ms2 = await pool.get(`ref-${bn}`, ref.model, 'test');
    const out2 = await runSession(
      ms2,
      { input: { data: held.x.subarray(0, 64 * 4), dims: [4, 1, 8, 8], type: 'float32' } },
      'test',
    );
    assert.deepEqual(out.logits.data, out2.logits.data);
    // Same seeds, same result.
    const again = initState(spec, 1);
    const t2 = await train(
      spec,
      again,
      data,
      { epochs: 1, batchSize: 30, loss: 'cross-entropy', optimizer: { kind: 'adam', lr: 0.01 }, seed: 2 },
      pool,
    );
    assert.equal(t2.history[0].loss, t.history[0].loss, 'deterministic');
  }
});

test('a diverging run stops with the epoch and step; bad settings are one-line errors', async () => {
  const spec = tiny(false);
  const data = blobs(64, 5);
  data.x[100] = NaN;
  await assert.rejects(
    train(
      spec,
      initState(spec, 1),
      data,
      { epochs: 1, batchSize: 16, loss: 'cross-entropy', optimizer: { kind: 'sgd', lr: 0.1 } },
      pool,
    ),
    (e: unknown) => e instanceof ReplensError && /diverged at epoch 1, step \d+: the objective is NaN/.test(e.message),
  );
  await assert.rejects(
    train(
      spec,
      initState(spec, 1),
      { ...blobs(8, 1), labels: new Int32Array(3) },
      { epochs: 1, batchSize: 4, loss: 'cross-entropy', optimizer: { kind: 'sgd', lr: 0.1 } },
      pool,
    ),
    /one label per sample/,
  );
  assert.throws(
    () => initState({ name: 'bad', input: [1, 8, 8], layers: [{ kind: 'linear', name: 'fc', out: 2 }] }, 1),
    /add a flatten/,
  );
  assert.equal(shallowCnn().layers.filter((l) => l.kind === 'conv').length, 4);
});
