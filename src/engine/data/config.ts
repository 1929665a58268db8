// replens.json: the dataset, its preprocessing and run settings for a project. Validated strictly so a typo
// fails loudly (naming the key and the nearest known one) instead of being silently ignored.
import * as fs from 'fs';
import * as path from 'path';
import { closest, editDistance, ReplensError } from '../errors';
import { readRegularFileSync } from '../fsafe';
import type { DatasetSpec } from './dataset';
import type { PreprocessConfig } from './preprocess';

export const CONFIG_FILE = 'replens.json';

export interface ReplensConfig {
  dataset?: DatasetSpec;
  preprocess?: PreprocessConfig;
  classNames?: string[];
  batchSize?: number;
  memoryBudgetMB?: number;
  executionProvider?: 'auto' | 'cpu' | 'cuda';
}

type Check = (v: unknown, key: string) => unknown;

const fail = (where: string, msg: string) => new ReplensError('E_CONFIG', `${where}: ${msg}`);

/** A value that breaks the schema, thrown by the checks; validateConfig adds where the configuration came from. */
class SchemaProblem extends Error {}

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isPositiveInt = (x: unknown): x is number => Number.isInteger(x) && (x as number) > 0;
const isString = (x: unknown): x is string => typeof x === 'string';
const isArrayOf = <T>(v: unknown, item: (x: unknown) => x is T): v is T[] => Array.isArray(v) && v.every(item);

function oneOf(values: readonly string[]): Check {
  return (v, key) => {
    if (typeof v === 'string' && values.includes(v)) return v;
    throw new SchemaProblem(
      `${key} must be one of ${values.map((s) => `"${s}"`).join(', ')}${typeof v === 'string' ? ` (got "${v}")` : ''}`,
    );
  };
}
const str: Check = (v, key) => {
  if (typeof v === 'string' && v.length) return v;
  throw new SchemaProblem(`${key} must be a non-empty string`);
};
const posInt: Check = (v, key) => {
  if (isPositiveInt(v)) return v;
  throw new SchemaProblem(`${key} must be a positive integer`);
};
const bool: Check = (v, key) => {
  if (typeof v === 'boolean') return v;
  throw new SchemaProblem(`${key} must be true or false`);
};
const posNum: Check = (v, key) => {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  throw new SchemaProblem(`${key} must be a positive number`);
};
const numbers =
  (positive: boolean): Check =>
  (v, key) => {
    if (!isArrayOf(v, isFiniteNumber) || !v.length) throw new SchemaProblem(`${key} must be an array of numbers`);
    if (positive && !v.every((x) => x > 0)) throw new SchemaProblem(`${key} must hold positive numbers`);
    return [...v];
  };
const strings: Check = (v, key) => {
  if (isArrayOf(v, isString)) return [...v];
  throw new SchemaProblem(`${key} must be an array of strings`);
};
const resize: Check = (v, key) => {
  if (isPositiveInt(v)) return v;
  if (isArrayOf(v, isPositiveInt) && v.length === 2) return [v[0], v[1]];
  throw new SchemaProblem(`${key} must be a positive integer or [height, width]`);
};
const channels: Check = (v, key) => {
  if (v === 1 || v === 3) return v;
  throw new SchemaProblem(`${key} must be 1 or 3`);
};

const DATASET: Record<keyof DatasetSpec, Check> = {
  path: str,
  format: oneOf(['idx', 'npy', 'npz', 'imagefolder']),
  labels: str,
  x: str,
  y: str,
  limit: posInt,
  layout: oneOf(['NCHW', 'NHWC']),
  skipUnreadable: bool,
};
const PREPROCESS: Record<keyof PreprocessConfig, Check> = {
  resize,
  scale: posNum,
  mean: numbers(false),
  std: numbers(true),
  channels,
  layout: oneOf(['NCHW', 'NHWC']),
};
const TOP: Record<keyof ReplensConfig | '$schema', Check | Record<string, Check>> = {
  $schema: str,
  dataset: DATASET,
  preprocess: PREPROCESS,
  classNames: strings,
  batchSize: posInt,
  memoryBudgetMB: posNum,
  executionProvider: oneOf(['auto', 'cpu', 'cuda']),
};

function unknownKey(key: string, known: string[], prefix: string): string {
  const near = closest(key, known, 1)[0];
  const close =
    near !== undefined &&
    (editDistance(key.toLowerCase(), near.toLowerCase()) <= Math.max(2, near.length / 3) ||
      near.toLowerCase().includes(key.toLowerCase()));
  return (
    `unknown key "${prefix}${key}"; ` +
    `${close ? `did you mean "${prefix}${near}"?` : `known keys: ${known.map((k) => prefix + k).join(', ')}`}`
  );
}

