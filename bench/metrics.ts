// Metric benchmarks (issue 4, "Performance and scale"): each heavy metric's wall time next to one plain GEMM of the
// same shape through src/engine/linalg/gemm.ts (float64 and float32), measured in the same run, plus the peak RSS
// growth while the metric runs, and (when /usr/bin/python3 has numpy) the same data through straightforward numpy
// implementations (scripts/bench_numpy.py) run afterwards in a child process.
//
// Shapes: linear CKA n = 5,000, p = 4,096 (GEMM X·Xᵀ 5000×4096·4096×5000); kNN graph N = 10,000, D = 2,048, k = 10
// (GEMM X·Xᵀ 10000×2048·2048×10000); SVCCA p = 1,024, n = 10,000 (GEMM Xᵀ·X 1024×10000·10000×1024).
// Env: BENCH_METRIC_SCALE (default 1) shrinks the sample counts for a quick smoke run.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { spawnSync } from 'child_process';
import { gemm, linalgPool, type Mat } from '../src/engine/linalg/gemm';
import { linearCKA, minibatchCKA } from '../src/engine/metrics/cka';
import { knnWithDistances } from '../src/engine/metrics/knn';
import { svcca, svccaPathCounts } from '../src/engine/metrics/cca';
import { rng } from '../src/engine/onnx/builder';
import { readNpy, writeNpy } from '../src/engine/npy';
import { centerColumns } from '../src/engine/metrics/center';
import { symEigAsync } from '../src/engine/linalg/eig';

const SCALE = Number(process.env.BENCH_METRIC_SCALE ?? 1);

// ---------------------------------------------------------------------------------------------------------------
// Helpers: gc, timing, RSS sampling, data

v8.setFlagsFromString('--expose-gc');
const gc: () => void = (() => {
  try {
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return () => undefined;
  }
})();

const now = () => Number(process.hrtime.bigint()) / 1e9;

/** Runs f, sampling RSS every 5 ms (the event loop only gets to sample while ORT works off-thread). */
async function measured<T>(f: () => Promise<T>): Promise<{ value: T; seconds: number; rssGrowth: number }> {
  gc();
  gc();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => {
    const r = process.memoryUsage().rss;
    if (r > peak) peak = r;
  }, 5);
  const t0 = now();
  try {
    const value = await f();
    const seconds = now() - t0;
    const r = process.memoryUsage().rss;
    if (r > peak) peak = r;
    return { value, seconds, rssGrowth: peak - rss0 };
  } finally {
    clearInterval(timer);
  }
}

async function timeGemm<T extends Float64Array | Float32Array>(
  a: Mat<T>,
  opts: { transA?: boolean; transB?: boolean },
): Promise<number> {
  gc();
  const t0 = now();
  const c = await gemm(a, a, opts);
  const s = now() - t0;
  if (c.data.length === 0) throw new Error('empty product');
  return s;
}

function normals(r: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = r();
    while (u === 0) u = r();
    const v = r(),
      m = Math.sqrt(-2 * Math.log(u));
    spare = m * Math.sin(2 * Math.PI * v);
    return m * Math.cos(2 * Math.PI * v);
  };
}

function randn(g: () => number, len: number, scale = 1): Float64Array {
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) out[i] = g() * scale;
  return out;
}

/**
 * Activation-like data: ReLU(Z·W + noise·E + bias), Z n×rank standard normal latents, W rank×p with N(0, 1/rank)
 * entries (unit-variance signal per feature), E standard normal noise, a per-feature N(0, 0.5²) bias.
 * Low rank plus a little noise, so SVCCA keeps fewer than p directions at 99% variance.
 */
