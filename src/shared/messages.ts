// The one module of messages between the extension host, the analysis worker and the webview.
// Every message carries the protocol version `v`; receivers validate with the `parse*` functions below and
// switch exhaustively over `type` (see `assertNever`). Add a job kind or a message type here first.
import type { ModelSummary } from '../engine/onnx/layers';
import type { RuntimeOptions } from '../engine/runtime/session';

export const PROTOCOL_VERSION = 1;

export type ErrorInfo = { code: string; message: string };

/** Progress of a job: `done` of `total` units (batches, layers…), with an ETA once it can be estimated. */
export interface Progress {
  stage: string;
  done: number;
  total: number;
  /** Seconds left, or null while unknown. */
  etaSeconds: number | null;
  /** The layer or tensor being worked on, when there is one. */
  layer?: string;
}

export type RuntimeSettings = Pick<RuntimeOptions, 'executionProvider' | 'intraOpThreads' | 'interOpThreads'>;

export interface DatasetSource {
  path: string;
  format?: 'idx' | 'npy' | 'npz' | 'imagefolder';
  labels?: string;
  limit?: number;
}

// ---- jobs (what the worker can do) --------------------------------------------------------------------------

export interface InspectJob {
  kind: 'inspect';
  modelPath: string;
  /** Concrete shapes for inputs with dynamic non-batch dims. */
  inputShapes?: Record<string, number[]>;
  runtime?: RuntimeSettings;
}

export interface ActivationsJob {
  kind: 'activations';
  modelPath: string;
  /** Either an .npy batch (fed as is) or a dataset streamed in batches. */
  input?: string;
  data?: DatasetSource;
  /** replens.json to take preprocessing and dataset settings from. */
  configPath?: string;
  tensors: string[];
  reduce: string;
  outDir: string;
  batchSize?: number;
  memoryBudgetMB?: number;
  runtime?: RuntimeSettings;
}

export type Job = InspectJob | ActivationsJob;

export interface InspectResult {
  kind: 'inspect';
  modelPath: string;
  fileBytes: number;
  executionProvider: string;
  summary: ModelSummary;
}

export interface ActivationsResult {
  kind: 'activations';
  outDir: string;
  samples: number;
  /** tensor name → file written (relative to outDir). */
  files: Record<string, string>;
  executionProvider: string;
  seconds: number;
}

export type JobResult = InspectResult | ActivationsResult;

/** A piece of a result that is final and can be shown before the job ends. */
export interface PartialResult {
  kind: 'tensor-written';
  tensor: string;
  file: string;
}

// ---- host ↔ worker ----------------------------------------------------------------------------------------------

export type HostToWorker =
  | { v: 1; type: 'run'; id: number; job: Job }
  | { v: 1; type: 'cancel'; id: number };

export type WorkerToHost =
  | { v: 1; type: 'ready' }
  | { v: 1; type: 'progress'; id: number; progress: Progress }
  | { v: 1; type: 'partial'; id: number; partial: PartialResult }
  | { v: 1; type: 'result'; id: number; result: JobResult }
  | { v: 1; type: 'error'; id: number; error: ErrorInfo }
  | { v: 1; type: 'log'; line: string };

// ---- host ↔ webview (the Inspect panel; later panels add their messages here) ---------------------------------

export type HostToWebview =
  | { v: 1; type: 'inspect'; result: InspectResult }
  | { v: 1; type: 'progress'; progress: Progress }
  | { v: 1; type: 'error'; error: ErrorInfo };

export type WebviewToHost =
  | { v: 1; type: 'ready' }
  | { v: 1; type: 'showLog' }
  | { v: 1; type: 'retry' };

// ---- validation ---------------------------------------------------------------------------------------------

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code = 'E_PROTOCOL';
}

