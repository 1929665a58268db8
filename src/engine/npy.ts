// NumPy .npy reading and writing (format versions 1.0–3.0), C order, little-endian.
// Writing streams: the header is written with room for the final shape and patched when the row count is known,
// so activations of a dataset larger than memory go straight to disk.
import { ReplensError } from './errors';
import { DEFAULT_MAX_READ_BYTES, fileError, formatBytes, openRegular, readRange } from './fsafe';
import { OutputFile, writeAtomic } from './fswrite';

export { fileError };

export type NpyDtype =
  'float32' | 'float64' | 'uint8' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint16' | 'uint32' | 'bool' | 'float16';
export type NpyData =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint16Array
  | Uint32Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

const DESCR: Record<string, NpyDtype> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '|u1': 'uint8',
  '<u1': 'uint8',
  '|i1': 'int8',
  '<i1': 'int8',
  '<i2': 'int16',
  '<i4': 'int32',
  '<i8': 'int64',
  '<u2': 'uint16',
  '<u4': 'uint32',
  '|b1': 'bool',
  '<f2': 'float16',
};
const DESCR_OF: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  uint8: '|u1',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint16: '<u2',
  uint32: '<u4',
  bool: '|b1',
  float16: '<f2',
};
/** Bytes per element of each .npy dtype. */
export const ITEMSIZE: Record<NpyDtype, number> = {
  float32: 4,
  float64: 8,
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint16: 2,
  uint32: 4,
  bool: 1,
  float16: 2,
};

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Longest .npy header accepted (numpy itself refuses headers over 10,000 bytes unless told otherwise). */
export const NPY_MAX_HEADER = 1 << 16;

/** Bytes of array data a parsed header declares. */
export function npyDataBytes(h: { dtype: NpyDtype; shape: readonly number[] }): number {
  return sizeOf(h.shape) * ITEMSIZE[h.dtype];
}

/** Parses the .npy header; `what` names the file in errors. */
export function parseNpyHeader(
  buf: Uint8Array,
  what: string,
): { dtype: NpyDtype; shape: number[]; fortran: boolean; dataOffset: number } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC))
    throw new ReplensError('E_DATASET', `${what} is not a .npy file (bad magic bytes)`);
  const major = b[6];
  let headerLen: number, start: number;
  if (major === 1) {
    headerLen = b.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (b.length < 12) throw new ReplensError('E_DATASET', `${what} is truncated`);
    headerLen = b.readUInt32LE(8);
    start = 12;
  } else throw new ReplensError('E_DATASET', `${what}: unsupported .npy format version ${major}`);
  if (headerLen > NPY_MAX_HEADER)
    throw new ReplensError(
      'E_DATASET',
      `${what}: .npy header of ${headerLen} bytes is over the ${NPY_MAX_HEADER}-byte limit; refused`,
    );
  if (b.length < start + headerLen) throw new ReplensError('E_DATASET', `${what} is truncated (header)`);
  const header = b.subarray(start, start + headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*True/.test(header);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined)
    throw new ReplensError('E_DATASET', `${what}: malformed .npy header`);
  const dtype = DESCR[descr];
  if (!dtype)
    throw new ReplensError(
      'E_DATASET',
      `${what}: unsupported dtype '${descr}' (big-endian, object or structured arrays are not supported)`,
    );
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw new ReplensError('E_DATASET', `${what}: malformed shape (${shapeText})`);
  return { dtype, shape, fortran, dataOffset: start + headerLen };
}

function typedView(dtype: NpyDtype, bytes: Uint8Array, count: number): NpyData {
  // Copy into a fresh aligned buffer: views on Buffer pools may be misaligned.
  const copy = new Uint8Array(count * ITEMSIZE[dtype]);
  copy.set(bytes.subarray(0, copy.length));
  const ab = copy.buffer;
  switch (dtype) {
    case 'float32':
      return new Float32Array(ab);
    case 'float64':
      return new Float64Array(ab);
    case 'uint8':
    case 'bool':
      return new Uint8Array(ab);
    case 'int8':
      return new Int8Array(ab);
    case 'int16':
      return new Int16Array(ab);
    case 'int32':
      return new Int32Array(ab);
    case 'int64':
      return new BigInt64Array(ab);
    case 'uint16':
    case 'float16':
      return new Uint16Array(ab);
    case 'uint32':
      return new Uint32Array(ab);
  }
}

