// IDX files (MNIST, Fashion-MNIST): magic 0 0 <dtype> <rank>, rank big-endian uint32 dims, big-endian data.
// Raw or gzipped (told by the magic bytes, not the name). The file is decompressed once into memory; values are
// converted to numbers a batch at a time.
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { ReplensError } from '../errors';
import { fileError, readNpy, sizeOf } from '../npy';
import { arrayGeometry, toLabels, type PixelArray, type SampleSource } from './source';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

const DTYPES: Record<number, [IdxDtype, number]> = {
  0x08: ['uint8', 1], 0x09: ['int8', 1], 0x0b: ['int16', 2], 0x0c: ['int32', 4], 0x0d: ['float32', 4], 0x0e: ['float64', 8],
};

const DTYPES_BY_NAME = Object.fromEntries(Object.values(DTYPES).map(([n, s]) => [n, s])) as Record<IdxDtype, number>;

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  /** The raw big-endian values, after the header. */
  bytes: Uint8Array;
}

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Whether `buf` (already decompressed) starts like an IDX file. */
export function looksLikeIdx(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0 && buf[1] === 0 && buf[2] in DTYPES && buf[3] >= 1 && buf[3] <= 8;
}

/** Reads a file, gunzipping it when it starts with the gzip magic. */
export function readMaybeGzip(file: string): Buffer {
  let buf: Buffer;
  try { buf = fs.readFileSync(file); } catch (e) { throw fileError(file, e); }
  if (!isGzip(buf)) return buf;
  try { return zlib.gunzipSync(buf); } catch (e) {
    throw new ReplensError('E_DATASET', `cannot decompress ${file}: ${(e as Error).message}`);
  }
}

/** Parses an IDX file held in memory; `what` names it in errors. */
export function parseIdx(buf: Uint8Array, what: string): IdxArray {
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new ReplensError('E_DATASET', `${what} is not an IDX file (bad magic bytes)`);
  const t = DTYPES[buf[2]];
  if (!t) throw new ReplensError('E_DATASET', `${what}: unknown IDX data type 0x${buf[2].toString(16).padStart(2, '0')}`);
  const rank = buf[3];
  if (rank === 0) throw new ReplensError('E_DATASET', `${what}: IDX file with no dimensions`);
  const start = 4 + 4 * rank;
  if (buf.length < start) throw new ReplensError('E_DATASET', `${what} is truncated (header)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(dv.getUint32(4 + 4 * i, false));
  const need = sizeOf(shape) * t[1];
  if (buf.length - start < need) {
    throw new ReplensError('E_DATASET', `${what} is truncated: header says shape (${shape.join(', ')}) = ${need} bytes, file has ${buf.length - start}`);
  }
  return { dtype: t[0], shape, bytes: buf.subarray(start, start + need) };
}

export function readIdx(file: string): IdxArray {
  return parseIdx(readMaybeGzip(file), file);
}

/** Values [start, start + count) as native numbers: a view for bytes, a converted copy for wider types. */
export function idxValues(a: IdxArray, start: number, count: number): PixelArray {
  const size = DTYPES_BY_NAME[a.dtype];
  if (a.dtype === 'uint8') return a.bytes.subarray(start, start + count);
  if (a.dtype === 'int8') return new Int8Array(a.bytes.buffer, a.bytes.byteOffset + start, count);
  const dv = new DataView(a.bytes.buffer, a.bytes.byteOffset + start * size, count * size);
  switch (a.dtype) {
    case 'int16': { const o = new Int16Array(count); for (let i = 0; i < count; i++) o[i] = dv.getInt16(2 * i, false); return o; }
    case 'int32': { const o = new Int32Array(count); for (let i = 0; i < count; i++) o[i] = dv.getInt32(4 * i, false); return o; }
    case 'float32': { const o = new Float32Array(count); for (let i = 0; i < count; i++) o[i] = dv.getFloat32(4 * i, false); return o; }
    default: { const o = new Float64Array(count); for (let i = 0; i < count; i++) o[i] = dv.getFloat64(8 * i, false); return o; }
  }
}

/** The labels file next to an images file, by the MNIST naming (`x-images-idx3-ubyte[.gz]` → `x-labels-idx1-ubyte[.gz]`). */
export function siblingIdxLabels(imagesFile: string): string | null {
  const dir = path.dirname(imagesFile), base = path.basename(imagesFile);
  if (!/images/.test(base)) return null;
  const stem = base.replace('images', 'labels').replace(/idx3/, 'idx1').replace(/\.gz$/i, '');
  for (const cand of [stem, `${stem}.gz`]) {
    const f = path.join(dir, cand);
    if (fs.existsSync(f) && fs.statSync(f).isFile()) return f;
  }
  return null;
}

export function readIdxLabels(file: string): Int32Array {
  const a = readIdx(file);
  if (a.shape.length !== 1) throw new ReplensError('E_LABELS', `labels in ${file} have shape (${a.shape.join(', ')}); expected an IDX file of rank 1`);
  return toLabels(idxValues(a, 0, a.shape[0]), a.shape, file);
}

/** Labels from an IDX file (raw or gzip) or a .npy file, told apart by their magic bytes, whatever the samples' format. */
export function readLabelsFile(file: string): Int32Array {
  const head = Buffer.alloc(6);
  try {
    const fd = fs.openSync(file, 'r');
    try { fs.readSync(fd, head, 0, 6, 0); } finally { fs.closeSync(fd); }
  } catch (e) { throw fileError(file, e); }
  if (head.equals(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]))) {
    const a = readNpy(file);
    return toLabels(a.data, a.shape, file);
  }
  return readIdxLabels(file);
}

/**
 * An IDX images file [n,h,w] or [n,h,w,c] (channels last unless `layout` says NCHW), with labels from `labelsFile`,
 * or from the sibling labels file when there is one and `labelsFile` is undefined.
 */
export function openIdxSource(file: string, opts: { labels?: string; layout?: 'NCHW' | 'NHWC' } = {}): SampleSource {
  const a = readIdx(file);
  if (a.shape.length === 1) throw new ReplensError('E_DATASET', `${file} is a rank-1 IDX file (labels?); point dataset.path at the images file and dataset.labels at this one`);
  const geometry = arrayGeometry(a.shape, a.shape.length === 4 ? opts.layout ?? 'NHWC' : undefined, file);
  const labelsFile = opts.labels ?? siblingIdxLabels(file) ?? undefined;
  const labels = labelsFile ? readLabelsFile(labelsFile) : null;
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
