// The one module of messages between the extension host, the analysis worker and the webview.
// Every message carries the protocol version `v`; receivers validate with the `parse*` functions below and
// switch exhaustively over `type` (see `assertNever`). Add a job kind or a message type here first.
import type { ModelSummary } from '../engine/onnx/layers';
import type { RuntimeOptions } from '../engine/runtime/session';
import { RESULT_SCHEMA, type AnalysisResult } from './result';
import { analyzeSettingsProblem, type AnalyzeSettings, type DatasetSource } from './analyses';
import type { DatasetProbe, ModelInput } from '../engine/dataprobe';

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

export type RuntimeSettings = Pick<
  RuntimeOptions,
  'executionProvider' | 'intraOpThreads' | 'interOpThreads' | 'allowSpinning'
>;

export type { DatasetSource } from './analyses';

// ---- jobs (what the worker can do) --------------------------------------------------------------------------

export interface InspectJob {
  kind: 'inspect';
  modelPath: string;
  /** Concrete shapes for inputs with dynamic non-batch dims. */
  inputShapes?: Record<string, number[]>;
  /** The shape probe's memory limit (MB). */
  memoryBudgetMB?: number;
  /** List Constant nodes too (they are left out by default). */
  constants?: boolean;
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
  /** Without configPath, replens.json discovery climbs from the data no higher than this folder (a workspace root). */
  configRoot?: string;
  tensors: string[];
  reduce: string;
  outDir: string;
  batchSize?: number;
  memoryBudgetMB?: number;
  runtime?: RuntimeSettings;
}

/**
 * `replens analyze` as a job: every selected analysis of one model (optionally against a second) on a dataset. The
 * one analyze request of the CLI, the editor and the worker: its fields and their validation are the options table
 * of src/shared/analyses.ts.
 */
export interface AnalyzeJob extends AnalyzeSettings {
  kind: 'analyze';
  runtime?: RuntimeSettings;
}

/**
 * The check before the pickers (Analyze Model…): the model read and its shapes probed (the Inspect job, cached per
 * file in the worker), its input, the layers `--layers` accepts and the engine's default choice among them.
 */
export interface ModelCheckJob {
  kind: 'model-check';
  modelPath: string;
  runtime?: RuntimeSettings;
}

/** A dataset as the picker offers it: the data, and the replens.json it came from (if any). */
export interface DatasetCandidate {
  data: DatasetSource;
  configPath?: string;
  configRoot?: string;
}

/** The dataset picker's facts: each candidate's samples, shape, labels and fit to the model input (headers only). */
export interface ProbeDatasetsJob {
  kind: 'probe-datasets';
  input: ModelInput;
  datasets: DatasetCandidate[];
  runtime?: RuntimeSettings;
}

/** One batch of the planned capture, timed: the time estimate's basis when the model has no past run. */
export interface TimeBatchJob {
  kind: 'time-batch';
  modelPath: string;
  data: DatasetSource;
  configPath?: string;
  configRoot?: string;
  layers?: string[];
  /** Samples in the timed batch (default 32). */
  samples?: number;
  runtime?: RuntimeSettings;
}

export type Job = InspectJob | ActivationsJob | AnalyzeJob | ModelCheckJob | ProbeDatasetsJob | TimeBatchJob;

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
  /** Unreadable images left out (dataset.skipUnreadable): the samples written are the others, in order. */
  skipped?: { file: string; reason: string }[];
}

/** Every node's torch module path and graph index: what code lenses match layer definitions against. */
export interface ModuleIndex {
  module: string;
  index: number;
  op: string;
}

export interface AnalyzeJobResult {
  kind: 'analyze';
  result: AnalysisResult;
  modules: ModuleIndex[];
  executionProvider: string;
  seconds: number;
}

/** A layer the layer picker offers: a node's output, as `--layers` accepts it. */
export interface LayerChoice {
  tensor: string;
  /** The block it ends (a default tap), else the node's module path or name. */
  label: string;
  op: string;
  /** Per-sample shape, e.g. [16, 14, 14] (0 where unknown). */
  shape: number[];
}

export interface ModelCheckResult {
  kind: 'model-check';
  inspect: InspectResult;
  /** The model's (single fed) input, for the dataset probe. */
  input: { name: string } & ModelInput;
  layers: LayerChoice[];
  /** The engine's default choice (prepare.ts chooseLayers): tensors, in graph order. */
  defaultLayers: string[];
}

export interface ProbeDatasetsResult {
  kind: 'probe-datasets';
  probes: DatasetProbe[];
}

export interface TimeBatchResult {
  kind: 'time-batch';
  samples: number;
  /** Seconds per sample of one warm batch (the session already created). */
  secondsPerSample: number;
  /** Each analysed layer's features per sample. */
  features: number[];
}

export type JobResult =
  InspectResult | ActivationsResult | AnalyzeJobResult | ModelCheckResult | ProbeDatasetsResult | TimeBatchResult;

