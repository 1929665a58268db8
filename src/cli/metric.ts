// `replens metric NAME …`: one metric on .npy inputs, one JSON object on stdout. Bad input (mismatched samples,
// NaN/Inf, n too small, unknown flags) is a one-line error with exit code 2.
import { parseArgs } from 'util';
import { ReplensError, closest, errorMessage } from '../engine/errors';
import { loadLabels, loadMatrix, sameSamples } from '../engine/metrics/input';
import { cka } from '../engine/metrics/cka';
import { cca, ccaChanceLevel, ccaMaxDims, pwcca, svcca } from '../engine/metrics/cca';
import { twoNN } from '../engine/metrics/twonn';
import { classSelectivity } from '../engine/metrics/selectivity';
import { knnWithDistances } from '../engine/metrics/knn';
import { nncs } from '../engine/metrics/nncs';
import { nnls } from '../engine/metrics/nnls';
import { ars } from '../engine/metrics/ars';
import { groupSpectrum, type GroupSpectrum } from '../engine/metrics/noise-svd';

type Opt = { type: 'string' } | { type: 'boolean' };
const S: Opt = { type: 'string' },
  B: Opt = { type: 'boolean' };

/** Flags per metric: the stable CLI contract (README, "Metrics"). */
export const METRIC_FLAGS: Record<string, Record<string, Opt>> = {
  cka: { x: S, y: S, kernel: S, threshold: S, debiased: B, 'batch-size': S, 'batch-weighting': S },
  cca: { x: S, y: S, epsilon: S },
  svcca: { x: S, y: S, 'keep-variance': S },
  pwcca: { x: S, y: S },
  twonn: { x: S, fraction: S },
  selectivity: { acts: S, labels: S, eps: S },
  knn: { x: S, k: S },
  nncs: { x: S, labels: S, k: S, pool: S, 'pool-size': S },
  nnls: { x: S, y: S, k: S },
  ars: { acts: S },
  'noise-svd': { acts: S, 'group-size': S, centre: B },
};

function bad(message: string): never {
  throw new ReplensError('E_ARGUMENT', message);
}

type Flag = string | boolean | undefined;

function num(v: Flag, flag: string, check: (n: number) => boolean, want: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) bad(`--${flag} must be ${want}, got '${v}'`);
  return n;
}
const need = (v: unknown, flag: string): string => (typeof v === 'string' && v ? v : bad(`--${flag} is required`));
const positiveInt = (n: number) => Number.isInteger(n) && n >= 1;
function batchWeighting(v: Flag, batchSize: Flag): 'equal' | 'size' | undefined {
  if (v === undefined) return undefined;
  if (batchSize === undefined) bad('--batch-weighting goes with --batch-size');
  if (v !== 'equal' && v !== 'size') bad(`--batch-weighting must be equal or size, got '${v}'`);
  return v;
}

/**
 * CCA-family results with more kept directions than ⌊n/10⌋ get `warnings`: in that regime even independent data
 * score near 1 (chance level √(max(kx, ky)/(n−1)); see CCA_MAX_DIMS_FRACTION in metrics/cca.ts).
 */
function trivialRegime<T extends object>(r: T, kx: number, ky: number, n: number): T & { warnings?: string[] } {
  const limit = ccaMaxDims(n),
    k = Math.max(kx, ky);
  if (k <= limit) return r;
  return {
    ...r,
    warnings: [
      `${k} kept directions from ${n} samples (more than ⌊n/10⌋ = ${limit}): the ` +
        'trivial regime, where independent data score up to about ' +
        `${ccaChanceLevel(kx, ky, n).toFixed(2)}; use more samples or fewer units`,
    ],
  };
}

