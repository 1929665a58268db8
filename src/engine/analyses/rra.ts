// The RRA analysis (thesis `002_*` ch. 3–6): per layer one exact kNN graph (metrics/knn.ts) feeds the TwoNN
// intrinsic dimension (its first two neighbours), NNCS (with labels) and the layer × layer NNLS matrix; the
// multi-scale variant pools each conv layer with non-overlapping avg/max windows (2, 4, global) and repeats the
// kNN (ch. 6, Algorithm 1); with a second model on the same samples, the inter-model NNLS matrix (ch. 4) — the
// between-model part, built from both models' kNN graphs as their own runs kept them (cached next to the value:
// N·k int32 per layer), so a comparison after two single runs builds no graph.
// Layers are read tile by tile from the ActivationStore (in memory or spilled to disk; never a whole layer at once)
// and only the N×k neighbour indices are kept, so a run stays within the memory budget whatever N is. Pooled copies
// are made chunk by chunk into the same store (float32, like the activations) and dropped after their graph.
// The graphs are built in kNN's 'set' order (exact neighbour sets and exact two nearest: all that TwoNN, NNCS and
// NNLS read).
// A degenerate layer (non-finite values, every sample equal, every point duplicated) never ends the run: the
// metric it breaks is null for that layer, with a note "<metric> skipped for <layer>: <reason>"; the other
// layers' numbers are exactly those of a run without it (NNLS is computed over the layers that have a graph).
import { ReplensError, throwIfAborted } from '../errors';
import type { ActivationStore } from '../capture/store';
import { knnWithDistances } from '../metrics/knn';
import { twoNNFromGraph } from '../metrics/twonn';
import { nncsFromGraph } from '../metrics/nncs';
import { nnlsMatrix } from '../metrics/nnls';
import { poolFeatures, type PoolKind, type PoolSize } from '../metrics/pooling';
import { ProgressTracker } from '../progress';
import type { LayerRef, RraLayer, RraResult } from '../../shared/result';
import { rraDefaults } from '../metrics/rra-defaults';
import { rraWorkingBytes } from '../capture/memory';
import { formatBytes } from '../fsafe';
import type { AnalysisContext, EngineAnalysis, LayerPassOptions } from './context';

export interface RraSettings {
  k: number;
  /** Pooling names: avg2, max4, avgglobal, … */
  poolings: string[];
  rule: string;
}

export function parsePooling(name: string): { kind: PoolKind; size: PoolSize } {
  const m = /^(avg|max)(\d+|global)$/.exec(name);
  if (!m) throw new Error(`bad pooling name '${name}'`);
  return { kind: m[1] as PoolKind, size: m[2] === 'global' ? 'global' : Number(m[2]) };
}

/** The store entry of a pooled copy (a name no ONNX tensor has). */
const pooledName = (tensor: string, pooling: string) => `replens:pooled:${pooling}:${tensor}`;

const finite = (v: number) => (Number.isFinite(v) ? v : null);

/** A metric refusing its input (too few points left, NaN, …): E_ARGUMENT. Cancellation and failures still throw. */
const isDomainError = (e: unknown): e is ReplensError => e instanceof ReplensError && e.code === 'E_ARGUMENT';

/** NNLS over the layers that have a graph; null rows/columns for those that have none. */
export function nnlsWithGaps(
  a: (Int32Array | null)[],
  b: (Int32Array | null)[],
  n: number,
  k: number,
): (number | null)[][] {
  const ia = a.flatMap((g, i) => (g ? [i] : [])),
    ib = b.flatMap((g, i) => (g ? [i] : []));
  const ga = ia.map((i) => a[i]!),
    gb = a === b ? ga : ib.map((i) => b[i]!);
  const m = nnlsMatrix(ga, gb, n, k);
  const out = a.map(() => b.map(() => null as number | null));
  ia.forEach((i, r) =>
    ib.forEach((j, c) => {
      out[i][j] = m[r][c];
    }),
  );
  return out;
}

