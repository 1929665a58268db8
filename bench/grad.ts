// Gradient and training bench (issue 5, "Performance"): for the shallow CNN (the trained example model when
// present, else freshly initialised weights of the same architecture) at batch 64, in one run with the three
// interleaved (ABC, CBA, …) so the shared machine's drift hits all alike:
//   forward      one plain inference session run
//   gradient     forward + input gradient of the layer-4 IAM objective (one session run of the gradient model)
//   train step   forward + loss + backward for all parameters (one run) + the Adam update in JS
// Ratios gradient/forward (goal ≤ 3) and train-step/forward (goal ≤ 4); training throughput in images/s.
import * as fs from 'fs';
import { SessionPool, runSession, type Feed } from '../src/engine/runtime/session';
import { buildGradientModel, runGradient } from '../src/engine/autodiff/gradient';
import { LABELS_INPUT } from '../src/engine/autodiff/objective';
import { buildNet, initState, shallowCnn, type NetSpec, type NetState } from '../src/engine/autodiff/netbuilder';
import { OptimizerState } from '../src/engine/autodiff/train';
import { loadModel } from '../src/engine/onnx/model';
import { rng } from '../src/engine/onnx/builder';
import type { ModelProto } from '../src/engine/onnx/proto';

const BATCH = 64;
const ROUNDS = Number(process.env.BENCH_GRAD_ROUNDS ?? 20);

async function variant(label: string, spec: NetSpec, state: NetState, inference: ModelProto, pool: SessionPool) {
  const r = rng(7);
  const x: Feed = {
    data: Float32Array.from({ length: BATCH * 28 * 28 }, () => r() * 2 - 1),
    dims: [BATCH, 1, 28, 28],
    type: 'float32',
  };
  const labels: Feed = {
    data: BigInt64Array.from({ length: BATCH }, (_, i) => BigInt(i % 10)),
    dims: [BATCH],
    type: 'int64',
  };
  const input = inference.graph!.input[0].name;
  // Layer 4 = the fourth conv's ReLU output; IAM over its channels, one sample per target channel (cycled).
  const relu4 = inference.graph!.node.filter((n) => n.opType === 'Relu')[3].output[0];
  const fwd = await pool.get(`${label}:fwd`, inference, 'forward');
  const outputs = inference.graph!.output.map((o) => o.name);
  const C = state.params.get('conv4.weight')!.dims[0];
  const iam = await buildGradientModel(
    inference,
    {
      objective: { kind: 'iam', tensor: relu4, channels: Array.from({ length: BATCH }, (_, i) => i % C) },
      wrt: [input],
      perSample: true,
    },
    { [input]: x },
    pool,
    `${label}:iam`,
  );
  const net = buildNet(spec, state, { mode: 'train', batch: BATCH });
  const names = [...state.params.keys()];
  const tg = await buildGradientModel(
    net.model,
    {
      objective: { kind: 'cross-entropy', tensor: net.output },
      wrt: names,
      extraOutputs: [...net.batchStats.values()].flatMap((s) => [s.mean, s.var]),
    },
    { [net.input]: x },
    pool,
    `${label}:train`,
  );
  const opt = new OptimizerState({ kind: 'adam', lr: 1e-4 });
  const runFwd = () => runSession(fwd, { [input]: x }, 'forward', outputs);
  const runIam = () => runGradient(iam, pool, `${label}:iam#g`, { [input]: x });
  const runTrain = async () => {
    const feeds: Record<string, Feed> = { [net.input]: x, [LABELS_INPUT]: labels };
    for (const n of names) {
      const p = state.params.get(n)!;
      feeds[n] = { data: p.data, dims: p.dims, type: 'float32' };
    }
    const res = await runGradient(tg, pool, `${label}:train#g`, feeds);
    opt.step(state.params, new Map([...res.gradients].map(([k, v]) => [k, v.data as Float32Array])), 1e-4);
  };
  for (const f of [runFwd, runIam, runTrain]) {
    await f();
    await f();
  } // warm-up
  const t = [0, 0, 0];
  const fs3 = [runFwd, runIam, runTrain];
  const timed = async (i: number) => {
    const t0 = process.hrtime.bigint();
    await fs3[i]();
    t[i] += Number(process.hrtime.bigint() - t0) / 1e9;
  };
  for (let k = 0; k < ROUNDS; k++) {
    const order = k % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
    for (const i of order) await timed(i);
  }
  const [f, g, s] = t.map((v) => v / ROUNDS);
  console.log(
    `${label}: batch ${BATCH}, ${ROUNDS} interleaved rounds; ` +
      `backward graph ${iam.proto.graph!.node.length} nodes (IAM), ${tg.proto.graph!.node.length} nodes (train)`,
  );
  console.log(`  forward                 ${(f * 1000).toFixed(1).padStart(8)} ms`);
  const ms = (v: number) => `${(v * 1000).toFixed(1).padStart(8)} ms`;
  console.log(`  forward + input grad    ${ms(g)}   ratio ${(g / f).toFixed(2)}  (goal ≤ 3, layer-4 IAM objective)`);
  console.log(
    `  train step (Adam)       ${ms(s)}   ratio ${(s / f).toFixed(2)}  (goal ≤ 4)   ${(BATCH / s).toFixed(0)} images/s`,
  );
}

export async function benchGrad(): Promise<void> {
  const pool = new SessionPool({ executionProvider: 'cpu' });
  console.log('\nRepLens gradient bench — onnxruntime CPU, one run');
  for (const bn of [false, true]) {
    const spec = shallowCnn({ batchNorm: bn });
    const file = `examples/models/${spec.name}.onnx`;
    const state = initState(spec, 1);
    const inference = fs.existsSync(file)
      ? (await loadModel(file)).proto
      : buildNet(spec, state, { mode: 'eval' }).model;
    await variant(
      `${spec.name}${fs.existsSync(file) ? ` (${file})` : ' (untrained weights)'}`,
      spec,
      state,
      inference,
      pool,
    );
  }
  await pool.dispose();
}
