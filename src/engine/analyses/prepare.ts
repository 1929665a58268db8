// A model made ready for one analyze run: loaded once, its hash, a fixed batch handled (runtime/batch.ts), its shapes
// probed, the layers to analyse chosen and labelled, the capture planned and its memory counted.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ReplensError } from '../errors';
import { loadModel, type LoadedModel } from '../onnx/model';
import { listLayers, type LayerInfo } from '../onnx/layers';
import { tensorShapes } from '../runtime/shapes';
import { adaptBatch } from '../runtime/batch';
import { weightBytes, workBytesPerSample, type ModelMemory } from '../capture/memory';
import { activationTaps, defaultTaps } from '../onnx/mainpath';
import type { ModelProto } from '../onnx/proto';
import type { SessionPool } from '../runtime/session';
import { planCapture, singleInput } from '../capture/capture';
import { parseReduce } from '../capture/reduce';
import { expandTensorSelectors } from '../capture/select';
import type { LayerRef, ModelRef } from '../../shared/result';

/**
 * The layers to analyse: the main path's block outputs by default (onnx/mainpath.ts); `activations` for every
 * activation and pooling output; else tensor, node or module names.
 */
export function chooseLayers(
  model: ModelProto,
  layers: LayerInfo[],
  selectors: string[] | undefined,
): { tensor: string; block: string | null }[] {
  if (!selectors?.length) return defaultTaps(model, layers);
  const plain = (tensors: string[]) => tensors.map((tensor) => ({ tensor, block: null }));
  if (selectors.length === 1 && selectors[0] === 'activations')
    return plain(
      activationTaps(
        layers,
        model.graph!.output.map((o) => o.name),
      ),
    );
  return plain(expandTensorSelectors(model, selectors));
}

export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  await new Promise<void>((resolve, reject) =>
    fs
      .createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', resolve)
      .on('error', reject),
  );
  return h.digest('hex');
}

export interface PreparedModel {
  /** The graph's outputs (tensor names). */
  outputs: string[];
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

/** `model`: the file, or the model already loaded from it (analyze() reads its input first: decoded once). */
export async function prepareModel(
  model: string | LoadedModel,
  selectors: string[] | undefined,
  sampleShape: number[],
  pool: SessionPool,
  probe: { memoryBudgetMB?: number; signal?: AbortSignal },
): Promise<PreparedModel> {
  const m = typeof model === 'string' ? await loadModel(model) : model;
  const input = singleInput(m.proto);
  const sha = await sha256File(m.path);
  // A fixed batch size (the most common export): a relaxed copy when that is safe, else runs at that size.
  const batching = await adaptBatch(m.proto, input, sampleShape, pool, `${m.path}#${sha}`);
  const proto = batching.proto;
  const key = `${m.path}#${sha}${batching.keySuffix}`;
  const shapes = await tensorShapes(proto, pool, key, {
    inputShapes: { [input]: [batching.runBatch ?? 1, ...sampleShape] },
    ...probe,
  });
  const summary = listLayers(proto, shapes);
  const chosen = chooseLayers(proto, summary.layers, selectors);
  const taps = chosen.map((c) => c.tensor);
  const blockOf = new Map(chosen.map((c) => [c.tensor, c.block]));
  if (!taps.length)
    throw new ReplensError(
      'E_ARGUMENT',
      `--layers ${selectors?.join(',')} names no tensor of ${path.basename(m.path)}`,
    );
  const byOutput = new Map<string, LayerInfo>();
  for (const l of summary.layers) for (const o of l.outputs) byOutput.set(o, l);
  const layers: LayerRef[] = taps.map((t) => {
    const l = byOutput.get(t);
    const shape = (shapes.get(t) ?? []).slice(1).map((d) => (typeof d === 'number' ? d : 0));
    // A block output is labelled with its block (layer1.0, features.3), else with the node's module or name.
    return {
      tensor: t,
      label: blockOf.get(t) ?? (l ? (l.module ?? l.name) : t),
      op: l?.op ?? 'Input',
      shape,
      params: l?.params ?? 0,
      index: l?.index ?? -1,
    };
  });
  // Parameters: those of the nodes since the previous analysed layer in graph order (a block's own: conv and BN
  // before a ReLU, a residual block's convolutions), not only the producing node's (a ReLU has none).
  const params = new Float64Array(summary.layers.length + 1);
  const ordered = [...summary.layers].sort((a, b) => a.index - b.index);
  ordered.forEach((l, i) => (params[i + 1] = params[i] + l.params));
  const before = (index: number) => ordered.filter((l) => l.index <= index).length; // nodes up to `index`
  const tapIndices = [...new Set(layers.map((l) => l.index))].sort((a, b) => a - b);
  for (const l of layers) {
    if (l.index < 0) continue; // a graph input
    const k = tapIndices.indexOf(l.index);
    const prev = k > 0 ? tapIndices[k - 1] : -1;
    l.params = params[before(l.index)] - params[before(prev)];
  }
  // PyTorch reuses one module for several calls (relu, relu_1 → layer1.0.relu): number the repeats.
  const seen = new Map<string, number>();
  for (const l of layers) {
    const c = (seen.get(l.label) ?? 0) + 1;
    seen.set(l.label, c);
    if (c > 1) l.label = `${l.label} (${c})`;
  }
  const plan = planCapture(proto, key, taps, parseReduce('none'), shapes, batching.runBatch);
  const modules = summary.layers.filter((l) => l.module).map((l) => ({ module: l.module!, index: l.index, op: l.op }));
  const batchNote = batching.note && `${path.basename(m.path)}: ${batching.note}`;
  const memory: ModelMemory = {
    inputBytes: 4 * sampleShape.reduce((a, b) => a * b, 1),
    tapBytes: layers.reduce((sum, l) => sum + 4 * l.shape.reduce((a, b) => a * b, 1), 0),
    workBytes: workBytesPerSample(proto, shapes),
    weights: weightBytes(proto),
  };
  return {
    ref: { path: m.path, name: path.basename(m.path), sha256: sha, opset: summary.opset, params: summary.totalParams },
    outputs: proto.graph!.output.map((o) => o.name),
    modules,
    layers,
    plan,
    batchNote,
    memory,
  };
}
