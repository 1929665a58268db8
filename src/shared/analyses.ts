// The analyses as data: one spec per analysis (id, title, what it tells the user, cost, what it needs) and one
// options table for `analyze` — browser-safe, so the engine, the CLI, the worker, the panel, the report and the
// code lenses all read the same entries. Adding an analysis starts here (docs/architecture.md, "Adding an analysis"):
// its id is a key of `AnalysisValues` (result.ts), so every `{ [id in AnalysisId]: … }` table below and in the engine
// and the views fails to compile until it has an entry.
import type { AnalysisValues } from './result';

/** An analysis id: the CLI's `--analyses` names, `replens.analyses` in package.json, the result's `analyses` keys. */
export type AnalysisId = keyof AnalysisValues;

export interface AnalysisNeeds {
  /** Class labels: 'required' (skipped with a note without them) or 'optional' (parts skipped without them). */
  labels?: 'required' | 'optional';
  /** The activation store (every sample of every layer, spilled to disk past the memory budget). */
  store?: boolean;
  /** Gradients (ONNX backward graphs run in onnxruntime). */
  gradients?: boolean;
  /** Training (optimisation in onnxruntime). */
  training?: boolean;
  /** A second model (`--compare`): 'optional' (used when given) or 'required'. */
  secondModel?: 'optional' | 'required';
}

export interface AnalysisSpec<Id extends AnalysisId = AnalysisId> {
  id: Id;
  title: string;
  /** One line for users: what the numbers say. */
  explain: string;
  /** What it costs, for the picker: '… — one pass, seconds'. */
  cost: string;
  needs: AnalysisNeeds;
  /** Run when the user names no analyses. */
  byDefault: boolean;
  /**
   * Also run on the compared model in a comparison: its own per-model numbers on the same samples (the result's
   * `compare.analyses`), which the views overlay on the first model's. Cached as a standalone run of that model.
   */
  overlay?: boolean;
  /** The analyze options only this analysis reads (keys of ANALYZE_OPTIONS). */
  options: readonly AnalyzeOptionKey[];
}

/** In the order the analyses run, the panel shows their tabs and the report their sections. */
export const ANALYSIS_SPECS: { readonly [Id in AnalysisId]: AnalysisSpec<Id> } = {
  summary: {
    id: 'summary',
    title: 'Summary',
    explain: 'Per layer: activation mean and spread, sparsity and dead channels (ReLU-like layers).',
    cost: 'shape, parameters, mean, sparsity, dead channels — one pass, seconds',
    needs: {},
    byDefault: true,
    overlay: true,
    options: [],
  },
  selectivity: {
    id: 'selectivity',
    title: 'Selectivity',
    explain: 'Class selectivity per unit (Morcos et al. 2018): how much a unit prefers one class over the others.',
    cost: 'class selectivity per unit (needs labels) — one pass',
    needs: { labels: 'required' },
    byDefault: true,
    overlay: true,
    options: [],
  },
  rra: {
    id: 'rra',
    title: 'RRA',
    explain:
      'kNN graphs of each layer: intrinsic dimension, neighbour ' +
      'class separation (NNCS), graph similarity (NNLS), multi-scale.',
    cost: 'kNN graphs → intrinsic dimension, NNCS, NNLS, multi-scale — costliest: N²·D per layer and pooling',
    needs: { labels: 'optional', store: true, secondModel: 'optional' },
    byDefault: true,
    overlay: true,
    options: ['k'],
  },
  similarity: {
    id: 'similarity',
    title: 'Similarity',
    explain: 'Layer × layer similarity: linear CKA, SVCCA and PWCCA (and between two models).',
    cost: 'linear CKA, SVCCA, PWCCA layer × layer — N²·D per layer',
    needs: { store: true, secondModel: 'optional' },
    byDefault: true,
    options: [],
  },
  'noise-svd': {
    id: 'noise-svd',
    title: 'Noise SVD',
    explain: 'Explained variance of the leading directions of each layer’s response to input noise, per checkpoint.',
    cost: 'explained variance under input noise — 64 noisy copies × 10 images × 3 σ',
    needs: { labels: 'optional' },
    byDefault: false,
    options: ['checkpoints', 'trainData', 'noiseImages', 'sigmas', 'groupSize'],
  },
};

/** Every analysis id, in run order. */
export const ANALYSIS_IDS = Object.keys(ANALYSIS_SPECS) as AnalysisId[];
/** What runs when no analyses are named. */
export const DEFAULT_ANALYSES: AnalysisId[] = ANALYSIS_IDS.filter((id) => ANALYSIS_SPECS[id].byDefault);

export function isAnalysisId(s: string): s is AnalysisId {
  return Object.prototype.hasOwnProperty.call(ANALYSIS_SPECS, s);
}

