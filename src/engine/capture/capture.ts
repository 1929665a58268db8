// Activation capture: one onnxruntime session computes the requested tensors (reduced in-graph) for a stream of
// batches. Everything downstream (the .npy writer, the in-memory store, analyses) consumes `CapturedBatch`es.
import { ReplensError, throwIfAborted } from '../errors';
import { cutGraph, feedInputs, requireTensors, valueInfoOf, type Dim } from '../onnx/graph';
import { make, typeName, type ModelProto, type NodeProto } from '../onnx/proto';
import { runSession, type SessionPool } from '../runtime/session';
import { firstRows, rebatch } from '../runtime/batch';
import type { Batch } from '../data/dataset';
import { ProgressTracker, type ProgressSink } from '../progress';
import { reductionFor, reduceName, type Reduce, type ReducedOutput } from './reduce';

export interface CapturePlan {
  proto: ModelProto;
  /** Session-cache key of the derived model. */
  key: string;
  input: string;
  outputs: ReducedOutput[];
  /** Tensors whose values travel in a packed output. */
  packed: Map<string, Packed>;
  reduce: Reduce;
  /** Samples per run when the model's batch size is fixed (runtime/batch.ts); null when any batch size runs. */
  runBatch: number | null;
  /** The input's element type when it is uint8 (pixels fed as they are); null for float inputs. */
  inputType: 'uint8' | null;
}

export interface CapturedTensor {
  data: Float32Array;
  dims: number[];
}

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
    throw new ReplensError(
      'E_ARGUMENT',
      `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); ` +
        'activation capture feeds single-input models',
    );
  }
  return inputs[0].name;
}

/** A reduced tensor that travels in a packed output: `width` values per sample starting at `offset`. */
export interface Packed {
  output: string;
  offset: number;
  width: number;
  total: number;
}

/**
 * Builds the capture model: the graph cut to what the tensors need, plus in-graph reductions. Reduced tensors of
 * known size are packed into one output ([N, Σ width], by Concat): onnxruntime returns one array instead of one per
 * tensor; in A/B runs on ResNet-20 with 21 captured convs this was a few percent faster (near the noise here).
 */
export function planCapture(
  model: ModelProto,
  modelKey: string,
  tensors: string[],
  reduce: Reduce,
  shapes: Map<string, Dim[]>,
  runBatch: number | null = null,
): CapturePlan {
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
  const packable = outputs.filter(
    (o) => o.output !== o.tensor && o.sampleShape?.every((d) => typeof d === 'number' && d > 0),
  );
  const packed = new Map<string, Packed>();
  if (packable.length > 1) {
    const PACK = 'replens/capture/packed';
    const parts: string[] = [];
    let offset = 0;
    for (const o of packable) {
      const width = (o.sampleShape as number[]).reduce((a, b) => a * b, 1);
      let part = o.output;
      if (!o.squeeze) {
        // pooled maps [N, C, h, w] → [N, C·h·w]; global ones are concatenated as [N, C, 1, 1]
        part = `${o.output}/flat`;
        nodes.push(
          make.node({
            name: part,
            opType: 'Flatten',
            input: [o.output],
            output: [part],
            attribute: [make.attribute({ name: 'axis', type: 2, i: 1 })],
          }),
        );
      }
      parts.push(part);
      packed.set(o.tensor, { output: PACK, offset, width, total: 0 });
      offset += width;
    }
    // Global outputs are 4-D and pooled ones 2-D after Flatten: bring the 4-D ones to 2-D only if both kinds are mixed.
    const mixed = packable.some((o) => o.squeeze) && packable.some((o) => !o.squeeze);
    const inputs = parts.map((p, k) => {
      if (!mixed || !packable[k].squeeze) return p;
      const flat = `${p}/flat`;
      nodes.push(
        make.node({
          name: flat,
          opType: 'Flatten',
          input: [p],
          output: [flat],
          attribute: [make.attribute({ name: 'axis', type: 2, i: 1 })],
        }),
      );
      return flat;
    });
    nodes.push(
      make.node({
        name: PACK,
        opType: 'Concat',
        input: inputs,
        output: [PACK],
        attribute: [make.attribute({ name: 'axis', type: 2, i: 1 })],
      }),
    );
    for (const p of packed.values()) p.total = offset;
  }
  const graphOutputs = [...new Set(outputs.map((o) => packed.get(o.tensor)?.output ?? o.output))];
  const proto = cutGraph(model, { inputs: [input], outputs: graphOutputs, extraNodes: nodes });
  const elemType = valueInfoOf(feedInputs(graph).find((i) => i.name === input)!)?.elemType ?? 1;
  const inputType = elemType === 2 ? 'uint8' : null;
  if (elemType !== 2 && ![0, 1, 10, 11, 16].includes(elemType)) {
    throw new ReplensError(
      'E_INPUT_DTYPE',
      `model input '${input}' takes ${typeName(elemType)}; RepLens ` +
        'feeds images as float (float32) or as pixel values (uint8)',
    );
  }
  return {
    proto,
    inputType,
    key: `${modelKey}#capture:${reduceName(reduce)}:${unique.join('\u0000')}`,
    input,
    outputs,
    packed,
    reduce,
    runBatch,
  };
}

