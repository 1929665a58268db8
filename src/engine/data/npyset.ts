// Samples in NumPy files: one .npy (+ an optional labels .npy) or an .npz archive.
//  - .npy in C order is read from disk a batch at a time, so arrays larger than memory stream;
//    Fortran-order .npy and .npz entries are loaded whole (their declared sizes checked against the memory budget
//    first; .npz entries are inflated with a bound and their CRC-32 checked, see zip.ts).
//  - .npz entries: samples from `x` (else `images`, else `inputs`, else the only entry), labels from `y`
//    (else `labels`, else `targets`; the partner of the samples key is tried first).
//    `dataset.x`/`dataset.y` name others.
//  - uint8 arrays are raw pixels (default scale 1/255); any other dtype is taken as already scaled (scale 1).
//  - Shapes: [n,h,w] gray, [n,c,h,w], or [n,h,w,c] when `dataset.layout` is NHWC or the shape says so unambiguously.
import * as path from 'path';
import { closest, ReplensError } from '../errors';
import { openRegular, readRange } from '../fsafe';
import {
  ITEMSIZE,
  NPY_MAX_HEADER,
  npyDataBytes,
  parseNpy,
  parseNpyHeader,
  readNpy,
  sizeOf,
  type NpyArray,
  type NpyData,
  type NpyDtype,
} from '../npy';
import {
  arrayGeometry,
  checkBudget,
  DEFAULT_DATA_BUDGET_BYTES,
  numericView,
  toLabels,
  type SampleSource,
} from './source';
import { readLabelsFile } from './idx';
import { readZipDirectory, readZipEntry, type ZipEntry } from './zip';

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
  const ab = bytes.buffer,
    off = bytes.byteOffset,
    n = bytes.byteLength / ITEMSIZE[dtype];
  switch (dtype) {
    case 'float32':
      return new Float32Array(ab, off, n);
    case 'float64':
      return new Float64Array(ab, off, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(ab, off, n);
    case 'int8':
      return new Int8Array(ab, off, n);
    case 'int16':
      return new Int16Array(ab, off, n);
    case 'int32':
      return new Int32Array(ab, off, n);
    case 'int64':
      return new BigInt64Array(ab, off, n);
    case 'uint16':
    case 'float16':
      return new Uint16Array(ab, off, n);
    case 'uint32':
      return new Uint32Array(ab, off, n);
  }
}

function rows(a: NpyArray): (start: number, count: number) => NpyData {
  const per = sizeOf(a.shape.slice(1));
  return (start, count) => a.data.subarray(start * per, (start + count) * per);
}

/** A .npy of samples; C-order files are read a batch at a time. */
export function openNpySource(
  file: string,
  opts: { labels?: string; layout?: 'NCHW' | 'NHWC'; maxBytes?: number } = {},
): SampleSource {
  const maxBytes = opts.maxBytes ?? DEFAULT_DATA_BUDGET_BYTES;
  const f = openRegular(file, { what: 'a .npy file', code: 'E_DATASET' });
  let size: number, head: Buffer;
  try {
    size = f.size;
    head = readRange(f, file, 0, Math.min(size, 12 + NPY_MAX_HEADER), { code: 'E_DATASET' });
  } finally {
    f.close();
  }
  const h = parseNpyHeader(head, file);
  const need = h.dataOffset + npyDataBytes(h);
  if (size < need)
    throw new ReplensError(
      'E_DATASET',
      `${file} is truncated: header says shape (${h.shape.join(', ')}) = ` +
        `${need - h.dataOffset} bytes, file has ${size - h.dataOffset}`,
    );
  // The geometry first: a zero-sized or non-image shape is refused before labels are read.
  arrayGeometry(h.shape, opts.layout, file);
  const labels = opts.labels ? readLabelsFile(opts.labels, maxBytes) : null;
  const common = {
    format: 'npy' as const,
    file,
    shape: h.shape,
    dtype: h.dtype,
    layout: opts.layout,
    labels,
    labelsFile: opts.labels,
    files: opts.labels ? [file, opts.labels] : [file],
    settings: {},
    title: `NPY ${path.basename(file)}`,
    notes: opts.labels ? [`labels ${path.basename(opts.labels)}`] : [],
  };
  if (h.fortran) return arraySource({ ...common, fetch: rows(readNpy(file, { maxBytes })) });
  const rowBytes = sizeOf(h.shape.slice(1)) * ITEMSIZE[h.dtype];
  return arraySource({
    ...common,
    fetch(start, count) {
      checkBudget(file, `a batch of ${count} rows`, count * rowBytes, maxBytes);
      // A fresh buffer per batch: aligned for the typed view, and nothing held between batches. Reopened per batch
      // (no handle held between batches), by type again, so a file swapped for a FIFO is refused, not waited on.
      const g = openRegular(file, { what: 'a .npy file', code: 'E_DATASET' });
      try {
        if (g.size < need)
          throw new ReplensError('E_DATASET', `${file} shrank to ${g.size} bytes while being read (it needs ${need})`);
        const bytes = readRange(g, file, h.dataOffset + start * rowBytes, count * rowBytes, { code: 'E_DATASET' });
        return viewAs(h.dtype, new Uint8Array(bytes));
      } finally {
        g.close();
      }
    },
  });
}