export function assertNever(x: never, what = 'message'): never {
  throw new ProtocolError(`unexpected ${what}: ${JSON.stringify(x)}`);
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

function need(cond: boolean, what: string): void {
  if (!cond) throw new ProtocolError(`malformed message: ${what}`);
}
function str(o: Obj, k: string, optional = false): void {
  need(optional && o[k] === undefined ? true : typeof o[k] === 'string', `'${k}' must be a string`);
}
function int(o: Obj, k: string, optional = false): void {
  need(optional && o[k] === undefined ? true : Number.isInteger(o[k]), `'${k}' must be an integer`);
}
function header(m: unknown, types: readonly string[]): Obj {
  need(isObj(m), 'not an object');
  const o = m as Obj;
  need(o.v === PROTOCOL_VERSION, `protocol version ${String(o.v)}, expected ${PROTOCOL_VERSION}`);
  need(typeof o.type === 'string' && types.includes(o.type), `unknown type '${String(o.type)}'`);
  return o;
}

function checkRuntime(r: unknown): void {
  if (r === undefined) return;
  need(isObj(r), "'runtime' must be an object");
  const o = r as Obj;
  need(o.executionProvider === undefined || ['auto', 'cpu', 'cuda'].includes(o.executionProvider as string), "'runtime.executionProvider' must be auto, cpu or cuda");
  int(o, 'intraOpThreads', true);
  int(o, 'interOpThreads', true);
}

function checkJob(j: unknown): void {
  need(isObj(j), "'job' must be an object");
  const o = j as Obj;
  checkRuntime(o.runtime);
  switch (o.kind) {
    case 'inspect':
      str(o, 'modelPath');
      need(o.inputShapes === undefined || isObj(o.inputShapes), "'inputShapes' must be an object");
      return;
    case 'activations':
      str(o, 'modelPath'); str(o, 'outDir'); str(o, 'reduce'); str(o, 'input', true); str(o, 'configPath', true);
      need(Array.isArray(o.tensors) && o.tensors.every((t) => typeof t === 'string'), "'tensors' must be an array of strings");
      need(o.input !== undefined || isObj(o.data), "an activations job needs 'input' or 'data'");
      if (o.data !== undefined) { need(isObj(o.data), "'data' must be an object"); str(o.data as Obj, 'path'); }
      int(o, 'batchSize', true); int(o, 'memoryBudgetMB', true);
      return;
    default:
      need(false, `unknown job kind '${String(o.kind)}'`);
  }
}

export function parseHostToWorker(m: unknown): HostToWorker {
  const o = header(m, ['run', 'cancel']);
  int(o, 'id');
  if (o.type === 'run') checkJob(o.job);
  return o as unknown as HostToWorker;
}

export function parseWorkerToHost(m: unknown): WorkerToHost {
  const o = header(m, ['ready', 'progress', 'partial', 'result', 'error', 'log']);
  switch (o.type) {
    case 'ready': break;
    case 'log': str(o, 'line'); break;
    case 'progress': int(o, 'id'); need(isObj(o.progress), "'progress' must be an object"); break;
    case 'partial': int(o, 'id'); need(isObj(o.partial), "'partial' must be an object"); break;
    case 'result': int(o, 'id'); need(isObj(o.result) && typeof (o.result as Obj).kind === 'string', "'result' must be an object with a kind"); break;
    case 'error': int(o, 'id'); need(isObj(o.error) && typeof (o.error as Obj).message === 'string', "'error' must carry a message"); break;
  }
  return o as unknown as WorkerToHost;
}

export function parseHostToWebview(m: unknown): HostToWebview {
  const o = header(m, ['inspect', 'progress', 'error']);
  switch (o.type) {
    case 'inspect': need(isObj(o.result) && (o.result as Obj).kind === 'inspect', "'result' must be an inspect result"); break;
    case 'progress': need(isObj(o.progress), "'progress' must be an object"); break;
    case 'error': need(isObj(o.error) && typeof (o.error as Obj).message === 'string', "'error' must carry a message"); break;
  }
  return o as unknown as HostToWebview;
}

export function parseWebviewToHost(m: unknown): WebviewToHost {
  return header(m, ['ready', 'showLog', 'retry']) as unknown as WebviewToHost;
}