/** Parses a whole .npy file held in memory. Fortran-ordered arrays are transposed to C order. */
export function parseNpy(buf: Uint8Array, what = 'array'): NpyArray {
  const h = parseNpyHeader(buf, what);
  const count = sizeOf(h.shape);
  const need = npyDataBytes(h);
  if (buf.length - h.dataOffset < need) {
    throw new ReplensError(
      'E_DATASET',
      `${what} is truncated: header says shape (${h.shape.join(', ')}) ` +
        `= ${need} bytes, file has ${buf.length - h.dataOffset}`,
    );
  }
  let data = typedView(h.dtype, buf.subarray(h.dataOffset), count);
  if (h.fortran && h.shape.length > 1) data = fortranToC(data, h.shape);
  return { dtype: h.dtype, shape: h.shape, data };
}

function fortranToC(src: NpyData, shape: number[]): NpyData {
  const out = new (src.constructor as { new (n: number): NpyData })(src.length);
  const rank = shape.length;
  const cStride = new Array<number>(rank),
    fStride = new Array<number>(rank);
  cStride[rank - 1] = 1;
  fStride[0] = 1;
  for (let i = rank - 2; i >= 0; i--) cStride[i] = cStride[i + 1] * shape[i + 1];
  for (let i = 1; i < rank; i++) fStride[i] = fStride[i - 1] * shape[i - 1];
  const idx = new Array<number>(rank).fill(0);
  for (let c = 0; c < src.length; c++) {
    let f = 0;
    for (let k = 0; k < rank; k++) f += idx[k] * fStride[k];
    (out as Float32Array)[c] = (src as Float32Array)[f];
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/**
 * Reads a whole .npy file (regular files only). The header is read first and its declared size checked against
 * the file and `maxBytes` (default DEFAULT_MAX_READ_BYTES) before the data is allocated.
 */
export function readNpy(file: string, o: { maxBytes?: number } = {}): NpyArray {
  const max = o.maxBytes ?? DEFAULT_MAX_READ_BYTES;
  const f = openRegular(file, { what: 'a .npy file', code: 'E_DATASET' });
  try {
    const h = parseNpyHeader(readRange(f, file, 0, Math.min(f.size, 12 + NPY_MAX_HEADER), { code: 'E_DATASET' }), file);
    const need = npyDataBytes(h);
    if (f.size - h.dataOffset < need) {
      throw new ReplensError(
        'E_DATASET',
        `${file} is truncated: header says shape (${h.shape.join(', ')}) = ` +
          `${need} bytes, file has ${f.size - h.dataOffset}`,
      );
    }
    if (need > max) {
      throw new ReplensError(
        'E_MEMORY_BUDGET',
        `${file}: header shape (${h.shape.join(', ')}) needs ${formatBytes(need)}, ` +
          `over the ${formatBytes(max)} limit for an array read into memory; refused`,
      );
    }
    return parseNpy(readRange(f, file, 0, h.dataOffset + need, { code: 'E_DATASET' }), file);
  } finally {
    f.close();
  }
}

export function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint16Array) return 'uint16';
  return 'uint32';
}

/**
 * Header padded so that data starts at a multiple of 64 bytes (as numpy does); `reserve` keeps room to grow the shape.
 */
