// `replens analyze`: every activation analysis of a model on a dataset in one pass over the data, as a versioned
// result document (src/shared/result.ts). One capture run feeds the streaming analyses (summary, selectivity) and
// an ActivationStore (memory budget, spills to disk) from which the per-layer analyses (RRA, similarity) read one
// layer at a time. Each analysis is cached by (model hash, dataset identity, analysis, settings).
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ReplensError, throwIfAborted } from '../errors';
import { loadModel } from '../onnx/model';
import { feedInputs, valueInfoOf, type Dim } from '../onnx/graph';
import { listLayers, type LayerInfo } from '../onnx/layers';
import { tensorShapes } from '../runtime/shapes';
import { adaptBatch } from '../runtime/batch';
import { planMemory, rraWorkingBytes, weightBytes, workBytesPerSample, type ModelMemory } from '../capture/memory';
import { formatBytes } from '../fsafe';
import { activationTaps, defaultTaps } from '../onnx/mainpath';
import type { ModelProto } from '../onnx/proto';
import type { SessionPool } from '../runtime/session';
import { planCapture, runCapture, singleInput } from '../capture/capture';
import { parseReduce } from '../capture/reduce';
import { ActivationStore } from '../capture/store';
import { openDatasetFromJob } from '../capture/source';
import { expandTensorSelectors } from '../capture/select';
import type { Dataset } from '../data/dataset';
import type { ProgressSink } from '../progress';
import { rraDefaults } from '../metrics/rra-defaults';
import type { DatasetSource } from '../../shared/messages';
import { RESULT_SCHEMA, type AnalysisResult, type LayerRef, type ModelRef, type NoiseSvdResultJson } from '../../shared/result';
import { SummaryAccumulator } from './summary';
import { SelectivityAccumulator } from './selectivity';
import { runRra, type RraSettings } from './rra';
import { runSimilarity } from './similarity';
import { readCache, writeCache, cacheKey } from './cache';
import { noiseSvd } from '../metrics/noise-svd';
import { SampleOrder, tapBatches } from './sample-order';
import { DegeneracyCheck } from './degenerate';
import type { LayerMatrix, SimilarityResult } from '../../shared/result';

export const ANALYSES = ['summary', 'rra', 'similarity', 'selectivity', 'noise-svd'] as const;
export type AnalysisName = (typeof ANALYSES)[number];
export const VERSION = '0.1.0';

export interface AnalyzeOptions {
  model: string;
  compare?: string;
  data: DatasetSource;
  /** The compared model's own dataset (another preprocessing); it must list the same samples in the same order. */
  compareData?: DatasetSource;
  configPath?: string;
  /** Without configPath, replens.json discovery climbs no higher than this folder (the extension's workspace folder). */
  configRoot?: string;
  analyses: AnalysisName[];
  /** Tensor selectors (names, node names, op:TYPE); default: activations, pools and the outputs. */
  layers?: string[];
  /** --compare's layers when its names differ from the main model's (default: `layers`). */
  compareLayers?: string[];
  samples?: number;
  k?: number;
  seed?: number;
  batchSize?: number;
  memoryBudgetMB?: number;
  noCache?: boolean;
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  log?: (line: string) => void;
  /** noise-svd: models to run it on, e.g. one checkpoint per epoch (default: the model). */
  checkpoints?: string[];
  /** noise-svd: training images (split 'train'); the analysed data is the 'test' split. */
  trainData?: DatasetSource;
  /** noise-svd: images per class (default 10), σ values (default 0.2, 0.1, 0.01), copies per image (default 64). */
  noiseImages?: number;
  sigmas?: number[];
  groupSize?: number;
  /** Called with the result so far after each analysis (streaming to a panel). */
  onPartial?: (r: AnalysisResult) => void;
}

/**
 * The layers to analyse: the main path's block outputs by default (onnx/mainpath.ts); `activations` for every
 * activation and pooling output; else tensor, node or module names.
 */
export function chooseLayers(model: ModelProto, layers: LayerInfo[], selectors: string[] | undefined): { tensor: string; block: string | null }[] {
  if (!selectors?.length) return defaultTaps(model, layers);
  const plain = (tensors: string[]) => tensors.map((tensor) => ({ tensor, block: null }));
  if (selectors.length === 1 && selectors[0] === 'activations') return plain(activationTaps(layers, model.graph!.output.map((o) => o.name)));
  return plain(expandTensorSelectors(model, selectors));
}

