// How an analysis divides its memory budget. A run holds three kinds of memory: fixed (the process, onnxruntime's
// sessions and the model's weights), per batch (the input, onnxruntime's intermediate tensors, the captured outputs
// and their copies) and the activation store (which spills to disk beyond its share). At 224² one sample of
// resnet18 moves tens of megabytes through onnxruntime, so the batch size must follow from the budget: batch 64 was
// both slower and 4.6× heavier than batch 8 there.
import type { Dim } from '../onnx/graph';
import type { ModelProto } from '../onnx/proto';
import { formatBytes } from '../fsafe';

/** Memory the process needs whatever the data: Node, onnxruntime and its thread pools (measured: 150–250 MB). */
export const PROCESS_BYTES = 256 * 2 ** 20;
/** The share of the budget a batch's transient memory may take; the store gets what is left. */
export const BATCH_SHARE = 0.25;
/** The store never gets less than this share of the budget (it spills beyond it). */
const MIN_STORE_SHARE = 0.25;

export interface MemoryPlan {
  batchSize: number;
  /** The activation store's budget (split between the stores of a comparison). */
  storeBytes: number;
  /** Estimated bytes of one batch in flight. */
  batchBytes: number;
  /** Fixed bytes: the process and the models' weights. */
  fixedBytes: number;
  /** A line for the log and the notes when the batch size was chosen for memory, else null. */
  note: string | null;
}

const sampleBytes = (shape: Dim[] | undefined): number => {
  if (!shape || shape.length < 2) return 0;
  let n = 4;
  for (const d of shape.slice(1)) {
    if (typeof d !== 'number') return 0;
    n *= d;
  }
  return n;
};

/**
 * Bytes one sample moves through onnxruntime: every node output's sample (float32), a bound that ignores the reuse
 * of buffers onnxruntime's planner makes — captured tensors are graph outputs and are never reused anyway.
 */
export function workBytesPerSample(model: ModelProto, shapes: Map<string, Dim[]>): number {
  let total = 0;
  for (const n of model.graph!.node) for (const o of n.output) total += sampleBytes(shapes.get(o));
  return total;
}

/** Bytes of the model's weights (initializers and Constant values as stored), which onnxruntime holds a copy of. */
export function weightBytes(model: ModelProto): number {
  let total = 0;
  for (const t of model.graph!.initializer) total += (t.rawData?.length ?? 0) + t.floatData.length * 4;
  return total;
}

/** The kNN's tile buffers: three operands of ≤ 64 MB (metrics/knn.ts) and onnxruntime's copies of two. */
export const KNN_TILE_BYTES = 5 * 64 * 2 ** 20;

/**
 * Working memory of RRA outside the store: the tiles, one layer's candidate heaps (n rows × (2k + 8) float64
 * distances and int32 indices) and the n × k graphs kept for NNLS, one per layer.
 */
export function rraWorkingBytes(n: number, k: number, graphs: number): number {
  return KNN_TILE_BYTES + n * (2 * k + 8) * 12 + graphs * n * k * 4;
}

export interface ModelMemory {
  /** Input bytes per sample (float32). */
  inputBytes: number;
  /** Captured bytes per sample: the taps. */
  tapBytes: number;
  /** onnxruntime's bytes per sample (workBytesPerSample). */
  workBytes: number;
  /** The model's weights. */
  weights: number;
}

/**
 * Chooses the batch size (at most `requested`, or 64) so that a batch in flight fits BATCH_SHARE of the budget,
 * and gives the stores what is left after the fixed memory (the process, the weights, `analysisBytes` of the
 * analyses' own working memory) and the batch. A batch costs, per sample and model:
 * the input twice (the preprocessed array, onnxruntime's copy), onnxruntime's working set, and the taps three
 * times (onnxruntime's outputs, the unpacked copies, the store's copy).
 */
export function planMemory(
  budgetBytes: number,
  models: ModelMemory[],
  requested: number | undefined,
  analysisBytes = 0,
): MemoryPlan {
  const perSample = models.reduce((s, m) => s + 2 * m.inputBytes + m.workBytes + 3 * m.tapBytes, 0);
  const fixedBytes = PROCESS_BYTES + models.reduce((s, m) => s + 2 * m.weights, 0) + analysisBytes;
  const fit = Math.max(1, Math.floor((BATCH_SHARE * budgetBytes) / Math.max(1, perSample)));
  const batchSize = requested ?? Math.min(64, fit);
  const batchBytes = batchSize * perSample;
  const storeBytes = Math.max(MIN_STORE_SHARE * budgetBytes, budgetBytes - fixedBytes - batchBytes);
  const note =
    requested === undefined && batchSize < 64
      ? `batch size ${batchSize} (a sample moves ${formatBytes(perSample)} through the model; a batch ` +
        `may take ${Math.round(BATCH_SHARE * 100)} % of the ${formatBytes(budgetBytes)} memory budget)`
      : requested !== undefined && requested > fit
        ? `--batch-size ${requested} keeps about ${formatBytes(batchBytes)} ` +
          `in flight, over ${Math.round(BATCH_SHARE * 100)} % of the ` +
          `${formatBytes(budgetBytes)} memory budget (${fit} would fit)`
        : null;
  return { batchSize, storeBytes, batchBytes, fixedBytes, note };
}