function npyHeader(dtype: NpyDtype, shape: readonly number[], reserve = 0): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${DESCR_OF[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  dict += ' '.repeat(reserve);
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const headerLen = total - 10;
  const out = Buffer.alloc(total, 0x20);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(headerLen, 8);
  out.write(dict, 10, 'latin1');
  out[total - 1] = 0x0a;
  return out;
}

export function encodeNpy(arr: { shape: readonly number[]; data: NpyData; dtype?: NpyDtype }): Buffer {
  const dtype = arr.dtype ?? dtypeOf(arr.data);
  if (sizeOf(arr.shape) !== arr.data.length)
    throw new ReplensError(
      'E_ARGUMENT',
      `npy: shape (${arr.shape.join(', ')}) does not match ${arr.data.length} elements`,
    );
  const header = npyHeader(dtype, arr.shape);
  const body = Buffer.from(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  return Buffer.concat([header, body]);
}

/** Writes a whole array atomically (temporary file + rename, so a symlink at `file` is replaced, not followed). */
export function writeNpy(file: string, arr: { shape: readonly number[]; data: NpyData; dtype?: NpyDtype }): void {
  writeAtomic(file, encodeNpy(arr));
}

/**
 * Appends rows (first axis) to a .npy file as they arrive; `close()` patches the row count into the header and
 * moves the file into place (rows go to a temporary file next to `file` until then, see fswrite.ts), `abort()`
 * drops it. Rows must all have the same trailing shape. `inPlace`: write `file` directly (created exclusively), for
 * scratch files read while they are written.
 */
export class NpyWriter {
  private out: OutputFile | null;
  private rows = 0;
  private headerBytes: number;
  readonly rowShape: number[];
  private readonly rowBytes: number;
  constructor(
    readonly file: string,
    readonly dtype: NpyDtype,
    rowShape: readonly number[],
    o: { inPlace?: boolean } = {},
  ) {
    this.rowShape = [...rowShape];
    this.rowBytes = sizeOf(rowShape) * ITEMSIZE[dtype];
    // Room for a 15-digit row count.
    const header = npyHeader(dtype, [0, ...rowShape], 16);
    this.headerBytes = header.length;
    this.out = new OutputFile(file, o);
    try {
      this.out.write(header, 0);
    } catch (e) {
      this.out.discard();
      throw e;
    }
  }
  get rowCount(): number {
    return this.rows;
  }
  /** Where the bytes are until `close()`. */
  get path(): string {
    return this.out?.path ?? this.file;
  }
  append(data: NpyData, rows: number): void {
    if (data.length !== rows * sizeOf(this.rowShape)) {
      throw new ReplensError(
        'E_ARGUMENT',
        `npy writer ${this.file}: ${data.length} values is not ${rows} rows of (${this.rowShape.join(', ')})`,
      );
    }
    if (data.byteLength !== rows * this.rowBytes)
      throw new ReplensError('E_ARGUMENT', `npy writer ${this.file}: ${dtypeOf(data)} values for a ${this.dtype} file`);
    if (!this.out) throw new ReplensError('E_INTERNAL', `npy writer ${this.file}: append after close`);
    const end = this.headerBytes + this.rows * this.rowBytes;
    try {
      this.out.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), end);
    } catch (e) {
      this.out.truncate(end); // a part-written batch is not a row: keep the file what the header will say
      throw e;
    }
    this.rows += rows;
  }
  /** Finishes the file with the rows appended so far (also after a cancel: they stay readable). */
  close(): void {
    if (!this.out) return;
    const out = this.out;
    this.out = null;
    const header = npyHeader(this.dtype, [this.rows, ...this.rowShape], 16);
    // Same length: the padding absorbs the longer row count.
    const fixed = Buffer.alloc(this.headerBytes, 0x20);
    header.copy(fixed, 0, 0, Math.min(header.length, this.headerBytes));
    fixed.writeUInt16LE(this.headerBytes - 10, 8);
    fixed[this.headerBytes - 1] = 0x0a;
    try {
      out.write(fixed, 0);
    } catch (e) {
      out.discard();
      throw e;
    }
    out.commit();
  }
  /** Drops the file: nothing is left at the temporary name (nor at `file`, when written in place). */
  abort(): void {
    this.out?.discard();
    this.out = null;
  }
}
