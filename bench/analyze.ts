// Analyze bench (issue 6, "Performance and scale"): the full `analyze` of the shallow CNN (examples/models) on
// 10,000 Fashion-MNIST test images (Debian's dataset-fashion-mnist; the 1,000 bundled ones when it is missing),
// every analysis but noise-svd, with the time of each phase and its share, and the peak RSS against the memory
// budget. Goal: dominated by the GEMM-bound parts (no single non-GEMM step above 20 %).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyze } from '../src/engine/analyses/analyze';
import { SessionPool } from '../src/engine/runtime/session';
import { saveModel } from '../src/engine/onnx/model';
import { writeNpy } from '../src/engine/npy';
import { rng } from '../src/engine/onnx/builder';
import { resnet18 } from './resnet';

/**
 * BENCH_ANALYZE_MODEL=resnet18-224: the memory budget at ImageNet size — resnet18's topology at 224² (bench/resnet.ts)
 * on BENCH_ANALYZE_SAMPLES (default 200) seeded random images with 10 classes, budget BENCH_ANALYZE_BUDGET_MB
 * (default 2048). Written to a temporary folder first (120 MB of images for 200 samples).
 */
function imagenetCase(samples: number): { model: string; data: string; labels: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-bench-224-'));
  const model = path.join(dir, 'resnet18.onnx'),
    data = path.join(dir, 'x.npy'),
    labels = path.join(dir, 'y.npy');
  saveModel(resnet18(), model);
  const r = rng(224);
  const x = new Float32Array(samples * 3 * 224 * 224);
  for (let i = 0; i < x.length; i++) x[i] = (r() - 0.45) / 0.225;
  writeNpy(data, { shape: [samples, 3, 224, 224], data: x });
  writeNpy(labels, { shape: [samples], data: Int32Array.from({ length: samples }, (_, i) => i % 10) });
  return { model, data, labels, dir };
}

/** The kernel's peak RSS of this process (VmHWM), which also sees peaks between timer ticks; null off Linux. */
function peakRssKernel(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export async function benchAnalyze(): Promise<void> {
  // BENCH_ANALYZE_SPLIT=train reads the 60,000 training images (the memory-budget run); BENCH_ANALYZE_LAYERS a list.
  const imagenet = process.env.BENCH_ANALYZE_MODEL === 'resnet18-224';
  const split = process.env.BENCH_ANALYZE_SPLIT === 'train' ? 'train' : 't10k';
  const full = `/usr/share/datasets/fashion-mnist/${split}-images-idx3-ubyte.gz`;
  const samples = Number(process.env.BENCH_ANALYZE_SAMPLES ?? (imagenet ? 200 : 10000));
  const budgetMB = Number(process.env.BENCH_ANALYZE_BUDGET_MB ?? (imagenet ? 2048 : 6144));
  const big = imagenet ? imagenetCase(samples) : null;
  const data =
    big?.data ??
    (fs.existsSync(full) ? full : path.join('examples', 'fashion-mnist', 'data', 't10k-images-idx3-ubyte.gz'));
  const model = big?.model ?? path.join('examples', 'models', 'shallow_cnn.onnx');
  const pool = new SessionPool({ executionProvider: 'cpu' });
  console.log(
    `\nRepLens analyze bench — ${os.cpus().length} cores; ${model} on ${data} (${samples} samples), ` +
      `memory budget ${budgetMB} MB`,
  );
  let peak = process.memoryUsage().rss;
  const rss0 = peak;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = Date.now();
  try {
    const r = await analyze(
      {
        modelPath: model,
        data: { path: data, labels: big?.labels ?? data.replace('images-idx3', 'labels-idx1') },
        configPath: big ? undefined : path.join('examples', 'fashion-mnist', 'replens.json'),
        analyses: ['summary', 'rra', 'similarity', 'selectivity'],
        samples,
        noCache: true,
        memoryBudgetMB: budgetMB,
        layers: process.env.BENCH_ANALYZE_LAYERS?.split(','),
        // The memory plan (capture/memory.ts): what is fixed, what a batch takes, what the stores get.
        log: (line) => {
          if (/^memory:|^batch size/.test(line)) console.log(`  ${line}`);
        },
      },
      pool,
    );
    const total = (Date.now() - t0) / 1000;
    const hwm = peakRssKernel();
    const bytes = r.layers.reduce((a, l) => a + l.shape.reduce((x, y) => x * y, 1), 0) * 4 * r.dataset.samples;
    const gb = (bytes / 2 ** 30).toFixed(2);
    console.log(
      `  ${r.dataset.samples} samples, ${r.layers.length} layers (${gb} GB of float32 activations), ` +
        `k = ${r.analyses.rra?.k}; total ${total.toFixed(1)} s`,
    );
    const mb = (b: number) => (b / 2 ** 20).toFixed(0);
    console.log(
      `  peak RSS ${mb(hwm ?? peak)} MB (${hwm ? 'kernel VmHWM' : 'sampled'}; ${mb(rss0)} MB before the run) ` +
        `against the ${budgetMB} MB budget`,
    );
    const rows = Object.entries(r.timings).filter(([k]) => k !== 'total');
    for (const [k, v] of rows)
      console.log(`  ${k.padEnd(44)} ${v.toFixed(1).padStart(8)} s  ${((100 * v) / total).toFixed(1).padStart(5)} %`);
    const knn = r.timings['rra: kNN graphs'] ?? 0,
      grams = r.timings['similarity: CKA Grams'] ?? 0,
      cap = r.timings['capture (onnxruntime inference + stores)'] ?? 0;
    const bound = knn + grams + cap;
    console.log(
      `  GEMM-bound (ORT inference + kNN graphs + CKA Grams): ${((100 * bound) / total).toFixed(1)} %; ` +
        `the rest: ${(100 * (1 - bound / total)).toFixed(1)} %`,
    );
  } finally {
    clearInterval(timer);
    await pool.dispose();
    if (big) fs.rmSync(big.dir, { recursive: true, force: true });
  }
}
