// The analysis cache: one JSON file per (model hash, dataset identity, analysis, settings) key under
// $REPLENS_CACHE_DIR, else $XDG_CACHE_HOME/replens, else ~/.cache/replens. Writes are atomic (fswrite.ts: a temporary
// file created exclusively in the same folder, then rename), so a cancelled or crashed run never leaves a half-written
// entry and a symlink in the cache folder is replaced rather than followed.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeAtomic } from '../fswrite';

export function cacheRoot(dir?: string): string {
  return (
    dir ??
    process.env.REPLENS_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'replens')
  );
}

/** A stable key: SHA-256 of the canonical JSON (sorted object keys) of the parts. */
export function cacheKey(parts: unknown): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return crypto
    .createHash('sha256')
    .update(JSON.stringify(canon(parts)))
    .digest('hex');
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
  try {
    writeAtomic(path.join(cacheRoot(dir), `${key}.json`), JSON.stringify(value));
  } catch {
    // A cache that cannot be written only costs time next run.
  }
}
