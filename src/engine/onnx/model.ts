// Reading and writing ONNX models, with external tensor data resolved inside the model's folder only.
import * as fs from 'fs';
import * as path from 'path';
import { constants as bufferConstants } from 'buffer';
import { ReplensError, errorMessage } from '../errors';
import { printable } from '../../shared/printable';
import { fileError, formatBytes, openRegular, readRange, type RegularFile } from '../fsafe';
import {
  onnx,
  num,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from './proto';

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

/** Protobuf cannot parse a message over 2 GiB; larger models must keep their weights in external data. */
export const MAX_MODEL_FILE_BYTES = 2 ** 31 - 1;
/** Most external data one model may bring into memory, all tensors together. */
export const MAX_EXTERNAL_BYTES = 2 ** 33;
/**
 * Most external data one tensor may have: it becomes one Buffer (4 GiB on Node 20; fixed so limits match everywhere).
 */
const MAX_TENSOR_BYTES = Math.min(bufferConstants.MAX_LENGTH, 2 ** 32);

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
    if (bytes[0] !== 0x08 || looksLikeText(bytes))
      throw new ReplensError('E_NOT_ONNX', `${what} is not an ONNX model (not a protobuf ModelProto: ${msg})`);
    throw new ReplensError('E_MODEL_CORRUPT', `${what} is truncated or corrupt (${msg})`);
  }
  if (!model.graph)
    throw new ReplensError(
      looksLikeText(bytes) ? 'E_NOT_ONNX' : 'E_MODEL_CORRUPT',
      `${what} is not an ONNX model (it has no graph)`,
    );
  if (num(model.irVersion) <= 0) throw new ReplensError('E_NOT_ONNX', `${what} is not an ONNX model (no IR version)`);
  const graph = model.graph;
  if (graph.node.length === 0 && graph.output.length === 0)
    throw new ReplensError('E_MODEL_CORRUPT', `${what} has an empty graph (no nodes and no outputs)`);
  // Protobuf accepts a truncated file when the cut falls on a field boundary; a dangling node input betrays it.
  const known = new Set<string>(['']);
  for (const i of graph.input) known.add(i.name);
  for (const t of graph.initializer) known.add(t.name);
  for (const t of graph.sparseInitializer) if (t.values) known.add(t.values.name);
  for (const n of graph.node) for (const o of n.output) known.add(o);
  for (const n of graph.node) {
    for (const i of n.input) {
      if (!known.has(i))
        throw new ReplensError(
          'E_MODEL_CORRUPT',
          `${what} is truncated or corrupt: node ${q(n.name || n.opType)} reads tensor ${q(i)} that nothing produces`,
        );
    }
  }
  for (const o of graph.output) {
    if (!known.has(o.name))
      throw new ReplensError(
        'E_MODEL_CORRUPT',
        `${what} is truncated or corrupt: graph output ${q(o.name)} is never produced`,
      );
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
  const bytes = readModelFile(abs, file);
  const proto = decodeModel(bytes, path.basename(abs));
  const loaded: LoadedModel = { path: abs, proto, bytes: bytes.length, externalTensors: [] };
  if (opts.externalData !== false)
    loaded.bytes += resolveExternalData(proto, path.dirname(abs), loaded.externalTensors);
  return loaded;
}

/**
 * The bytes of a .onnx file. Anything but a regular file (a FIFO, /dev/zero behind a symlink) is refused by type
 * before a byte is read, and so is a file over protobuf's limit, which no parser could take anyway.
 */
function readModelFile(abs: string, shown: string): Buffer {
  const f = openRegular(abs, { what: 'model' });
  try {
    if (f.size > MAX_MODEL_FILE_BYTES) {
      throw new ReplensError(
        'E_MODEL_CORRUPT',
        `${shown} is ${formatBytes(f.size)} (${f.size} bytes), over protobuf's ` +
          `limit of ${MAX_MODEL_FILE_BYTES} bytes for one .onnx file; refused ` +
          '(larger models keep their weights in external data files)',
      );
    }
    return readRange(f, shown, 0, f.size);
  } finally {
    f.close();
  }
}

/** A TensorProto of the model and where it sits, for messages. */
export interface TensorRef {
  tensor: TensorProto;
  where: string;
}

/**
 * Every TensorProto in the model, wherever onnx.proto allows one: initializers and sparse initializers, node
 * attributes (t, tensors, sparse_tensor, sparse_tensors) and the subgraphs in g / graphs, recursively; the nodes and
 * attribute defaults of model-local functions; the training_info graphs. onnxruntime reads external data in any of
 * them, so none may be skipped.
 */
