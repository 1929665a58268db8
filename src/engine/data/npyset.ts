// Samples in NumPy files: one .npy (+ an optional labels .npy) or an .npz archive.
//  - .npy in C order is read from disk a batch at a time, so arrays larger than memory stream;
//    Fortran-order .npy and .npz entries are loaded whole.
//  - .npz entries: samples from `x` (else `images`, else `inputs`, else the only entry), labels from `y`
//    (else `labels`, else `targets`; the partner of the samples key is tried first). `dataset.x`/`dataset.y` name others.
//  - uint8 arrays are raw pixels (default scale 1/255); any other dtype is taken as already scaled (scale 1).
//  - Shapes: [n,h,w] gray, [n,c,h,w], or [n,h,w,c] when `dataset.layout` is NHWC or the shape says so unambiguously.
import * as fs from 'fs';
import * as path from 'path';
import { unzipSync } from 'fflate';
import { closest, ReplensError } from '../errors';
import { fileError, parseNpy, parseNpyHeader, readNpy, sizeOf, type NpyArray, type NpyData, type NpyDtype } from '../npy';
import { arrayGeometry, numericView, toLabels, type SampleSource } from './source';
import { readLabelsFile } from './idx';

const ITEMSIZE: Record<NpyDtype, number> = {
  float32: 4, float64: 8, uint8: 1, int8: 1, int16: 2, int32: 4, int64: 8, uint16: 2, uint32: 4, bool: 1, float16: 2,
};

export const NPZ_X_KEYS = ['x', 'images', 'inputs'];
export const NPZ_Y_KEYS = ['y', 'labels', 'targets'];

interface ArrayOpts {
  format: 'npy' | 'npz';
  file: string;
  shape: number[];
  dtype: NpyDtype;
  /** Rows [start, start + count) as numbers. */
  fetch(start: number, count: number): NpyData;
  layout?: 'NCHW' | 'NHWC';
  labels: Int32Array | null;
  labelsFile?: string;
  files: string[];
  settings: Record<string, unknown>;
  title: string;
  notes: string[];
}

function arraySource(o: ArrayOpts): SampleSource {
  const geometry = arrayGeometry(o.shape, o.layout, o.file);
  const per = sizeOf(o.shape.slice(1));
  return {
    format: o.format,
    length: o.shape[0],
    pixels: o.dtype === 'uint8' ? 'uint8' : 'float',
    geometry,
    uniform: true,
    defaultChannels: geometry.channels,
    labels: o.labels,
    labelsFile: o.labelsFile,
    files: o.files,
    settings: { ...o.settings, layout: geometry.planar ? 'NCHW' : 'NHWC' },
    title: o.title,
    notes: o.notes,
    async read(start, count, each) {
      const data = numericView(o.fetch(start, count), o.dtype);
      for (let i = 0; i < count; i++) each({ data, offset: i * per, ...geometry }, i);
    },
  };
}

function viewAs(dtype: NpyDtype, bytes: Uint8Array): NpyData {
  const ab = bytes.buffer, off = bytes.byteOffset, n = bytes.byteLength / ITEMSIZE[dtype];
  switch (dtype) {
    case 'float32': return new Float32Array(ab, off, n);
    case 'float64': return new Float64Array(ab, off, n);
    case 'uint8': case 'bool': return new Uint8Array(ab, off, n);
    case 'int8': return new Int8Array(ab, off, n);
    case 'int16': return new Int16Array(ab, off, n);
    case 'int32': return new Int32Array(ab, off, n);
    case 'int64': return new BigInt64Array(ab, off, n);
    case 'uint16': case 'float16': return new Uint16Array(ab, off, n);
    case 'uint32': return new Uint32Array(ab, off, n);
  }
}

function rows(a: NpyArray): (start: number, count: number) => NpyData {
  const per = sizeOf(a.shape.slice(1));
  return (start, count) => a.data.subarray(start * per, (start + count) * per) as NpyData;
}