export async function runRra(
  store: ActivationStore,
  layers: LayerRef[],
  labels: Int32Array | null,
  s: RraSettings,
  o: LayerPassOptions & {
    /** Layers (by tensor) whose kNN graph is meaningless, with the reason: every metric of theirs is null. */
    skip?: Map<string, string>;
    /** After each layer: the result so far (per-layer rows; the NNLS matrices come at the end). */
    onLayer?: (partial: RraResult) => void;
    /** Each layer's kNN graph (neighbour indices, N×k), or null when it has none: what the comparison reuses. */
    onGraph?: (tensor: string, indices: Int32Array | null) => void;
  } = {},
): Promise<RraResult> {
  const { knn, orNull, graphOf } = graphTools(s.k, o);
  const n = store.rows(layers[0].tensor);
  const spatial = (l: LayerRef) => l.shape.length === 3 && l.shape[1] > 1;
  const units = layers.length + layers.filter(spatial).length * s.poolings.length;
  const progress = new ProgressTracker(o.onProgress, 'RRA: kNN graphs', units);
  let done = 0;
  const graphs: (Int32Array | null)[] = [];
  const perLayer: RraLayer[] = [];
  for (const l of layers) {
    throwIfAborted(o.signal);
    const multi = spatial(l) && labels;
    const needs = ['TwoNN', ...(labels ? ['NNCS'] : []), ...(multi ? ['multi-scale NNCS'] : []), 'NNLS'];
    const g = await graphOf(store, l, l.label, o.skip?.get(l.tensor), needs);
    graphs.push(g?.indices ?? null);
    o.onGraph?.(l.tensor, g?.indices ?? null);
    const id = g ? await orNull(['TwoNN'], l.label, () => twoNNFromGraph(g)) : null;
    if (id?.dropped && o.notes)
      o.notes.push(
        `TwoNN on ${l.label}: ${id.dropped} point${id.dropped === 1 ? '' : 's'} with r1 = 0 or r1 = r2 dropped`,
      );
    const row: RraLayer = {
      tensor: l.tensor,
      id: id ? { twonn: finite(id.value), ml: finite(id.ml), dropped: id.dropped } : null,
      nncs: labels && g ? nncsFromGraph(g.indices, labels, s.k).value : null,
    };
    progress.update(++done, l.label);
    if (multi && !g) {
      row.multiScale = Object.fromEntries(s.poolings.map((p) => [p, null]));
      done += s.poolings.length;
    } else if (multi) {
      row.multiScale = {};
      for (const p of s.poolings) {
        throwIfAborted(o.signal);
        row.multiScale[p] = await pooledNncs(
          store,
          l,
          p,
          labels,
          (src) => orNull([`multi-scale NNCS (${p})`], l.label, () => knn(src, s.k, { order: 'set' })),
          s.k,
        );
        progress.update(++done, `${l.label} ${p}`);
      }
    } else if (spatial(l)) {
      done += s.poolings.length;
    }
    perLayer.push(row);
    o.onLayer?.({
      k: s.k,
      samples: n,
      rule: s.rule,
      perLayer: [...perLayer],
      nnls: { rows: [], cols: [], values: [] },
      poolings: s.poolings,
    });
  }
  const names = layers.map((l) => l.tensor);
  const nnls = { rows: names, cols: names, values: nnlsWithGaps(graphs, graphs, n, s.k) };
  return { k: s.k, samples: n, rule: s.rule, perLayer, nnls, poolings: s.poolings };
}

