// What every reader (IDX, .npy/.npz, ImageFolder) hands to `open.ts`: samples as stored, a batch at a time,
// before any preprocessing. Keeping readers this dumb puts resize/normalise/layout in one place (preprocess.ts).
import { ReplensError } from '../errors';
import { formatBytes } from '../fsafe';
import type { NpyData, NpyDtype } from '../npy';
import type { DatasetFormat } from './dataset';

/**
 * The most a reader loads into memory at once when the caller states no budget: the project's default memory
 * budget (memoryBudgetMB = 2048).
 */
export const DEFAULT_DATA_BUDGET_BYTES = 2048 * 2 ** 20;

/** Refuses `bytes` declared by a header (`what`, e.g. "header shape (…)") when over `maxBytes`, before allocating. */
export function checkBudget(file: string, what: string, bytes: number, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw new ReplensError(
      'E_MEMORY_BUDGET',
      `${file}: ${what} needs ${formatBytes(bytes)}, over the ` +
        `${formatBytes(maxBytes)} memory budget for data held in memory; refused`,
    );
  }
}

export type PixelArray =
  Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** One sample as stored. `data` may be shared by all samples of a batch; the sample starts at `offset`. */
export interface RawSample {
  data: PixelArray;
  offset: number;
  height: number;
  width: number;
  /** Channels stored per pixel: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (any other count passes through unconverted). */
  channels: number;
  /** true: channel planes (CHW); false: interleaved pixels (HWC). */
  planar: boolean;
  /** The file the sample came from, for messages (ImageFolder). */
  file?: string;
}

export interface Geometry {
  height: number;
  width: number;
  channels: number;
  planar: boolean;
}

export interface SampleSource {
  readonly format: DatasetFormat;
  /** Samples in the source (before `limit`). */
  readonly length: number;
  /** 'uint8' sources default to scale 1/255; 'float' ones are taken as already scaled. */
  readonly pixels: 'uint8' | 'float';
  /** Geometry of every sample (arrays) or of the first one (images, whose sizes may vary). */
  readonly geometry: Geometry;
  readonly uniform: boolean;
  /** Channels to produce when neither the config nor the model says (ImageFolder: 3, as torchvision's RGB loader). */
  readonly defaultChannels: number;
  /** One label per sample of the source file (not yet checked against `length`), or null. */
  readonly labels: Int32Array | null;
  /** Where the labels came from, for messages. */
  readonly labelsFile?: string;
  readonly classNames?: string[];
  /** Files the samples and labels come from: the identity hashes their sizes and mtimes. */
  readonly files: string[];
  /** Settings that change what is read (npz keys, layout), for the identity. */
  readonly settings: Record<string, unknown>;
  /** e.g. "IDX t10k-images-idx3-ubyte.gz". */
  readonly title: string;
  /** Notes for the description, e.g. "12 other files skipped". */
  readonly notes: string[];
  /**
   * Hands samples [start, start + count) to `each` in order. A sample is only valid during its call (images are
   * decoded one at a time so a batch of large photos is never held at full size).
   */
  read(start: number, count: number, each: (sample: RawSample, i: number) => void): Promise<void>;
}

/**
 * Geometry of one sample of an array shaped [n,h,w], [n,c,h,w] or [n,h,w,c]. Without a stated layout, 4-D is NHWC
 * only when that is unambiguous (last dim 1/3/4 and second dim not), else NCHW as PyTorch stores it.
 */
export function arrayGeometry(shape: readonly number[], layout: 'NCHW' | 'NHWC' | undefined, what: string): Geometry {
  const g = geometryOf(shape, layout);
  if (!g)
    throw new ReplensError(
      'E_DATASET',
      `${what}: samples of shape (${shape.join(', ')}) are not images; expected [n,h,w], [n,c,h,w] or [n,h,w,c]`,
    );
  // A zero-sized sample would reach the model as an empty tensor and come back as NaN activations.
  if (!(g.height > 0 && g.width > 0 && g.channels > 0)) {
    throw new ReplensError(
      'E_DATASET',
      `${what}: samples of shape (${shape.join(', ')}) have a zero-sized dimension ` +
        `(${g.height}×${g.width}, ${g.channels} channel${g.channels === 1 ? '' : 's'}); no pixels to read`,
    );
  }
  return g;
}

function geometryOf(shape: readonly number[], layout: 'NCHW' | 'NHWC' | undefined): Geometry | null {
  if (shape.length === 3) return { height: shape[1], width: shape[2], channels: 1, planar: true };
  if (shape.length === 4) {
    const small = (d: number) => d === 1 || d === 3 || d === 4;
    const nhwc = layout ? layout === 'NHWC' : small(shape[3]) && !small(shape[1]);
    return nhwc
      ? { height: shape[1], width: shape[2], channels: shape[3], planar: false }
      : { height: shape[2], width: shape[3], channels: shape[1], planar: true };
  }
  return null;
}

const F16 = new Float32Array(1);
const F16_BITS = new Uint32Array(F16.buffer);
function halfToFloat(h: number): number {
  const s = (h & 0x8000) << 16,
    e = (h >> 10) & 0x1f,
    m = h & 0x3ff;
  if (e === 0) return (s ? -1 : 1) * m * 2 ** -24;
  F16_BITS[0] = e === 31 ? s | 0x7f800000 | (m << 13) : s | ((e + 112) << 23) | (m << 13);
  return F16[0];
}

/** A typed array of plain numbers from npy data: float16 → float32, int64 → float64, bool → 0/1. */
export function numericView(data: NpyData, dtype: NpyDtype): PixelArray {
  if (dtype === 'float16') {
    const src = data as Uint16Array,
      out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
    return out;
  }
  if (data instanceof BigInt64Array) {
    const out = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
    return out;
  }
  return data;
}

/** Class indices from an int or integral-float array; `what` names the file. */
export function toLabels(data: ArrayLike<number | bigint>, shape: readonly number[], what: string): Int32Array {
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    throw new ReplensError(
      'E_LABELS',
      `labels in ${what} have shape (${shape.join(', ')}); expected one class index per sample, shape (n,)`,
    );
  }
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]);
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
      throw new ReplensError('E_LABELS', `labels: entry ${i} is ${data[i]}, not a class index, in ${what}`);
    }
    out[i] = v;
  }
  return out;
}
