// `replens analyze`: every selected analysis of a model on a dataset in one pass over the data, as a versioned
// result document (src/shared/result.ts). The orchestrator knows no analysis by name: it plans the capture from what
// the selected analyses need (their specs, src/shared/analyses.ts, and engine modules, registry.ts) — the memory
// plan from their working memory, an ActivationStore (memory budget, spills to disk) when one needs it, their sinks
// fed during the one capture run — then runs each through the cache, keyed by (model hash, dataset identity,
// analysis, settings); an entry keeps the value with its notes, timings and resolved settings.
import { ReplensError, throwIfAborted } from '../errors';
import { loadModel } from '../onnx/model';
import { feedInputs, valueInfoOf, type Dim } from '../onnx/graph';
import { planMemory } from '../capture/memory';
import { formatBytes } from '../fsafe';
import type { SessionPool } from '../runtime/session';
import { runCapture, type CapturedTensor } from '../capture/capture';
import { ActivationStore } from '../capture/store';
import { openDatasetFromJob } from '../capture/source';
import type { Dataset } from '../data/dataset';
import type { ProgressSink } from '../progress';
import {
  ANALYSIS_IDS,
  ANALYSIS_SPECS,
  analyzeSettingsProblem,
  type AnalysisId,
  type AnalyzeSettings,
} from '../../shared/analyses';
import { RESULT_SCHEMA, type AnalysisResult, type AnalysisValues } from '../../shared/result';
import { SummaryAccumulator } from './summary';
import { readCache, writeCache, cacheKey, readCacheBlobs, writeCacheBlobs } from './cache';
import { SampleOrder, tapBatches } from './sample-order';
import { DegeneracyCheck } from './degenerate';
import { prepareModel, type PreparedModel } from './prepare';
import { accuracyCount } from './accuracy';
import { ENGINE_ANALYSES } from './registry';
import type { AnalysisContext, AnalysisOutput, CaptureSink, EngineAnalysis } from './context';

export const VERSION = '0.1.0';

/** How a run reports back: progress, log lines, the result so far; and how it is cancelled. */
export interface AnalyzeHooks {
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  log?: (line: string) => void;
  /** Called with the result so far after each analysis and each streamed part (a panel draws it). */
  onPartial?: (r: AnalysisResult) => void;
}

/** The settings (shared with the CLI and the editor: one job type) and the hooks. */
export type AnalyzeOptions = AnalyzeSettings & AnalyzeHooks;

/** Bump when a cache entry's shape or an analysis's numbers change: older entries are then never read. */
const CACHE_ENTRY = 3;

/**
 * "2 unreadable images skipped (dataset.skipUnreadable), the run uses the others: cat/3.png (cannot decode …), …":
 * the first 20 skipped files are named with the reason, the log names every one.
 */
function skippedNote(d: Dataset, what: string, notes: string[], log: (line: string) => void): void {
  const s = d.skipped ?? [];
  if (!s.length) return;
  for (const k of s) log(`skipped ${k.file}: ${k.reason}`);
  const named =
    s
      .slice(0, 20)
      .map((k) => k.reason)
      .join('; ') + (s.length > 20 ? `; and ${s.length - 20} more (each in the log)` : '');
  notes.push(
    `${s.length} unreadable image${s.length === 1 ? '' : 's'}${what} ` +
      `skipped (dataset.skipUnreadable), the run uses the others: ${named}`,
  );
}

/** One model's share of a run: what the capture pass gathered on it, for its context. */
interface Side {
  prep: PreparedModel;
  dataset: Dataset;
  /** The model's input shape, for datasets an analysis opens (noise-svd's training images). */
  inputShape: Dim[] | null;
  store: ActivationStore | null;
  summaries: Map<string, SummaryAccumulator>;
  health: Map<string, DegeneracyCheck>;
  sinks: Map<AnalysisId, CaptureSink>;
  labels: number[];
}

/** A side before its capture: accumulators for every layer, the sinks of the given analyses. */
function newSide(
  prep: PreparedModel,
  dataset: Dataset,
  inputShape: Dim[] | null,
  store: ActivationStore | null,
  analyses: AnalysisId[],
): Side {
  const sinks = new Map<AnalysisId, CaptureSink>();
  for (const id of analyses) {
    const s = (ENGINE_ANALYSES[id] as EngineAnalysis<AnalysisId>).sink?.(prep.layers);
    if (s) sinks.set(id, s);
  }
  return {
    prep,
    dataset,
    inputShape,
    store,
    summaries: new Map(prep.layers.map((l) => [l.tensor, new SummaryAccumulator(l.tensor)])),
    health: new Map(prep.layers.map((l) => [l.tensor, new DegeneracyCheck()])),
    sinks,
    labels: [],
  };
}