/** A piece of a result that is final and can be shown before the job ends. */
export type PartialResult =
  | { kind: 'tensor-written'; tensor: string; file: string }
  /** The analysis document so far (finished analyses and layers); sent at most a few times a second. */
  | { kind: 'analysis'; result: AnalysisResult };

// ---- host ↔ worker ----------------------------------------------------------------------------------------------

export type HostToWorker = { v: 1; type: 'run'; id: number; job: Job } | { v: 1; type: 'cancel'; id: number };

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

export type WebviewToHost = { v: 1; type: 'ready' } | { v: 1; type: 'showLog' } | { v: 1; type: 'retry' };

// ---- host ↔ webview (the Analysis panel: one per model) ------------------------------------------------------

export type AnalysisRunState = 'running' | 'complete' | 'cancelled' | 'failed';

/** What the panel shows about the run it belongs to. */
export interface AnalysisRunInfo {
  modelPath: string;
  compare?: string;
  dataset: string;
  analyses: string[];
  samples?: number;
  /** false: the panel cannot run it again (a stored run whose request this window never saw). */
  rerun?: boolean;
}

/** One stored run of a model (src/extension/results.ts): what the panel's run pickers list. */
export interface RunSummary {
  id: string;
  modelPath: string;
  /** When the run started (ISO 8601; its result's createdAt). */
  when: string;
  state: AnalysisRunState;
  analyses: string[];
  samples: number;
  /** The dataset's path (or its description in results written before datasets had one) and identity. */
  dataset: string;
  datasetIdentity: string;
  /** The compared model of a Compare With… run. */
  compare?: string;
  /** Analyses served from the cache. */
  cached: string[];
}

/** The runs the panel can show (`own`, newest first) and overlay (`own` and `others`: other models' runs). */
export interface AnalysisRuns {
  own: RunSummary[];
  others: RunSummary[];
  /** The run shown (null: a live run not stored yet, or none) and the run overlaid on it. */
  shown: string | null;
  overlay: string | null;
}

export type HostToAnalysisView =
  | { v: 1; type: 'run'; run: AnalysisRunInfo }
  /** The stored runs and which are shown: the header's run pickers. */
  | { v: 1; type: 'runs'; runs: AnalysisRuns }
  | { v: 1; type: 'progress'; progress: Progress }
  /** The document so far (`running`), the final one, or what a cancelled or failed run had finished. */
  | { v: 1; type: 'result'; result: AnalysisResult; state: AnalysisRunState }
  | { v: 1; type: 'error'; error: ErrorInfo }
  /** Scroll to and highlight a layer (a code lens was clicked). */
  | { v: 1; type: 'reveal'; tensor: string }
  | { v: 1; type: 'exported'; what: string; path: string };

export type AnalysisViewToHost =
  | { v: 1; type: 'ready' }
  | { v: 1; type: 'showLog' }
  /** Run the same job again; `recompute`: without the cache. */
  | { v: 1; type: 'rerun'; recompute?: boolean }
  | { v: 1; type: 'cancel' }
  /** Show a stored run of this model. */
  | { v: 1; type: 'showRun'; id: string }
  /** Overlay a stored run (of any model) on the shown one; null removes the overlay. */
  | { v: 1; type: 'overlay'; id: string | null }
  | { v: 1; type: 'export'; format: 'html' | 'json' | 'csv' }
  | { v: 1; type: 'png'; chart: string; dataUrl: string }
  /** Open the bundled README at a section (an ⓘ's link): `anchor` is the heading's id. */
  | { v: 1; type: 'readme'; anchor: string };

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
  need(
    o.executionProvider === undefined || ['auto', 'cpu', 'cuda'].includes(o.executionProvider as string),
    "'runtime.executionProvider' must be auto, cpu or cuda",
  );
  int(o, 'intraOpThreads', true);
  int(o, 'interOpThreads', true);
  need(
    o.allowSpinning === undefined || typeof o.allowSpinning === 'boolean',
    "'runtime.allowSpinning' must be a boolean",
  );
}

