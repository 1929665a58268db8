// The engine side of an analysis: what the orchestrator (analyze.ts) gives each analysis and what it gets back.
// An analysis is a value of `EngineAnalysis<Id>` registered in registry.ts; analyze() plans the capture from what the
// selected analyses need (their spec in src/shared/analyses.ts), runs the one capture pass feeding their sinks, and
// then calls each `run` through the cache. `run` is per model (it reads `ctx.model` only): in a comparison it runs
// on each model as a run of that model alone would (same cache key), and an analysis that reads both models does
// that in `between`, cached on its own, so a comparison reuses both models' earlier single runs.
import type { AnalysisId, AnalyzeSettings, DatasetSource } from '../../shared/analyses';
import type { AnalysisValues, LayerRef, SummaryLayer } from '../../shared/result';
import type { ActivationStore } from '../capture/store';
import type { CapturedTensor } from '../capture/capture';
import type { Dataset } from '../data/dataset';
import type { ProgressSink } from '../progress';
import type { SessionPool } from '../runtime/session';
import type { PreparedModel } from './prepare';

/** What an analysis reads: the models, the data, the captured activations, the runtime. */
export interface AnalysisContext {
  readonly settings: AnalyzeSettings;
  readonly model: PreparedModel;
  /** The compared model: set for `between` only (null in `run`, which is per model). */
  readonly compare: PreparedModel | null;
  readonly dataset: Dataset;
  /** The compared model's own dataset (`compareData`), else null (and null in `run`). */
  readonly compareDataset: Dataset | null;
  /** Samples captured. */
  readonly samples: number;
  readonly seed: number;
  readonly batchSize: number;
  /** One label per captured sample, or null (no labels). */
  readonly labels: Int32Array | null;
  /** The distinct labels, ascending. */
  readonly classes: number[];
  /** Every captured sample of every layer (null unless an analysis that needs the store was selected). */
  readonly store: ActivationStore | null;
  readonly compareStore: ActivationStore | null;
  readonly pool: SessionPool;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressSink;
  log(line: string): void;
  /** The capture pass's statistics of a layer of the model (collected on every run). */
  stats(tensor: string): SummaryLayer;
  /**
   * Layers whose values make distance- and spectrum-based metrics meaningless (NaN, constant, duplicates), with why.
   */
  degenerate(of: 'model' | 'compare'): Map<string, string>;
  /** Why a layer of the model holds non-finite values, or null. */
  nonFinite(tensor: string): string | null;
  /** The working memory the plan held for an analysis (its `workingBytes`). */
  plannedBytes(id: AnalysisId): number;
  /** Lets the activation stores spill to disk to free `bytes` more than the plan held. */
  makeRoom(bytes: number): void;
  /** Opens another dataset for the model's input (e.g. training images), with the run's config and budget. */
  openDataset(src: DatasetSource): Promise<Dataset>;
}

/** What `run` returns: the value, and the notes and timings it wrote (kept with the value in the cache). */
export interface AnalysisOutput<V> {
  value: V;
  notes: string[];
  /** Seconds, by what was timed ('rra: kNN graphs'); the orchestrator adds the analysis's total under its id. */
  timings: Record<string, number>;
  /** Settings it resolved (k from the samples and classes) for the result's `settings`. */
  settings?: Record<string, unknown>;
}

/** Fed with every batch of the one capture pass (the model's layers). */
export interface CaptureSink {
  add(values: ReadonlyMap<string, CapturedTensor>, count: number, labels: ArrayLike<number> | null): void;
}

export interface RunIO<V> {
  /** The analysis's sink, when it has one. */
  sink: CaptureSink | null;
  /** Streams the value so far (a layer finished) to the panel. */
  partial(value: V): void;
  /**
   * Keeps work that `between` reuses (RRA's kNN graphs), cached next to the value: a later comparison reads it
   * instead of recomputing it. An empty array can stand for "none" (a layer without a graph).
   */
  keep(name: string, data: Int32Array): void;
}

export interface BetweenIO {
  /** What `run` kept on that model, in this run or a cached one; null when it is not there (recompute it). */
  kept(of: 'model' | 'compare', name: string): Int32Array | null;
}

export interface EngineAnalysis<Id extends AnalysisId, S = unknown, B = Partial<AnalysisValues[Id]>> {
  readonly id: Id;
  /** Working memory beyond the activation stores, for the memory plan made before the capture. */
  workingBytes?(plan: { samples: number; classes: number; graphs: number; settings: AnalyzeSettings }): number;
  /** Accumulates during the capture pass (streaming analyses never need the store). */
  sink?(layers: readonly LayerRef[]): CaptureSink;
  /** Why it cannot run on this data (said in a note), or null. */
  unavailable?(ctx: AnalysisContext): string | null;
  /** Its own settings, resolved from the request and the data; they key the cache (with the run's common ones). */
  settings(ctx: AnalysisContext): S;
  run(ctx: AnalysisContext, settings: S, io: RunIO<AnalysisValues[Id]>): Promise<AnalysisOutput<AnalysisValues[Id]>>;
  /**
   * The part that reads both models (`ctx.compare` set; `settings` are the first model's), for analyses whose spec
   * needs a second model: what it adds to `run`'s value (rra.interModel, similarity.compare), cached on its own.
   */
  between?(ctx: AnalysisContext, settings: S, io: BetweenIO): Promise<AnalysisOutput<B>>;
  /** `run`'s output with `between`'s: by default the value's fields assigned, the notes appended. */
  combine?(
    own: AnalysisOutput<AnalysisValues[Id]>,
    between: AnalysisOutput<B>,
  ): { value: AnalysisValues[Id]; notes: string[] };
}

/** A note "<metric> skipped for <layer>: <reason>" (degenerate layers: the metric is left out, the run goes on). */
export function skipNote(metric: string, label: string, reason: string): string {
  return `${metric} skipped for ${label}: ${reason}`;
}

/** What the per-layer passes over the store share (runRra, runSimilarity…): cancel, progress, and where to write
 *  notes and timings. */
export interface LayerPassOptions {
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  notes?: string[];
  timings?: Record<string, number>;
}
