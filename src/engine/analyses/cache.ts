// The analysis cache: one JSON file per (model hash, dataset identity, analysis, settings) key under
// $REPLENS_CACHE_DIR, else $XDG_CACHE_HOME/replens, else ~/.cache/replens. Writes are atomic (a temporary file
// in the same folder, then rename), so a cancelled or crashed run never leaves a half-written entry.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export function cacheRoot(dir?: string): string {
  return dir ?? process.env.REPLENS_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'replens');
}

/** A stable key: SHA-256 of the canonical JSON (sorted object keys) of the parts. */
export function cacheKey(parts: unknown): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])]));
    return v;
  };
  return crypto.createHash('sha256').update(JSON.stringify(canon(parts))).digest('hex');
}

export function readCache<T>(dir: string | undefined, key: string): T | null {
  const file = path.join(cacheRoot(dir), `${key}.json`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null; // missing or unreadable: recompute
  }
}

export function writeCache(dir: string | undefined, key: string, value: unknown): void {
  const root = cacheRoot(dir);
  try {
    fs.mkdirSync(root, { recursive: true });
    const tmp = path.join(root, `.${key}.${process.pid}.${Date.now()}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(value));
    fs.renameSync(tmp, path.join(root, `${key}.json`));
  } catch {
    // A cache that cannot be written only costs time next run.
  }
}

/** Writes `file` atomically (temporary file + rename). */
export function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