function checkJob(j: unknown): void {
  need(isObj(j), "'job' must be an object");
  const o = j as Obj;
  checkRuntime(o.runtime);
  switch (o.kind) {
    case 'inspect':
      str(o, 'modelPath');
      need(o.inputShapes === undefined || isObj(o.inputShapes), "'inputShapes' must be an object");
      int(o, 'memoryBudgetMB', true);
      need(o.constants === undefined || typeof o.constants === 'boolean', "'constants' must be a boolean");
      return;
    case 'activations':
      str(o, 'modelPath');
      str(o, 'outDir');
      str(o, 'reduce');
      str(o, 'input', true);
      str(o, 'configPath', true);
      str(o, 'configRoot', true);
      need(
        Array.isArray(o.tensors) && o.tensors.every((t) => typeof t === 'string'),
        "'tensors' must be an array of strings",
      );
      need(o.input !== undefined || isObj(o.data), "an activations job needs 'input' or 'data'");
      if (o.data !== undefined) {
        need(isObj(o.data), "'data' must be an object");
        str(o.data as Obj, 'path');
      }
      int(o, 'batchSize', true);
      int(o, 'memoryBudgetMB', true);
      return;
    case 'analyze': {
      const problem = analyzeSettingsProblem(o, (k) => `'${k}'`);
      need(problem === null, problem ?? '');
      return;
    }
    case 'model-check':
      str(o, 'modelPath');
      return;
    case 'probe-datasets':
      need(isObj(o.input), "'input' must be an object");
      need(
        Array.isArray(o.datasets) &&
          o.datasets.every((d) => isObj(d) && isObj(d.data) && typeof d.data.path === 'string'),
        "'datasets' must be an array of { data: { path } }",
      );
      return;
    case 'time-batch':
      str(o, 'modelPath');
      need(isObj(o.data) && typeof o.data.path === 'string', "'data' must be a dataset with a path");
      str(o, 'configPath', true);
      str(o, 'configRoot', true);
      need(
        o.layers === undefined || (Array.isArray(o.layers) && o.layers.every((t) => typeof t === 'string')),
        "'layers' must be an array of strings",
      );
      int(o, 'samples', true);
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
    case 'ready':
      break;
    case 'log':
      str(o, 'line');
      break;
    case 'progress':
      int(o, 'id');
      need(isObj(o.progress), "'progress' must be an object");
      break;
    case 'partial':
      int(o, 'id');
      need(isObj(o.partial), "'partial' must be an object");
      break;
    case 'result':
      int(o, 'id');
      need(isObj(o.result) && typeof o.result.kind === 'string', "'result' must be an object with a kind");
      break;
    case 'error':
      int(o, 'id');
      need(isObj(o.error) && typeof o.error.message === 'string', "'error' must carry a message");
      break;
  }
  return o as unknown as WorkerToHost;
}

export function parseHostToWebview(m: unknown): HostToWebview {
  const o = header(m, ['inspect', 'progress', 'error']);
  switch (o.type) {
    case 'inspect':
      need(isObj(o.result) && o.result.kind === 'inspect', "'result' must be an inspect result");
      break;
    case 'progress':
      need(isObj(o.progress), "'progress' must be an object");
      break;
    case 'error':
      need(isObj(o.error) && typeof o.error.message === 'string', "'error' must carry a message");
      break;
  }
  return o as unknown as HostToWebview;
}

export function parseWebviewToHost(m: unknown): WebviewToHost {
  return header(m, ['ready', 'showLog', 'retry']) as unknown as WebviewToHost;
}

export function parseHostToAnalysisView(m: unknown): HostToAnalysisView {
  const o = header(m, ['run', 'runs', 'progress', 'result', 'error', 'reveal', 'exported']);
  switch (o.type) {
    case 'runs':
      need(
        isObj(o.runs) && Array.isArray(o.runs.own) && Array.isArray(o.runs.others),
        "'runs' must list the runs (own, others)",
      );
      break;
    case 'run':
      need(isObj(o.run) && typeof o.run.modelPath === 'string', "'run' must name the model");
      break;
    case 'progress':
      need(isObj(o.progress), "'progress' must be an object");
      break;
    case 'result':
      need(isObj(o.result) && o.result.schema === RESULT_SCHEMA, `'result' must be a ${RESULT_SCHEMA} document`);
      need(
        ['running', 'complete', 'cancelled', 'failed'].includes(o.state as string),
        "'state' must be running, complete, cancelled or failed",
      );
      break;
    case 'error':
      need(isObj(o.error) && typeof o.error.message === 'string', "'error' must carry a message");
      break;
    case 'reveal':
      str(o, 'tensor');
      break;
    case 'exported':
      str(o, 'what');
      str(o, 'path');
      break;
  }
  return o as unknown as HostToAnalysisView;
}

export function parseAnalysisViewToHost(m: unknown): AnalysisViewToHost {
  const o = header(m, ['ready', 'showLog', 'rerun', 'cancel', 'showRun', 'overlay', 'export', 'png', 'readme']);
  if (o.type === 'readme')
    need(typeof o.anchor === 'string' && /^[a-z0-9-]{1,80}$/.test(o.anchor), "'anchor' must be a README heading id");
  if (o.type === 'showRun') str(o, 'id');
  if (o.type === 'overlay') need(o.id === null || typeof o.id === 'string', "'id' must be a run id or null");
  if (o.type === 'rerun')
    need(o.recompute === undefined || typeof o.recompute === 'boolean', "'recompute' must be a boolean");
  if (o.type === 'export')
    need(['html', 'json', 'csv'].includes(o.format as string), "'format' must be html, json or csv");
  if (o.type === 'png') {
    str(o, 'chart');
    need(
      typeof o.dataUrl === 'string' && o.dataUrl.startsWith('data:image/png;base64,'),
      "'dataUrl' must be a PNG data URL",
    );
  }
  return o as unknown as AnalysisViewToHost;
}