export function modelTensors(model: ModelProto): TensorRef[] {
  const refs: TensorRef[] = [];
  if (model.graph) graphTensors(model.graph, 'graph', refs);
  for (const fn of model.functions) {
    const where = `function ${q(fn.domain ? `${fn.domain}:${fn.name}` : fn.name)}`;
    nodesTensors(fn.node, where, refs);
    // Attribute defaults (FunctionProto.attribute_proto, IR 9): onnxruntime applies them, tensors included.
    for (const a of fn.attributeProto) attributeTensors(a, `default of attribute ${q(a.name)} of ${where}`, refs);
  }
  model.trainingInfo.forEach((ti, i) => {
    if (ti.initialization) graphTensors(ti.initialization, `training_info[${i}] initialization graph`, refs);
    if (ti.algorithm) graphTensors(ti.algorithm, `training_info[${i}] algorithm graph`, refs);
  });
  return refs;
}

function graphTensors(g: GraphProto, kind: string, out: TensorRef[]): void {
  const where = g.name ? `${kind} ${q(g.name)}` : kind;
  for (const t of g.initializer) out.push({ tensor: t, where: `initializer of ${where}` });
  for (const s of g.sparseInitializer) sparseTensors(s, `sparse initializer of ${where}`, out);
  nodesTensors(g.node, where, out);
}

function nodesTensors(nodes: NodeProto[], where: string, out: TensorRef[]): void {
  for (const n of nodes) {
    for (const a of n.attribute)
      attributeTensors(a, `attribute ${q(a.name)} of node ${q(n.name || n.opType)} in ${where}`, out);
  }
}

function attributeTensors(a: AttributeProto, where: string, out: TensorRef[]): void {
  if (a.t) out.push({ tensor: a.t, where });
  for (const t of a.tensors) out.push({ tensor: t, where });
  if (a.sparseTensor) sparseTensors(a.sparseTensor, where, out);
  for (const s of a.sparseTensors) sparseTensors(s, where, out);
  if (a.g) graphTensors(a.g, `subgraph of ${where}`, out);
  for (const g of a.graphs) graphTensors(g, `subgraph of ${where}`, out);
}

function sparseTensors(s: NonNullable<AttributeProto['sparseTensor']>, where: string, out: TensorRef[]): void {
  if (s.values) out.push({ tensor: s.values, where: `values of ${where}` });
  if (s.indices) out.push({ tensor: s.indices, where: `indices of ${where}` });
}

function label(r: TensorRef): string {
  return r.tensor.name ? `tensor ${q(r.tensor.name)} (${r.where})` : `the tensor of ${r.where}`;
}

/**
 * An untrusted name from the model, quoted for a message: control characters escaped here, so a newline in a name
 * reads as \n rather than a space (ReplensError escapes the rest of the message), and the length capped.
 */
function q(s: string): string {
  const esc = printable(s);
  return `'${esc.length > 120 ? `${esc.slice(0, 120)}…` : esc}'`;
}

/**
 * Throws if any tensor still refers to external data. onnxruntime, given a model as bytes, would resolve such a
 * location against the process's working directory, outside any folder check; only models whose external data
 * RepLens read itself (loadModel) may reach it.
 */
export function assertNoExternalData(model: ModelProto, what: string): void {
  for (const r of modelTensors(model)) {
    if (r.tensor.dataLocation !== EXTERNAL) continue;
    const location = r.tensor.externalData.find((e) => e.key === 'location')?.value ?? '';
    throw new ReplensError(
      'E_EXTERNAL_DATA',
      `${what}: ${label(r)} still refers to external data ${q(location)} that ` +
        'RepLens has not read; refused (load the model with its external data)',
    );
  }
}

/** One tensor's external data: which open file, which bytes. */
interface PlannedRead {
  ref: TensorRef;
  location: string;
  f: RegularFile;
  offset: number;
  length: number;
}

/**
 * Reads external data into raw_data, for every tensor of the model. Locations are resolved against the model's
 * folder and must stay inside it: a path that leaves the folder (`../`, an absolute path, a symlink pointing out)
 * is refused, never read; so is anything but a regular file. Every range and the total are checked before any
 * tensor is read, and only the declared byte ranges are read. Returns the number of bytes read.
 */