/** The kNN graph builder (timed), and "the metric refuses this layer" as a null with notes, shared by both passes. */
function graphTools(k: number, o: LayerPassOptions) {
  const knn = async (...a: Parameters<typeof knnWithDistances>) => {
    const t0 = Date.now();
    try {
      return await knnWithDistances(...a);
    } finally {
      if (o.timings) o.timings['rra: kNN graphs'] = (o.timings['rra: kNN graphs'] ?? 0) + (Date.now() - t0) / 1000;
    }
  };
  const skipped = (metrics: string[], label: string, reason: string) => {
    for (const m of metrics) o.notes?.push(`${m} skipped for ${label}: ${reason}`);
  };
  /** f's value, or null with a note when the metric refuses this layer's data. */
  const orNull = async <T>(metrics: string[], label: string, f: () => T | Promise<T>): Promise<T | null> => {
    try {
      return await f();
    } catch (e) {
      if (!isDomainError(e)) throw e;
      skipped(metrics, label, e.message);
      return null;
    }
  };
  /** The layer's graph, or null (with a note for each metric that needed it). */
  const graphOf = async (
    st: ActivationStore,
    l: LayerRef,
    label: string,
    reason: string | undefined,
    metrics: string[],
  ) => {
    if (reason) {
      skipped(metrics, label, reason);
      return null;
    }
    return orNull(metrics, label, () => knn(st.source(l.tensor), k, { order: 'set' }));
  };
  return { knn, orNull, graphOf };
}

/** The name a layer's kNN graph is kept under (with k: a graph at another k is not reused). */
export const keptGraphName = (k: number, tensor: string) => `knn:${k}:${tensor}`;

/**
 * The inter-model NNLS matrix (rows: the model's layers, cols: the compared model's) from both models' kNN graphs:
 * each taken from `kept` (the per-model runs') when there, else built from the store. A layer of the model without a
 * graph was noted by its per-model run and is left out silently; one of the compared model is noted here
 * ("inter-model NNLS skipped for …").
 */
export async function rraBetween(
  store: ActivationStore,
  layers: LayerRef[],
  storeB: ActivationStore,
  layersB: LayerRef[],
  s: RraSettings,
  o: LayerPassOptions & {
    skip?: Map<string, string>;
    skipB?: Map<string, string>;
    /** How a compared layer is named in notes. */
    labelB?: (l: LayerRef) => string;
    /** A kept graph: a non-empty array is the graph, an empty one "none", null "not kept". */
    kept?: (of: 'model' | 'compare', tensor: string) => Int32Array | null;
  } = {},
): Promise<NonNullable<RraResult['interModel']>> {
  const { knn, graphOf } = graphTools(s.k, o);
  const n = store.rows(layers[0].tensor);
  const progress = new ProgressTracker(o.onProgress, 'RRA: between models', layers.length + layersB.length);
  let done = 0;
  const graphs: (Int32Array | null)[] = [];
  for (const l of layers) {
    throwIfAborted(o.signal);
    const kept = o.kept?.('model', l.tensor) ?? null;
    if (kept) graphs.push(kept.length ? kept : null);
    else if (o.skip?.has(l.tensor)) graphs.push(null);
    else {
      let g: Int32Array | null = null;
      try {
        g = (await knn(store.source(l.tensor), s.k, { order: 'set' })).indices;
      } catch (e) {
        if (!isDomainError(e)) throw e;
      }
      graphs.push(g);
    }
    progress.update(++done, l.label);
  }
  const graphsB: (Int32Array | null)[] = [];
  for (const l of layersB) {
    throwIfAborted(o.signal);
    // An empty kept graph (none) is rebuilt here only to say why in the note, as the comparison always did.
    const kept = o.kept?.('compare', l.tensor) ?? null;
    const label = o.labelB?.(l) ?? l.label;
    graphsB.push(
      kept?.length
        ? kept
        : ((await graphOf(storeB, l, label, o.skipB?.get(l.tensor), ['inter-model NNLS']))?.indices ?? null),
    );
    progress.update(++done, `compare ${l.label}`);
  }
  return {
    rows: layers.map((l) => l.tensor),
    cols: layersB.map((l) => l.tensor),
    values: nnlsWithGaps(graphs, graphsB, n, s.k),
  };
}

/**
 * NNCS after pooling a (C, H, W) layer (ch. 6): the pooled copy is made chunk by chunk into the store and dropped
 * after its graph. Null when the window is larger than the map or the graph is refused (`graph` notes why).
 */
