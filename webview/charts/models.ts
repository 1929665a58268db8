// The models a result's per-layer charts and layer table show: the model (A) and, when the result carries the compared
// model's own per-model analyses (compare.analyses), the compared model (B), overlaid as TensorBoard overlays runs.
// Whether their layers pair up: the same layer labels in the same depth order (two checkpoints of one architecture)
// share the layer axis and the table's rows; different architectures go on relative depth and get a table each.
import type { AnalysisResult, AnalysisValues, LayerRef } from '../../src/shared/result';

export interface ModelSeries {
  key: 'model' | 'compare';
  /** The tag the table's "(B)" columns and the charts' legend group titles use. */
  tag: 'A' | 'B';
  name: string;
  refs: readonly LayerRef[];
  analyses: Partial<AnalysisValues>;
}

/** The model, then the compared model when the result has its per-model analyses (older results do not). */
export function modelSeries(r: AnalysisResult): ModelSeries[] {
  const a: ModelSeries = { key: 'model', tag: 'A', name: r.model.name, refs: r.layers, analyses: r.analyses };
  const c = r.compare;
  if (!c?.analyses) return [a];
  return [a, { key: 'compare', tag: 'B', name: c.name, refs: c.layers, analyses: c.analyses }];
}

/** 'A: model.onnx', the legend group title and the table's key to the "(B)" columns. */
export const seriesTitle = (s: Pick<ModelSeries, 'tag' | 'name'>): string => `${s.tag}: ${s.name}`;

export const inDepthOrder = (refs: readonly LayerRef[]): LayerRef[] => [...refs].sort((x, y) => x.index - y.index);

/** Both models have the same layer labels in the same depth order (two checkpoints of one architecture). */
export function sameLayers(r: AnalysisResult): boolean {
  if (!r.compare) return false;
  const a = inDepthOrder(r.layers).map((l) => l.label),
    b = inDepthOrder(r.compare.layers).map((l) => l.label);
  return a.length > 0 && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * With the same layers: the model's tensor → the compared model's tensor at the same depth position (tensor names
 * may differ between the two graphs, or coincide for different layers, so pairs go by position, never by name).
 */
export function pairedTensors(r: AnalysisResult): Map<string, string> {
  if (!r.compare || !sameLayers(r)) return new Map();
  const b = inDepthOrder(r.compare.layers);
  return new Map(inDepthOrder(r.layers).map((l, i) => [l.tensor, b[i].tensor]));
}

/**
 * How a per-layer chart's x axis shows the models: 'single' (one model: the layer axis as always), 'shared' (the
 * same layers: one layer axis), 'relative' (different layers: relative depth, position ÷ last position).
 */
export type DepthMode = 'single' | 'shared' | 'relative';

export function depthMode(r: AnalysisResult): DepthMode {
  return modelSeries(r).length < 2 ? 'single' : sameLayers(r) ? 'shared' : 'relative';
}

/** The x axis title of the charts on relative depth. */
export const RELATIVE_DEPTH_TITLE = 'relative depth (layer position ÷ last position; the models’ layers differ)';

/** The compared model as a result of its own (one definition, shared with the CLI). */
export { comparedResult } from '../../src/shared/result';
