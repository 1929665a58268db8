// IDX files (MNIST, Fashion-MNIST): magic 0 0 <dtype> <rank>, rank big-endian uint32 dims, big-endian data.
// Raw or gzipped (told by the magic bytes, not the name). The file is decompressed once into memory, bounded by the
// size its header declares (checked against the file and the memory budget first); values are converted to numbers
// a batch at a time.
import * as path from 'path';
import * as zlib from 'zlib';
import { ReplensError } from '../errors';
import { formatBytes, isRegularFile, openRegular, readHead, readRange, type RegularFile } from '../fsafe';
import { readNpy, sizeOf } from '../npy';
import {
  arrayGeometry,
  checkBudget,
  DEFAULT_DATA_BUDGET_BYTES,
  numericView,
  toLabels,
  type PixelArray,
  type SampleSource,
} from './source';
import { DEFLATE_MAX_RATIO } from './zip';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

const DTYPES: Record<number, [IdxDtype, number]> = {
  0x08: ['uint8', 1],
  0x09: ['int8', 1],
  0x0b: ['int16', 2],
  0x0c: ['int32', 4],
  0x0d: ['float32', 4],
  0x0e: ['float64', 8],
};

const DTYPES_BY_NAME = Object.fromEntries(Object.values(DTYPES).map(([n, s]) => [n, s])) as Record<IdxDtype, number>;

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  /** The raw big-endian values, after the header. */
  bytes: Uint8Array;
}

interface IdxHeader {
  dtype: IdxDtype;
  shape: number[];
  /** Where the values start (after the dims). */
  start: number;
  /** Bytes of values the dims declare. */
  need: number;
}

/** The longest IDX header: 4 magic bytes and up to 255 big-endian uint32 dims. */
const IDX_MAX_HEADER = 4 + 4 * 255;
/** Compressed bytes inflated to read a gzipped header: at most DEFLATE_MAX_RATIO times this comes out. */
const GZIP_HEAD_BYTES = 16 << 10;

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Whether `buf` (already decompressed) starts like an IDX file. */
export function looksLikeIdx(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0 && buf[1] === 0 && buf[2] in DTYPES && buf[3] >= 1 && buf[3] <= 8;
}

/**
 * The start of a gzip stream's content, from a prefix of it (SYNC_FLUSH inflates a prefix as far as it goes); empty
 * when it does not inflate.
 */
