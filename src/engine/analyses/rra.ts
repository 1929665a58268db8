// The RRA analysis (thesis `002_*` ch. 3–6): per layer one exact kNN graph (metrics/knn.ts) feeds the TwoNN
// intrinsic dimension (its first two neighbours), NNCS (with labels) and the layer × layer NNLS matrix; the
// multi-scale variant pools each conv layer with non-overlapping avg/max windows (2, 4, global) and repeats the
// kNN (ch. 6, Algorithm 1); with a second model on the same samples, the inter-model NNLS matrix (ch. 4).
// Layers are read tile by tile from the ActivationStore (in memory or spilled to disk; never a whole layer at once)
// and only the N×k neighbour indices are kept, so a run stays within the memory budget whatever N is. Pooled copies
// are made chunk by chunk into the same store (float32, like the activations) and dropped after their graph.
// The graphs are built in kNN's 'set' order (exact neighbour sets and exact two nearest: all that TwoNN, NNCS and
// NNLS read).
import { throwIfAborted } from '../errors';
import type { ActivationStore } from '../capture/store';
import { knnWithDistances } from '../metrics/knn';
import { twoNNFromGraph } from '../metrics/twonn';
import { nncsFromGraph } from '../metrics/nncs';
import { nnlsMatrix } from '../metrics/nnls';
import { poolFeatures, type PoolKind, type PoolSize } from '../metrics/pooling';
import { ProgressTracker, type ProgressSink } from '../progress';
import type { LayerRef, RraLayer, RraResult } from '../../shared/result';

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

export async function runRra(
  store: ActivationStore, layers: LayerRef[], labels: Int32Array | null, s: RraSettings,
  o: {
    storeB?: ActivationStore | null; layersB?: LayerRef[]; signal?: AbortSignal; onProgress?: ProgressSink; notes?: string[]; timings?: Record<string, number>;
    /** After each layer: the result so far (per-layer rows; the NNLS matrices come at the end). */
    onLayer?: (partial: RraResult) => void;
  } = {},
): Promise<RraResult> {
  const knn = async (...a: Parameters<typeof knnWithDistances>) => { const t0 = Date.now(); try { return await knnWithDistances(...a); } finally { if (o.timings) o.timings['rra: kNN graphs'] = (o.timings['rra: kNN graphs'] ?? 0) + (Date.now() - t0) / 1000; } };
  const n = store.rows(layers[0].tensor);
  const spatial = (l: LayerRef) => l.shape.length === 3 && l.shape[1] > 1;
  const units = layers.length + layers.filter(spatial).length * s.poolings.length + (o.layersB?.length ?? 0);
  const progress = new ProgressTracker(o.onProgress, 'RRA: kNN graphs', units);
  let done = 0;
  const graphs: Int32Array[] = [];
  const perLayer: RraLayer[] = [];
  for (const l of layers) {
    throwIfAborted(o.signal);
    const g = await knn(store.source(l.tensor), s.k, { order: 'set' });
    graphs.push(g.indices);
    const id = twoNNFromGraph(g);
    if (id.dropped && o.notes) o.notes.push(`TwoNN on ${l.label}: ${id.dropped} point${id.dropped === 1 ? '' : 's'} with r1 = 0 or r1 = r2 dropped`);
    const row: RraLayer = {
      tensor: l.tensor,
      id: { twonn: finite(id.value), ml: finite(id.ml), dropped: id.dropped },
      nncs: labels ? nncsFromGraph(g.indices, labels, s.k).value : null,
    };
    progress.update(++done, l.label);
    if (spatial(l) && labels) {
      row.multiScale = {};
      for (const p of s.poolings) {
        throwIfAborted(o.signal);
        const { kind, size } = parsePooling(p);
        const [C, H, W] = l.shape;
        if (size !== 'global' && (size > H || size > W)) { row.multiScale[p] = null; progress.update(++done); continue; }
        const name = pooledName(l.tensor, p);
        try {
          for (const c of store.chunks(l.tensor, Math.max(1, Math.floor((1 << 22) / (C * H * W))))) {
            const pooled = poolFeatures(c.data, [c.rows, C, H, W], kind, size);
            store.append(name, Float32Array.from(pooled.data), c.rows, pooled.shape.slice(1));
          }
          const pg = await knn(store.source(name), s.k, { order: 'set' });
          row.multiScale[p] = nncsFromGraph(pg.indices, labels, s.k).value;
        } finally { store.remove(name); }
        progress.update(++done, `${l.label} ${p}`);
      }
    } else if (spatial(l)) {
      done += s.poolings.length;
    }
    perLayer.push(row);
    o.onLayer?.({ k: s.k, samples: n, rule: s.rule, perLayer: [...perLayer], nnls: { rows: [], cols: [], values: [] }, poolings: s.poolings });
  }
  const names = layers.map((l) => l.tensor);
  const nnls = { rows: names, cols: names, values: nnlsMatrix(graphs, graphs, n, s.k) };
  const result: RraResult = { k: s.k, samples: n, rule: s.rule, perLayer, nnls, poolings: s.poolings };
  if (o.storeB && o.layersB) {
    const graphsB: Int32Array[] = [];
    for (const l of o.layersB) {
      throwIfAborted(o.signal);
      graphsB.push((await knn(o.storeB.source(l.tensor), s.k, { order: 'set' })).indices);
      progress.update(++done, `compare ${l.label}`);
    }
    result.interModel = { rows: names, cols: o.layersB.map((l) => l.tensor), values: nnlsMatrix(graphs, graphsB, n, s.k) };
  }
  return result;
}