export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  await new Promise<void>((resolve, reject) => fs.createReadStream(file).on('data', (d) => h.update(d)).on('end', resolve).on('error', reject));
  return h.digest('hex');
}

interface Prepared {
  ref: ModelRef;
  /** Every node's torch module path (where it has one) and graph index. */
  modules: { module: string; index: number; op: string }[];
  layers: LayerRef[];
  plan: ReturnType<typeof planCapture>;
  /** What was done about a fixed batch size (runtime/batch.ts), for the notes; null for a dynamic batch. */
  batchNote: string | null;
  /** Per-sample and fixed bytes, for the memory plan (capture/memory.ts). */
  memory: ModelMemory;
}

async function prepareModel(file: string, selectors: string[] | undefined, sampleShape: number[], pool: SessionPool, probe: { memoryBudgetMB?: number; signal?: AbortSignal }): Promise<Prepared> {
  const m = await loadModel(file);
  const input = singleInput(m.proto);
  const sha = await sha256File(m.path);
  // A fixed batch size (the most common export): a relaxed copy when that is safe, else runs at that size.
  const batching = await adaptBatch(m.proto, input, sampleShape, pool, `${m.path}#${sha}`);
  const proto = batching.proto;
  const key = `${m.path}#${sha}${batching.keySuffix}`;
  const shapes = await tensorShapes(proto, pool, key, { inputShapes: { [input]: [batching.runBatch ?? 1, ...sampleShape] }, ...probe });
  const summary = listLayers(proto, shapes);
  const chosen = chooseLayers(proto, summary.layers, selectors);
  const taps = chosen.map((c) => c.tensor);
  const blockOf = new Map(chosen.map((c) => [c.tensor, c.block]));
  if (!taps.length) throw new ReplensError('E_ARGUMENT', `--layers ${selectors?.join(',')} names no tensor of ${path.basename(file)}`);
  const byOutput = new Map<string, LayerInfo>();
  for (const l of summary.layers) for (const o of l.outputs) byOutput.set(o, l);
  const layers: LayerRef[] = taps.map((t) => {
    const l = byOutput.get(t);
    const shape = (shapes.get(t) ?? []).slice(1).map((d) => (typeof d === 'number' ? d : 0));
    // A block output is labelled with its block (layer1.0, features.3), else with the node's module or name.
    return { tensor: t, label: blockOf.get(t) ?? (l ? (l.module ?? l.name) : t), op: l?.op ?? 'Input', shape, params: l?.params ?? 0, index: l?.index ?? -1 };
  });
  // PyTorch reuses one module for several calls (relu, relu_1 → layer1.0.relu): number the repeats.
  const seen = new Map<string, number>();
  for (const l of layers) { const c = (seen.get(l.label) ?? 0) + 1; seen.set(l.label, c); if (c > 1) l.label = `${l.label} (${c})`; }
  const plan = planCapture(proto, key, taps, parseReduce('none'), shapes, batching.runBatch);
  const modules = summary.layers.filter((l) => l.module).map((l) => ({ module: l.module!, index: l.index, op: l.op }));
  const batchNote = batching.note && `${path.basename(m.path)}: ${batching.note}`;
  const memory: ModelMemory = {
    inputBytes: 4 * sampleShape.reduce((a, b) => a * b, 1),
    tapBytes: layers.reduce((sum, l) => sum + 4 * l.shape.reduce((a, b) => a * b, 1), 0),
    workBytes: workBytesPerSample(proto, shapes),
    weights: weightBytes(proto),
  };
  return { ref: { path: m.path, name: path.basename(m.path), sha256: sha, opset: summary.opset, params: summary.totalParams }, modules, layers, plan, batchNote, memory };
}

/** The first `per` images of each class (or the first 10·per without labels), as model input. */
async function pickImages(ds: Dataset, per: number, batchSize: number, signal?: AbortSignal): Promise<{ x: Float32Array; labels: Int32Array }> {
  const size = ds.sampleShape.reduce((a, b) => a * b, 1);
  const taken = new Map<number, number>();
  const xs: Float32Array[] = [], ls: number[] = [];
  const want = ds.hasLabels ? Infinity : 10 * per;
  for await (const b of ds.batches(batchSize, { signal })) {
    for (let i = 0; i < b.shape[0]; i++) {
      const label = b.labels ? b.labels[i] : -1;
      if ((taken.get(label) ?? 0) >= per) continue;
      taken.set(label, (taken.get(label) ?? 0) + 1);
      xs.push(b.x.slice(i * size, (i + 1) * size)); ls.push(label);
    }
    if (ls.length >= want || (ds.hasLabels && [...taken.values()].every((c) => c >= per) && taken.size >= (ds.classNames?.length ?? 10))) break;
  }
  const x = new Float32Array(xs.length * size);
  xs.forEach((v, i) => x.set(v, i * size));
  return { x, labels: Int32Array.from(ls) };
}

