// Activation capture: one onnxruntime session computes the requested tensors (reduced in-graph) for a stream of
// batches. Everything downstream (the .npy writer, the in-memory store, analyses) consumes `CapturedBatch`es.
import { ReplensError, throwIfAborted } from '../errors';
import { cutGraph, feedInputs, requireTensors, type Dim } from '../onnx/graph';
import type { ModelProto, NodeProto } from '../onnx/proto';
import { runSession, type SessionPool } from '../runtime/session';
import type { Batch } from '../data/dataset';
import { ProgressTracker, type ProgressSink } from '../progress';
import { reductionFor, reduceName, type Reduce, type ReducedOutput } from './reduce';

export interface CapturePlan {
  proto: ModelProto;
  /** Session-cache key of the derived model. */
  key: string;
  input: string;
  outputs: ReducedOutput[];
  reduce: Reduce;
}

export interface CapturedTensor { data: Float32Array; dims: number[] }

export interface CapturedBatch {
  start: number;
  count: number;
  labels: Int32Array | null;
  /** By captured tensor name (not the graph output name). */
  values: Map<string, CapturedTensor>;
}

/** The single feed input of a model; RepLens streams data into single-input models. */
export function singleInput(model: ModelProto): string {
  const inputs = feedInputs(model.graph!);
  if (inputs.length !== 1) {
    throw new ReplensError('E_ARGUMENT', `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); activation capture feeds single-input models`);
  }
  return inputs[0].name;
}

/** Builds the capture model: the graph cut to what the tensors need, plus in-graph reductions. */
export function planCapture(model: ModelProto, modelKey: string, tensors: string[], reduce: Reduce, shapes: Map<string, Dim[]>): CapturePlan {
  if (!tensors.length) throw new ReplensError('E_ARGUMENT', 'no tensors to capture (give --tensors)');
  const graph = model.graph!;
  requireTensors(graph, tensors);
  const input = singleInput(model);
  const nodes: NodeProto[] = [];
  const outputs: ReducedOutput[] = [];
  const unique = [...new Set(tensors)];
  unique.forEach((t, i) => {
    const r = reductionFor(t, shapes.get(t) ?? null, reduce, i);
    nodes.push(...r.nodes);
    outputs.push(r.out);
  });
  const proto = cutGraph(model, { inputs: [input], outputs: [...new Set(outputs.map((o) => o.output))], extraNodes: nodes });
  return { proto, key: `${modelKey}#capture:${reduceName(reduce)}:${unique.join('\u0000')}`, input, outputs, reduce };
}

function toFloat32(data: ArrayLike<number | bigint> & { length: number }): Float32Array {
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return out;
}

export interface CaptureOptions {
  signal?: AbortSignal;
  /** Total samples, for progress and ETA. */
  total?: number;
  onProgress?: ProgressSink;
  what?: string;
}

/** Runs the plan over the batches, yielding captured values batch by batch. Cancellation is checked per batch. */
export async function* runCapture(plan: CapturePlan, pool: SessionPool, batches: AsyncIterable<Batch>, opts: CaptureOptions = {}): AsyncGenerator<CapturedBatch> {
  const what = opts.what ?? 'capture';
  const ms = await pool.get(plan.key, plan.proto, what);
  const progress = new ProgressTracker(opts.onProgress, 'capturing activations', opts.total ?? 0);
  let done = 0;
  for await (const b of batches) {
    throwIfAborted(opts.signal);
    const out = await runSession(ms, { [plan.input]: { data: b.x, dims: b.shape, type: 'float32' } }, what);
    const values = new Map<string, CapturedTensor>();
    for (const o of plan.outputs) {
      const t = out[o.output];
      values.set(o.tensor, { data: toFloat32(t.data as Float32Array), dims: t.dims });
    }
    done += b.shape[0];
    progress.update(done);
    yield { start: b.start, count: b.shape[0], labels: b.labels, values };
  }
}