async function activations(
  g: () => number,
  z: Mat<Float64Array>,
  p: number,
  noise: number,
): Promise<Mat<Float64Array>> {
  const w: Mat<Float64Array> = { data: randn(g, z.cols * p, 1 / Math.sqrt(z.cols)), rows: z.cols, cols: p };
  const zw = (await gemm(z, w)).data;
  const bias = Float64Array.from({ length: p }, () => g() * 0.5);
  for (let i = 0, n = z.rows; i < n; i++) {
    const o = i * p;
    for (let j = 0; j < p; j++) {
      const v = zw[o + j] + noise * g() + bias[j];
      zw[o + j] = v > 0 ? v : 0;
    }
  }
  return { data: zw, rows: z.rows, cols: p };
}

/** Two related latents: Zy = 0.8·Zx + 0.6·Z', so X and Y share most but not all of their signal. */
function latents(g: () => number, n: number, rank: number): [Mat<Float64Array>, Mat<Float64Array>] {
  const zx = randn(g, n * rank),
    zy = randn(g, n * rank);
  for (let i = 0; i < zy.length; i++) zy[i] = 0.8 * zx[i] + 0.6 * zy[i];
  return [
    { data: zx, rows: n, cols: rank },
    { data: zy, rows: n, cols: rank },
  ];
}

const f32 = (m: Mat<Float64Array>): Mat<Float32Array> => ({
  data: Float32Array.from(m.data),
  rows: m.rows,
  cols: m.cols,
});

// ---------------------------------------------------------------------------------------------------------------
// Which Python runs the numpy comparison

/** The environment of the numpy child: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed (in that child only). */
function pythonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/**
 * BENCH_PYTHON when set; otherwise /usr/bin/python3 and the `python3` on PATH, each probed (numpy import and the
 * float64 GFLOP/s of one 1000×1000 product), the faster one used: a distribution numpy linked to the reference
 * BLAS runs GEMM at a few GFLOP/s, which would make the comparison meaningless and the bench take many minutes.
 */
function pickPython(): { python: string | null; note: string } {
  const probe = [
    'import numpy as np, time',
    'a=np.random.rand(1000,1000); a@a',
    't=time.perf_counter(); a@a; t=time.perf_counter()-t',
    'print(np.__version__, 2e9/t/1e9)',
  ].join('\n');
  const cands = process.env.BENCH_PYTHON ? [process.env.BENCH_PYTHON] : ['/usr/bin/python3', 'python3'];
  const found: { python: string; version: string; gflops: number }[] = [];
  const notes: string[] = [];
  for (const c of cands) {
    const r = spawnSync(c, ['-c', probe], { env: pythonEnv(), encoding: 'utf8', timeout: 60000 });
    if (r.status !== 0) {
      notes.push(`${c}: no numpy`);
      continue;
    }
    const [version, gf] = r.stdout.trim().split(/\s+/);
    found.push({ python: c, version, gflops: Number(gf) });
    notes.push(`${c}: numpy ${version}, ${Number(gf).toFixed(1)} GFLOP/s f64 GEMM probe`);
  }
  if (found.length === 0) return { python: null, note: notes.join('; ') || 'no python3' };
  found.sort((a, b) => b.gflops - a.gflops);
  return { python: found[0].python, note: `used ${found[0].python} (${notes.join('; ')})` };
}

// ---------------------------------------------------------------------------------------------------------------
// Benchmarks

interface NumpyTiming {
  seconds: number;
  detail: string;
}
/** The last stdout line of scripts/bench_numpy.py: the BLAS numpy uses and, per metric it ran, time and detail. */
interface NumpyResults {
  blas: string;
  cka?: NumpyTiming;
  knn?: NumpyTiming;
  svcca?: NumpyTiming;
}

interface Row {
  name: string;
  shape: string;
  gemmShape: string;
  precision: string;
  metric: number;
  gemm64: number;
  gemm32: number;
  rss: number;
  detail: string;
  numpy?: number;
  numpyDetail?: string;
}

