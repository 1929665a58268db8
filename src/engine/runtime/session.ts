// onnxruntime-node sessions: execution-provider choice (auto → CUDA when it loads, else CPU, with the reason),
// a small LRU cache per (model, EP, threads), typed feeds validated before ORT sees them.
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { ReplensError, errorMessage } from '../errors';
import { applyTelemetryPolicy } from './telemetry';
import { assertNoExternalData, encodeModel } from '../onnx/model';
import { onnx, type ModelProto } from '../onnx/proto';
import type { Dim } from '../onnx/graph';

export type ExecutionProvider = 'auto' | 'cpu' | 'cuda';

export interface RuntimeOptions {
  executionProvider?: ExecutionProvider;
  /** Threads inside one operator; 0 or absent = onnxruntime's default. */
  intraOpThreads?: number;
  /** Threads across operators; 0 or absent = onnxruntime's default. */
  interOpThreads?: number;
  /**
   * false: onnxruntime's idle threads sleep instead of spinning between operators (the editor: a spinning pool keeps
   * every core busy and starves the editor's UI); absent = onnxruntime's default (spinning).
   */
  allowSpinning?: boolean;
  /** Receives one line per decision worth logging (EP fallback, session creation time). */
  log?: (line: string) => void;
}

export interface IOInfo {
  name: string;
  type: string;
  shape: Dim[];
}

export interface ModelSession {
  key: string;
  session: ort.InferenceSession;
  ep: 'cpu' | 'cuda';
  inputs: IOInfo[];
  outputs: IOInfo[];
}

export interface Feed {
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
  dims: number[];
  type?: string;
}

function ioInfo(meta: readonly unknown[] | undefined, names: readonly string[]): IOInfo[] {
  return names.map((name, i) => {
    const m = (meta?.[i] ?? {}) as { isTensor?: boolean; type?: string; shape?: (number | string)[] };
    return {
      name,
      type: m.type ?? 'unknown',
      shape: (m.shape ?? []).map((d): Dim =>
        typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : null,
      ),
    };
  });
}

/** Maps onnxruntime's multi-line creation errors to one line with the cause. */
export function sessionError(e: unknown, what: string): ReplensError {
  const msg = errorMessage(e);
  const notRegistered = /(?:([\w.]+):)?(\w+)\((-?\d+)\) is not a registered function\/op/.exec(msg);
  if (notRegistered) {
    const op = notRegistered[1] ? `${notRegistered[1]}:${notRegistered[2]}` : notRegistered[2];
    return new ReplensError(
      'E_UNSUPPORTED_OP',
      `${what}: onnxruntime does not support operator '${op}' (opset ${notRegistered[3]})`,
    );
  }
  const noImpl = /Could not find an implementation for (\w+)\((\d+)\) node with name '([^']*)'/.exec(msg);
  if (noImpl) {
    return new ReplensError(
      'E_UNSUPPORTED_OP',
      `${what}: onnxruntime has no kernel for ${noImpl[1]} (opset ` +
        `${noImpl[2]}) at node '${noImpl[3]}' for these input types`,
    );
  }
  const firstLine = msg.replace(/^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*/, '');
  return new ReplensError('E_RUNTIME', `${what}: onnxruntime cannot load the model: ${firstLine}`);
}

/**
 * Whether onnxruntime-node's CUDA provider library is installed. The CPU build (`onnxruntime-node-install=skip`)
 * lacks it; probing by creating a session would only print onnxruntime's own load error to stderr.
 */
export function cudaProviderInstalled(): string | null {
  try {
    const dir = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const bin = path.join(dir, 'bin');
    const found = fs
      .readdirSync(bin, { recursive: true })
      .map(String)
      .some((f) => /libonnxruntime_providers_cuda\.so|onnxruntime_providers_cuda\.dll/.test(f));
    return found ? null : 'onnxruntime-node is the CPU build (no CUDA provider library installed; see README, GPU)';
  } catch (e) {
    return `cannot locate onnxruntime-node (${errorMessage(e)})`;
  }
}

/**
 * The bytes onnxruntime gets, for every session (also one created outside SessionPool): only a model without
 * external references (onnxruntime would resolve them against the working directory, past every folder check).
 * Bytes are decoded and re-encoded, so onnxruntime parses exactly what was checked (protobufjs and onnxruntime's
 * protobuf differ on repeated singular fields and on unknown fields).
 */
