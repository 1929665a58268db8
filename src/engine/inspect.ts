// Inspect: the model's layer listing with shapes and parameter counts.
import * as fs from 'fs';
import { loadModel } from './onnx/model';
import { listLayers } from './onnx/layers';
import type { SessionPool } from './runtime/session';
import { tensorShapes } from './runtime/shapes';
import type { InspectResult } from '../shared/messages';
import { throwIfAborted } from './errors';

export async function fileKey(file: string): Promise<string> {
  const st = await fs.promises.stat(file);
  return `${file}@${st.size}@${st.mtimeMs}`;
}

export async function inspectModel(
  modelPath: string,
  pool: SessionPool,
  opts: {
    inputShapes?: Record<string, number[]>;
    signal?: AbortSignal;
    memoryBudgetMB?: number;
    constants?: boolean;
  } = {},
): Promise<InspectResult> {
  const model = await loadModel(modelPath);
  throwIfAborted(opts.signal);
  const key = await fileKey(model.path);
  // Probing by a run needs concrete input dims; without them, list what ORT's shape inference knows.
  let shapes;
  try {
    shapes = await tensorShapes(model.proto, pool, key, {
      inputShapes: opts.inputShapes,
      signal: opts.signal,
      memoryBudgetMB: opts.memoryBudgetMB,
    });
  } catch (e) {
    if ((e as { code?: string }).code !== 'E_INPUT_SHAPE' || opts.inputShapes) throw e;
    shapes = await tensorShapes(model.proto, pool, key, { probe: false });
  }
  // The shape session above already ran the model's ops on the pool's provider; no second session is needed.
  return {
    kind: 'inspect',
    modelPath: model.path,
    fileBytes: model.bytes,
    executionProvider: pool.executionProvider ?? 'cpu',
    summary: listLayers(model.proto, shapes, { constants: opts.constants }),
  };
}