export function gunzipHead(prefix: Uint8Array): Buffer {
  try {
    return zlib.gunzipSync(prefix.subarray(0, GZIP_HEAD_BYTES), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch {
    return Buffer.alloc(0);
  }
}

/** Parses an IDX header: dtype, dims, and the bytes of values they declare. */
function parseIdxHeader(buf: Uint8Array, what: string): IdxHeader {
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0)
    throw new ReplensError('E_DATASET', `${what} is not an IDX file (bad magic bytes)`);
  const t = DTYPES[buf[2]];
  if (!t)
    throw new ReplensError('E_DATASET', `${what}: unknown IDX data type 0x${buf[2].toString(16).padStart(2, '0')}`);
  const rank = buf[3];
  if (rank === 0) throw new ReplensError('E_DATASET', `${what}: IDX file with no dimensions`);
  const start = 4 + 4 * rank;
  if (buf.length < start) throw new ReplensError('E_DATASET', `${what} is truncated (header)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(dv.getUint32(4 + 4 * i, false));
  return { dtype: t[0], shape, start, need: sizeOf(shape) * t[1] };
}

const truncated = (what: string, h: IdxHeader, has: number) =>
  new ReplensError(
    'E_DATASET',
    `${what} is truncated: header says shape (${h.shape.join(', ')}) = ${h.need} bytes, file has ${has}`,
  );

/** Parses an IDX file held in memory; `what` names it in errors. */
export function parseIdx(buf: Uint8Array, what: string): IdxArray {
  const h = parseIdxHeader(buf, what);
  if (buf.length - h.start < h.need) throw truncated(what, h, buf.length - h.start);
  return { dtype: h.dtype, shape: h.shape, bytes: buf.subarray(h.start, h.start + h.need) };
}

/** A raw IDX file: the header first, then exactly the bytes it declares, once they fit the file and the budget. */
function readRawIdx(f: RegularFile, file: string, head: Buffer, maxBytes: number): IdxArray {
  const h = parseIdxHeader(head, file);
  if (f.size - h.start < h.need) throw truncated(file, h, f.size - h.start);
  checkBudget(file, `header shape (${h.shape.join(', ')})`, h.need, maxBytes);
  return parseIdx(readRange(f, file, 0, h.start + h.need, { code: 'E_DATASET' }), file);
}

/**
 * A gzipped IDX file: the header is read by inflating only the first bytes, then the whole stream is inflated with
 * its output bounded by the size the header declares, so a gzip bomb stops at that size instead of filling memory.
 */
function readGzipIdx(f: RegularFile, file: string, maxBytes: number): IdxArray {
  const h = parseIdxHeader(
    gunzipHead(readRange(f, file, 0, Math.min(f.size, GZIP_HEAD_BYTES), { code: 'E_DATASET' })),
    file,
  );
  const total = h.start + h.need;
  if (total > f.size * DEFLATE_MAX_RATIO + 1024) {
    throw new ReplensError(
      'E_DATASET',
      `${file} is truncated: header says shape (${h.shape.join(', ')}) = ` +
        `${formatBytes(h.need)}, more than its ${formatBytes(f.size)} of gzip data can hold`,
    );
  }
  checkBudget(file, `header shape (${h.shape.join(', ')})`, h.need, maxBytes);
  checkBudget(file, 'the compressed file', f.size, maxBytes);
  const gz = readRange(f, file, 0, f.size, { code: 'E_DATASET' });
  let buf: Buffer;
  try {
    // One byte over the declared size tells "more data than declared" from "exactly as declared".
    buf = zlib.gunzipSync(gz, { maxOutputLength: total + 1 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ReplensError(
        'E_DATASET',
        `${file} decompresses to more than the ${total} bytes its ` +
          `header declares (shape (${h.shape.join(', ')})); refused`,
      );
    }
    throw new ReplensError('E_DATASET', `cannot decompress ${file}: ${(e as Error).message}`);
  }
  return parseIdx(buf, file);
}

/** Reads an IDX file (raw or gzip, told by the magic bytes), refusing non-regular files and sizes over `maxBytes`. */
export function readIdx(file: string, maxBytes = DEFAULT_DATA_BUDGET_BYTES): IdxArray {
  const f = openRegular(file, { what: 'an IDX file', code: 'E_DATASET' });
  try {
    const head = readRange(f, file, 0, Math.min(f.size, IDX_MAX_HEADER), { code: 'E_DATASET' });
    return isGzip(head) ? readGzipIdx(f, file, maxBytes) : readRawIdx(f, file, head, maxBytes);
  } finally {
    f.close();
  }
}

/** Values [start, start + count) as native numbers: a view for bytes, a converted copy for wider types. */
export function idxValues(a: IdxArray, start: number, count: number): PixelArray {
  const size = DTYPES_BY_NAME[a.dtype];
  if (a.dtype === 'uint8') return a.bytes.subarray(start, start + count);
  if (a.dtype === 'int8') return new Int8Array(a.bytes.buffer, a.bytes.byteOffset + start, count);
  const dv = new DataView(a.bytes.buffer, a.bytes.byteOffset + start * size, count * size);
  switch (a.dtype) {
    case 'int16': {
      const o = new Int16Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getInt16(2 * i, false);
      return o;
    }
    case 'int32': {
      const o = new Int32Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getInt32(4 * i, false);
      return o;
    }
    case 'float32': {
      const o = new Float32Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getFloat32(4 * i, false);
      return o;
    }
    default: {
      const o = new Float64Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getFloat64(8 * i, false);
      return o;
    }
  }
}

/**
 * The labels file next to an images file, by the MNIST naming (`x-images-idx3-ubyte[.gz]` →
 * `x-labels-idx1-ubyte[.gz]`).
 */
export function siblingIdxLabels(imagesFile: string): string | null {
  const dir = path.dirname(imagesFile),
    base = path.basename(imagesFile);
  if (!/images/.test(base)) return null;
  const stem = base.replace('images', 'labels').replace(/idx3/, 'idx1').replace(/\.gz$/i, '');
  for (const cand of [stem, `${stem}.gz`]) {
    const f = path.join(dir, cand);
    if (isRegularFile(f)) return f;
  }
  return null;
}

export function readIdxLabels(file: string, maxBytes = DEFAULT_DATA_BUDGET_BYTES): Int32Array {
  const a = readIdx(file, maxBytes);
  if (a.shape.length !== 1)
    throw new ReplensError(
      'E_LABELS',
      `labels in ${file} have shape (${a.shape.join(', ')}); expected an IDX file of rank 1`,
    );
  return toLabels(idxValues(a, 0, a.shape[0]), a.shape, file);
}

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/**
 * Labels from an IDX file (raw or gzip) or a .npy file, told apart by their magic bytes, whatever the samples' format.
 */
export function readLabelsFile(file: string, maxBytes = DEFAULT_DATA_BUDGET_BYTES): Int32Array {
  const head = readHead(file, 6, { what: 'a labels file', code: 'E_DATASET' });
  if (head.equals(NPY_MAGIC)) {
    const a = readNpy(file, { maxBytes });
    // float16 labels are stored as raw half bits: convert before reading them as numbers.
    return toLabels(numericView(a.data, a.dtype), a.shape, file);
  }
  return readIdxLabels(file, maxBytes);
}

/**
 * An IDX images file [n,h,w] or [n,h,w,c] (channels last unless `layout` says NCHW), with labels from `labelsFile`,
 * or from the sibling labels file when there is one and `labelsFile` is undefined.
 */
export function openIdxSource(
  file: string,
  opts: { labels?: string; layout?: 'NCHW' | 'NHWC'; maxBytes?: number } = {},
): SampleSource {
  const maxBytes = opts.maxBytes ?? DEFAULT_DATA_BUDGET_BYTES;
  const a = readIdx(file, maxBytes);
  if (a.shape.length === 1)
    throw new ReplensError(
      'E_DATASET',
      `${file} is a rank-1 IDX file (labels?); point dataset.path at the images file and dataset.labels at this one`,
    );
  const geometry = arrayGeometry(a.shape, a.shape.length === 4 ? (opts.layout ?? 'NHWC') : undefined, file);
  const labelsFile = opts.labels ?? siblingIdxLabels(file) ?? undefined;
  const labels = labelsFile ? readLabelsFile(labelsFile, maxBytes) : null;
  const per = sizeOf(a.shape.slice(1));
  const n = a.shape[0];
  return {
    format: 'idx',
    length: n,
    pixels: a.dtype === 'uint8' ? 'uint8' : 'float',
    geometry,
    uniform: true,
    defaultChannels: geometry.channels,
    labels,
    labelsFile,
    files: labelsFile ? [file, labelsFile] : [file],
    settings: { layout: geometry.planar ? 'NCHW' : 'NHWC' },
    title: `IDX ${path.basename(file)}`,
    notes: labelsFile ? [`labels ${path.basename(labelsFile)}`] : [],
    async read(start, count, each) {
      const data = idxValues(a, start * per, count * per);
      for (let i = 0; i < count; i++) each({ data, offset: i * per, ...geometry }, i);
    },
  };
}