/**
 * "2 unreadable images skipped (dataset.skipUnreadable), the run uses the others: cat/3.png (cannot decode …), …":
 * the first 20 skipped files are named with the reason, the log names every one.
 */
function skippedNote(d: Dataset, what: string, notes: string[], log: (line: string) => void): void {
  const s = d.skipped ?? [];
  if (!s.length) return;
  for (const k of s) log(`skipped ${k.file}: ${k.reason}`);
  const named = s.slice(0, 20).map((k) => k.reason).join('; ') + (s.length > 20 ? `; and ${s.length - 20} more (each in the log)` : '');
  notes.push(`${s.length} unreadable image${s.length === 1 ? '' : 's'}${what} skipped (dataset.skipUnreadable), the run uses the others: ${named}`);
}

/** `m` over the given rows and columns: the pairs it has keep their values, the others are null. */
function widen(m: LayerMatrix | undefined, rows: string[], cols: string[]): LayerMatrix {
  const ri = new Map((m?.rows ?? []).map((t, i) => [t, i])), ci = new Map((m?.cols ?? []).map((t, i) => [t, i]));
  return { rows, cols, values: rows.map((r) => cols.map((c) => (ri.has(r) && ci.has(c) ? m!.values[ri.get(r)!][ci.get(c)!] : null))) };
}

/** A similarity result over every layer (and compared layer) from one over the non-degenerate ones. */
function widenSimilarity(r: SimilarityResult | null, names: string[], namesB: string[] | null): SimilarityResult {
  const out: SimilarityResult = { cka: widen(r?.cka, names, names), svcca: widen(r?.svcca, names, names), pwcca: widen(r?.pwcca, names, names), ckaMethod: r?.ckaMethod ?? 'none' };
  if (r?.ckaDebiased) out.ckaDebiased = widen(r.ckaDebiased, names, names);
  if (namesB) out.compare = { cka: widen(r?.compare?.cka, names, namesB), svcca: widen(r?.compare?.svcca, names, namesB), pwcca: widen(r?.compare?.pwcca, names, namesB) };
  if (r?.cca) out.cca = r.cca; // SVCCA/PWCCA guard record, failures and warnings (per layer / named pairs: no widening)
  if (r?.ccaFailures) out.ccaFailures = r.ccaFailures;
  if (r?.warnings) out.warnings = r.warnings;
  return out;
}

