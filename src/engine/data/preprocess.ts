// Turns stored samples into model input: channels (gray↔RGB, alpha dropped), bilinear resize, scale, mean/std,
// layout. Channel mixing and resizing are computed in float64; scaling and normalising then run in float32 step by
// step, as PyTorch does (ToTensor's x.float() / 255 or x * scale, then Normalize's sub and div), so the model sees
// the same bits it saw in training, and sources holding the same pixels (IDX, npz, PNG) give identical batches.
import { ReplensError } from '../errors';
import type { RawSample } from './source';

export interface PreprocessConfig {
  /** Output [height, width]; a single number means a square. Bilinear, half-pixel centres, no antialiasing. */
  resize?: [number, number] | number;
  /**
   * Multiplies raw values (in float32). Default for 8-bit sources: divide by 255 (torchvision's ToTensor; this can
   * differ from * 1/255 in the last bit); for float sources: 1.
   */
  scale?: number;
  /** Per-channel (or one for all channels), subtracted after scaling. */
  mean?: number[];
  /** Per-channel (or one for all channels), divides after subtracting the mean. */
  std?: number[];
  /** Output channels: gray → RGB repeats, RGB → gray uses ITU-R 601 weights. */
  channels?: 1 | 3;
  /** Output layout; default NCHW. */
  layout?: 'NCHW' | 'NHWC';
}

/** Everything decided: what `preprocessInto` does to each sample. */
export interface ResolvedPreprocess {
  resize: [number, number] | null;
  /** Multiplier, unless `divisor` is set. */
  scale: number;
  /** Divide by this instead of multiplying by `scale` (255 for the 8-bit default, as ToTensor). */
  divisor: number | null;
  /** One per output channel. */
  mean: number[];
  std: number[];
  channels: number;
  layout: 'NCHW' | 'NHWC';
}

const RGB_SMALL = (d: number | string) => d === 1 || d === 3;

/**
 * Channels, resize and layout implied by a model input like [N,1,28,28], [1,3,224,224] or NHWC [N,224,224,3].
 * Symbolic dims imply nothing; ranks other than 4 imply nothing.
 */
export function defaultsFromModelInput(shape: readonly (number | string)[]): PreprocessConfig {
  if (shape.length !== 4) return {};
  const [, a, b, c] = shape;
  const nhwc = typeof c === 'number' && RGB_SMALL(c) && !(typeof a === 'number' && RGB_SMALL(a));
  const out: PreprocessConfig = {};
  const [ch, h, w] = nhwc ? [c, a, b] : [a, b, c];
  out.layout = nhwc ? 'NHWC' : 'NCHW';
  if (ch === 1 || ch === 3) out.channels = ch;
  if (typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0) out.resize = [h, w];
  return out;
}

export function resizeTarget(resize: PreprocessConfig['resize']): [number, number] | null {
  if (resize === undefined) return null;
  return typeof resize === 'number' ? [resize, resize] : [resize[0], resize[1]];
}

/**
 * Fills in defaults: the user's settings win, then what the model input implies, then the source's own
 * channels and value range. Raises E_CONFIG when mean/std do not fit the channel count.
 */
export function resolvePreprocess(
  user: PreprocessConfig,
  model: PreprocessConfig,
  source: { pixels: 'uint8' | 'float'; defaultChannels: number },
): ResolvedPreprocess {
  const channels = user.channels ?? model.channels ?? source.defaultChannels;
  const perChannel = (key: 'mean' | 'std', fill: number): number[] => {
    const v = user[key];
    if (!v) return new Array<number>(channels).fill(fill);
    if (v.length === 1) return new Array<number>(channels).fill(v[0]);
    if (v.length !== channels) {
      throw new ReplensError(
        'E_CONFIG',
        `preprocess.${key} has ${v.length} values but the samples have ${channels} ` +
          `channel${channels === 1 ? '' : 's'}; give ${channels} values (or 1 for all)`,
      );
    }
    return [...v];
  };
  return {
    resize: resizeTarget(user.resize ?? model.resize),
    // A model with an integer (uint8) input sets scale 1: it takes pixel values as they are.
    scale: user.scale ?? model.scale ?? (source.pixels === 'uint8' ? 1 / 255 : 1),
    divisor: user.scale === undefined && model.scale === undefined && source.pixels === 'uint8' ? 255 : null,
    mean: perChannel('mean', 0),
    std: perChannel('std', 1),
    channels,
    layout: user.layout ?? model.layout ?? 'NCHW',
  };
}