export function encodeForRuntime(model: ModelProto | Uint8Array, what: string): Uint8Array {
  let proto: ModelProto;
  if (model instanceof Uint8Array) {
    try {
      proto = onnx.ModelProto.decode(model) as unknown as ModelProto;
    } catch (e) {
      throw new ReplensError(
        'E_MODEL_CORRUPT',
        `${what}: the model bytes are not a valid ModelProto (${errorMessage(e)})`,
      );
    }
  } else {
    proto = model;
  }
  assertNoExternalData(proto, what);
  return encodeModel(proto);
}

export class SessionPool {
  private cache = new Map<string, Promise<ModelSession>>();
  /** Why CUDA was not used, once per pool (logged once, reported in results). */
  cudaUnavailable: string | null = null;
  /** The provider the pool's sessions run on, once one was created (the choice is per pool settings). */
  executionProvider: 'cpu' | 'cuda' | null = null;
  /** Where decisions are logged; a long-lived pool points it at the current job's log. */
  log: (line: string) => void;

  constructor(
    private readonly opts: RuntimeOptions = {},
    private readonly capacity = 6,
  ) {
    this.log = opts.log ?? (() => undefined);
  }

  get options(): RuntimeOptions {
    return this.opts;
  }

  /**
   * A session for `model`, created once per key. `key` identifies the model bytes (a file path + mtime, or a
   * derived-model hash); the EP and thread settings are added here.
   */
  get(key: string, model: ModelProto | Uint8Array, what: string): Promise<ModelSession> {
    const ep = this.opts.executionProvider ?? 'auto';
    const fullKey = `${key}|${ep}|${this.opts.intraOpThreads ?? 0}|${this.opts.interOpThreads ?? 0}`;
    const hit = this.cache.get(fullKey);
    if (hit) {
      this.cache.delete(fullKey);
      this.cache.set(fullKey, hit); // refresh LRU position
      return hit;
    }
    const p = this.create(fullKey, model, what);
    this.cache.set(fullKey, p);
    p.catch(() => this.cache.delete(fullKey));
    while (this.cache.size > this.capacity) {
      const [oldKey, old] = this.cache.entries().next().value as [string, Promise<ModelSession>];
      this.cache.delete(oldKey);
      old.then((s) => s.session.release()).catch(() => undefined);
    }
    return p;
  }

  private async create(key: string, model: ModelProto | Uint8Array, what: string): Promise<ModelSession> {
    const bytes = encodeForRuntime(model, what);
    const want = this.opts.executionProvider ?? 'auto';
    const base: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      ...(this.opts.intraOpThreads ? { intraOpNumThreads: this.opts.intraOpThreads } : {}),
      ...(this.opts.interOpThreads
        ? { interOpNumThreads: this.opts.interOpThreads, executionMode: 'parallel' as const }
        : {}),
      // Session config entries (onnxruntime_session_options_config_keys.h), flattened to dotted keys by the binding.
      ...(this.opts.allowSpinning === false
        ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }
        : {}),
    };
    // Library use on the main thread (tests, the bench): the same telemetry policy as the CLI and the extension,
    // whose launchers apply it before their workers start (a worker cannot; telemetry.ts).
    applyTelemetryPolicy();
    const t0 = Date.now();
    let session: ort.InferenceSession | null = null;
    let ep: 'cpu' | 'cuda' = 'cpu';
    if (want !== 'cpu' && this.cudaUnavailable === null) {
      const why = cudaProviderInstalled();
      if (why && want === 'cuda') {
        throw new ReplensError(
          'E_EXECUTION_PROVIDER',
          `the CUDA execution provider cannot be loaded: ${why}; install it ` +
            '(README, GPU) or set replens.executionProvider / --ep to cpu',
        );
      }
      if (why) {
        this.cudaUnavailable = why;
        this.log(`execution provider: CUDA unavailable (${why}); using CPU`);
      }
    }
    if (want === 'cuda' || (want === 'auto' && this.cudaUnavailable === null)) {
      try {
        session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cuda', 'cpu'] });
        ep = 'cuda';
      } catch (e) {
        const why = errorMessage(e);
        if (want === 'cuda') {
          if (/cuda|provider|shared library/i.test(why)) {
            throw new ReplensError(
              'E_EXECUTION_PROVIDER',
              `the CUDA execution provider cannot be loaded (${why}); install the CUDA build of ` +
                'onnxruntime-node (see README) or set replens.executionProvider to cpu',
            );
          }
          throw sessionError(e, what);
        }
        if (!/cuda|provider|shared library/i.test(why)) throw sessionError(e, what);
        this.cudaUnavailable = why;
        this.log(`execution provider: CUDA unavailable (${why}); using CPU`);
      }
    }
    if (!session) {
      try {
        session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] });
      } catch (e) {
        throw sessionError(e, what);
      }
    }
    const s = session as ort.InferenceSession & {
      inputMetadata?: readonly unknown[];
      outputMetadata?: readonly unknown[];
    };
    this.log(`session ${what}: ${ep.toUpperCase()} execution provider, created in ${Date.now() - t0} ms`);
    this.executionProvider = ep;
    return {
      key,
      session,
      ep,
      inputs: ioInfo(s.inputMetadata, s.inputNames),
      outputs: ioInfo(s.outputMetadata, s.outputNames),
    };
  }

  /**
   * Releases the sessions whose key starts with `prefix` (all EP/thread variants). A session keeps what its runs
   * allocated (onnxruntime's arena grows and never shrinks), so a phase that is over gives its memory back.
   */
  async evict(prefix: string): Promise<void> {
    for (const [key, p] of [...this.cache]) {
      if (!key.startsWith(prefix)) continue;
      this.cache.delete(key);
      try {
        await (await p).session.release();
      } catch {
        /* failed or released already */
      }
    }
  }

  async dispose(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    for (const p of all) {
      try {
        await (await p).session.release();
      } catch {
        /* already failed or released */
      }
    }
  }
}

