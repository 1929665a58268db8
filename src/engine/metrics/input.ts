// Metric inputs from .npy files: samples first, trailing dims flattened row-major, any of float32/float64/int32/
// int64 read into float64; NaN or infinite values and mismatched sample counts are refused with one line.
import * as path from 'path';
import { ReplensError } from '../errors';
import { readNpy, sizeOf, type NpyArray } from '../npy';
import { mat, type Mat } from '../linalg/gemm';

const NUMERIC = new Set(['float32', 'float64', 'int32', 'int64', 'uint8', 'int8', 'int16', 'uint16', 'uint32']);

function load(file: string, what: string): NpyArray {
  const a = readNpy(file);
  if (!NUMERIC.has(a.dtype))
    throw new ReplensError(
      'E_ARGUMENT',
      `${what} (${path.basename(file)}) holds ${a.dtype}; metrics read float32, float64, int32 or int64`,
    );
  if (a.shape.length === 0)
    throw new ReplensError(
      'E_ARGUMENT',
      `${what} (${path.basename(file)}) is a scalar; expected samples first, shape (n, ...)`,
    );
  return a;
}

export function toFloat64(a: NpyArray): Float64Array {
  if (a.data instanceof Float64Array) return a.data;
  if (a.data instanceof BigInt64Array) return Float64Array.from(a.data, (v) => Number(v));
  return Float64Array.from(a.data as ArrayLike<number>);
}

/**
 * Throws a one-line E_ARGUMENT naming the first NaN/±Infinity: "x contains NaN at index [3, 2] (flat index 17)"
 * (row/column when `cols` is given). The one finiteness check of the metric library.
 */
export function requireFinite(data: ArrayLike<number>, what: string, cols?: number, firstRow = 0): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isFinite(v)) continue;
    const name = Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    const f = i + firstRow * (cols ?? 0); // data may be a block of rows starting at firstRow
    const at = cols ? `index [${Math.floor(f / cols)}, ${f % cols}] (flat index ${f})` : `flat index ${f}`;
    throw new ReplensError('E_ARGUMENT', `${what} contains ${name} at ${at}`);
  }
}

/** The first non-finite value's index, or -1. */
export function firstNonFinite(d: Float64Array): number {
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return i;
  return -1;
}

/** An (n, ...) array as an n×p float64 matrix; `shape` keeps the original dims for metrics that need them. */
export function loadMatrix(file: string, what: string): Mat<Float64Array> & { shape: number[] } {
  const a = load(file, what);
  const data = toFloat64(a);
  const bad = firstNonFinite(data);
  if (bad >= 0)
    throw new ReplensError(
      'E_ARGUMENT',
      `${what} (${path.basename(file)}) holds ${data[bad]} at flat index ${bad}; metrics need finite values`,
    );
  const n = a.shape[0];
  return { ...mat(data, n, n ? sizeOf(a.shape) / n : 0), shape: a.shape };
}

/** Integer class labels, shape (n,) or (n, 1). */
export function loadLabels(file: string, what = '--labels'): Int32Array {
  const a = load(file, what);
  if (!(a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1)))
    throw new ReplensError(
      'E_ARGUMENT',
      `${what} (${path.basename(file)}) has shape (${a.shape.join(', ')}); expected one class index per sample`,
    );
  const d = toFloat64(a);
  const out = new Int32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    if (!Number.isInteger(d[i]))
      throw new ReplensError(
        'E_ARGUMENT',
        `${what} (${path.basename(file)}): entry ${i} is ${d[i]}, not a class index`,
      );
    out[i] = d[i];
  }
  return out;
}

export function sameSamples(counts: [string, number][]): void {
  const [first, n] = counts[0];
  for (const [name, m] of counts.slice(1)) {
    if (m !== n)
      throw new ReplensError(
        'E_ARGUMENT',
        `${first} has ${n} samples, ${name} has ${m}; metrics compare the same samples`,
      );
  }
}