/** The .npz entry to use: the one asked for, else the first default present, else the only entry. */
function pickKey(
  want: string | undefined,
  defaults: string[],
  keys: string[],
  what: string,
  setting: string,
  required: boolean,
): string | undefined {
  if (want !== undefined) {
    const k = want.replace(/\.npy$/, '');
    if (keys.includes(k)) return k;
    const near = closest(k, keys, 1)[0];
    throw new ReplensError(
      'E_DATASET',
      `${what} has no entry '${k}'${near ? ` (did you mean '${near}'?)` : ''}; entries: ${keys.join(', ') || 'none'}`,
    );
  }
  const k = defaults.find((d) => keys.includes(d));
  if (k !== undefined || !required) return k;
  if (keys.length === 1) return keys[0];
  throw new ReplensError(
    'E_DATASET',
    `${what} has no '${defaults.join("', '")}' entry; set ` +
      `${setting} to one of: ${keys.join(', ') || '(empty archive)'}`,
  );
}

/** The entries named `<key>.npy` of an archive (the last one when a name repeats, as Python's zipfile does). */
function npyEntries(entries: ZipEntry[]): Map<string, ZipEntry> {
  const out = new Map<string, ZipEntry>();
  for (const e of entries) if (e.name.endsWith('.npy')) out.set(e.name.slice(0, -4), e);
  return out;
}

/** An .npz holding samples and, optionally, labels. Only the entries used are read; each is checked (see zip.ts). */
export function openNpzSource(
  file: string,
  opts: { x?: string; y?: string; labels?: string; layout?: 'NCHW' | 'NHWC'; maxBytes?: number } = {},
): SampleSource {
  const maxBytes = opts.maxBytes ?? DEFAULT_DATA_BUDGET_BYTES;
  const f = openRegular(file, { what: 'an .npz file', code: 'E_DATASET' });
  let x: NpyArray,
    y: NpyArray | null = null,
    xKey: string,
    yKey: string | undefined;
  try {
    const byKey = npyEntries(readZipDirectory(f, file));
    const keys = [...byKey.keys()];
    xKey = pickKey(opts.x, NPZ_X_KEYS, keys, file, 'dataset.x', true)!;
    if (!opts.labels) {
      const partner = NPZ_Y_KEYS[NPZ_X_KEYS.indexOf(xKey)];
      const order = partner ? [partner, ...NPZ_Y_KEYS.filter((k) => k !== partner)] : NPZ_Y_KEYS;
      yKey = pickKey(
        opts.y,
        order,
        keys.filter((k) => k !== xKey),
        file,
        'dataset.y',
        false,
      );
    }
    const load = (key: string) => parseNpy(readZipEntry(f, file, byKey.get(key)!, maxBytes), `${file}:${key}`);
    x = load(xKey);
    arrayGeometry(x.shape, opts.layout, `${file}:${xKey}`);
    if (yKey) y = load(yKey);
  } finally {
    f.close();
  }
  let labels: Int32Array | null = null,
    labelsFile: string | undefined;
  if (opts.labels) {
    labels = readLabelsFile(opts.labels, maxBytes);
    labelsFile = opts.labels;
  } else if (y) {
    labelsFile = `${file}:${yKey}`;
    labels = toLabels(numericView(y.data, y.dtype), y.shape, labelsFile);
  }
  return arraySource({
    format: 'npz',
    file,
    shape: x.shape,
    dtype: x.dtype,
    layout: opts.layout,
    fetch: rows(x),
    labels,
    labelsFile,
    files: opts.labels ? [file, opts.labels] : [file],
    settings: { x: xKey, y: yKey ?? null },
    title: `NPZ ${path.basename(file)}[${xKey}]`,
    notes: labelsFile ? [`labels ${opts.labels ? path.basename(opts.labels) : yKey}`] : [],
  });
}
