// Spatial pooling for multi-scale RRA (thesis ch. 6, Algorithm 1, line 4: Y_i^s ← P(Y_i, s)).
// Non-overlapping square windows (stride = window) over H and W only, never over channels; average or max;
// output size ⌊H/s⌋×⌊W/s⌋ (trailing rows/columns that do not fill a window are left out); 'global' pools the
// whole map to 1×1 per channel. Layers without spatial dimensions (shape n×F: GAP, logits) are returned
// unchanged, as in the thesis ("no pooling is applied to layers that have only a channel dimension").
import { ReplensError } from '../errors';

export type PoolKind = 'avg' | 'max';
export type PoolSize = number | 'global';
export interface PoolSpec {
  kind: PoolKind;
  size: PoolSize;
}

/** The thesis's scales: 2, 4, 8 and global, each with avg and max. */
export const MULTI_SCALE_SIZES: readonly PoolSize[] = [2, 4, 8, 'global'];

export function poolFeatures(
  acts: Float64Array | Float32Array,
  shape: number[],
  kind: PoolKind,
  size: PoolSize,
): { data: Float64Array; shape: number[] } {
  if (kind !== 'avg' && kind !== 'max')
    throw new ReplensError('E_ARGUMENT', `pool kind must be avg or max, got ${String(kind)}`);
  if (size !== 'global' && !(Number.isInteger(size) && size >= 1))
    throw new ReplensError('E_ARGUMENT', `pool size must be a positive integer or global, got ${String(size)}`);
  if (shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new ReplensError('E_ARGUMENT', `bad shape [${shape.join(', ')}]`);
  const total = shape.reduce((a, b) => a * b, 1);
  if (total !== acts.length)
    throw new ReplensError('E_ARGUMENT', `shape [${shape.join(', ')}] needs ${total} values, got ${acts.length}`);
  if (shape.length === 2) return { data: Float64Array.from(acts), shape: [...shape] };
  if (shape.length !== 4)
    throw new ReplensError(
      'E_ARGUMENT',
      `pooling needs activations of shape (n, C, H, W) or (n, F), got [${shape.join(', ')}]`,
    );
  const [n, C, H, W] = shape;
  const sh = size === 'global' ? H : size,
    sw = size === 'global' ? W : size;
  const Ho = Math.floor(H / sh),
    Wo = Math.floor(W / sw);
  if (Ho < 1 || Wo < 1)
    throw new ReplensError('E_ARGUMENT', `pool window ${size} is larger than the ${H}×${W} feature map`);
  const out = new Float64Array(n * C * Ho * Wo);
  const count = sh * sw;
  let o = 0;
  for (let p = 0; p < n * C; p++) {
    const base = p * H * W;
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        let acc = kind === 'max' ? -Infinity : 0;
        for (let dh = 0; dh < sh; dh++) {
          const row = base + (oh * sh + dh) * W + ow * sw;
          for (let dw = 0; dw < sw; dw++) {
            const v = acts[row + dw];
            if (kind === 'max') {
              if (v > acc) acc = v;
            } else acc += v;
          }
        }
        out[o++] = kind === 'max' ? acc : acc / count;
      }
    }
  }
  return { data: out, shape: [n, C, Ho, Wo] };
}