export function resolveExternalData(model: ModelProto, modelDir: string, names: string[] = []): number {
  const external = modelTensors(model).filter((r) => r.tensor.dataLocation === EXTERNAL);
  if (!external.length) return 0;
  let root: string;
  try {
    root = fs.realpathSync(modelDir);
  } catch (e) {
    throw fileError(modelDir, e);
  }
  const open = new Map<string, RegularFile>();
  try {
    const reads: PlannedRead[] = [];
    let total = 0;
    for (const ref of external) {
      const p = planRead(ref, root, open);
      total += p.length;
      if (total > MAX_EXTERNAL_BYTES) {
        throw new ReplensError(
          'E_EXTERNAL_DATA',
          `external data of ${label(ref)} (${formatBytes(p.length)}) brings the model's external ` +
            `data to ${formatBytes(total)}, over the ${formatBytes(MAX_EXTERNAL_BYTES)} limit; refused`,
        );
      }
      reads.push(p);
    }
    for (const p of reads) {
      const t = p.ref.tensor;
      t.rawData = readRange(p.f, `external data ${q(p.location)}`, p.offset, p.length, { code: 'E_EXTERNAL_DATA' });
      t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
      t.externalData = [];
      names.push(t.name || `(${p.ref.where})`);
    }
    return total;
  } finally {
    for (const f of open.values()) f.close();
  }
}

function planRead(ref: TensorRef, root: string, open: Map<string, RegularFile>): PlannedRead {
  const kv = new Map(ref.tensor.externalData.map((e) => [e.key, e.value]));
  const location = kv.get('location');
  if (!location) throw new ReplensError('E_EXTERNAL_DATA', `${label(ref)} is marked external but names no location`);
  const file = safeJoin(root, location, ref);
  let f = open.get(file);
  if (!f) {
    try {
      f = openRegular(file, { code: 'E_EXTERNAL_DATA', what: 'external data' });
    } catch (e) {
      throw new ReplensError(
        'E_EXTERNAL_DATA',
        `external data ${q(location)} of ${label(ref)} cannot be read: ${errorMessage(e)}`,
      );
    }
    open.set(file, f);
  }
  const offset = byteCount(kv.get('offset') ?? '0', 'offset', ref);
  const length = kv.has('length') ? byteCount(kv.get('length')!, 'length', ref) : f.size - offset;
  if (length < 0 || offset + length > f.size) {
    throw new ReplensError(
      'E_EXTERNAL_DATA',
      `external data of ${label(ref)} (offset ${offset}, length ` +
        `${kv.get('length') ?? 'to the end'}) lies beyond the end of ${q(location)} (${f.size} bytes)`,
    );
  }
  if (length > MAX_TENSOR_BYTES) {
    throw new ReplensError(
      'E_EXTERNAL_DATA',
      `external data of ${label(ref)} is ${length} bytes (${formatBytes(length)}), ` +
        `over the ${MAX_TENSOR_BYTES} bytes one tensor can hold in memory; refused`,
    );
  }
  return { ref, location, f, offset, length };
}

/** A non-negative decimal byte count, as onnx writes them; anything else is refused rather than guessed at. */
function byteCount(v: string, key: string, ref: TensorRef): number {
  const n = /^[0-9]{1,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n))
    throw new ReplensError('E_EXTERNAL_DATA', `external data of ${label(ref)} has ${key} ${q(v)}, not a byte count`);
  return n;
}

function safeJoin(root: string, location: string, ref: TensorRef): string {
  const refuse = () =>
    new ReplensError(
      'E_PATH_TRAVERSAL',
      `external data path ${q(location)} of ${label(ref)} points outside the ` +
        `model's folder; refused (external data must sit beside the model)`,
    );
  if (location.includes('\0'))
    throw new ReplensError(
      'E_EXTERNAL_DATA',
      `external data path ${q(location)} of ${label(ref)} contains a NUL byte; refused`,
    );
  if (path.isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location)) throw refuse();
  const joined = path.resolve(root, location);
  const rel = path.relative(root, joined);
  if (leavesRoot(rel)) throw refuse();
  // A symlink inside the folder may still lead out of it.
  let real: string;
  try {
    real = fs.realpathSync(joined);
  } catch {
    return joined; /* missing: reported by the reader */
  }
  const relReal = path.relative(root, real);
  if (leavesRoot(relReal)) throw refuse();
  return real;
}

/** Whether a path relative to the model's folder is the folder itself or lies outside it. */
function leavesRoot(rel: string): boolean {
  return rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function saveModel(model: ModelProto, file: string): void {
  try {
    fs.writeFileSync(file, encodeModel(model));
  } catch (e) {
    throw fileError(file, e);
  }
}