/** Runs the requested analyses and returns the result document. */
export async function analyze(o: AnalyzeOptions, pool: SessionPool): Promise<AnalysisResult> {
  const t00 = Date.now();
  const log = o.log ?? (() => undefined);
  const analyses = [...new Set(o.analyses)];
  for (const a of analyses) if (!ANALYSES.includes(a)) throw new ReplensError('E_ARGUMENT', `unknown analysis '${a}' (${ANALYSES.join(', ')})`);
  if (!analyses.length) throw new ReplensError('E_ARGUMENT', `no analyses requested (${ANALYSES.join(', ')})`);
  const m0 = await loadModel(o.model, { externalData: false });
  const inputInfo = valueInfoOf(feedInputs(m0.proto.graph!)[0]);
  const ds: Dataset = await openDatasetFromJob({ data: o.data, configPath: o.configPath, configRoot: o.configRoot, memoryBudgetMB: o.memoryBudgetMB }, (inputInfo?.shape ?? null) as Dim[] | null, log, inputInfo?.elemType);
  let dsB: Dataset | null = null;
  let store: ActivationStore | null = null, storeCmp: ActivationStore | null = null;
  try {
    const notes: string[] = [];
    const main = await prepareModel(o.model, o.layers, ds.sampleShape, pool, { memoryBudgetMB: o.memoryBudgetMB, signal: o.signal });
    if (o.compareData && !o.compare) throw new ReplensError('E_ARGUMENT', '--compare-data needs --compare MODEL2');
    if (o.compare && o.compareData) {
      const mB = await loadModel(o.compare, { externalData: false });
      const infoB = valueInfoOf(feedInputs(mB.proto.graph!)[0]);
      dsB = await openDatasetFromJob({ data: o.compareData, configRoot: o.configRoot, memoryBudgetMB: o.memoryBudgetMB }, (infoB?.shape ?? null) as Dim[] | null, log, infoB?.elemType);
    }
    let cmp = o.compare ? await prepareModel(o.compare, o.compareLayers ?? o.layers, (dsB ?? ds).sampleShape, pool, { memoryBudgetMB: o.memoryBudgetMB, signal: o.signal }) : null;
    for (const note of [main.batchNote, cmp?.batchNote]) if (note) { notes.push(note); log(note); }
    const order = dsB ? new SampleOrder(ds, dsB) : null;
    // Samples and k: the thesis's ch. 5 rule unless given (the number of classes comes from the labels we see).
    const seed = o.seed ?? 0;
    let n = Math.min(ds.length, o.samples ?? Math.min(ds.length, 15000));
    if (o.samples !== undefined && o.samples > ds.length) notes.push(`--samples ${o.samples} asked, the dataset has ${ds.length}: using ${ds.length}`);
    if (n < 4) throw new ReplensError('E_DATASET', `the dataset has ${ds.length} sample${ds.length === 1 ? '' : 's'}; the analyses need at least 4`);
    // The batch size follows from the budget and the layers' sizes unless given; the stores get what is left after
    // the fixed memory, RRA's working memory and a batch. k depends on the classes, seen only in the labels: the
    // plan assumes the dataset's class names or 10, and the stores make more room once k is known (below).
    const budget = (o.memoryBudgetMB ?? 2048) * 2 ** 20;
    const graphs = main.layers.length + (cmp?.layers.length ?? 0);
    const rraBytes = analyses.includes('rra') ? rraWorkingBytes(n, o.k ?? rraDefaults(n, ds.classNames?.length || 10).neighbours, graphs) : 0;
    const mem = planMemory(budget, cmp ? [main.memory, cmp.memory] : [main.memory], o.batchSize, rraBytes);
    const batchSize = mem.batchSize;
    if (mem.note) { notes.push(mem.note); log(mem.note); }
    log(`memory: ${formatBytes(mem.fixedBytes)} fixed (RRA ${formatBytes(rraBytes)}), ${formatBytes(mem.batchBytes)} per batch of ${batchSize}, ${formatBytes(mem.storeBytes)} for stored activations (budget ${formatBytes(budget)})`);

    // ---- capture: one pass, streaming analyses fed batch by batch, the rest stored ----
    const needStore = analyses.includes('rra') || analyses.includes('similarity');
    // Two models share the store's part of the budget.
    const storeShare = cmp ? mem.storeBytes / 2 : mem.storeBytes;
    store = needStore ? new ActivationStore(storeShare) : null;
    storeCmp = needStore && cmp ? new ActivationStore(storeShare) : null;
    const summaries = new Map(main.layers.map((l) => [l.tensor, new SummaryAccumulator(l.tensor)]));
    const health = new Map(main.layers.map((l) => [l.tensor, new DegeneracyCheck()]));
    const labelsAll: number[] = [];
    // Selectivity accumulates batch by batch like the summary (which layers qualify is decided at the end).
    const selectivity = analyses.includes('selectivity') ? new Map(main.layers.map((l) => [l.tensor, new SelectivityAccumulator(l.tensor)])) : null;
    let captured = 0;
    const tCapture = Date.now();
    const mainBatches = ds.batches(batchSize, { signal: o.signal, end: n });
    for await (const b of runCapture(main.plan, pool, order ? tapBatches(mainBatches, (x) => order.record(x)) : mainBatches, { signal: o.signal, total: n, onProgress: o.onProgress, what: main.ref.name })) {
      for (const l of main.layers) {
        const v = b.values.get(l.tensor)!;
        summaries.get(l.tensor)!.add(v.data, v.dims);
        health.get(l.tensor)!.add(v.data, b.count);
        store?.append(l.tensor, v.data, b.count, v.dims.slice(1));
      }
      if (b.labels) labelsAll.push(...b.labels);
      if (selectivity && b.labels) for (const l of main.layers) { const v = b.values.get(l.tensor)!; selectivity.get(l.tensor)!.add(v.data, v.dims, b.labels); }
      captured += b.count;
    }
    n = captured;
    notes.push(...(ds.notes ?? []));
    skippedNote(ds, '', notes, log);
    const captureSeconds = (Date.now() - tCapture) / 1000;
    const labels = ds.hasLabels && labelsAll.length === n ? Int32Array.from(labelsAll) : null;
    const classList = labels ? [...new Set(labels)].sort((a, b) => a - b) : [];
    if (cmp && dsB && dsB.length < n) {
      notes.push(`comparison skipped: --compare-data has ${dsB.length} samples, the run uses ${n}`);
      cmp = null;
    }
    if (cmp && order?.kind === 'none') notes.push('the sample order of --compare-data could not be verified (different input shapes or no pixel mapping, and no labels)');
    const healthB = new Map((cmp?.layers ?? []).map((l) => [l.tensor, new DegeneracyCheck()]));
    if (cmp) {
      const batchesB = (dsB ?? ds).batches(batchSize, { signal: o.signal, end: n });
      try {
        for await (const b of runCapture(cmp.plan, pool, order ? tapBatches(batchesB, (x) => order.check(x)) : batchesB, { signal: o.signal, total: n, onProgress: o.onProgress, what: cmp.ref.name })) {
          for (const l of cmp.layers) { const v = b.values.get(l.tensor)!; healthB.get(l.tensor)!.add(v.data, b.count); storeCmp?.append(l.tensor, v.data, b.count, v.dims.slice(1)); }
        }
      } catch (e) {
        // Different samples: the single-model analyses still run; the comparison is dropped with the reason.
        if (!(e instanceof ReplensError && e.code === 'E_DATASET' && order)) throw e;
        notes.push(`comparison skipped: ${e.message}`);
        log(`comparison skipped: ${e.message}`);
        cmp = null;
      }
    }
    if (dsB) skippedNote(dsB, ' of --compare-data', notes, log);
    if (!cmp && storeCmp) { storeCmp.dispose(); storeCmp = null; }
    // Every session of the analysed models (the batch check, shape inference, the capture: onnxruntime's arena keeps
    // a batch's worth) gives its memory back before the analyses run.
    for (const m of cmp ? [main, cmp] : [main]) await pool.evict(`${m.ref.path}#${m.ref.sha256}`);

    const result: AnalysisResult = {
      schema: RESULT_SCHEMA,
      createdAt: new Date().toISOString(),
      tool: { name: 'replens', version: VERSION },
      model: main.ref,
      ...(cmp ? { compare: { ...cmp.ref, layers: cmp.layers, ...(dsB && order ? { dataset: { identity: dsB.identity, description: dsB.description, orderCheck: order.kind } } : {}) } } : {}),
      dataset: { identity: ds.identity, description: ds.description, samples: n, hasLabels: !!labels, ...(ds.classNames ? { classNames: ds.classNames } : {}) },
      settings: { analyses, samples: n, seed, batchSize },
      layers: main.layers,
      modules: main.modules,
      analyses: {},
      timings: { 'capture (onnxruntime inference + stores)': captureSeconds },
      notes,
      complete: false,
    };
    const settingsKey = { samples: n, seed, batchSize, layers: main.layers.map((l) => l.tensor), compare: cmp?.ref.sha256 ?? null, compareData: cmp && dsB ? dsB.identity : null };
    // An entry keeps the notes its analysis wrote (skipped layers, dropped points), so a cache hit reports them too.
    const cached = async <T>(name: string, extra: unknown, run: () => Promise<T>): Promise<T> => {
      const key = cacheKey({ model: main.ref.sha256, dataset: ds.identity, analysis: name, settings: settingsKey, extra, version: VERSION, entry: 2 });
      if (!o.noCache) {
        const hit = readCache<{ value: T; notes: string[] }>(o.cacheDir, key);
        if (hit !== null && Array.isArray(hit.notes)) { log(`${name}: from the cache (${key.slice(0, 12)})`); notes.push(...hit.notes); return hit.value; }
      }
      const t0 = Date.now(), before = notes.length;
      const value = await run();
      result.timings[name] = (Date.now() - t0) / 1000;
      writeCache(o.cacheDir, key, { value, notes: notes.slice(before) });
      return value;
    };
    // Degenerate layers (degenerate.ts): skipped metric by metric with a note, never the end of the run.
    const skipNote = (metric: string, label: string, reason: string) => notes.push(`${metric} skipped for ${label}: ${reason}`);
    const reasons = (layers: LayerRef[], h: Map<string, DegeneracyCheck>) => new Map(layers.flatMap((l) => { const r = h.get(l.tensor)!.reason(); return r ? [[l.tensor, r] as const] : []; }));
    /** Layers whose values are all finite; a note per left-out layer (summary and selectivity need finite values only). */
    const finiteLayers = (metric: string) => main.layers.filter((l) => {
      const h = health.get(l.tensor)!;
      if (h.hasNonFinite) skipNote(metric, l.label, h.reason()!);
      return !h.hasNonFinite;
    });

    if (analyses.includes('summary')) {
      result.analyses.summary = await cached('summary', null, async () => ({ perLayer: finiteLayers('summary').map((l) => summaries.get(l.tensor)!.result()) }));
      o.onPartial?.(result);
    }
    if (analyses.includes('selectivity')) {
      if (!labels || classList.length < 2) notes.push('selectivity skipped: it needs labels with at least 2 classes');
      else {
        result.analyses.selectivity = await cached('selectivity', null, async () => {
          // Selectivity is defined for non-negative activations (ReLU outputs); layers with negative values are left out.
          const finite = finiteLayers('selectivity');
          const ok = finite.filter((l) => (summaries.get(l.tensor)!.result().min ?? 0) >= 0);
          const skipped = finite.filter((l) => !ok.includes(l)).map((l) => l.label);
          if (skipped.length) notes.push(`selectivity left out for ${skipped.join(', ')}: negative activations (the index is defined for non-negative ones)`);
          return { perLayer: ok.map((l) => selectivity!.get(l.tensor)!.result()) };
        });
        o.onPartial?.(result);
      }
    }
    throwIfAborted(o.signal);
    if (analyses.includes('rra')) {
      const rule = rraDefaults(n, Math.max(1, classList.length || 1));
      const k = o.k ?? rule.neighbours;
      if (k >= n) throw new ReplensError('E_ARGUMENT', `k = ${k} needs more than ${k} samples; the run has ${n}`);
      const settings: RraSettings = { k, poolings: ['avg2', 'max2', 'avg4', 'max4', 'avgglobal', 'maxglobal'], rule: o.k ? `k = ${k} (given), ${n} samples` : `${rule.rule}; ${n} samples used` };
      result.settings.k = k;
      // More working memory than planned (fewer classes than assumed): the stores spill to make room first.
      const extra = rraWorkingBytes(n, k, graphs) - rraBytes;
      if (extra > 0) {
        const share = storeCmp ? 2 : 1;
        for (const st of [store, storeCmp]) st?.shrinkTo(Math.max(st.budgetBytes / 4, st.budgetBytes - extra / share));
        log(`memory: RRA with k = ${k} needs ${formatBytes(extra)} more than planned; the stores spill to make room`);
      }
      if (!labels) notes.push('NNCS skipped: the dataset has no labels (intrinsic dimension and NNLS computed)');
      result.analyses.rra = await cached('rra', settings, () => runRra(store!, main.layers, labels, settings, {
        storeB: storeCmp, layersB: cmp?.layers, signal: o.signal, onProgress: o.onProgress, notes, timings: result.timings,
        skip: reasons(main.layers, health), skipB: reasons(cmp?.layers ?? [], healthB), labelB: (l) => `${l.label} of ${cmp!.ref.name}`,
        onLayer: (partial) => { result.analyses.rra = partial; o.onPartial?.(result); },
      }));
      o.onPartial?.(result);
    }
    if (analyses.includes('similarity')) {
      result.analyses.similarity = await cached('similarity', null, async () => {
        // Degenerate layers never reach runSimilarity: their rows and columns are null, the rest is unchanged.
        const skipA = reasons(main.layers, health), skipB = reasons(cmp?.layers ?? [], healthB);
        for (const l of main.layers) if (skipA.has(l.tensor)) for (const m of ['CKA', 'SVCCA', 'PWCCA']) skipNote(m, l.label, skipA.get(l.tensor)!);
        for (const l of cmp?.layers ?? []) if (skipB.has(l.tensor)) for (const m of ['CKA', 'SVCCA', 'PWCCA']) skipNote(m, `${l.label} of ${cmp!.ref.name}`, skipB.get(l.tensor)!);
        const okA = main.layers.filter((l) => !skipA.has(l.tensor)), okB = (cmp?.layers ?? []).filter((l) => !skipB.has(l.tensor));
        const r: SimilarityResult | null = okA.length ? await runSimilarity(store!, okA, { storeB: okB.length ? storeCmp : null, layersB: okB.length ? okB : undefined, signal: o.signal, onProgress: o.onProgress, notes, timings: result.timings }) : null;
        return widenSimilarity(r, main.layers.map((l) => l.tensor), cmp ? cmp.layers.map((l) => l.tensor) : null);
      });
      o.onPartial?.(result);
    }
    if (analyses.includes('noise-svd')) {
      const per = o.noiseImages ?? 10;
      const settings = { per, sigmas: o.sigmas ?? [0.2, 0.1, 0.01], groupSize: o.groupSize ?? 64, checkpoints: o.checkpoints ?? [], train: o.trainData?.path ?? null };
      result.analyses.noiseSvd = await cached('noise-svd', settings, async () => {
        const splits: { split: 'train' | 'test'; ds: Dataset }[] = [{ split: 'test', ds }];
        if (o.trainData) splits.push({ split: 'train', ds: await openDatasetFromJob({ data: o.trainData, configPath: o.configPath, configRoot: o.configRoot, memoryBudgetMB: o.memoryBudgetMB }, (inputInfo?.shape ?? null) as Dim[] | null, log) });
        const files = o.checkpoints?.length ? o.checkpoints : [o.model];
        // Degenerate layers (NaN, constant output) have no singular values to speak of: left out, with a note.
        const skipNoise = reasons(main.layers, health);
        for (const l of main.layers) if (skipNoise.has(l.tensor)) skipNote('noise-SVD', l.label, skipNoise.get(l.tensor)!);
        const noiseLayers = main.layers.filter((l) => !skipNoise.has(l.tensor)).map((l) => l.tensor);
        const noiseBatch = new Map<string, Awaited<ReturnType<typeof adaptBatch>>>();
        const out: NoiseSvdResultJson = { settings: { sigmas: settings.sigmas, groupSize: settings.groupSize, seed, centre: false, clip: ds.pixelSpace?.clip ?? null, images: 0 }, series: [] };
        for (const { split, ds: d } of splits) {
          const pick = await pickImages(d, per, batchSize, o.signal);
          out.settings.images = pick.labels.length;
          for (const file of files) {
            throwIfAborted(o.signal);
            const m = await loadModel(file);
            // Noise groups run G samples at once: a fixed batch must be freed, or be G (checked once per model).
            if (!noiseBatch.has(file)) noiseBatch.set(file, await adaptBatch(m.proto, singleInput(m.proto), d.sampleShape, pool, `${m.path}#noise-batch`));
            const fixed = noiseBatch.get(file)!;
            if (fixed.runBatch !== null && fixed.runBatch !== settings.groupSize) {
              throw new ReplensError('E_INPUT_SHAPE', `noise-svd runs groups of ${settings.groupSize} samples, but ${fixed.note}; set --group-size ${fixed.runBatch}`);
            }
            if (!noiseLayers.length) break;
            let r;
            try {
              r = await noiseSvd(fixed.proto, `${m.path}#noise${fixed.keySuffix}`, pool, noiseLayers, pick.x, d.sampleShape, d.hasLabels ? pick.labels : null, {
                sigmas: settings.sigmas, groupSize: settings.groupSize, seed, signal: o.signal, onProgress: o.onProgress,
                pixel: d.pixelSpace ?? { mean: [0], std: [1], layout: 'NCHW', clip: null },
              });
            } catch (e) {
              // A checkpoint whose activations the metric refuses (NaN after a diverged epoch) loses only its series.
              if (!(e instanceof ReplensError) || e.code !== 'E_ARGUMENT') throw e;
              notes.push(`noise-SVD skipped for ${path.basename(file)} (${split}): ${e.message}`);
              continue;
            }
            const ep = /epoch[-_]?(\d+)/i.exec(path.basename(file));
            out.series.push({ checkpoint: path.basename(file), epoch: ep ? Number(ep[1]) : null, split, layers: r.layers });
          }
          if (d !== ds) await d.close?.();
        }
        return out;
      });
      o.onPartial?.(result);
    }
    result.complete = true;
    result.timings.total = (Date.now() - t00) / 1000;
    return result;
  } finally {
    // Spill files go on success, error and cancel alike.
    store?.dispose(); storeCmp?.dispose();
    await ds.close?.();
    await dsB?.close?.();
  }
}
