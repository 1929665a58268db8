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

/**
 * Binary work kept next to an entry (`<key>.bin`): named int32 arrays (RRA's kNN graphs), which a later comparison
 * reads instead of recomputing them. Layout: 'RLB1', a uint32 header length, the JSON header ([name, length] pairs),
 * zero padding to 4 bytes, then the arrays one after the other (little-endian int32).
 */
export function writeCacheBlobs(dir: string | undefined, key: string, blobs: ReadonlyMap<string, Int32Array>): void {
  const header = Buffer.from(JSON.stringify([...blobs].map(([name, a]) => [name, a.length])));
  const head = 8 + header.length,
    start = Math.ceil(head / 4) * 4;
  const total = start + 4 * [...blobs.values()].reduce((s, a) => s + a.length, 0);
  const out = Buffer.alloc(total);
  out.write('RLB1', 0, 'latin1');
  out.writeUInt32LE(header.length, 4);
  header.copy(out, 8);
  let off = start;
  for (const a of blobs.values()) {
    for (let i = 0; i < a.length; i++) out.writeInt32LE(a[i], off + 4 * i);
    off += 4 * a.length;
  }
  try {
    writeAtomic(path.join(cacheRoot(dir), `${key}.bin`), out);
  } catch {
    // Only costs time next run.
  }
}

/** The arrays of `<key>.bin`, or null when it is missing, unreadable or malformed (the caller recomputes). */
export function readCacheBlobs(dir: string | undefined, key: string): Map<string, Int32Array> | null {
  try {
    const b = fs.readFileSync(path.join(cacheRoot(dir), `${key}.bin`));
    if (b.length < 8 || b.toString('latin1', 0, 4) !== 'RLB1') return null;
    const hl = b.readUInt32LE(4);
    const header = JSON.parse(b.toString('utf8', 8, 8 + hl)) as unknown;
    if (!Array.isArray(header)) return null;
    const out = new Map<string, Int32Array>();
    let off = Math.ceil((8 + hl) / 4) * 4;
    for (const e of header) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || !Number.isInteger(e[1]) || e[1] < 0) return null;
      const len = e[1] as number;
      if (off + 4 * len > b.length) return null;
      const a = new Int32Array(len);
      for (let i = 0; i < len; i++) a[i] = b.readInt32LE(off + 4 * i);
      out.set(e[0], a);
      off += 4 * len;
    }
    return off === b.length ? out : null;
  } catch {
    return null;
  }
}
