import type { AnalysisResult } from '../../src/shared/result';
import { depthMode, modelSeries, seriesTitle } from '../charts/models';

/** A tensor's display label in the result (the model's layers, then the compared model's), else the tensor name. */
export function layerLabel(r: AnalysisResult, tensor: string): string {
  return (
    r.layers.find((l) => l.tensor === tensor)?.label ??
    r.compare?.layers.find((l) => l.tensor === tensor)?.label ??
    tensor
  );
}

/**
 * What a per-layer chart's caption adds for a comparison (the compared model's per-model analyses overlaid): which
 * model is which and how B is drawn (`bStyle`), and relative depth for two architectures. '' for one model.
 */
export function overlayNote(r: AnalysisResult, bStyle: string): string {
  const s = modelSeries(r);
  if (s.length < 2) return '';
  const depth =
    depthMode(r) === 'relative'
      ? ' The models’ layers differ, so x is relative depth (layer position ÷ last position); ' +
        'hover a point for its layer.'
      : ' Both models have the same layers: one layer axis.';
  return ` Two models, one legend group each: ${seriesTitle(s[0])}, ${seriesTitle(s[1])} (${bStyle}).${depth}`;
}

/** How model B's lines differ from A's (asModel in charts/analysis.ts). */
export const B_LINES = 'B dashed where A is solid, dash-dotted where A is dotted, open markers';