async function warmUp(): Promise<void> {
  // Session creation for every Gemm variant the metrics and baselines use, and a JIT pass over the metric code.
  const g = normals(rng(1));
  const a = { data: randn(g, 48 * 48), rows: 48, cols: 48 };
  for (const m of [a, f32(a)])
    for (const o of [{}, { transA: true }, { transB: true }])
      await gemm(m as Mat<Float64Array>, m as Mat<Float64Array>, o);
  await gemm(a, { data: randn(g, 48 * 8), rows: 48, cols: 8 });
  const [zx, zy] = latents(g, 1200, 8);
  const x = await activations(g, zx, 40, 0.1),
    y = await activations(g, zy, 30, 0.1);
  await linearCKA(x, y);
  await linearCKA(x, y, { form: 'gram' });
  await knnWithDistances(x, 10);
  await svcca(x, y);
}

export async function benchMetrics(): Promise<void> {
  const t00 = now();
  console.log(
    `\nRepLens metric bench — ${os.cpus().length} cores, onnxruntime CPU (default threads), one run; times in seconds`,
  );
  await warmUp();
  const rows: Row[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-bench-'));
  const py = pickPython();
  const numpyOk = py.python !== null;
  const save = (name: string, m: Mat<Float64Array>) => {
    if (numpyOk) writeNpy(path.join(tmp, `${name}.npy`), { shape: [m.rows, m.cols], data: m.data });
  };
  const g = normals(rng(2026));
  const knnK = 10;
  let knnIdx: Int32Array;

  try {
    // ---- linear CKA, n = 5,000, p = 4,096 ----
    {
      const n = Math.round(5000 * SCALE),
        p = 4096;
      const [zx, zy] = latents(g, n, 256);
      const x = await activations(g, zx, p, 0.3),
        y = await activations(g, zy, p, 0.3);
      save('cka_x', x);
      save('cka_y', y);
      const r = await measured(() => linearCKA(x, y));
      const g64 = await timeGemm(x, { transB: true });
      const x32 = f32(x);
      const g32 = await timeGemm(x32, { transB: true });
      rows.push({
        name: 'linear CKA',
        shape: `n=${n}, p=${p}`,
        gemmShape: `X·Xᵀ ${n}×${p}·${p}×${n}`,
        precision: 'float64 (Gemm f64)',
        metric: r.seconds,
        gemm64: g64,
        gemm32: g32,
        rss: r.rssGrowth,
        detail: `value ${r.value.value.toFixed(6)}, ${r.value.form} form`,
      });
    }
    gc();
    // ---- kNN graph, N = 10,000, D = 2,048, k = 10 ----
    {
      const n = Math.round(10000 * SCALE),
        D = 2048,
        k = knnK;
      const [zx] = latents(g, n, 128);
      const x = await activations(g, zx, D, 0.3);
      save('knn_x', x);
      const r = await measured(() => knnWithDistances(x, k));
      knnIdx = r.value.indices;
      const g64 = await timeGemm(x, { transB: true });
      gc();
      const g32 = await timeGemm(f32(x), { transB: true });
      rows.push({
        name: `kNN graph (k=${k})`,
        shape: `N=${n}, D=${D}`,
        gemmShape: `X·Xᵀ ${n}×${D}·${D}×${n}`,
        precision: `${r.value.screening} Gemm screening + exact float64 re-rank`,
        metric: r.seconds,
        gemm64: g64,
        gemm32: g32,
        rss: r.rssGrowth,
        detail:
          `${n}×${k} indices, ${r.value.screening} screening, ` +
          `${(r.value.candidates / n).toFixed(1)} candidates/row re-ranked exactly, ` +
          `${r.value.rescreened} rows rescreened`,
      });
    }
    gc();
    // ---- minibatch CKA streamed: 50 batches of 1,024 samples, p = 2,048 on each side (1.7 GB if held at once) ----
    {
      const B = Math.max(8, Math.round(1024 * SCALE)),
        nb = 50,
        p = 2048;
      async function* batches() {
        for (let b = 0; b < nb; b++) {
          const [zx, zy] = latents(g, B, 64);
          yield { x: await activations(g, zx, p, 0.3), y: await activations(g, zy, p, 0.3) };
        }
      }
      // Time the data generation alone, to subtract it from the metric's time.
      const tGen0 = now();
      for await (const b of batches()) if (!b.x.rows) throw new Error('empty');
      const tGen = now() - tGen0;
      const r = await measured(() => minibatchCKA(batches()));
      const one = await activations(g, latents(g, B, 64)[0], p, 0.3);
      const g64 = await timeGemm(one, { transB: true });
      const g32 = await timeGemm(f32(one), { transB: true });
      rows.push({
        name: 'minibatch CKA',
        shape: `${nb}×${B}, p=${p}`,
        gemmShape: `${nb} × 2 × X_b·X_bᵀ ${B}×${p}·${p}×${B}`,
        precision: 'float64 (Gemm f64)',
        metric: r.seconds - tGen,
        gemm64: 2 * nb * g64,
        gemm32: 2 * nb * g32,
        rss: r.rssGrowth,
        detail:
          `value ${r.value.value.toFixed(6)}; streamed: ${((2 * nb * B * p * 8) / 2 ** 30).toFixed(2)} GB ` +
          `of float64 activations in total, one batch pair (${((2 * B * p * 8) / 2 ** 20).toFixed(0)} MB) ` +
          `generated at a time; metric time excludes the ${tGen.toFixed(1)} s of data generation ` +
          '(peak RSS includes it)',
      });
    }
    gc();
    // ---- SVCCA, p = 1,024, n = 10,000 ----
    {
      const n = Math.round(10000 * SCALE),
        p = 1024;
      const [zx, zy] = latents(g, n, 64);
      const x = await activations(g, zx, p, 0.1),
        y = await activations(g, zy, p, 0.1);
      save('svcca_x', x);
      save('svcca_y', y);
      const r = await measured(() => svcca(x, y));
      const g64 = await timeGemm(x, { transA: true });
      const g32 = await timeGemm(f32(x), { transA: true });
      // Where the time goes: the covariance products (Gemm) and one side's p×p eigendecomposition.
      const xc = centerColumns(x.data, n, p);
      const tg = now();
      const cov = await gemm({ data: xc, rows: n, cols: p }, { data: xc, rows: n, cols: p }, { transA: true });
      const tCov = now() - tg;
      const te = now();
      await symEigAsync(cov.data, p);
      const tEig = now() - te;
      const route = svccaPathCounts.covariance > 0 ? 'covariance path' : 'n×k path';
      rows.push({
        name: 'SVCCA (99%)',
        shape: `n=${n}, p=${p}`,
        gemmShape: `Xᵀ·X ${p}×${n}·${n}×${p}`,
        precision: 'float64 (Gemm f64 + eigensolver with ORT GEMMs)',
        metric: r.seconds,
        gemm64: g64,
        gemm32: g32,
        rss: r.rssGrowth,
        detail:
          `value ${r.value.value.toFixed(6)}, kept kx=${r.value.kx}, ky=${r.value.ky}, ${route}; ` +
          `breakdown: one ${p}×${n}·${n}×${p} covariance Gemm ${tCov.toFixed(2)} s (three are needed), ` +
          `one ${p}×${p} eigendecomposition with vectors ${tEig.toFixed(2)} s (two are needed)`,
      });
    }
    gc();
    const tJs = now() - t00;

    // ---- numpy on the same data ----
    let numpyNote = '';
    let blas = '';
    const numpyValues: Record<string, string> = {};
    if (!numpyOk) numpyNote = `numpy comparison skipped: ${py.note}`;
    else {
      const script = path.join(__dirname, '..', 'scripts', 'bench_numpy.py');
      const res = spawnSync(py.python!, [script, tmp, String(knnK)], {
        env: pythonEnv(),
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      if (res.status !== 0) {
        const lastLine = (res.stderr || '').trim().split('\n').slice(-1)[0];
        numpyNote = `numpy comparison failed (exit ${res.status}): ${lastLine}`;
      } else {
        const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as NumpyResults;
        blas = out.blas;
        const byName: [Exclude<keyof NumpyResults, 'blas'>, string][] = [
          ['cka', 'linear CKA'],
          ['knn', `kNN graph (k=${knnK})`],
          ['svcca', 'SVCCA (99%)'],
        ];
        for (const [key, name] of byName) {
          const row = rows.find((r) => r.name === name);
          const timing = out[key];
          if (row && timing) {
            row.numpy = timing.seconds;
            row.numpyDetail = timing.detail;
            numpyValues[name] = timing.detail;
          }
        }
        if (fs.existsSync(path.join(tmp, 'knn_numpy_idx.npy'))) {
          const ni = readNpy(path.join(tmp, 'knn_numpy_idx.npy')).data as BigInt64Array | Int32Array;
          let same = 0,
            setSame = 0;
          for (let i = 0; i < knnIdx.length / knnK; i++) {
            let rowSame = true;
            const a = new Set<number>(),
              b = new Set<number>();
            for (let t = 0; t < knnK; t++) {
              const u = knnIdx[i * knnK + t],
                v = Number(ni[i * knnK + t]);
              if (u !== v) rowSame = false;
              a.add(u);
              b.add(v);
            }
            if (rowSame) same++;
            if ([...a].every((u) => b.has(u))) setSame++;
          }
          const nRows = knnIdx.length / knnK;
          const row = rows.find((r) => r.name.startsWith('kNN'))!;
          row.numpyDetail =
            `${row.numpyDetail}; rows identical to RepLens ${same}/${nRows}, ` +
            `same neighbour set ${setSame}/${nRows}`;
        }
      }
    }

    // ---- table ----
    const f = (s: number) => s.toFixed(2).padStart(7);
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
    console.log('');
    console.log(
      'metric              shape              metric   GEMM f64  ratio/f64  GEMM f32  ratio/f32  peak RSS +  ' +
        'numpy    RepLens/numpy',
    );
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2).padStart(6)}×`;
    for (const r of rows) {
      const numpy = r.numpy !== undefined ? `${f(r.numpy)}  ${ratio(r.metric, r.numpy)}` : '      –       –';
      console.log(
        `${r.name.padEnd(19)} ${r.shape.padEnd(17)} ${f(r.metric)}  ${f(r.gemm64)}   ${ratio(r.metric, r.gemm64)}  ` +
          `${f(r.gemm32)}   ${ratio(r.metric, r.gemm32)}  ${mb(r.rss).padStart(9)}  ${numpy}`,
      );
    }
    console.log('');
    for (const r of rows) {
      console.log(`  ${r.name}: ${r.precision}; same-shape GEMM = ${r.gemmShape}; ${r.detail}`);
      if (r.numpyDetail) console.log(`    numpy: ${r.numpyDetail}`);
    }
    console.log(
      '  goal: metric ≤ 1.5× the same-shape GEMM (ratio/f64 is the float64 Gemm the metrics use; ' +
        'ratio/f32 the float32 bound), and faster than numpy (RepLens/numpy < 1)',
    );
    console.log(
      '  peak RSS + = max sampled process.memoryUsage().rss during the metric minus RSS just before it ' +
        '(after gc; sampled every 5 ms while the event loop is free)',
    );
    if (numpyNote) console.log(`  ${numpyNote}`);
    else {
      console.log(`  numpy: ${py.note}`);
      console.log(`  numpy ${blas} (float64; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for that child only)`);
    }
    console.log(`  RepLens part ${tJs.toFixed(1)} s, total metric bench ${(now() - t00).toFixed(1)} s`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await linalgPool().dispose();
  }
}