export async function runMetric(argv: string[]): Promise<unknown> {
  const [name, ...rest] = argv;
  if (!name) bad(`metric needs a name: ${Object.keys(METRIC_FLAGS).join(', ')}`);
  const flags = METRIC_FLAGS[name];
  if (!flags)
    bad(
      `unknown metric '${name}'; did you mean '${closest(name, Object.keys(METRIC_FLAGS), 1)[0]}'? ` +
        `(${Object.keys(METRIC_FLAGS).join(', ')})`,
    );
  let v: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({ args: rest, options: flags, allowPositionals: false, strict: true });
    v = parsed.values;
  } catch (e) {
    const m = /Unknown option '(-+)([^']+)'/.exec(errorMessage(e));
    const options = Object.keys(flags)
      .map((f) => `--${f}`)
      .join(' ');
    if (m)
      bad(
        `metric ${name} has no option '${m[1]}${m[2]}'; did you mean ` +
          `'--${closest(m[2], Object.keys(flags), 1)[0]}'? (options: ${options})`,
      );
    bad(`metric ${name}: ${errorMessage(e).replace(/\. To specify.*$/, '')}`);
  }
  const X = () => loadMatrix(need(v.x, 'x'), '--x');
  const XY = () => {
    const x = X(),
      y = loadMatrix(need(v.y, 'y'), '--y');
    sameSamples([
      ['--x', x.rows],
      ['--y', y.rows],
    ]);
    return [x, y] as const;
  };
  switch (name) {
    case 'cka': {
      const kernel = (v.kernel as string | undefined) ?? 'linear';
      if (kernel !== 'linear' && kernel !== 'rbf') bad(`--kernel must be linear or rbf, got '${kernel}'`);
      const [x, y] = XY();
      return cka(x, y, {
        kernel,
        debiased: !!v.debiased,
        threshold: num(v.threshold, 'threshold', (n) => n > 0, 'a positive number'),
        batchSize: num(v['batch-size'], 'batch-size', positiveInt, 'a positive integer'),
        weighting: batchWeighting(v['batch-weighting'], v['batch-size']),
      });
    }
    case 'cca': {
      const [x, y] = XY();
      const r = await cca(x, y, { epsilon: num(v.epsilon, 'epsilon', (n) => n >= 0, 'a number ≥ 0') });
      return trivialRegime(r, x.cols - r.dropped.x, y.cols - r.dropped.y, x.rows);
    }
    case 'svcca': {
      const [x, y] = XY();
      const r = await svcca(x, y, {
        keepVariance: num(v['keep-variance'], 'keep-variance', (n) => n > 0 && n <= 1, 'in (0, 1]'),
      });
      return trivialRegime(r, r.kx, r.ky, x.rows);
    }
    case 'pwcca': {
      const [x, y] = XY();
      const r = await pwcca(x, y);
      return trivialRegime(r, r.coefficients.length, r.coefficients.length, x.rows);
    }
    case 'twonn':
      return twoNN(X(), { fraction: num(v.fraction, 'fraction', (n) => n > 0 && n <= 1, 'in (0, 1]') });
    case 'selectivity': {
      const a = loadMatrix(need(v.acts, 'acts'), '--acts');
      const labels = loadLabels(need(v.labels, 'labels'));
      sameSamples([
        ['--acts', a.rows],
        ['--labels', labels.length],
      ]);
      return classSelectivity(a.data, a.shape, labels, { eps: num(v.eps, 'eps', (n) => n >= 0, 'a number ≥ 0') });
    }
    case 'knn': {
      const x = X();
      const k = num(need(v.k, 'k'), 'k', positiveInt, 'a positive integer')!;
      const r = await knnWithDistances(x, k);
      const idx = r.indices;
      return {
        indices: Array.from({ length: x.rows }, (_, i) => Array.from(idx.subarray(i * k, (i + 1) * k))),
        precision: `exact float64 distances (${r.screening} GEMM screening)`,
      };
    }
    case 'nncs': {
      const x = X();
      const labels = loadLabels(need(v.labels, 'labels'));
      sameSamples([
        ['--x', x.rows],
        ['--labels', labels.length],
      ]);
      const k = num(need(v.k, 'k'), 'k', positiveInt, 'a positive integer')!;
      let pool: { kind: 'avg' | 'max'; size: number | 'global' } | undefined;
      if (v.pool !== undefined) {
        if (v.pool !== 'avg' && v.pool !== 'max') bad(`--pool must be avg or max, got '${v.pool}'`);
        const sizeText = need(v['pool-size'], 'pool-size');
        const size =
          sizeText === 'global' ? 'global' : num(sizeText, 'pool-size', positiveInt, "a positive integer or 'global'")!;
        pool = { kind: v.pool, size };
      } else if (v['pool-size'] !== undefined) bad('--pool-size goes with --pool avg|max');
      return nncs(x, labels, k, { pool, shape: x.shape });
    }
    case 'nnls': {
      const [x, y] = XY();
      return nnls(x, y, num(need(v.k, 'k'), 'k', positiveInt, 'a positive integer')!);
    }
    case 'ars': {
      const a = loadMatrix(need(v.acts, 'acts'), '--acts');
      return ars(a.data, a.shape);
    }
    case 'noise-svd': {
      // One group (G, ...) of activations of noisy copies of an image, or consecutive groups of --group-size rows.
      const a = loadMatrix(need(v.acts, 'acts'), '--acts');
      const g = num(v['group-size'], 'group-size', (n) => Number.isInteger(n) && n >= 2, 'an integer ≥ 2') ?? a.rows;
      if (a.rows < 2) bad(`--acts has ${a.rows} row; a group needs at least 2 noisy copies`);
      if (a.rows % g) bad(`--acts has ${a.rows} rows, not a whole number of groups of ${g}`);
      const groups: GroupSpectrum[] = [];
      for (let r = 0; r < a.rows; r += g)
        groups.push(groupSpectrum(a.data.subarray(r * a.cols, (r + g) * a.cols), g, a.cols, { centre: !!v.centre }));
      const mean = (f: (sp: GroupSpectrum) => number) => groups.reduce((s, sp) => s + f(sp), 0) / groups.length;
      return {
        value: mean((sp) => sp.explainedVariance[0]),
        explained_variance: Array.from({ length: g }, (_, j) => mean((sp) => sp.explainedVariance[j])),
        singular_values: Array.from({ length: g }, (_, j) => mean((sp) => sp.singularValues[j])),
        groups: groups.map((sp) => ({
          ev1: sp.explainedVariance[0],
          ev2: sp.explainedVariance[1] ?? 0,
          rest: sp.explainedVariance.slice(2).reduce((x, y) => x + y, 0),
          s1: sp.singularValues[0],
        })),
        centred: !!v.centre,
      };
    }
  }
  return bad(`unknown metric '${name}'`);
}
