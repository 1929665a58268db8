// Similarity bench (issue 13, "Speed"): the L×L SVCCA/PWCCA matrix of the similarity analysis against the kNN graphs
// of the same layers (RRA's base graph per layer, k = 10, exact neighbour sets), measured in one run on the same
// store. Layers are resnet18-like at a 112×112 input — 64@28², 128@14², 256@7², 512@4², 17 layers — with
// n = 200 samples (the issue's case), activation-like data: ReLU of a shared 16-dimensional latent mixed per layer,
// plus noise. SVCCA/PWCCA see per-channel spatial means (as in the analysis), the kNN the flattened activations.
// Rows: the analysis's factor-once path with the n/10 guard (default) and without it, and the former pairwise path
// (svcca() + pwcca() per pair, as before issue 13) timed on a subset of pairs and scaled to L² pairs.
// Goal: SVCCA/PWCCA matrix ≤ the kNN graphs' time. Env: BENCH_SIM_SAMPLES (default 200), BENCH_SIM_LAYERS (17).
import * as os from 'os';
import { ActivationStore } from '../src/engine/capture/store';
import { gemm, linalgPool, type Mat } from '../src/engine/linalg/gemm';
import { knnWithDistances } from '../src/engine/metrics/knn';
import { pwcca, svcca } from '../src/engine/metrics/cca';
import { runSimilarity } from '../src/engine/analyses/similarity';
import { rng } from '../src/engine/onnx/builder';
import type { LayerRef } from '../src/shared/result';

const now = () => Number(process.hrtime.bigint()) / 1e9;

function normals(seed: number): () => number {
  const r = rng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

export async function benchSimilarity(): Promise<void> {
  const n = Number(process.env.BENCH_SIM_SAMPLES ?? 200);
  const L = Number(process.env.BENCH_SIM_LAYERS ?? 17);
  const shapes: [number, number][] = [];
  for (let i = 0; i < L; i++) {
    const stage = Math.min(3, Math.floor((i * 4) / L));
    shapes.push([64 << stage, [28, 14, 7, 4][stage]]);
  }
  console.log(
    `\nRepLens similarity bench — ${os.cpus().length} cores; ${L} layers (${shapes
      .map(([c, h]) => `${c}@${h}²`)
      .filter((v, i, a) => a.indexOf(v) === i)
      .join(', ')}), n = ${n}; times in seconds`,
  );
  const g = normals(13);
  const rank = 16;
  const z: Mat<Float32Array> = { data: Float32Array.from({ length: n * rank }, g), rows: n, cols: rank };
  const store = new ActivationStore(4 * 2 ** 30);
  const layers: LayerRef[] = [];
  const units: Mat<Float64Array>[] = [];
  for (let l = 0; l < L; l++) {
    const [C, H] = shapes[l],
      D = C * H * H;
    const w: Mat<Float32Array> = {
      data: Float32Array.from({ length: rank * D }, () => g() / Math.sqrt(rank)),
      rows: rank,
      cols: D,
    };
    const a = (await gemm(z, w)).data;
    for (let i = 0; i < a.length; i++) {
      const v = a[i] + 0.5 * g() + 0.1;
      a[i] = v > 0 ? v : 0;
    }
    const tensor = `layer${l}`;
    store.append(tensor, a, n, [C, H, H]);
    layers.push({ tensor, label: tensor, op: 'Relu', shape: [C, H, H], params: 0, index: l });
    const u = new Float64Array(n * C),
      S = H * H;
    for (let i = 0; i < n; i++)
      for (let c = 0; c < C; c++) {
        let s = 0;
        const o = (i * C + c) * S;
        for (let t = 0; t < S; t++) s += a[o + t];
        u[i * C + c] = s / S;
      }
    units.push({ data: u, rows: n, cols: C });
  }
  try {
    // Warm-up: sessions and JIT.
    await knnWithDistances(store.source(layers[0].tensor), 10, { order: 'set' });
    await runSimilarity(store, layers.slice(0, 2), {});

    const t0 = now();
    for (const l of layers) await knnWithDistances(store.source(l.tensor), 10, { order: 'set' });
    const tKnn = now() - t0;

    const timings: Record<string, number> = {},
      notes: string[] = [];
    const r = await runSimilarity(store, layers, { timings, notes });
    const tGuard = timings['similarity: SVCCA/PWCCA'],
      tGrams = timings['similarity: CKA Grams'];
    const timingsOff: Record<string, number> = {};
    const rOff = await runSimilarity(store, layers, { timings: timingsOff, ccaMaxDimsFraction: null });
    const tOff = timingsOff['similarity: SVCCA/PWCCA'];

    // The former pairwise path on one layer per width against every other, scaled to the matrix's pair count
    // (L(L−1)/2 SVCCA pairs + L(L−1) PWCCA pairs).
    const pick = [...new Set(shapes.map(([c]) => c))].map((c) => shapes.findIndex(([cc]) => cc === c));
    let tSv = 0,
      tPw = 0,
      pairs = 0;
    for (const i of pick)
      for (const j of pick) {
        if (i === j) continue;
        let t = now();
        await svcca(units[i], units[j]);
        tSv += now() - t;
        t = now();
        await pwcca(units[i], units[j]);
        tPw += now() - t;
        pairs++;
      }
    const tOld = (tSv / pairs) * ((L * (L - 1)) / 2) + (tPw / pairs) * L * (L - 1);

    const mean = (m: (number | null)[][]) => {
      let s = 0,
        c = 0;
      m.forEach((row, i) =>
        row.forEach((v, j) => {
          if (i !== j && v !== null) {
            s += v;
            c++;
          }
        }),
      );
      return s / c;
    };
    const f = (s: number) => s.toFixed(2).padStart(8);
    console.log('  what                                             seconds   ratio to kNN graphs');
    console.log(`  kNN graphs (k=10, ${L} layers, flattened)         ${f(tKnn)}     1.00×`);
    const ratio = (t: number) => `${(t / tKnn).toFixed(2).padStart(6)}×`;
    const means = (m: typeof r) =>
      `mean off-diagonal SVCCA ${mean(m.svcca.values).toFixed(3)}, PWCCA ${mean(m.pwcca.values).toFixed(3)}`;
    console.log(`  SVCCA/PWCCA matrix, factor once, n/10 guard       ${f(tGuard)}   ${ratio(tGuard)}   (${means(r)})`);
    console.log(`  SVCCA/PWCCA matrix, factor once, no guard         ${f(tOff)}   ${ratio(tOff)}   (${means(rOff)})`);
    const perPair =
      `${pairs} timed pairs: SVCCA ${(tSv / pairs).toFixed(3)} s, PWCCA ${(tPw / pairs).toFixed(3)} s per pair, ` +
      `× ${(L * (L - 1)) / 2} + ${L * (L - 1)}`;
    console.log(`  SVCCA/PWCCA matrix, former pairwise path (est.)   ${f(tOld)}   ${ratio(tOld)}   (${perPair})`);
    console.log(`  CKA Grams of the same run (for scale)             ${f(tGrams)}`);
    console.log(`  goal: SVCCA/PWCCA matrix ≤ kNN graphs (ratio ≤ 1); guard: ${r.cca?.rule}`);
    for (const w of r.warnings ?? []) console.log(`  warning: ${w}`);
  } finally {
    store.dispose();
    await linalgPool().dispose();
  }
}