async function pooledNncs(
  store: ActivationStore,
  l: LayerRef,
  p: string,
  labels: Int32Array,
  graph: (src: ReturnType<ActivationStore['source']>) => Promise<{ indices: Int32Array } | null>,
  k: number,
): Promise<number | null> {
  const { kind, size } = parsePooling(p);
  const [C, H, W] = l.shape;
  if (size !== 'global' && (size > H || size > W)) return null;
  const name = pooledName(l.tensor, p);
  try {
    for (const c of store.chunks(l.tensor, Math.max(1, Math.floor((1 << 22) / (C * H * W))))) {
      const pooled = poolFeatures(c.data, [c.rows, C, H, W], kind, size);
      store.append(name, Float32Array.from(pooled.data), c.rows, pooled.shape.slice(1));
    }
    const pg = await graph(store.source(name));
    return pg ? nncsFromGraph(pg.indices, labels, k).value : null;
  } finally {
    store.remove(name);
  }
}

export const RRA_POOLINGS = ['avg2', 'max2', 'avg4', 'max4', 'avgglobal', 'maxglobal'];

/** The analysis: k from the thesis's ch. 5 rule (samples, classes) unless given. */
export const rraAnalysis: EngineAnalysis<'rra', RraSettings> = {
  id: 'rra',
  // The plan is made before the labels are seen: it assumes the dataset's class names or 10 classes.
  workingBytes: (p) =>
    rraWorkingBytes(p.samples, p.settings.k ?? rraDefaults(p.samples, p.classes).neighbours, p.graphs),
  settings(ctx) {
    const n = ctx.samples;
    const rule = rraDefaults(n, Math.max(1, ctx.classes.length || 1));
    const k = ctx.settings.k ?? rule.neighbours;
    if (k >= n) throw new ReplensError('E_ARGUMENT', `k = ${k} needs more than ${k} samples; the run has ${n}`);
    return {
      k,
      poolings: RRA_POOLINGS,
      rule: ctx.settings.k ? `k = ${k} (given), ${n} samples` : `${rule.rule}; ${n} samples used`,
    };
  },
  async run(ctx, s, io) {
    makeRoomFor(ctx, s.k, ctx.model.layers.length);
    const notes: string[] = [];
    const timings: Record<string, number> = {};
    if (!ctx.labels) notes.push('NNCS skipped: the dataset has no labels (intrinsic dimension and NNLS computed)');
    const value = await runRra(ctx.store!, ctx.model.layers, ctx.labels, s, {
      signal: ctx.signal,
      onProgress: ctx.onProgress,
      notes,
      timings,
      skip: ctx.degenerate('model'),
      onLayer: (partial) => io.partial(partial),
      onGraph: (tensor, g) => io.keep(keptGraphName(s.k, tensor), g ?? new Int32Array(0)),
    });
    return { value, notes, timings, settings: { k: s.k } };
  },
  async between(ctx, s, io) {
    const cmp = ctx.compare!;
    makeRoomFor(ctx, s.k, ctx.model.layers.length + cmp.layers.length);
    const notes: string[] = [];
    const timings: Record<string, number> = {};
    const interModel = await rraBetween(ctx.store!, ctx.model.layers, ctx.compareStore!, cmp.layers, s, {
      signal: ctx.signal,
      onProgress: ctx.onProgress,
      notes,
      timings,
      skip: ctx.degenerate('model'),
      skipB: ctx.degenerate('compare'),
      labelB: (l) => `${l.label} of ${cmp.ref.name}`,
      kept: (of, tensor) => io.kept(of, keptGraphName(s.k, tensor)),
    });
    return { value: { interModel }, notes, timings };
  },
};

/** More working memory than planned (fewer classes than assumed): the stores spill to make room first. */
function makeRoomFor(ctx: AnalysisContext, k: number, graphs: number): void {
  const extra = rraWorkingBytes(ctx.samples, k, graphs) - ctx.plannedBytes('rra');
  if (extra > 0) {
    ctx.makeRoom(extra);
    ctx.log(`memory: RRA with k = ${k} needs ${formatBytes(extra)} more than planned; the stores spill to make room`);
  }
}