// ---- the options of `analyze` ---------------------------------------------------------------------------------

/** A dataset: a file or folder, with how to read it. */
export interface DatasetSource {
  path: string;
  format?: 'idx' | 'npy' | 'npz' | 'imagefolder';
  labels?: string;
  limit?: number;
  /** ImageFolder: leave out unreadable images (named in the result) instead of failing (dataset.skipUnreadable). */
  skipUnreadable?: boolean;
}

/**
 * Everything `analyze` takes, in the CLI, the editor and the worker alike (the job adds `kind` and the runtime).
 * Each field is described by its row of ANALYZE_OPTIONS.
 */
export interface AnalyzeSettings {
  modelPath: string;
  data: DatasetSource;
  analyses: AnalysisId[];
  compare?: string;
  compareData?: DatasetSource;
  configPath?: string;
  configRoot?: string;
  layers?: string[];
  compareLayers?: string[];
  samples?: number;
  seed?: number;
  batchSize?: number;
  memoryBudgetMB?: number;
  noCache?: boolean;
  cacheDir?: string;
  k?: number;
  checkpoints?: string[];
  trainData?: DatasetSource;
  noiseImages?: number;
  sigmas?: number[];
  groupSize?: number;
}

export type AnalyzeOptionKey = Exclude<keyof AnalyzeSettings, 'modelPath' | 'analyses'>;

export type OptionType = 'int' | 'numbers' | 'string' | 'strings' | 'dataset' | 'flag';

export interface OptionSpec {
  /** The CLI flag (without --); null: set by the editor only. */
  flag: string | null;
  type: OptionType;
  /** Smallest value of an int, or of each of numbers. */
  min?: number;
  /** The value shown in usage ('N', 'LIST', 'PATH'). */
  arg?: string;
  help: string;
}

/** One row per option of `analyze`: the CLI flags, their help and the job validation come from this table. */
export const ANALYZE_OPTIONS: { readonly [K in AnalyzeOptionKey]: OptionSpec } = {
  data: {
    flag: 'data',
    type: 'dataset',
    arg: 'PATH',
    help: 'the samples: IDX, .npy/.npz, or an image folder (one sub-folder per class)',
  },
  compare: {
    flag: 'compare',
    type: 'string',
    arg: 'MODEL2.onnx',
    help: 'a second model run on the same samples (between-model RRA and similarity)',
  },
  compareData: {
    flag: 'compare-data',
    type: 'dataset',
    arg: 'PATH2',
    help: "the second model's own dataset (same samples, its own preprocessing)",
  },
  configPath: {
    flag: 'config',
    type: 'string',
    arg: 'replens.json',
    help: 'preprocessing and dataset settings (default: the nearest replens.json)',
  },
  configRoot: {
    flag: null,
    type: 'string',
    help: 'replens.json discovery climbs no higher than this folder (the workspace)',
  },
  layers: {
    flag: 'layers',
    type: 'strings',
    arg: 'LIST',
    help: "default: the main path's block outputs; 'activations'; or tensor, node, module names, op:TYPE",
  },
  compareLayers: {
    flag: 'compare-layers',
    type: 'strings',
    arg: 'LIST',
    help: "the second model's layers in its own names (default: --layers)",
  },
  samples: {
    flag: 'samples',
    type: 'int',
    min: 1,
    arg: 'N',
    help: 'samples to analyse (default: the dataset, at most 15,000)',
  },
  seed: { flag: 'seed', type: 'int', min: 0, arg: 'S', help: 'random seed (default 0)' },
  batchSize: {
    flag: 'batch-size',
    type: 'int',
    min: 1,
    arg: 'B',
    help: 'inference batch (default: chosen from the memory budget)',
  },
  memoryBudgetMB: {
    flag: 'memory-budget',
    type: 'int',
    min: 1,
    arg: 'MB',
    help: 'memory budget (default 2048); stored activations spill to disk past it',
  },
  noCache: {
    flag: 'no-cache',
    type: 'flag',
    help: 'recompute every analysis (results are cached by model, data and settings)',
  },
  cacheDir: {
    flag: null,
    type: 'string',
    help: 'the cache folder (default $REPLENS_CACHE_DIR, else ~/.cache/replens)',
  },
  k: {
    flag: 'k',
    type: 'int',
    min: 1,
    arg: 'K',
    help: 'RRA neighbours (default: the thesis rule from samples and classes)',
  },
  checkpoints: {
    flag: 'checkpoints',
    type: 'strings',
    arg: 'M1,M2,…',
    help: 'noise-svd: the models to run it on, e.g. one per epoch (default: the model)',
  },
  trainData: {
    flag: 'train-data',
    type: 'dataset',
    arg: 'PATH',
    help: "noise-svd: training images (split 'train'; the analysed data is 'test')",
  },
  noiseImages: {
    flag: 'noise-images',
    type: 'int',
    min: 1,
    arg: 'N',
    help: 'noise-svd: images per class (default 10)',
  },
  sigmas: {
    flag: 'sigmas',
    type: 'numbers',
    min: 0,
    arg: 'σ1,σ2,…',
    help: 'noise-svd: noise levels (default 0.2,0.1,0.01)',
  },
  groupSize: {
    flag: 'group-size',
    type: 'int',
    min: 2,
    arg: 'G',
    help: 'noise-svd: noisy copies per image (default 64)',
  },
};

