// `replens analyze`: every selected analysis of a model on a dataset in one pass over the data, as a versioned
// result document (src/shared/result.ts). The orchestrator knows no analysis by name: it plans the capture from what
// the selected analyses need (their specs, src/shared/analyses.ts, and engine modules, registry.ts) — the memory
// plan from their working memory, an ActivationStore (memory budget, spills to disk) when one needs it, their sinks
// fed during the one capture run — then runs each through the cache, keyed by (model hash, dataset identity,
// analysis, settings); an entry keeps the value with its notes, timings and resolved settings.
import { ReplensError, throwIfAborted } from '../errors';
import { loadModel } from '../onnx/model';
import { feedInputs, valueInfoOf } from '../onnx/graph';
import { planMemory } from '../capture/memory';
import { formatBytes } from '../fsafe';
import type { SessionPool } from '../runtime/session';
import { runCapture } from '../capture/capture';
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
import { readCache, writeCache, cacheKey } from './cache';
import { SampleOrder, tapBatches } from './sample-order';
import { DegeneracyCheck } from './degenerate';
import { prepareModel } from './prepare';
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

/** Runs the requested analyses and returns the result document. */
export async function analyze(o: AnalyzeOptions, pool: SessionPool): Promise<AnalysisResult> {
  const t00 = Date.now();
  const log = o.log ?? (() => undefined);
  const problem = analyzeSettingsProblem(o as unknown as Record<string, unknown>);
  if (problem) throw new ReplensError('E_ARGUMENT', problem);
  // In registry order (the order of their specs), whatever order they were named in.
  const selected = ANALYSIS_IDS.filter((id) => o.analyses.includes(id));
  const needs = (f: (id: AnalysisId) => boolean) => selected.some(f);
  const m0 = await loadModel(o.modelPath, { externalData: false });
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
    const main = await prepareModel(o.modelPath, o.layers, ds.sampleShape, pool, {
      memoryBudgetMB: o.memoryBudgetMB,
      signal: o.signal,
    });
    if (o.compare && o.compareData) {
      const mB = await loadModel(o.compare, { externalData: false });
      const infoB = valueInfoOf(feedInputs(mB.proto.graph!)[0]);
      dsB = await openDatasetFromJob(
        { data: o.compareData, configRoot: o.configRoot, memoryBudgetMB: o.memoryBudgetMB },
        infoB?.shape ?? null,
        log,
        infoB?.elemType,
      );
    }
    let cmp = o.compare
      ? await prepareModel(o.compare, o.compareLayers ?? o.layers, (dsB ?? ds).sampleShape, pool, {
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

    // ---- capture: one pass, the sinks fed batch by batch, the rest stored ----
    const needStore = needs((id) => !!ANALYSIS_SPECS[id].needs.store);
    // Two models share the store's part of the budget.
    const storeShare = cmp ? mem.storeBytes / 2 : mem.storeBytes;
    store = needStore ? new ActivationStore(storeShare) : null;
    storeCmp = needStore && cmp ? new ActivationStore(storeShare) : null;
    const summaries = new Map(main.layers.map((l) => [l.tensor, new SummaryAccumulator(l.tensor)]));
    const health = new Map(main.layers.map((l) => [l.tensor, new DegeneracyCheck()]));
    const sinks = new Map<AnalysisId, CaptureSink>();
    for (const id of selected) {
      const s = (ENGINE_ANALYSES[id] as EngineAnalysis<AnalysisId>).sink?.(main.layers);
      if (s) sinks.set(id, s);
    }
    const labelsAll: number[] = [];
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
      for (const l of main.layers) {
        const v = b.values.get(l.tensor)!;
        summaries.get(l.tensor)!.add(v.data, v.dims);
        health.get(l.tensor)!.add(v.data, b.count);
        store?.append(l.tensor, v.data, b.count, v.dims.slice(1));
      }
      if (b.labels) labelsAll.push(...b.labels);
      if (b.labels && accuracy) accuracy.add(b.values.get(accuracy.output)!.data, b.count, b.labels);
      for (const s of sinks.values()) s.add(b.values, b.count, b.labels ?? null);
      captured += b.count;
    }
    n = captured;
    notes.push(...(ds.notes ?? []));
    skippedNote(ds, '', notes, log);
    const captureSeconds = (Date.now() - tCapture) / 1000;
    const labels = ds.hasLabels && labelsAll.length === n ? Int32Array.from(labelsAll) : null;
    const top1 = labels ? accuracy?.result() : null;
    if (top1) main.ref.accuracy = top1;
    const classes = labels ? [...new Set(labels)].sort((a, b) => a - b) : [];
    if (cmp && dsB && dsB.length < n) {
      notes.push(`comparison skipped: --compare-data has ${dsB.length} samples, the run uses ${n}`);
      cmp = null;
    }
    if (cmp && order?.kind === 'none')
      notes.push(
        'the sample order of --compare-data could not be verified ' +
          '(different input shapes or no pixel mapping, and no labels)',
      );
    const healthB = new Map((cmp?.layers ?? []).map((l) => [l.tensor, new DegeneracyCheck()]));
    const accuracyB = cmp && (dsB ?? ds).hasLabels ? accuracyCount(cmp.outputs, cmp.layers) : null;
    if (cmp) {
      const batchesB = (dsB ?? ds).batches(batchSize, { signal: o.signal, end: n });
      try {
        for await (const b of runCapture(
          cmp.plan,
          pool,
          order ? tapBatches(batchesB, (x) => order.check(x)) : batchesB,
          { signal: o.signal, total: n, onProgress: o.onProgress, what: cmp.ref.name },
        )) {
          if (b.labels && accuracyB) accuracyB.add(b.values.get(accuracyB.output)!.data, b.count, b.labels);
          for (const l of cmp.layers) {
            const v = b.values.get(l.tensor)!;
            healthB.get(l.tensor)!.add(v.data, b.count);
            storeCmp?.append(l.tensor, v.data, b.count, v.dims.slice(1));
          }
        }
      } catch (e) {
        // Different samples: the single-model analyses still run; the comparison is dropped with the reason.
        if (!(e instanceof ReplensError && e.code === 'E_DATASET' && order)) throw e;
        notes.push(`comparison skipped: ${e.message}`);
        log(`comparison skipped: ${e.message}`);
        cmp = null;
      }
    }
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

    const result: AnalysisResult = {
      schema: RESULT_SCHEMA,
      createdAt: new Date().toISOString(),
      tool: { name: 'replens', version: VERSION },
      model: main.ref,
      ...(cmp
        ? {
            compare: {
              ...cmp.ref,
              layers: cmp.layers,
              ...(dsB && order
                ? { dataset: { identity: dsB.identity, description: dsB.description, orderCheck: order.kind } }
                : {}),
            },
          }
        : {}),
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
    // Degenerate layers (degenerate.ts): skipped metric by metric with a note, never the end of the run.
    const reasons = (h: Map<string, DegeneracyCheck>) =>
      new Map(
        [...h].flatMap(([t, c]) => {
          const r = c.reason();
          return r ? [[t, r] as const] : [];
        }),
      );
    const compared = cmp;
    const ctx: AnalysisContext = {
      settings: o,
      model: main,
      compare: compared,
      dataset: ds,
      compareDataset: compared ? dsB : null,
      samples: n,
      seed,
      batchSize,
      labels,
      classes,
      store,
      compareStore: storeCmp,
      pool,
      signal: o.signal,
      onProgress: o.onProgress,
      log,
      stats: (t) => summaries.get(t)!.result(),
      degenerate: (of) => reasons(of === 'model' ? health : healthB),
      nonFinite: (t) => {
        const h = health.get(t)!;
        return h.hasNonFinite ? h.reason() : null;
      },
      plannedBytes: (id) => planned.get(id) ?? 0,
      makeRoom: (bytes) => {
        const share = storeCmp ? 2 : 1;
        for (const st of [store, storeCmp]) st?.shrinkTo(Math.max(st.budgetBytes / 4, st.budgetBytes - bytes / share));
      },
      openDataset: (src) =>
        openDatasetFromJob(
          { data: src, configPath: o.configPath, configRoot: o.configRoot, memoryBudgetMB: o.memoryBudgetMB },
          inputShape,
          log,
        ),
    };
    const common = {
      samples: n,
      seed,
      batchSize,
      layers: main.layers.map((l) => l.tensor),
      compare: cmp?.ref.sha256 ?? null,
      compareData: cmp && dsB ? dsB.identity : null,
    };
    for (const id of selected) {
      throwIfAborted(o.signal);
      const a = ENGINE_ANALYSES[id] as EngineAnalysis<AnalysisId>;
      const why = a.unavailable?.(ctx);
      if (why) {
        notes.push(why);
        continue;
      }
      const own = a.settings(ctx);
      const key = cacheKey({
        model: main.ref.sha256,
        dataset: ds.identity,
        analysis: id,
        // An analysis that reads no second model is the same with or without one: a comparison reuses it.
        settings: ANALYSIS_SPECS[id].needs.secondModel ? common : { ...common, compare: null, compareData: null },
        extra: own,
        version: VERSION,
        entry: CACHE_ENTRY,
      });
      let out = o.noCache ? null : readCache<AnalysisOutput<AnalysisValues[AnalysisId]>>(o.cacheDir, key);
      if (out && (!Array.isArray(out.notes) || typeof out.timings !== 'object' || out.timings === null)) out = null;
      if (out) {
        log(`${id}: from the cache (${key.slice(0, 12)})`);
        (result.cached ??= []).push(id);
        // The cached run's timings, labelled as such: what the numbers cost when they were computed.
        for (const [k, s] of Object.entries(out.timings)) result.timings[`${k} (cached)`] = s;
      } else {
        const t0 = Date.now();
        out = await a.run(ctx, own, {
          sink: sinks.get(id) ?? null,
          partial: (v) => {
            result.analyses[id] = v as never;
            o.onPartial?.(result);
          },
        });
        out.timings[id] = (Date.now() - t0) / 1000;
        for (const [k, s] of Object.entries(out.timings)) result.timings[k] = s;
        writeCache(o.cacheDir, key, out);
      }
      notes.push(...out.notes);
      Object.assign(result.settings, out.settings ?? {});
      result.analyses[id] = out.value as never;
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
