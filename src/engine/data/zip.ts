// A minimal zip reader for .npz archives: the central directory (zip64 included, as numpy writes it), then only the
// entries asked for, each checked before and after inflating. fflate's unzipSync was used before; it allocates
// whatever size the directory declares and never checks CRC-32, so a corrupted archive was read silently
// (numpy refuses it). Here: declared sizes are checked against the file and the budget before allocating,
// inflation is bounded by the declared size, and each entry's CRC-32 must match, as numpy's zipfile requires.
import * as zlib from 'zlib';
import { ReplensError } from '../errors';
import { formatBytes, readRange, type RegularFile } from '../fsafe';
import { checkBudget } from './source';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/**
 * Deflate's best ratio (a 258-byte match in 2 bits): no entry can inflate to more than this times its compressed size.
 */
export const DEFLATE_MAX_RATIO = 1032;

const EOCD = 0x06054b50,
  ZIP64_LOCATOR = 0x07064b50,
  ZIP64_EOCD = 0x06064b50,
  CENTRAL = 0x02014b50,
  LOCAL = 0x04034b50;

const bad = (file: string, why: string) =>
  new ReplensError('E_DATASET', `${file} is not a readable .npz (zip) archive: ${why}`);

function u64(b: Buffer, at: number, file: string): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(file, 'a zip64 size or offset is out of range');
  return Number(v);
}

/** Entry count, offset and size of the central directory, from the end record (and the zip64 one when present). */
function endRecord(f: RegularFile, file: string): { count: number; offset: number; size: number } {
  const tailLen = Math.min(f.size, 22 + 0xffff);
  const tail = readRange(f, file, f.size - tailLen, tailLen, { code: 'E_DATASET' });
  let e = tail.length - 22;
  while (e >= 0 && tail.readUInt32LE(e) !== EOCD) e--;
  if (e < 0) throw bad(file, 'no end-of-central-directory record');
  let count = tail.readUInt16LE(e + 10),
    size = tail.readUInt32LE(e + 12),
    offset = tail.readUInt32LE(e + 16);
  const loc = f.size - tailLen + e - 20;
  if (loc >= 0 && readRange(f, file, loc, 4, { code: 'E_DATASET' }).readUInt32LE(0) === ZIP64_LOCATOR) {
    const at = u64(readRange(f, file, loc + 8, 8, { code: 'E_DATASET' }), 0, file);
    if (at + 56 > f.size) throw bad(file, 'the zip64 end record lies beyond the end of the file');
    const z = readRange(f, file, at, 56, { code: 'E_DATASET' });
    if (z.readUInt32LE(0) !== ZIP64_EOCD) throw bad(file, 'bad zip64 end record');
    count = u64(z, 32, file);
    size = u64(z, 40, file);
    offset = u64(z, 48, file);
  }
  if (offset + size > f.size)
    throw bad(
      file,
      `the central directory (${size} bytes at ${offset}) lies beyond the end of the file (${f.size} bytes)`,
    );
  if (count * 46 > size) throw bad(file, `${count} entries cannot fit in a ${size}-byte central directory`);
  return { count, offset, size };
}

/** Sizes and offset that are 0xFFFFFFFF in a central header come from its zip64 extra field, in this order. */
function applyZip64(e: ZipEntry, extra: Buffer, file: string): void {
  for (let p = 0; p + 4 <= extra.length;) {
    const id = extra.readUInt16LE(p),
      len = extra.readUInt16LE(p + 2);
    if (id === 0x0001) {
      let q = p + 4;
      const next = () => {
        if (q + 8 > p + 4 + len || q + 8 > extra.length) throw bad(file, `short zip64 field for ${e.name}`);
        const v = u64(extra, q, file);
        q += 8;
        return v;
      };
      if (e.size === 0xffffffff) e.size = next();
      if (e.compressedSize === 0xffffffff) e.compressedSize = next();
      if (e.localOffset === 0xffffffff) e.localOffset = next();
      return;
    }
    p += 4 + len;
  }
}