/** Options every analysis may read (the others belong to the analyses that list them). */
export const COMMON_OPTIONS = (Object.keys(ANALYZE_OPTIONS) as AnalyzeOptionKey[]).filter(
  (k) => !ANALYSIS_IDS.some((id) => ANALYSIS_SPECS[id].options.includes(k)),
);

/** A field as the CLI spells it (`--compare-data`), or quoted when it has no flag. */
export function cliName(key: string): string {
  const flag = (ANALYZE_OPTIONS as Record<string, OptionSpec>)[key]?.flag;
  return flag ? `--${flag}` : key === 'analyses' ? '--analyses' : key === 'modelPath' ? 'the model' : `'${key}'`;
}

/**
 * Checks an analyze request against the tables (what the worker receives and what the CLI builds): returns the
 * first problem as one line naming the field (as the CLI spells it, by default), or null.
 */
export function analyzeSettingsProblem(
  o: Record<string, unknown>,
  fieldName: (k: string) => string = cliName,
): string | null {
  if (typeof o.modelPath !== 'string' || !o.modelPath) return `${fieldName('modelPath')} must name the model`;
  if (!Array.isArray(o.analyses) || !o.analyses.length)
    return `${fieldName('analyses')} must name at least one analysis (${ANALYSIS_IDS.join(', ')})`;
  for (const a of o.analyses)
    if (typeof a !== 'string' || !isAnalysisId(a))
      return `unknown analysis '${String(a)}' (${ANALYSIS_IDS.join(', ')})`;
  for (const [key, spec] of Object.entries(ANALYZE_OPTIONS) as [AnalyzeOptionKey, OptionSpec][]) {
    const v = o[key];
    if (v === undefined) continue;
    const name = fieldName(key);
    switch (spec.type) {
      case 'int':
        if (!Number.isInteger(v) || (spec.min !== undefined && (v as number) < spec.min))
          return `${name} must be an integer ≥ ${spec.min ?? '-∞'}, got ${JSON.stringify(v)}`;
        break;
      case 'numbers':
        if (
          !Array.isArray(v) ||
          !v.length ||
          !v.every((x) => typeof x === 'number' && Number.isFinite(x) && (spec.min === undefined || x >= spec.min))
        ) {
          return `${name} must be a list of numbers ≥ ${spec.min ?? '-∞'}, got ${JSON.stringify(v)}`;
        }
        break;
      case 'string':
        if (typeof v !== 'string') return `${name} must be a string`;
        if (!v) return `${name} must not be empty`;
        break;
      case 'strings':
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x)) return `${name} must be a list of names`;
        break;
      case 'dataset': {
        const d = v as Record<string, unknown>;
        if (typeof d !== 'object' || d === null || Array.isArray(d) || typeof d.path !== 'string' || !d.path)
          return `${name} must be a dataset with a path`;
        if (d.format !== undefined && !['idx', 'npy', 'npz', 'imagefolder'].includes(d.format as string)) {
          const got = typeof d.format === 'string' ? d.format : JSON.stringify(d.format);
          return `${name}: format must be idx, npy, npz or imagefolder, got '${got}'`;
        }
        if (d.labels !== undefined && typeof d.labels !== 'string') return `${name}: labels must be a path`;
        if (d.limit !== undefined && !(Number.isInteger(d.limit) && (d.limit as number) >= 1))
          return `${name}: limit must be an integer ≥ 1`;
        if (d.skipUnreadable !== undefined && typeof d.skipUnreadable !== 'boolean')
          return `${name}: skipUnreadable must be true or false`;
        break;
      }
      case 'flag':
        if (typeof v !== 'boolean') return `${name} must be true or false`;
        break;
    }
  }
  if (o.compareData !== undefined && o.compare === undefined)
    return `${fieldName('compareData')} needs ${fieldName('compare')}`;
  if (o.compareLayers !== undefined && o.compare === undefined)
    return `${fieldName('compareLayers')} needs ${fieldName('compare')}`;
  return null;
}