/** A .npy of samples; C-order files are read a batch at a time. */
export function openNpySource(file: string, opts: { labels?: string; layout?: 'NCHW' | 'NHWC' } = {}): SampleSource {
  let fd: number, size: number, head: Buffer;
  try {
    fd = fs.openSync(file, 'r');
    size = fs.fstatSync(fd).size;
    head = Buffer.alloc(Math.min(size, 1 << 20));
    fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
  } catch (e) { throw fileError(file, e); }
  const h = parseNpyHeader(head, file);
  const labels = opts.labels ? readLabelsFile(opts.labels) : null;
  const common = {
    format: 'npy' as const, file, shape: h.shape, dtype: h.dtype, layout: opts.layout, labels, labelsFile: opts.labels,
    files: opts.labels ? [file, opts.labels] : [file], settings: {}, title: `NPY ${path.basename(file)}`,
    notes: opts.labels ? [`labels ${path.basename(opts.labels)}`] : [],
  };
  if (h.fortran) return arraySource({ ...common, fetch: rows(readNpy(file)) });
  const rowBytes = sizeOf(h.shape.slice(1)) * ITEMSIZE[h.dtype];
  const need = h.dataOffset + h.shape[0] * rowBytes;
  if (size < need) throw new ReplensError('E_DATASET', `${file} is truncated: header says shape (${h.shape.join(', ')}) = ${need - h.dataOffset} bytes, file has ${size - h.dataOffset}`);
  return arraySource({
    ...common,
    fetch(start, count) {
      // A fresh buffer per batch: aligned for the typed view, and nothing held between batches.
      const bytes = new Uint8Array(count * rowBytes);
      let fd = -1;
      try {
        fd = fs.openSync(file, 'r');
        let done = 0;
        while (done < bytes.length) {
          const n = fs.readSync(fd, bytes, done, bytes.length - done, h.dataOffset + start * rowBytes + done);
          if (n === 0) throw new ReplensError('E_DATASET', `${file} ended early (was it modified while reading?)`);
          done += n;
        }
      } catch (e) {
        throw e instanceof ReplensError ? e : fileError(file, e);
      } finally {
        if (fd >= 0) fs.closeSync(fd);
      }
      return viewAs(h.dtype, bytes);
    },
  });
}

/** The .npz entry to use: the one asked for, else the first default present, else the only entry. */
function pickKey(want: string | undefined, defaults: string[], keys: string[], what: string, setting: string, required: boolean): string | undefined {
  if (want !== undefined) {
    const k = want.replace(/\.npy$/, '');
    if (keys.includes(k)) return k;
    const near = closest(k, keys, 1)[0];
    throw new ReplensError('E_DATASET', `${what} has no entry '${k}'${near ? ` (did you mean '${near}'?)` : ''}; entries: ${keys.join(', ') || 'none'}`);
  }
  const k = defaults.find((d) => keys.includes(d));
  if (k !== undefined || !required) return k;
  if (keys.length === 1) return keys[0];
  throw new ReplensError('E_DATASET', `${what} has no '${defaults.join("', '")}' entry; set ${setting} to one of: ${keys.join(', ') || '(empty archive)'}`);
}

/** An .npz holding samples and, optionally, labels. */
export function openNpzSource(file: string, opts: { x?: string; y?: string; labels?: string; layout?: 'NCHW' | 'NHWC' } = {}): SampleSource {
  let buf: Buffer;
  try { buf = fs.readFileSync(file); } catch (e) { throw fileError(file, e); }
  const unzip = (want: (name: string) => boolean) => {
    try { return unzipSync(buf, { filter: (f) => want(f.name) }); } catch (e) {
      throw new ReplensError('E_DATASET', `${file} is not a readable .npz (zip) archive: ${(e as Error).message}`);
    }
  };
  // First pass lists the entries without inflating any.
  const names: string[] = [];
  unzip((n) => { names.push(n); return false; });
  const keys = names.filter((n) => n.endsWith('.npy')).map((n) => n.slice(0, -4));
  const xKey = pickKey(opts.x, NPZ_X_KEYS, keys, file, 'dataset.x', true)!;
  let yKey: string | undefined;
  if (!opts.labels) {
    const partner = NPZ_Y_KEYS[NPZ_X_KEYS.indexOf(xKey)];
    const order = partner ? [partner, ...NPZ_Y_KEYS.filter((k) => k !== partner)] : NPZ_Y_KEYS;
    yKey = pickKey(opts.y, order, keys.filter((k) => k !== xKey), file, 'dataset.y', false);
  }
  const wanted = new Set([xKey, yKey].filter((k): k is string => !!k).map((k) => `${k}.npy`));
  const entries = unzip((n) => wanted.has(n));
  const x = parseNpy(entries[`${xKey}.npy`], `${file}:${xKey}`);
  let labels: Int32Array | null = null, labelsFile: string | undefined;
  if (opts.labels) { labels = readLabelsFile(opts.labels); labelsFile = opts.labels; }
  else if (yKey) { const y = parseNpy(entries[`${yKey}.npy`], `${file}:${yKey}`); labelsFile = `${file}:${yKey}`; labels = toLabels(y.data, y.shape, labelsFile); }
  return arraySource({
    format: 'npz', file, shape: x.shape, dtype: x.dtype, layout: opts.layout, fetch: rows(x), labels, labelsFile,
    files: opts.labels ? [file, opts.labels] : [file],
    settings: { x: xKey, y: yKey ?? null },
    title: `NPZ ${path.basename(file)}[${xKey}]`,
    notes: labelsFile ? [`labels ${opts.labels ? path.basename(opts.labels) : yKey}`] : [],
  });
}
