import type { AnalysisResult } from '../../src/shared/result';

/** A tensor's display label in the result (the model's layers, then the compared model's), else the tensor name. */
export function layerLabel(r: AnalysisResult, tensor: string): string {
  return (
    r.layers.find((l) => l.tensor === tensor)?.label ??
    r.compare?.layers.find((l) => l.tensor === tensor)?.label ??
    tensor
  );
}