/** One tensor's values out of a packed [N, total] array. */
function unpack(all: Float32Array, n: number, p: Packed): Float32Array {
  const out = new Float32Array(n * p.width);
  for (let i = 0; i < n; i++)
    out.set(all.subarray(i * p.total + p.offset, i * p.total + p.offset + p.width), i * p.width);
  return out;
}

function toFloat32(data: ArrayLike<number | bigint> & { length: number }): Float32Array {
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return out;
}

/**
 * Preprocessed samples as the uint8 a model input takes. They must already be pixel values (preprocessing sets
 * scale 1 for such models): a fraction or a value outside 0..255 means a normalisation was configured.
 */
export function pixelsAsUint8(x: Float32Array, input: string): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!(v >= 0 && v <= 255) || Math.round(v) !== v) {
      throw new ReplensError(
        'E_INPUT_DTYPE',
        `model input '${input}' takes uint8 pixel values, but the preprocessing ` +
          `gives ${v} (replens.json preprocess.scale / mean / std normalise them): ` +
          'remove preprocess.mean and preprocess.std and set preprocess.scale to 1',
      );
    }
    out[i] = v;
  }
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
export async function* runCapture(
  plan: CapturePlan,
  pool: SessionPool,
  batches: AsyncIterable<Batch>,
  opts: CaptureOptions = {},
): AsyncGenerator<CapturedBatch> {
  const what = opts.what ?? 'capture';
  const ms = await pool.get(plan.key, plan.proto, what);
  const progress = new ProgressTracker(opts.onProgress, 'capturing activations', opts.total ?? 0);
  let done = 0;
  // A model with a fixed batch size runs on exactly that many samples; the padding of the last run is dropped.
  const runs: AsyncIterable<Batch & { valid?: number }> = plan.runBatch ? rebatch(batches, plan.runBatch) : batches;
  for await (const b of runs) {
    throwIfAborted(opts.signal);
    const rows = b.shape[0],
      valid = b.valid ?? rows;
    const feed =
      plan.inputType === 'uint8'
        ? { data: pixelsAsUint8(b.x, plan.input), dims: b.shape, type: 'uint8' }
        : { data: b.x, dims: b.shape, type: 'float32' };
    const out = await runSession(ms, { [plan.input]: feed }, what);
    const values = new Map<string, CapturedTensor>();
    for (const o of plan.outputs) {
      const p = plan.packed.get(o.tensor);
      if (p) {
        const t = out[p.output];
        const n = t.dims[0];
        values.set(o.tensor, {
          data: firstRows(unpack(toFloat32(t.data as Float32Array), n, p), n, valid),
          dims: [valid, ...(o.sampleShape as number[])],
        });
        continue;
      }
      const t = out[o.output];
      const dims = o.squeeze ? t.dims.slice(0, 2) : [...t.dims];
      values.set(o.tensor, {
        data: firstRows(toFloat32(t.data as Float32Array), t.dims[0], valid),
        dims: [valid, ...dims.slice(1)],
      });
    }
    done += valid;
    progress.update(done);
    yield { start: b.start, count: valid, labels: b.labels, values };
  }
}