const TYPE_OF_ARRAY = (d: Feed['data']): string =>
  d instanceof Float32Array
    ? 'float32'
    : d instanceof Float64Array
      ? 'float64'
      : d instanceof Int32Array
        ? 'int32'
        : d instanceof BigInt64Array
          ? 'int64'
          : 'uint8';

/** Checks feeds against the session's inputs, naming the input and the mismatch. */
export function validateFeeds(ms: ModelSession, feeds: Record<string, Feed>, what: string): void {
  for (const inp of ms.inputs) {
    const f = feeds[inp.name];
    if (!f)
      throw new ReplensError(
        'E_ARGUMENT',
        `${what}: no data for model input '${inp.name}' (inputs: ${ms.inputs.map((i) => i.name).join(', ')})`,
      );
    const type = f.type ?? TYPE_OF_ARRAY(f.data);
    if (inp.type !== 'unknown' && type !== inp.type) {
      throw new ReplensError('E_INPUT_DTYPE', `${what}: input '${inp.name}' takes ${inp.type}, got ${type}`);
    }
    const want = inp.shape;
    const shapeText = (s: readonly Dim[]) => `[${s.map((d) => d ?? '?').join(', ')}]`;
    if (want.length && f.dims.length !== want.length) {
      throw new ReplensError(
        'E_INPUT_SHAPE',
        `${what}: input '${inp.name}' takes rank ${want.length} ${shapeText(want)}, got shape ${shapeText(f.dims)}`,
      );
    }
    want.forEach((d, i) => {
      if (typeof d === 'number' && d !== f.dims[i]) {
        throw new ReplensError(
          'E_INPUT_SHAPE',
          `${what}: input '${inp.name}' takes shape ${shapeText(want)}, got ` +
            `${shapeText(f.dims)} (dimension ${i} is ${f.dims[i]}, expected ${d})`,
        );
      }
    });
  }
  for (const name of Object.keys(feeds)) {
    if (!ms.inputs.some((i) => i.name === name))
      throw new ReplensError(
        'E_ARGUMENT',
        `${what}: the model has no input '${name}' (inputs: ${ms.inputs.map((i) => i.name).join(', ')})`,
      );
  }
}

export interface RunOutput {
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Float64Array;
  dims: number[];
  type: string;
}

/** Runs the session; returns outputs by name. ORT errors become one-line E_RUNTIME errors. */
export async function runSession(
  ms: ModelSession,
  feeds: Record<string, Feed>,
  what: string,
  fetches?: string[],
): Promise<Record<string, RunOutput>> {
  validateFeeds(ms, feeds, what);
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds))
    ortFeeds[name] = new ort.Tensor((f.type ?? TYPE_OF_ARRAY(f.data)) as 'float32', f.data as Float32Array, f.dims);
  let out: ort.InferenceSession.OnnxValueMapType;
  try {
    out = fetches ? await ms.session.run(ortFeeds, fetches) : await ms.session.run(ortFeeds);
  } catch (e) {
    throw new ReplensError('E_RUNTIME', `${what}: onnxruntime failed: ${errorMessage(e)}`);
  }
  const result: Record<string, RunOutput> = {};
  for (const [name, t] of Object.entries(out)) {
    const tensor = t;
    result[name] = { data: tensor.data as RunOutput['data'], dims: [...tensor.dims], type: tensor.type };
  }
  return result;
}
