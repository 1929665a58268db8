// `npm run bench`: throughput of a plain onnxruntime inference loop vs. capturing every conv output with
// --reduce mean, on a 10,000-image stream, measured in one run with the two interleaved block by block so the
// shared machine's noise hits both alike. Goal: capture ≥ 0.85× plain inference.
import * as fs from 'fs';
import * as os from 'os';
import { SessionPool, runSession } from '../src/engine/runtime/session';
import { tensorShapes } from '../src/engine/runtime/shapes';
import { planCapture, runCapture } from '../src/engine/capture/capture';
import { parseReduce } from '../src/engine/capture/reduce';
import { arrayDataset } from '../src/engine/data/array';
import { loadModel } from '../src/engine/onnx/model';
import type { ModelProto } from '../src/engine/onnx/proto';
import { feedInputs } from '../src/engine/onnx/graph';
import { rng } from '../src/engine/onnx/builder';
import { resnet20 } from './resnet';
import { benchMetrics } from './metrics';
import { benchGrad } from './grad';
import { benchAnalyze } from './analyze';
import { benchSimilarity } from './similarity';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 10000);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const BLOCK = 1000; // images per interleaved block

async function bench(
  label: string,
  model: ModelProto,
  sampleShape: number[],
  pool: SessionPool,
  images: () => Float32Array,
) {
  const input = feedInputs(model.graph!)[0].name;
  const shapes = await tensorShapes(model, pool, label, { inputShapes: { [input]: [1, ...sampleShape] } });
  const convs = model.graph!.node.filter((n) => n.opType === 'Conv').map((n) => n.output[0]);
  const plan = planCapture(model, label, convs, parseReduce('mean'), shapes);
  const plain = await pool.get(label, model, 'plain');
  const data = images(); // BLOCK images, cycled to make the 10,000-image stream
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const block = arrayDataset(data, [BLOCK, ...sampleShape]);
  const outputs = model.graph!.output.map((o) => o.name);

  const runPlain = async () => {
    for (let s = 0; s < BLOCK; s += BATCH) {
      await runSession(
        plain,
        { [input]: { data: data.subarray(s * per, (s + BATCH) * per), dims: [BATCH, ...sampleShape] } },
        'plain',
        outputs,
      );
    }
  };
  const runCap = async () => {
    let checksum = 0;
    for await (const b of runCapture(plan, pool, block.batches(BATCH))) checksum += b.values.size;
    return checksum;
  };
  await runPlain();
  await runCap(); // warm-up: session creation, allocator arenas
  let tPlain = 0,
    tCap = 0;
  const timed = async (f: () => Promise<unknown>) => {
    const t = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  for (let done = 0, i = 0; done < IMAGES; done += BLOCK, i++) {
    // ABBA order: a slow drift of the machine's load hits both sides alike.
    if (i % 2 === 0) {
      tPlain += await timed(runPlain);
      tCap += await timed(runCap);
    } else {
      tCap += await timed(runCap);
      tPlain += await timed(runPlain);
    }
  }
  const plainRate = IMAGES / tPlain,
    capRate = IMAGES / tCap;
  console.log(`${label}: ${convs.length} conv outputs captured (reduce mean), ${IMAGES} images in batches of ${BATCH}`);
  console.log(`  plain inference : ${plainRate.toFixed(0).padStart(7)} images/s  (${tPlain.toFixed(2)} s)`);
  console.log(`  capture         : ${capRate.toFixed(0).padStart(7)} images/s  (${tCap.toFixed(2)} s)`);
  console.log(`  ratio capture/plain = ${(capRate / plainRate).toFixed(3)}  (goal ≥ 0.85)`);
  return capRate / plainRate;
}

async function main() {
  const mode = process.env.BENCH ?? 'all';
  if (!['capture', 'metrics', 'grad', 'analyze', 'similarity', 'all'].includes(mode))
    throw new Error(`BENCH must be capture, metrics, grad, analyze, similarity or all, not "${mode}"`);
  if (mode === 'capture' || mode === 'all') await benchCapture();
  if (mode === 'metrics' || mode === 'all') await benchMetrics();
  if (mode === 'grad' || mode === 'all') await benchGrad();
  if (mode === 'analyze' || mode === 'all') await benchAnalyze();
  if (mode === 'similarity' || mode === 'all') await benchSimilarity();
}

async function benchCapture() {
  const pool = new SessionPool({ executionProvider: 'cpu' });
  console.log(`RepLens bench — ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), node ${process.version}`);
  const r = rng(5);
  await bench('resnet20 (CIFAR-size, 0.27M params, 3×32×32)', resnet20(), [3, 32, 32], pool, () =>
    Float32Array.from({ length: BLOCK * 3 * 32 * 32 }, () => r() * 2 - 1),
  );
  const fashion = 'examples/fashion-mnist/model.onnx';
  if (fs.existsSync(fashion)) {
    const m = await loadModel(fashion);
    await bench('examples/fashion-mnist/model.onnx (1×28×28)', m.proto, [1, 28, 28], pool, () =>
      Float32Array.from({ length: BLOCK * 28 * 28 }, () => r() * 2 - 1),
    );
  }
  await pool.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