/** A captured batch into a side's accumulators, store and sinks. */
function feed(
  side: Side,
  b: { values: ReadonlyMap<string, CapturedTensor>; count: number; labels?: ArrayLike<number> | null },
) {
  for (const l of side.prep.layers) {
    const v = b.values.get(l.tensor)!;
    side.summaries.get(l.tensor)!.add(v.data, v.dims);
    side.health.get(l.tensor)!.add(v.data, b.count);
    side.store?.append(l.tensor, v.data, b.count, v.dims.slice(1));
  }
  if (b.labels) for (let i = 0; i < b.labels.length; i++) side.labels.push(b.labels[i]);
  for (const s of side.sinks.values()) s.add(b.values, b.count, b.labels ?? null);
}

/** Degenerate layers (degenerate.ts), with why: skipped metric by metric with a note, never the end of the run. */
function reasons(h: Map<string, DegeneracyCheck>): Map<string, string> {
  return new Map(
    [...h].flatMap(([t, c]) => {
      const r = c.reason();
      return r ? [[t, r] as const] : [];
    }),
  );
}

/** Runs the requested analyses and returns the result document. */
export async function analyze(o: AnalyzeOptions, pool: SessionPool): Promise<AnalysisResult> {
  const t00 = Date.now();
  const log = o.log ?? (() => undefined);
  const problem = analyzeSettingsProblem(o as unknown as Record<string, unknown>);
  if (problem) throw new ReplensError('E_ARGUMENT', problem);
  // In registry order (the order of their specs), whatever order they were named in.
  const selected = ANALYSIS_IDS.filter((id) => o.analyses.includes(id));
  const needs = (f: (id: AnalysisId) => boolean) => selected.some(f);
  // Each model is read and decoded once: its input here (the dataset is opened for it), the rest in prepareModel.
  const m0 = await loadModel(o.modelPath);
  const inputInfo = valueInfoOf(feedInputs(m0.proto.graph!)[0]);
  const inputShape = inputInfo?.shape ?? null;
  const ds: Dataset = await openDatasetFromJob(
    { data: o.data, configPath: o.configPath, configRoot: o.configRoot, memoryBudgetMB: o.memoryBudgetMB },
    inputShape,
    log,
    inputInfo?.elemType,
  );
  let dsB: Dataset | null = null;
  let store: ActivationStore | null = null,
    storeCmp: ActivationStore | null = null;
  try {
    const notes: string[] = [];
    const main = await prepareModel(m0, o.layers, ds.sampleShape, pool, {
      memoryBudgetMB: o.memoryBudgetMB,
      signal: o.signal,
    });
    const mB = o.compare ? await loadModel(o.compare) : null;
    const infoB = mB ? valueInfoOf(feedInputs(mB.proto.graph!)[0]) : null;
    if (o.compare && o.compareData)
      dsB = await openDatasetFromJob(
        { data: o.compareData, configRoot: o.configRoot, memoryBudgetMB: o.memoryBudgetMB },
        infoB?.shape ?? null,
        log,
        infoB?.elemType,
      );
    let cmp = mB
      ? await prepareModel(mB, o.compareLayers ?? o.layers, (dsB ?? ds).sampleShape, pool, {
          memoryBudgetMB: o.memoryBudgetMB,
          signal: o.signal,
        })
      : null;
    for (const note of [main.batchNote, cmp?.batchNote])
      if (note) {
        notes.push(note);
        log(note);
      }
    const order = dsB ? new SampleOrder(ds, dsB) : null;
    const seed = o.seed ?? 0;
    let n = Math.min(ds.length, o.samples ?? Math.min(ds.length, 15000));
    if (o.samples !== undefined && o.samples > ds.length)
      notes.push(`--samples ${o.samples} asked, the dataset has ${ds.length}: using ${ds.length}`);
    if (n < 4)
      throw new ReplensError(
        'E_DATASET',
        `the dataset has ${ds.length} sample${ds.length === 1 ? '' : 's'}; the analyses need at least 4`,
      );
    // The batch size follows from the budget and the layers' sizes unless given; the stores get what is left after
    // the fixed memory, the analyses' working memory and a batch. The classes are seen only in the labels: the
    // plan assumes the dataset's class names or 10, and an analysis that needs more asks the stores to make room.
    const budget = (o.memoryBudgetMB ?? 2048) * 2 ** 20;
    const graphs = main.layers.length + (cmp?.layers.length ?? 0);
    const planned = new Map<AnalysisId, number>();
    for (const id of selected) {
      const analysis = ENGINE_ANALYSES[id] as EngineAnalysis<AnalysisId>;
      const plan = { samples: n, classes: ds.classNames?.length || 10, graphs, settings: o };
      planned.set(id, analysis.workingBytes?.(plan) ?? 0);
    }
    const workingBytes = [...planned.values()].reduce((a, b) => Math.max(a, b), 0); // analyses run one at a time
    const mem = planMemory(budget, cmp ? [main.memory, cmp.memory] : [main.memory], o.batchSize, workingBytes);
    const batchSize = mem.batchSize;
    if (mem.note) {
      notes.push(mem.note);
      log(mem.note);
    }
    log(
      `memory: ${formatBytes(mem.fixedBytes)} fixed (analyses ${formatBytes(workingBytes)}), ` +
        `${formatBytes(mem.batchBytes)} per batch of ${batchSize}, ` +
        `${formatBytes(mem.storeBytes)} for stored activations (budget ${formatBytes(budget)})`,
    );

    // ---- capture: one pass per model, the sinks fed batch by batch, the rest stored ----
    const needStore = needs((id) => !!ANALYSIS_SPECS[id].needs.store);
    // Two models share the store's part of the budget.
    const storeShare = cmp ? mem.storeBytes / 2 : mem.storeBytes;
    store = needStore ? new ActivationStore(storeShare) : null;
    storeCmp = needStore && cmp ? new ActivationStore(storeShare) : null;
    const A = newSide(main, ds, inputShape, store, selected);
    const accuracy = ds.hasLabels ? accuracyCount(main.outputs, main.layers) : null;
    let captured = 0;
    const tCapture = Date.now();
    const mainBatches = ds.batches(batchSize, { signal: o.signal, end: n });
    for await (const b of runCapture(
      main.plan,
      pool,
      order ? tapBatches(mainBatches, (x) => order.record(x)) : mainBatches,
      { signal: o.signal, total: n, onProgress: o.onProgress, what: main.ref.name },
    )) {
      feed(A, b);
      if (b.labels && accuracy) accuracy.add(b.values.get(accuracy.output)!.data, b.count, b.labels);
      captured += b.count;
    }
    n = captured;
    notes.push(...(ds.notes ?? []));
    skippedNote(ds, '', notes, log);
    const labels = ds.hasLabels && A.labels.length === n ? Int32Array.from(A.labels) : null;
    const top1 = labels ? accuracy?.result() : null;
    if (top1) main.ref.accuracy = top1;
    if (cmp && dsB && dsB.length < n) {
      notes.push(`comparison skipped: --compare-data has ${dsB.length} samples, the run uses ${n}`);
      cmp = null;
    }
    if (cmp && order?.kind === 'none')
      notes.push(
        'the sample order of --compare-data could not be verified ' +
          '(different input shapes or no pixel mapping, and no labels)',
      );
    // The compared model gets the sinks of the analyses it also runs on its own (the overlays).
    const overlays = selected.filter((id) => ANALYSIS_SPECS[id].overlay);
    let B = cmp ? newSide(cmp, dsB ?? ds, infoB?.shape ?? null, storeCmp, overlays) : null;
    const accuracyB = cmp && (dsB ?? ds).hasLabels ? accuracyCount(cmp.outputs, cmp.layers) : null;
    if (cmp && B) {
      const batchesB = (dsB ?? ds).batches(batchSize, { signal: o.signal, end: n });
      try {
        for await (const b of runCapture(
          cmp.plan,
          pool,
          order ? tapBatches(batchesB, (x) => order.check(x)) : batchesB,
          { signal: o.signal, total: n, onProgress: o.onProgress, what: cmp.ref.name },
        )) {
          if (b.labels && accuracyB) accuracyB.add(b.values.get(accuracyB.output)!.data, b.count, b.labels);
          feed(B, b);
        }
      } catch (e) {
        // Different samples: the single-model analyses still run; the comparison is dropped with the reason.
        if (!(e instanceof ReplensError && e.code === 'E_DATASET' && order)) throw e;
        notes.push(`comparison skipped: ${e.message}`);
        log(`comparison skipped: ${e.message}`);
        cmp = null;
        B = null;
      }
    }
    const captureSeconds = (Date.now() - tCapture) / 1000;
    const top1B = cmp && labels ? accuracyB?.result() : null;
    if (cmp && top1B) cmp.ref.accuracy = top1B;
    if (dsB) skippedNote(dsB, ' of --compare-data', notes, log);
    if (!cmp && storeCmp) {
      storeCmp.dispose();
      storeCmp = null;
    }
    // Every session of the analysed models (the batch check, shape inference, the capture: onnxruntime's arena keeps
    // a batch's worth) gives its memory back before the analyses run.
    for (const m of cmp ? [main, cmp] : [main]) await pool.evict(`${m.ref.path}#${m.ref.sha256}`);

    const compareBlock: NonNullable<AnalysisResult['compare']> | null = cmp
      ? {
          ...cmp.ref,
          layers: cmp.layers,
          ...(dsB && order
            ? { dataset: { identity: dsB.identity, description: dsB.description, orderCheck: order.kind } }
            : {}),
          analyses: {},
        }
      : null;
    const result: AnalysisResult = {
      schema: RESULT_SCHEMA,
      createdAt: new Date().toISOString(),
      tool: { name: 'replens', version: VERSION },
      model: main.ref,
      ...(compareBlock ? { compare: compareBlock } : {}),
      dataset: {
        path: o.data.path,
        identity: ds.identity,
        description: ds.description,
        samples: n,
        hasLabels: !!labels,
        ...(ds.classNames ? { classNames: ds.classNames } : {}),
      },
      settings: { analyses: [...new Set(o.analyses)], samples: n, seed, batchSize },
      layers: main.layers,
      modules: main.modules,
      analyses: {},
      timings: { 'capture (onnxruntime inference + stores)': captureSeconds },
      notes,
      complete: false,
    };
    /** A model's own context (per-model `run`: no compared model), as a run of that model alone would see it. */
    const contextOf = (side: Side): AnalysisContext => {
      const sideLabels = side.dataset.hasLabels && side.labels.length === n ? Int32Array.from(side.labels) : null;
      return {
        settings: o,
        model: side.prep,
        compare: null,
        dataset: side.dataset,
        compareDataset: null,
        samples: n,
        seed,
        batchSize,
        labels: sideLabels,
        classes: sideLabels ? [...new Set(sideLabels)].sort((a, b) => a - b) : [],
        store: side.store,
        compareStore: null,
        pool,
        signal: o.signal,
        onProgress: o.onProgress,
        log,
        stats: (t) => side.summaries.get(t)!.result(),
        degenerate: (of) => (of === 'model' ? reasons(side.health) : new Map()),
        nonFinite: (t) => {
          const h = side.health.get(t)!;
          return h.hasNonFinite ? h.reason() : null;
        },
        plannedBytes: (id) => planned.get(id) ?? 0,
        makeRoom: (bytes) => {
          const share = storeCmp ? 2 : 1;
          for (const st of [store, storeCmp])
            st?.shrinkTo(Math.max(st.budgetBytes / 4, st.budgetBytes - bytes / share));
        },
        openDataset: (src) =>
          openDatasetFromJob(
            { data: src, configPath: o.configPath, configRoot: o.configRoot, memoryBudgetMB: o.memoryBudgetMB },
            side.inputShape,
            log,
          ),
      };
    };
    const ctxA = contextOf(A);
    const ctxB = B ? contextOf(B) : null;
    // Both models, for the parts that read both.
    const ctxAB: AnalysisContext | null =
      B && cmp
        ? {
            ...ctxA,
            compare: cmp,
            compareDataset: dsB,
            compareStore: storeCmp,
            degenerate: (of) => reasons(of === 'model' ? A.health : B.health),
          }
        : null;
    // The cache key of a model's own analysis is the one a run of that model alone gives (a comparison reuses
    // single runs and the other way round); the between-model part's adds the compared model and its layers.
    const keyOf = (side: Side, id: AnalysisId, own: unknown, between: boolean) =>
      cacheKey({
        model: side.prep.ref.sha256,
        dataset: side.dataset.identity,
        analysis: id,
        settings: {
          samples: n,
          seed,
          batchSize,
          layers: side.prep.layers.map((l) => l.tensor),
          compare: between ? cmp!.ref.sha256 : null,
          compareData: between && dsB ? dsB.identity : null,
          ...(between ? { compareLayers: cmp!.layers.map((l) => l.tensor), part: 'between' } : {}),
        },
        extra: own,
        version: VERSION,
        entry: CACHE_ENTRY,
      });
    /** A part through the cache: the entry under `key`, else computed (its total timed under `id`) and written. */
    const throughCache = async <V>(
      id: AnalysisId,
      what: string,
      key: string,
      compute: () => Promise<AnalysisOutput<V>>,
    ): Promise<{ out: AnalysisOutput<V>; cached: boolean }> => {
      let out = o.noCache ? null : readCache<AnalysisOutput<V>>(o.cacheDir, key);
      if (out && (!Array.isArray(out.notes) || typeof out.timings !== 'object' || out.timings === null)) out = null;
      if (out) {
        log(`${what}: from the cache (${key.slice(0, 12)})`);
        return { out, cached: true };
      }
      const t0 = Date.now();
      out = await compute();
      out.timings[id] = (Date.now() - t0) / 1000;
      writeCache(o.cacheDir, key, out);
      return { out, cached: false };
    };
    /** Timings into the result: `<name>` (the first model), `<name> (compared model)`, `<name> (between models)`. */
    const addTimings = (t: Record<string, number>, part: string | null, cached: boolean) => {
      const tag = [part, cached ? 'cached' : null].filter(Boolean).join(', ');
      for (const [k, s] of Object.entries(t)) result.timings[tag ? `${k} (${tag})` : k] = s;
    };
    /**
     * A model's own analysis through the cache, streamed into `into`; what its run kept (kNN graphs) is written next
     * to the entry and returned (or read back from a cached run's) for the between-model part.
     */
    const ownPart = async (id: AnalysisId, ctx: AnalysisContext, side: Side, into: Partial<AnalysisValues>) => {
      const a = ENGINE_ANALYSES[id] as EngineAnalysis<AnalysisId>;
      const why = a.unavailable?.(ctx);
      if (why) return { why };
      const own = a.settings(ctx);
      const key = keyOf(side, id, own, false);
      const kept = new Map<string, Int32Array>();
      const { out, cached } = await throughCache(
        id,
        side === A ? id : `${id} of ${side.prep.ref.name}`,
        key,
        async () => {
          const r = await a.run(ctx, own, {
            sink: side.sinks.get(id) ?? null,
            partial: (v) => {
              into[id] = v as never;
              o.onPartial?.(result);
            },
            keep: (name, data) => kept.set(name, data),
          });
          if (kept.size) writeCacheBlobs(o.cacheDir, key, kept);
          return r;
        },
      );
      into[id] = out.value as never;
      o.onPartial?.(result);
      // Read back from the cache only when the between-model part asks.
      let blobs: Map<string, Int32Array> | null | undefined = cached ? undefined : kept;
      const keptWork = () => (blobs === undefined ? (blobs = readCacheBlobs(o.cacheDir, key)) : blobs);
      return { out, cached, own, keptWork };
    };
    for (const id of selected) {
      throwIfAborted(o.signal);
      const a = ENGINE_ANALYSES[id] as EngineAnalysis<AnalysisId>;
      const first = await ownPart(id, ctxA, A, result.analyses);
      if (!('why' in first)) {
        if (first.cached) (result.cached ??= []).push(id);
        addTimings(first.out.timings, null, first.cached);
      }
      let second: Awaited<ReturnType<typeof ownPart>> | null = null;
      if (B && ctxB && compareBlock && ANALYSIS_SPECS[id].overlay) {
        second = await ownPart(id, ctxB, B, compareBlock.analyses!);
        const tag = `compared model ${cmp!.ref.name}`;
        if ('why' in second) notes.push(`${tag}: ${second.why}`);
        else {
          if (second.cached) (compareBlock.cached ??= []).push(id);
          addTimings(second.out.timings, 'compared model', second.cached);
        }
      }
      if ('why' in first) {
        notes.push(first.why!);
      } else {
        let own = { value: first.out.value, notes: first.out.notes };
        if (a.between && ctxAB && compareBlock) {
          const keptB = second && !('why' in second) ? second.keptWork : () => null;
          const { out: between, cached } = await throughCache(
            id,
            `${id} between models`,
            keyOf(A, id, first.own, true),
            () =>
              a.between!(ctxAB, first.own, {
                kept: (of, name) => (of === 'model' ? first.keptWork() : keptB())?.get(name) ?? null,
              }),
          );
          if (cached) (compareBlock.betweenCached ??= []).push(id);
          addTimings(between.timings, 'between models', cached);
          own = a.combine
            ? a.combine(first.out, between)
            : {
                value: { ...own.value, ...between.value } as AnalysisValues[AnalysisId],
                notes: [...own.notes, ...between.notes],
              };
        }
        notes.push(...own.notes);
        Object.assign(result.settings, first.out.settings ?? {});
        result.analyses[id] = own.value as never;
      }
      if (second && !('why' in second))
        notes.push(...second.out.notes.map((t) => `compared model ${cmp!.ref.name}: ${t}`));
      o.onPartial?.(result);
    }
    result.complete = true;
    result.timings.total = (Date.now() - t00) / 1000;
    return result;
  } finally {
    // Spill files go on success, error and cancel alike.
    store?.dispose();
    storeCmp?.dispose();
    await ds.close?.();
    await dsB?.close?.();
  }
}