function checkObject(
  obj: unknown,
  schema: Record<string, Check | Record<string, Check>>,
  prefix: string,
): Record<string, unknown> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw new SchemaProblem(`${prefix ? prefix.slice(0, -1) : 'the configuration'} must be an object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const rule = schema[k];
    if (!Object.prototype.hasOwnProperty.call(schema, k))
      throw new SchemaProblem(
        unknownKey(
          k,
          Object.keys(schema).filter((s) => s !== '$schema'),
          prefix,
        ),
      );
    if (v === undefined || v === null) continue;
    out[k] = typeof rule === 'function' ? rule(v, prefix + k) : checkObject(v, rule, `${prefix}${k}.`);
  }
  return out;
}

/**
 * Validates a configuration object (replens.json's content, or settings/flags shaped the same); `where` names its
 * origin in errors. Relative dataset paths are resolved against `baseDir`.
 */
export function validateConfig(obj: unknown, where: string, baseDir?: string): ReplensConfig {
  let cfg: ReplensConfig & { $schema?: string };
  try {
    cfg = checkObject(obj, TOP, '');
  } catch (e) {
    if (e instanceof SchemaProblem) throw fail(where, e.message);
    throw e;
  }
  delete cfg.$schema;
  const ds = cfg.dataset;
  if (ds) {
    if (ds.path === undefined) throw fail(where, 'dataset.path is required when dataset is given');
    if (baseDir) {
      ds.path = path.resolve(baseDir, ds.path);
      if (ds.labels) ds.labels = path.resolve(baseDir, ds.labels);
    }
  }
  return cfg;
}

/** Where jsonErrorOffset's scanner stopped: the offset of the first syntax error. */
class JsonSyntaxAt extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at offset ${offset}`);
  }
}

/** Offset of the first JSON syntax error in `s` (JSON.parse's messages do not always carry one), or -1. */
function jsonErrorOffset(s: string): number {
  let i = 0;
  const lit = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
  const ws = () => {
    while (i < s.length && ' \t\n\r'.includes(s[i])) i++;
  };
  const str = () => {
    for (i++; i < s.length && s[i] !== '"'; i++) {
      if (s.charCodeAt(i) < 0x20) throw new JsonSyntaxAt(i);
      if (s[i] === '\\') i++;
    }
    if (i >= s.length) throw new JsonSyntaxAt(i);
    i++;
  };
  const list = (close: string, item: () => void) => {
    i++;
    ws();
    if (s[i] === close) {
      i++;
      return;
    }
    for (;;) {
      item();
      ws();
      if (s[i] === ',') {
        i++;
        continue;
      }
      if (s[i] === close) {
        i++;
        return;
      }
      throw new JsonSyntaxAt(i);
    }
  };
  const value = (): void => {
    ws();
    if (s[i] === '{')
      return list('}', () => {
        ws();
        if (s[i] !== '"') throw new JsonSyntaxAt(i);
        str();
        ws();
        if (s[i] !== ':') throw new JsonSyntaxAt(i);
        i++;
        value();
      });
    if (s[i] === '[') return list(']', value);
    if (s[i] === '"') return str();
    lit.lastIndex = i;
    const m = lit.exec(s);
    if (!m) throw new JsonSyntaxAt(i);
    i += m[0].length;
  };
  try {
    value();
    ws();
    return i < s.length ? i : -1;
  } catch (e) {
    if (e instanceof JsonSyntaxAt) return e.offset;
    throw e;
  }
}

/** " at line L, column C" of the first syntax error, or ''. */
function jsonPosition(text: string): string {
  const at = jsonErrorOffset(text);
  if (at < 0) return '';
  const before = text.slice(0, at);
  return ` at line ${before.split('\n').length}, column ${at - before.lastIndexOf('\n')}`;
}

/** Reads and validates a replens.json; dataset paths in it are relative to its folder. */
export function loadConfig(file: string): ReplensConfig {
  // A FIFO or device given as --config must not block or stream forever; a config is small.
  let text = readRegularFileSync(file, { what: 'replens.json', code: 'E_CONFIG', maxBytes: 1 << 20 }).toString('utf8');
  let obj: unknown;
  text = text.replace(/^\uFEFF/, '');
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw fail(file, `invalid JSON${jsonPosition(text)} (${(e as Error).message})`);
  }
  return validateConfig(obj, file, path.dirname(path.resolve(file)));
}