/** Shape of one output sample for a stored sample of height × width. */
export function outputShape(p: ResolvedPreprocess, height: number, width: number): number[] {
  const [h, w] = p.resize ?? [height, width];
  return p.layout === 'NHWC' ? [h, w, p.channels] : [p.channels, h, w];
}

/** Whether `from` stored channels can become `to` (equal counts always can). */
export function canConvertChannels(from: number, to: number): boolean {
  return from === to || ((to === 1 || to === 3) && from >= 1 && from <= 4);
}

/**
 * Reads output channel k of pixel i straight from the stored sample, so no converted copy of a (possibly large)
 * image is made. Alpha is dropped (as PIL's convert('RGB') does); gray → RGB repeats; RGB → gray weighs
 * 0.299/0.587/0.114, except that R = G = B stays exact.
 */
function channelReader(s: RawSample, channels: number): (k: number, i: number) => number {
  const { data, offset, height, width, channels: sc, planar } = s;
  const hw = height * width;
  const at = planar ? (i: number, k: number) => offset + k * hw + i : (i: number, k: number) => offset + i * sc + k;
  if (channels === sc || (channels === 1 && sc === 2) || (channels === 3 && sc === 4)) return (k, i) => data[at(i, k)];
  if (channels === 3 && sc <= 2) return (_k, i) => data[at(i, 0)];
  if (channels === 1 && sc >= 3) {
    return (_k, i) => {
      const r = data[at(i, 0)],
        g = data[at(i, 1)],
        b = data[at(i, 2)];
      return r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
    };
  }
  throw new ReplensError(
    'E_INPUT_SHAPE',
    `cannot convert ${sc} channels to ${channels}${s.file ? ` in ${s.file}` : ''}`,
  );
}

/**
 * Source positions for bilinear resizing of `inSize` to `outSize` with half-pixel centres (align_corners=False),
 * as torch.nn.functional.interpolate does: src = (dst + 0.5)·in/out − 0.5, clamped at 0, neighbour clamped at the edge.
 */
export function bilinearTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; t: Float64Array } {
  const i0 = new Int32Array(outSize),
    i1 = new Int32Array(outSize),
    t = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const src = Math.max(0, (d + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[d] = lo;
    i1[d] = Math.min(lo + 1, inSize - 1);
    t[d] = src - lo;
  }
  return { i0, i1, t };
}

/** Preprocesses one sample into `out` at `outOffset` (the sample's [C,H,W] or [H,W,C] slot). */
export function preprocessInto(s: RawSample, p: ResolvedPreprocess, out: Float32Array, outOffset: number): void {
  const C = p.channels,
    h = s.height,
    w = s.width;
  const [H, W] = p.resize ?? [h, w];
  const px = channelReader(s, C);
  const nhwc = p.layout === 'NHWC';
  const resized = H !== h || W !== w;
  const ty = resized ? bilinearTaps(h, H) : null,
    tx = resized ? bilinearTaps(w, W) : null;
  const f = Math.fround,
    scale = f(p.scale),
    divisor = p.divisor;
  for (let c = 0; c < C; c++) {
    const mean = f(p.mean[c]),
      std = f(p.std[c]);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let v: number;
        if (ty && tx) {
          const r0 = ty.i0[y] * w,
            r1 = ty.i1[y] * w,
            a = ty.t[y],
            b = tx.t[x],
            x0 = tx.i0[x],
            x1 = tx.i1[x];
          v =
            (1 - a) * ((1 - b) * px(c, r0 + x0) + b * px(c, r0 + x1)) +
            a * ((1 - b) * px(c, r1 + x0) + b * px(c, r1 + x1));
        } else {
          v = px(c, y * w + x);
        }
        v = divisor === null ? f(f(v) * scale) : f(f(v) / divisor);
        out[outOffset + (nhwc ? (y * W + x) * C + c : (c * H + y) * W + x)] = f(f(v - mean) / std);
      }
    }
  }
}

/** Convenience for one sample: a fresh Float32Array in the output shape. */
export function preprocess(s: RawSample, p: ResolvedPreprocess): { data: Float32Array; shape: number[] } {
  const shape = outputShape(p, s.height, s.width);
  const data = new Float32Array(shape[0] * shape[1] * shape[2]);
  preprocessInto(s, p, data, 0);
  return { data, shape };
}