/** The entries of the central directory, in order. */
export function readZipDirectory(f: RegularFile, file: string): ZipEntry[] {
  const end = endRecord(f, file);
  const cd = readRange(f, file, end.offset, end.size, { code: 'E_DATASET' });
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < end.count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL)
      throw bad(file, `central directory entry ${i} is malformed`);
    const nameLen = cd.readUInt16LE(p + 28),
      extraLen = cd.readUInt16LE(p + 30),
      commentLen = cd.readUInt16LE(p + 32);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > cd.length) throw bad(file, `central directory entry ${i} runs past the directory`);
    const flags = cd.readUInt16LE(p + 8);
    const e: ZipEntry = {
      name: cd.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen),
      method: cd.readUInt16LE(p + 10),
      flags,
      crc: cd.readUInt32LE(p + 16),
      compressedSize: cd.readUInt32LE(p + 20),
      size: cd.readUInt32LE(p + 24),
      localOffset: cd.readUInt32LE(p + 42),
    };
    applyZip64(e, cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), file);
    entries.push(e);
    p = next;
  }
  return entries;
}

// CRC-32 (IEEE 802.3, as zip uses). zlib.crc32 exists from Node 20.15; the table is the fallback for earlier 20.x.
let table: Int32Array | null = null;
function crc32Table(buf: Uint8Array): number {
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < buf.length; i++) c = table[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
export const crc32 = (buf: Uint8Array): number => (nativeCrc32 ? nativeCrc32(buf) >>> 0 : crc32Table(buf));

/**
 * Where an entry's data starts: after its local header, whose name and extra lengths may differ from the directory's.
 */
function dataStart(f: RegularFile, file: string, e: ZipEntry): number {
  if (e.localOffset + 30 > f.size) throw bad(file, `the local header of ${e.name} lies beyond the end of the file`);
  const h = readRange(f, file, e.localOffset, 30, { code: 'E_DATASET' });
  if (h.readUInt32LE(0) !== LOCAL) throw bad(file, `bad local header for ${e.name}`);
  const start = e.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  if (start + e.compressedSize > f.size)
    throw bad(file, `${e.name} (${e.compressedSize} bytes at ${start}) runs past the end of the file`);
  return start;
}

function inflate(data: Buffer, e: ZipEntry, file: string): Buffer {
  try {
    // maxOutputLength bounds a lying directory: inflating stops one byte past the declared size.
    return zlib.inflateRawSync(data, { maxOutputLength: e.size + 1 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE')
      throw bad(file, `${e.name} inflates to more than the ${e.size} bytes its directory entry declares`);
    throw bad(file, `${e.name} does not inflate (${(err as Error).message})`);
  }
}

/**
 * One entry's bytes: sizes checked against the file and `maxBytes` before anything is allocated, inflation
 * bounded by the declared size, and the CRC-32 compared, as numpy does.
 */
export function readZipEntry(f: RegularFile, file: string, e: ZipEntry, maxBytes: number): Buffer {
  if (e.flags & 1) throw bad(file, `${e.name} is encrypted`);
  if (e.method !== 0 && e.method !== 8)
    throw bad(file, `${e.name} uses compression method ${e.method}; only stored and deflated entries are supported`);
  if (e.method === 0 && e.size !== e.compressedSize)
    throw bad(file, `stored entry ${e.name} declares ${e.size} bytes but holds ${e.compressedSize}`);
  if (e.method === 8 && e.size > e.compressedSize * DEFLATE_MAX_RATIO + 1024) {
    throw bad(
      file,
      `${e.name} declares ${formatBytes(e.size)}, more than its ` +
        `${formatBytes(e.compressedSize)} of deflate data can hold`,
    );
  }
  checkBudget(`${file}:${e.name}`, 'the entry', e.size, maxBytes);
  const raw = readRange(f, file, dataStart(f, file, e), e.compressedSize, { code: 'E_DATASET' });
  const out = e.method === 0 ? raw : inflate(raw, e, file);
  if (out.length !== e.size)
    throw bad(file, `${e.name} holds ${out.length} bytes, its directory entry declares ${e.size}`);
  const crc = crc32(out);
  if (crc !== e.crc) throw bad(file, `${e.name} is corrupted (CRC-32 ${hex(crc)}, the archive records ${hex(e.crc)})`);
  return out;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