/** The nearest replens.json in `startDir` or a folder above it (stopping after `stopAt` when given), or null. */
export function findConfig(startDir: string, stopAt?: string): string | null {
  let dir = path.resolve(startDir);
  const stop = stopAt ? path.resolve(stopAt) : null;
  for (;;) {
    const f = path.join(dir, CONFIG_FILE);
    try {
      if (fs.statSync(f).isFile()) return f;
    } catch {
      /* not here */
    }
    const up = path.dirname(dir);
    if (up === dir || (stop !== null && samePath(dir, stop))) return null;
    dir = up;
  }
}

/** What makes a folder a project root: discovery never climbs above one. */
export const PROJECT_MARKERS = ['.git', 'package.json'];

const samePath = (a: string, b: string) =>
  process.platform === 'win32' ? a.toLowerCase() === b.toLowerCase() : a === b;
const exists = (f: string) => {
  try {
    fs.statSync(f);
    return true;
  } catch {
    return false;
  }
};

/** The data's own root: the dataset folder for an image folder, the file's folder for a file (or a missing path). */
export function dataRoot(dataPath: string): string {
  const p = path.resolve(dataPath);
  try {
    if (fs.statSync(p).isDirectory()) return p;
  } catch {
    /* missing: its folder */
  }
  return path.dirname(p);
}

/**
 * The highest folder discovery looks in for data under `root`: the first folder at or above it that is `stopAt`
 * (the extension's workspace folder) or holds a .git or a package.json. Data in no project sees only its own root.
 */
export function discoveryLimit(root: string, stopAt?: string): string {
  const stop = stopAt ? path.resolve(stopAt) : null;
  for (let dir = root; ; dir = path.dirname(dir)) {
    if ((stop !== null && samePath(dir, stop)) || PROJECT_MARKERS.some((m) => exists(path.join(dir, m)))) return dir;
    if (path.dirname(dir) === dir) return root;
  }
}

export interface ConfigDiscovery {
  /** Where the climb ends (inclusive) besides a project root: the extension passes the workspace folder. */
  stopAt?: string;
  log?: (line: string) => void;
}

/**
 * The replens.json for a dataset: `given` (--config, a picked file) when set, else the nearest one from the data's
 * own root (see dataRoot) up to the root of the project it lies in (see discoveryLimit), never above: a stray
 * replens.json in a home or parent folder must not change a run's preprocessing. Logs which file is used.
 */
export function configFor(given: string | undefined, dataPath: string, o: ConfigDiscovery = {}): string | null {
  const log = o.log ?? (() => undefined);
  if (given) {
    log(`config: ${path.resolve(given)} (given)`);
    return given;
  }
  const root = dataRoot(dataPath);
  const limit = discoveryLimit(root, o.stopAt);
  const found = findConfig(root, limit);
  const span = samePath(root, limit) ? root : `${root} up to ${limit}`;
  log(found ? `config: ${found}` : `config: none (no ${CONFIG_FILE} in ${span})`);
  return found;
}

/** Settings layered over a file: like ReplensConfig, but a dataset block may omit the path (e.g. only `limit`). */
export type ConfigOverride = Omit<ReplensConfig, 'dataset'> & { dataset?: Partial<DatasetSpec> };

/**
 * Layers settings: keys set in `override` (VS Code settings, CLI flags) win over `base` (the file); undefined keys
 * fall through. `preprocess` merges key by key. `dataset` merges key by key too, unless the override names a
 * different path: then it replaces the whole block, since labels, npz keys and limit belong to the base's file.
 */
export function mergeConfig(base: ReplensConfig, override: ConfigOverride): ReplensConfig {
  const defined = <T extends object>(o: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  const { dataset: od, ...rest } = override;
  const out: ReplensConfig = { ...base, ...defined(rest) };
  if (base.preprocess || override.preprocess) out.preprocess = { ...base.preprocess, ...defined(override.preprocess) };
  const o = defined(od);
  if (Object.keys(o).length) {
    const b = base.dataset;
    const samePath = b !== undefined && (o.path === undefined || path.resolve(o.path) === path.resolve(b.path));
    const merged = samePath ? { ...b, ...o } : o;
    if (merged.path === undefined) {
      throw new ReplensError(
        'E_CONFIG',
        `dataset.${Object.keys(o)[0]} is set but no dataset.path is (in replens.json or the replens.dataset setting)`,
      );
    }
    out.dataset = merged as DatasetSpec;
  }
  return out;
}
