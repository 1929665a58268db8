// Reading and writing ONNX models, with external tensor data resolved inside the model's folder only.
import * as fs from 'fs';
import * as path from 'path';
import { ReplensError } from '../errors';
import { fileError } from '../npy';
import { onnx, num, type GraphProto, type ModelProto, type TensorProto } from './proto';

export interface LoadedModel {
  /** Absolute path of the .onnx file, or a label for models built in memory. */
  path: string;
  proto: ModelProto;
  /** Byte size of the .onnx file plus its external data. */
  bytes: number;
  /** Names of initializers whose data came from side files. */
  externalTensors: string[];
}

const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

/**
 * Decodes ONNX bytes. A file that is not protobuf, or protobuf that is not a ModelProto, is E_NOT_ONNX;
 * protobuf that ends early is E_MODEL_CORRUPT.
 */
export function decodeModel(bytes: Uint8Array, what: string): ModelProto {
  if (bytes.length === 0) throw new ReplensError('E_NOT_ONNX', `${what} is empty, not an ONNX model`);
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes) as unknown as ModelProto;
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    // A model starts with ir_version (field 1, varint → 0x08); anything else was never an ONNX file.
    if (bytes[0] !== 0x08 || looksLikeText(bytes)) throw new ReplensError('E_NOT_ONNX', `${what} is not an ONNX model (not a protobuf ModelProto: ${msg})`);
    throw new ReplensError('E_MODEL_CORRUPT', `${what} is truncated or corrupt (${msg})`);
  }
  if (!model.graph) throw new ReplensError(looksLikeText(bytes) ? 'E_NOT_ONNX' : 'E_MODEL_CORRUPT', `${what} is not an ONNX model (it has no graph)`);
  if (num(model.irVersion) <= 0) throw new ReplensError('E_NOT_ONNX', `${what} is not an ONNX model (no IR version)`);
  const graph = model.graph;
  if (graph.node.length === 0 && graph.output.length === 0) throw new ReplensError('E_MODEL_CORRUPT', `${what} has an empty graph (no nodes and no outputs)`);
  // Protobuf accepts a truncated file when the cut falls on a field boundary; a dangling node input betrays it.
  const known = new Set<string>(['']);
  for (const i of graph.input) known.add(i.name);
  for (const t of graph.initializer) known.add(t.name);
  for (const t of graph.sparseInitializer) if (t.values) known.add(t.values.name);
  for (const n of graph.node) for (const o of n.output) known.add(o);
  for (const n of graph.node) {
    for (const i of n.input) {
      if (!known.has(i)) throw new ReplensError('E_MODEL_CORRUPT', `${what} is truncated or corrupt: node '${n.name || n.opType}' reads tensor '${i}' that nothing produces`);
    }
  }
  for (const o of graph.output) {
    if (!known.has(o.name)) throw new ReplensError('E_MODEL_CORRUPT', `${what} is truncated or corrupt: graph output '${o.name}' is never produced`);
  }
  return model;
}

function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 512);
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127)) printable++;
  }
  return printable / n > 0.95;
}

export async function loadModel(file: string, opts: { externalData?: boolean } = {}): Promise<LoadedModel> {
  const abs = path.resolve(file);
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(abs);
  } catch (e) {
    throw fileError(file, e);
  }
  const proto = decodeModel(bytes, path.basename(abs));
  const loaded: LoadedModel = { path: abs, proto, bytes: bytes.length, externalTensors: [] };
  if (opts.externalData !== false) loaded.bytes += resolveExternalData(proto, path.dirname(abs), loaded.externalTensors);
  return loaded;
}

/** Every tensor in the model: graph initializers, Constant node values and those of subgraphs. */
function* allTensors(graph: GraphProto): Generator<TensorProto> {
  yield* graph.initializer;
  for (const node of graph.node) {
    for (const a of node.attribute) {
      if (a.t) yield a.t;
      yield* a.tensors;
      if (a.g) yield* allTensors(a.g);
      for (const g of a.graphs) yield* allTensors(g);
    }
  }
}

/**
 * Reads external data into raw_data. Locations are resolved against the model's folder and must stay inside it:
 * a path that leaves the folder (`../`, an absolute path, a symlink pointing out) is refused, never read.
 */
export function resolveExternalData(model: ModelProto, modelDir: string, names: string[] = []): number {
  if (!model.graph) return 0;
  const root = fs.realpathSync(modelDir);
  const files = new Map<string, Buffer>();
  let total = 0;
  for (const t of allTensors(model.graph)) {
    if (t.dataLocation !== EXTERNAL) continue;
    const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = kv.get('location');
    if (!location) throw new ReplensError('E_EXTERNAL_DATA', `tensor '${t.name}' is marked external but names no location`);
    const file = safeJoin(root, location, t.name);
    let buf = files.get(file);
    if (!buf) {
      try { buf = fs.readFileSync(file); } catch (e) {
        throw new ReplensError('E_EXTERNAL_DATA', `external data '${location}' of tensor '${t.name}' cannot be read: ${fileError(file, e).message}`);
      }
      files.set(file, buf);
      total += buf.length;
    }
    const offset = Number(kv.get('offset') ?? 0);
    const length = kv.has('length') ? Number(kv.get('length')) : buf.length - offset;
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > buf.length) {
      throw new ReplensError('E_EXTERNAL_DATA', `external data of tensor '${t.name}' (offset ${offset}, length ${length}) lies beyond the end of '${location}' (${buf.length} bytes)`);
    }
    t.rawData = buf.subarray(offset, offset + length);
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    t.externalData = [];
    names.push(t.name);
  }
  return total;
}

function safeJoin(root: string, location: string, tensor: string): string {
  const refuse = () => new ReplensError('E_PATH_TRAVERSAL',
    `external data path '${location}' of tensor '${tensor}' points outside the model's folder; refused (external data must sit beside the model)`);
  if (path.isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location) || location.includes('\0')) throw refuse();
  const joined = path.resolve(root, location);
  const rel = path.relative(root, joined);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw refuse();
  // A symlink inside the folder may still lead out of it.
  let real: string;
  try { real = fs.realpathSync(joined); } catch { return joined; /* missing: reported by the reader */ }
  const relReal = path.relative(root, real);
  if (relReal.startsWith('..') || path.isAbsolute(relReal)) throw refuse();
  return real;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function saveModel(model: ModelProto, file: string): void {
  try { fs.writeFileSync(file, encodeModel(model)); } catch (e) { throw fileError(file, e); }
}
