// Independent float64 reference implementations of the ONNX ops the tests capture, written straight from the
// ONNX operator definitions (NCHW, explicit pads [top, left, bottom, right]). Deliberately naive loops.

export interface T {
  data: Float64Array;
  shape: number[];
}

export const t = (shape: number[], data?: ArrayLike<number>): T => ({
  shape,
  data: data ? Float64Array.from(data) : new Float64Array(shape.reduce((a, b) => a * b, 1)),
});

export function conv(
  x: T,
  w: T,
  b: T | null,
  o: { strides?: number[]; pads?: number[]; dilations?: number[]; group?: number } = {},
): T {
  const [N, C, H, W] = x.shape;
  const [M, Cg, KH, KW] = w.shape;
  const [sh, sw] = o.strides ?? [1, 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const [dh, dw] = o.dilations ?? [1, 1];
  const G = o.group ?? 1;
  if (Cg * G !== C) throw new Error('conv: channel mismatch');
  const OH = Math.floor((H + pt + pb - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + pl + pr - dw * (KW - 1) - 1) / sw) + 1;
  const y = t([N, M, OH, OW]);
  const Mg = M / G;
  for (let n = 0; n < N; n++)
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / Mg);
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let s = b ? b.data[m] : 0;
          for (let c = 0; c < Cg; c++)
            for (let kh = 0; kh < KH; kh++)
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * sh - pt + kh * dh,
                  iw = ow * sw - pl + kw * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += x.data[((n * C + g * Cg + c) * H + ih) * W + iw] * w.data[((m * Cg + c) * KH + kh) * KW + kw];
              }
          y.data[((n * M + m) * OH + oh) * OW + ow] = s;
        }
    }
  return y;
}

export function batchNorm(x: T, scale: T, bias: T, mean: T, variance: T, eps = 1e-5): T {
  const [N, C] = x.shape;
  const HW = x.data.length / (N * C);
  const y = t(x.shape);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < HW; i++) {
        const k = (n * C + c) * HW + i;
        y.data[k] = (scale.data[c] * (x.data[k] - mean.data[c])) / Math.sqrt(variance.data[c] + eps) + bias.data[c];
      }
  return y;
}

export function pool(
  kind: 'max' | 'avg',
  x: T,
  o: { kernel: number[]; strides?: number[]; pads?: number[]; countIncludePad?: boolean; ceil?: boolean },
): T {
  const [N, C, H, W] = x.shape;
  const [KH, KW] = o.kernel;
  const [sh, sw] = o.strides ?? [1, 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const round = o.ceil ? Math.ceil : Math.floor;
  const OH = round((H + pt + pb - KH) / sh) + 1;
  const OW = round((W + pl + pr - KW) / sw) + 1;
  const y = t([N, C, OH, OW]);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let best = -Infinity,
            sum = 0,
            cnt = 0,
            padded = 0;
          for (let kh = 0; kh < KH; kh++)
            for (let kw = 0; kw < KW; kw++) {
              const ih = oh * sh - pt + kh,
                iw = ow * sw - pl + kw;
              if (ih >= H + pb || iw >= W + pr) continue; // beyond the padded extent (ceil mode)
              padded++;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const v = x.data[((n * C + c) * H + ih) * W + iw];
              best = Math.max(best, v);
              sum += v;
              cnt++;
            }
          y.data[((n * C + c) * OH + oh) * OW + ow] = kind === 'max' ? best : sum / (o.countIncludePad ? padded : cnt);
        }
  return y;
}

export const relu = (x: T): T => ({ shape: x.shape, data: x.data.map((v) => Math.max(0, v)) });
export const add = (a: T, b: T): T => ({ shape: a.shape, data: a.data.map((v, i) => v + b.data[i]) });

export function concat(xs: T[], axis: number): T {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis], 0);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const y = t(shape);
  let off = 0;
  for (let o = 0; o < outer; o++)
    for (const x of xs) {
      const inner = x.shape.slice(axis).reduce((a, b) => a * b, 1);
      y.data.set(x.data.subarray(o * inner, (o + 1) * inner), off);
      off += inner;
    }
  return y;
}

export function globalAvg(x: T): T {
  const [N, C] = x.shape;
  const HW = x.data.length / (N * C);
  const y = t([N, C]);
  for (let i = 0; i < N * C; i++) {
    let s = 0;
    for (let k = 0; k < HW; k++) s += x.data[i * HW + k];
    y.data[i] = s / HW;
  }
  return y;
}

export function globalMax(x: T): T {
  const [N, C] = x.shape;
  const HW = x.data.length / (N * C);
  const y = t([N, C]);
  for (let i = 0; i < N * C; i++) {
    let s = -Infinity;
    for (let k = 0; k < HW; k++) s = Math.max(s, x.data[i * HW + k]);
    y.data[i] = s;
  }
  return y;
}

/** Gemm: alpha·A'·B' + beta·C with A' = transA ? Aᵀ : A. */
export function gemm(
  a: T,
  b: T,
  c: T | null,
  o: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {},
): T {
  const [ar, ac] = a.shape,
    [br, bc] = b.shape;
  const M = o.transA ? ac : ar,
    K = o.transA ? ar : ac,
    N = o.transB ? br : bc;
  const A = (i: number, k: number) => (o.transA ? a.data[k * ac + i] : a.data[i * ac + k]);
  const B = (k: number, j: number) => (o.transB ? b.data[j * bc + k] : b.data[k * bc + j]);
  const y = t([M, N]);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A(i, k) * B(k, j);
      y.data[i * N + j] = (o.alpha ?? 1) * s + (c ? (o.beta ?? 1) * c.data[c.data.length === N ? j : i * N + j] : 0);
    }
  return y;
}

export const flatten = (x: T): T => ({ shape: [x.shape[0], x.data.length / x.shape[0]], data: x.data });

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
