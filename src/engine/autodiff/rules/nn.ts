// Gradient rules for the nn op family: Conv, ConvTranspose, Gemm, MatMul, MaxPool, AveragePool,
// BatchNormalization. Everything is written with standard ONNX ops valid at opsets 11–21 (onnxruntime-node is an
// inference build: no com.microsoft *Grad kernels). Shapes are static, so pads, output paddings, slices and pooling
// divisors are resolved here into attributes and constants.
//
// Conventions (per spatial dim, forward x of size H → y of size OH, kernel k, stride s, dilation d, begin pad p):
// output o reads inputs o·s − p + j·d (j < k). Every backward placement "y-space → x-space" is a ConvTranspose
// whose end pad / output_padding are chosen from the static sizes so the result is exactly H long.
import type { GradContext, GradRule } from '../context';
import type { NodeProto } from '../../onnx/proto';

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);
const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

interface Geometry {
  /** Spatial sizes of the "input" side (x) and "output" side (y). */
  inSp: number[];
  outSp: number[];
  k: number[];
  s: number[];
  d: number[];
  /** Begin pads (the only pads the backward needs: end sides are derived from the static sizes). */
  pb: number[];
}

/** Begin pads of a Conv/pool-style node, resolving auto_pad from the static sizes. */
function beginPads(
  ctx: GradContext,
  node: NodeProto,
  inSp: number[],
  outSp: number[],
  k: number[],
  s: number[],
  d: number[],
): number[] {
  const r = inSp.length;
  const autoPad = ctx.attrString(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    return range(r).map((i) => {
      const need = Math.max(0, (outSp[i] - 1) * s[i] + (k[i] - 1) * d[i] + 1 - inSp[i]);
      return autoPad === 'SAME_LOWER' ? Math.ceil(need / 2) : Math.floor(need / 2);
    });
  }
  if (autoPad === 'VALID') return range(r).map(() => 0);
  const pads = ctx.attrInts(node, 'pads', null);
  return pads ? pads.slice(0, r) : range(r).map(() => 0);
}

function geometry(ctx: GradContext, node: NodeProto, inSp: number[], outSp: number[], k: number[]): Geometry {
  const r = k.length;
  const s = ctx.attrInts(node, 'strides', null) ?? range(r).map(() => 1);
  const d = ctx.attrInts(node, 'dilations', null) ?? range(r).map(() => 1);
  return { inSp, outSp, k, s, d, pb: beginPads(ctx, node, inSp, outSp, k, s, d) };
}

/**
 * ConvTranspose attributes that map a y-space tensor back onto x-space (adjoint of the window gather): same
 * strides/dilations/begin pads; end pad or output_padding chosen so the output is exactly `inSp`.
 */
function placeAttrs(g: Geometry, group: number): Record<string, number[] | number> {
  const r = g.k.length;
  const pe: number[] = [],
    op: number[] = [];
  for (let i = 0; i < r; i++) {
    const total = g.s[i] * (g.outSp[i] - 1) + (g.k[i] - 1) * g.d[i] + 1 - g.pb[i] - g.inSp[i];
    pe.push(Math.max(0, total));
    op.push(Math.max(0, -total));
  }
  const attrs: Record<string, number[] | number> = { strides: g.s, dilations: g.d, pads: [...g.pb, ...pe], group };
  if (op.some((v) => v)) attrs.output_padding = op;
  return attrs;
}

/** Slices the trailing spatial dims of `t` (of spatial sizes `have`) down to `want` when larger. */
function sliceSpatial(ctx: GradContext, t: string, have: number[], want: number[]): string {
  const axes: number[] = [],
    ends: number[] = [];
  have.forEach((h, i) => {
    if (h > want[i]) {
      axes.push(i + 2);
      ends.push(want[i]);
    }
  });
  if (!axes.length) return t;
  return ctx.op('Slice', [
    t,
    ctx.int64s(
      axes.map(() => 0),
      'starts',
    ),
    ctx.int64s(ends, 'ends'),
    ctx.int64s(axes, 'axes'),
  ]);
}

/** [N, C, ...sp] → [C/g, g·N, ...sp] (channel-major regrouping used by the weight gradients). */
function regroup(ctx: GradContext, t: string, shape: number[], g: number): string {
  const [N, C, ...sp] = shape;
  const r = sp.length;
  if (g === 1) return ctx.op('Transpose', [t], { perm: [1, 0, ...range(r, 2)] });
  const a = ctx.reshape(t, [N, g, C / g, ...sp]);
  const b = ctx.op('Transpose', [a], { perm: [2, 1, 0, ...range(r, 3)] });
  return ctx.reshape(b, [C / g, g * N, ...sp]);
}

/**
 * Weight gradient of a strided, dilated window correlation: W'[a, b, j] = Σ_{n,o} src[n, (g,a), o·s − p + j·d] ·
 * mapped[n, (g,b), o], computed as one grouped Conv of `srcR` [A, g·N, ...srcSp] with kernel `kerR` [B·g, N, ...kSp]
 * (strides ↔ dilations swapped), then transposed to [B·g, A, ...k] and cut to the kernel size.
 */
function windowWeightGrad(
  ctx: GradContext,
  srcR: string,
  srcSp: number[],
  kerR: string,
  kSp: number[],
  g: number,
  geo: { k: number[]; s: number[]; d: number[]; pb: number[] },
): string {
  const r = geo.k.length;
  const pe: number[] = [],
    outSp: number[] = [];
  for (let i = 0; i < r; i++) {
    const reach = (geo.k[i] - 1) * geo.d[i] + (kSp[i] - 1) * geo.s[i] + 1;
    const e = Math.max(0, reach - srcSp[i] - geo.pb[i]);
    pe.push(e);
    outSp.push(Math.floor((srcSp[i] + geo.pb[i] + e - ((kSp[i] - 1) * geo.s[i] + 1)) / geo.d[i]) + 1);
  }
  const c = ctx.op('Conv', [srcR, kerR], { group: g, strides: geo.d, dilations: geo.s, pads: [...geo.pb, ...pe] });
  const t = ctx.op('Transpose', [c], { perm: [1, 0, ...range(r, 2)] });
  return sliceSpatial(ctx, t, outSp, geo.k);
}

/** Bias gradient: Σ dY over every axis but the channel axis. */
function channelSum(ctx: GradContext, dy: string, rank: number): string {
  return ctx.reduceSum(dy, [0, ...range(rank - 2, 2)], false);
}

// ---------------------------------------------------------------- Conv

/**
 * Which construction the Conv rule emits (tests force each path; 'auto' picks the cheaper one).
 *   weight: 'gemm'   — one MatMul per kernel offset over a channels-last, padded, strided view of x;
 *           'window' — the transposed-tensor trick (x's channels as batch, dY as the kernel; windowWeightGrad).
 *   input:  'conv'   — stride 1 only: a Conv of dY with the flipped, channel-transposed kernel;
 *           'convTranspose' — the adjoint placement (any stride).
 */
export const convGradPaths: { weight: 'auto' | 'gemm' | 'window'; input: 'auto' | 'conv' | 'convTranspose' } = {
  weight: 'auto',
  input: 'auto',
};

/**
 * Weight gradient as GEMMs: for each kernel offset j, dW[(g,m), c, j] = Σ_{n,o} dY[n, (g,m), o] ·
 * xpad[n, (g,c), o·s + j·d]. x is moved once to channels-last and padded once ([N, ...H, C], or [g, N, ...H, C/g]
 * with groups); per offset a strided Slice is a free reshape away from the GEMM operand, and one MatMul with dY
 * (moved once to [M, N·OH] / [g, M/g, N·OH]) gives that offset's [M/g, C/g] blocks. Without groups the batch is
 * cut into b chunks ([b, M, (N/b)·OH] · [b, (N/b)·OH, C], summed over b) so the GEMMs run in parallel, each with
 * a long contraction. The K results are stacked along a new last axis. (The transposes are kept 4-D/5-D with no
 * unit axes: onnxruntime's generic N-D Transpose is several times slower than its single-axis-move paths.)
 */
function gemmWeightGrad(
  ctx: GradContext,
  x: string,
  xs: number[],
  dy: string,
  ys: number[],
  g: number,
  geo: Geometry,
): string {
  const [N, C, ...H] = xs;
  const M = ys[1],
    OH = geo.outSp,
    r = H.length;
  const cg = C / g,
    mg = M / g,
    P = prod(OH),
    K = prod(geo.k);
  const b = g === 1 ? ([8, 4, 2].find((c) => N % c === 0 && (N / c) * P >= 1024) ?? 1) : 1;
  const nb = N / b;
  let xt: string, dyt: string, lhsShape: number[];
  if (g === 1) {
    xt = ctx.op('Transpose', [x], { perm: [0, ...range(r, 2), 1] }); // [N, ...H, C]
    dyt =
      b === 1
        ? ctx.reshape(ctx.op('Transpose', [ctx.reshape(dy, [N, M, P])], { perm: [1, 0, 2] }), [M, N * P])
        : ctx.reshape(ctx.op('Transpose', [ctx.reshape(dy, [b, nb, M, P])], { perm: [0, 2, 1, 3] }), [b, M, nb * P]);
    lhsShape = b === 1 ? [N * P, C] : [b, nb * P, C];
  } else {
    // xt: [g, N, ...H, C/g]
    xt = ctx.op('Transpose', [ctx.reshape(x, [N, g, cg, ...H])], { perm: [1, 0, ...range(r, 3), 2] });
    dyt = ctx.reshape(ctx.op('Transpose', [ctx.reshape(dy, [N, g, mg, P])], { perm: [1, 2, 0, 3] }), [g, mg, N * P]);
    lhsShape = [g, N * P, cg];
  }
  const sp = range(r, g === 1 ? 1 : 2); // spatial axes of xt
  const rank = g === 1 ? r + 2 : r + 3;
  const pe = range(r).map((i) =>
    Math.max(0, (geo.k[i] - 1) * geo.d[i] + (OH[i] - 1) * geo.s[i] + 1 - H[i] - geo.pb[i]),
  );
  const padded = range(r).map((i) => H[i] + geo.pb[i] + pe[i]);
  if (geo.pb.some((v) => v) || pe.some((v) => v)) {
    const pads = new Array<number>(2 * rank).fill(0);
    sp.forEach((ax, i) => {
      pads[ax] = geo.pb[i];
      pads[rank + ax] = pe[i];
    });
    xt = ctx.op('Pad', [xt, ctx.int64s(pads, 'pads')]);
  }
  const parts: string[] = [];
  for (let j = 0; j < K; j++) {
    const off = geo.k.map((_, i) => Math.floor(j / prod(geo.k.slice(i + 1))) % geo.k[i]);
    const starts = off.map((o, i) => o * geo.d[i]);
    const ends = starts.map((st, i) => st + (OH[i] - 1) * geo.s[i] + 1);
    const full = range(r).every((i) => starts[i] === 0 && ends[i] === padded[i] && geo.s[i] === 1);
    const sl = full
      ? xt
      : ctx.op('Slice', [
          xt,
          ctx.int64s(starts, 'starts'),
          ctx.int64s(ends, 'ends'),
          ctx.int64s(sp, 'axes'),
          ctx.int64s(geo.s, 'steps'),
        ]);
    const mm = ctx.op('MatMul', [dyt, ctx.reshape(sl, lhsShape)]); // [b, M, C] / [M, C] / [g, M/g, C/g]
    parts.push(ctx.reshape(b > 1 ? ctx.reduceSum(mm, [0], false) : mm, [M, cg, 1]));
  }
  const stacked = K === 1 ? parts[0] : ctx.op('Concat', parts, { axis: 2 });
  return ctx.reshape(stacked, [M, cg, ...geo.k]);
}

/**
 * Input gradient of a stride-1 Conv as a Conv: dX = Conv(dY, W') with W'[(g,c), m, j] = W[(g,m), c, K−1−j] (kernel
 * flipped by Slice steps −1, channels transposed per group), same dilation, pads (K−1)·d − p on the begin side and
 * whatever makes the result exactly H long on the end side. Null when a pad would be negative.
 */
function convInputGrad(ctx: GradContext, dy: string, w: string, ws: number[], g: number, geo: Geometry): string | null {
  const r = geo.k.length;
  const pb = range(r).map((i) => (geo.k[i] - 1) * geo.d[i] - geo.pb[i]);
  const pe = range(r).map((i) => geo.inSp[i] - geo.outSp[i] - pb[i] + (geo.k[i] - 1) * geo.d[i]);
  if (pb.some((v) => v < 0) || pe.some((v) => v < 0)) return null;
  const [M, cg] = ws;
  const mg = M / g;
  const sp = range(r, g === 1 ? 2 : 3);
  const src = g === 1 ? w : ctx.reshape(w, [g, mg, cg, ...geo.k]);
  const tw = ctx.op('Transpose', [src], { perm: g === 1 ? [1, 0, ...range(r, 2)] : [0, 2, 1, ...range(r, 3)] });
  const flipAxes = sp.filter((_, i) => geo.k[i] > 1);
  let fw = tw;
  if (flipAxes.length) {
    const ks = flipAxes.map((a) => geo.k[sp.indexOf(a)]);
    fw = ctx.op('Slice', [
      tw,
      ctx.int64s(
        ks.map((k) => k - 1),
        'starts',
      ),
      ctx.int64s(
        ks.map((k) => -k - 1),
        'ends',
      ),
      ctx.int64s(flipAxes, 'axes'),
      ctx.int64s(
        ks.map(() => -1),
        'steps',
      ),
    ]);
  }
  const wt = g === 1 ? fw : ctx.reshape(fw, [g * cg, mg, ...geo.k]);
  return ctx.op('Conv', [dy, wt], { group: g, dilations: geo.d, pads: [...pb, ...pe] });
}

// Path choices, from timings of onnxruntime 1.30 CPU (MLAS, 2 threads) on batch-16..64 convs: the GEMM weight
// gradient beats the transposed-tensor trick 2–3× once each group's GEMM has some width (conv 64→64 28×28: 60 vs
// 128 ms; 128→128 14×14: 48 vs 112; 16→32: 5 vs 12; 7×7 kernels and stride 2 too); depthwise-like groups (M/g·C/g
// tiny) degenerate into matrix–vector products and lose (35 vs 26 ms). The input-gradient Conv beats ConvTranspose
// (64→64 28×28: ~40 vs 55 ms; depthwise 3 vs 10) except when it has very few output channels (C = 1: 11 vs 4 ms).
const preferGemmWeightGrad = (C: number, M: number, g: number) => (C / g) * (M / g) >= 64;
const preferConvInputGrad = (C: number, M: number, g: number) => C / g >= 8 || (C === g && M === g);

const conv: GradRule = (ctx, { node, dy, needs }) => {
  const out: (string | null)[] = node.input.map(() => null);
  const g0 = dy[0];
  if (!g0) return out;
  const [x, w] = node.input;
  const xs = ctx.shape(x),
    ws = ctx.shape(w),
    ys = ctx.shape(node.output[0]);
  const group = ctx.attrInt(node, 'group', 1);
  const k = ctx.attrInts(node, 'kernel_shape', null) ?? ws.slice(2);
  const geo = geometry(ctx, node, xs.slice(2), ys.slice(2), k);
  if (needs[0]) {
    const mode = convGradPaths.input;
    const stride1 = geo.s.every((v) => v === 1);
    let gx: string | null = null;
    if (stride1 && (mode === 'conv' || (mode === 'auto' && preferConvInputGrad(xs[1], ys[1], group))))
      gx = convInputGrad(ctx, g0, w, ws, group, geo);
    out[0] = gx ?? ctx.op('ConvTranspose', [g0, w], placeAttrs(geo, group));
  }
  if (needs[1]) {
    const mode = convGradPaths.weight;
    const useGemm = mode === 'gemm' || (mode === 'auto' && preferGemmWeightGrad(xs[1], ys[1], group));
    if (useGemm) {
      out[1] = gemmWeightGrad(ctx, x, xs, g0, ys, group, geo);
    } else {
      const src = regroup(ctx, x, xs, group); // [C/g, g·N, ...H]
      const ker = ctx.op('Transpose', [g0], { perm: [1, 0, ...range(k.length, 2)] }); // [M, N, ...OH]
      out[1] = windowWeightGrad(ctx, src, geo.inSp, ker, geo.outSp, group, geo);
    }
  }
  if (needs[2] && node.input[2]) out[2] = channelSum(ctx, g0, ys.length);
  return out;
};

// ---------------------------------------------------------------- ConvTranspose

const convTranspose: GradRule = (ctx, { node, dy, needs }) => {
  const out: (string | null)[] = node.input.map(() => null);
  const g0 = dy[0];
  if (!g0) return out;
  const [x, w] = node.input;
  const xs = ctx.shape(x),
    ws = ctx.shape(w),
    ys = ctx.shape(node.output[0]);
  const group = ctx.attrInt(node, 'group', 1);
  const k = ctx.attrInts(node, 'kernel_shape', null) ?? ws.slice(2);
  const r = k.length;
  const s = ctx.attrInts(node, 'strides', null) ?? range(r).map(() => 1);
  const d = ctx.attrInts(node, 'dilations', null) ?? range(r).map(() => 1);
  const opad = ctx.attrInts(node, 'output_padding', null) ?? range(r).map(() => 0);
  const H = xs.slice(2),
    OH = ys.slice(2);
  const autoPad = ctx.attrString(node, 'auto_pad', 'NOTSET');
  const pads = ctx.attrInts(node, 'pads', null);
  const hasOutShape = !!ctx.attr(node, 'output_shape');
  const pb = range(r).map((i) => {
    if (!hasOutShape && autoPad === 'NOTSET') return pads ? pads[i] : 0;
    if (!hasOutShape && autoPad === 'VALID') return 0;
    // onnxruntime 1.30 (checked against its forward): total pad from the sizes, the odd unit on the tail for
    // SAME_UPPER, on the head for SAME_LOWER and for NOTSET with output_shape.
    const total = Math.max(0, s[i] * (H[i] - 1) + opad[i] + (k[i] - 1) * d[i] + 1 - OH[i]);
    return autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
  });
  // Forward: y[o] += x[i]·w[j] at o = i·s − pb + j·d, i.e. x-space = "output" side of a Conv over y.
  if (needs[0]) {
    const pe = range(r).map((i) => Math.max(0, s[i] * (H[i] - 1) + (k[i] - 1) * d[i] + 1 - OH[i] - pb[i]));
    const c = ctx.op('Conv', [g0, w], { group, strides: s, dilations: d, pads: [...pb, ...pe] });
    const have = range(r).map((i) => Math.floor((OH[i] + pb[i] + pe[i] - (k[i] - 1) * d[i] - 1) / s[i]) + 1);
    out[0] = sliceSpatial(ctx, c, have, H);
  }
  if (needs[1]) {
    const src = regroup(ctx, g0, ys, group); // [Cout/g, g·N, ...OH]
    const ker = ctx.op('Transpose', [x], { perm: [1, 0, ...range(r, 2)] }); // [Cin, N, ...H]
    out[1] = windowWeightGrad(ctx, src, OH, ker, H, group, { k, s, d, pb });
  }
  if (needs[2] && node.input[2]) out[2] = channelSum(ctx, g0, ys.length);
  return out;
};

// ---------------------------------------------------------------- Gemm / MatMul

const gemm: GradRule = (ctx, { node, dy, needs }) => {
  const out: (string | null)[] = node.input.map(() => null);
  const g0 = dy[0];
  if (!g0) return out;
  const [a, b, c] = node.input;
  const tA = ctx.attrInt(node, 'transA', 0),
    tB = ctx.attrInt(node, 'transB', 0);
  const alpha = ctx.attrFloat(node, 'alpha', 1),
    beta = ctx.attrFloat(node, 'beta', 1);
  const al = { float: alpha };
  if (needs[0]) {
    out[0] = tA
      ? ctx.op('Gemm', [b, g0], { alpha: al, transA: tB, transB: 1 })
      : ctx.op('Gemm', [g0, b], { alpha: al, transB: 1 - tB });
  }
  if (needs[1]) {
    out[1] = tB
      ? ctx.op('Gemm', [g0, a], { alpha: al, transA: 1, transB: tA })
      : ctx.op('Gemm', [a, g0], { alpha: al, transA: 1 - tA });
  }
  if (needs[2] && c) {
    let gc = ctx.reduceTo(g0, ctx.shape(node.output[0]), ctx.shape(c));
    if (beta !== 1) gc = ctx.op('Mul', [gc, ctx.scalar(beta, ctx.elemType(c))]);
    out[2] = gc;
  }
  return out;
};

function broadcastShape(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  return range(n).map((i) => {
    const x = a[a.length - n + i] ?? 1,
      y = b[b.length - n + i] ?? 1;
    return x === 1 ? y : x;
  });
}

const matmul: GradRule = (ctx, { node, dy, needs }) => {
  const out: (string | null)[] = [null, null];
  const g0 = dy[0];
  if (!g0) return out;
  const [a, b] = node.input;
  const as = ctx.shape(a),
    bs = ctx.shape(b);
  const a2 = as.length === 1 ? [1, as[0]] : as;
  const b2 = bs.length === 1 ? [bs[0], 1] : bs;
  const batch = broadcastShape(a2.slice(0, -2), b2.slice(0, -2));
  const M = a2[a2.length - 2],
    K = a2[a2.length - 1],
    N = b2[b2.length - 1];
  const y2 = [...batch, M, N];
  const ys = ctx.shape(node.output[0]);
  const dY = ys.length === y2.length && ys.every((v, i) => v === y2[i]) ? g0 : ctx.reshape(g0, y2);
  const A = as.length === 1 ? ctx.reshape(a, a2) : a;
  const B = bs.length === 1 ? ctx.reshape(b, b2) : b;
  const T = (t: string, rank: number) => ctx.op('Transpose', [t], { perm: [...range(rank - 2), rank - 1, rank - 2] });
  const finish = (g: string, full: number[], shape2: number[], orig: number[]) => {
    const red = ctx.reduceTo(g, full, shape2);
    return orig.length === shape2.length ? red : ctx.reshape(red, orig);
  };
  if (needs[0]) out[0] = finish(ctx.op('MatMul', [dY, T(B, b2.length)]), [...batch, M, K], a2, as);
  if (needs[1]) out[1] = finish(ctx.op('MatMul', [T(A, a2.length), dY]), [...batch, K, N], b2, bs);
  return out;
};

// ---------------------------------------------------------------- pools

/**
 * MaxPool: the forward is recomputed with its Indices output; for each kernel offset j a mask routes dY to the
 * outputs whose argmax sits at offset j of their window (compared against a constant table of flat local
 * indices), and one grouped ConvTranspose with one-hot kernels places all K masked maps back onto x.
 */
const maxPool: GradRule = (ctx, { node, dy, needs }) => {
  const out: (string | null)[] = [null];
  const g0 = dy[0];
  if (!g0 || !needs[0]) return out;
  const x = node.input[0];
  const xs = ctx.shape(x),
    ys = ctx.shape(node.output[0]);
  const [N, C, ...H] = xs;
  const OH = ys.slice(2);
  const k = ctx.attrInts(node, 'kernel_shape', null)!;
  const r = k.length;
  const geo = geometry(ctx, node, H, OH, k);
  const et = ctx.elemType(x);
  // Recompute with indices (row-major flat indices into x).
  const mp = ctx.node('MaxPool', [x], {}, 2);
  const last = ctx.nodes[ctx.nodes.length - 1];
  last.attribute = node.attribute.filter((a) => a.name !== 'storage_order');
  const idx = mp[1];
  const HW = prod(H),
    OHW = prod(OH),
    K = prod(k);
  const base = ctx.constant(
    range(N * C).map((i) => i * HW),
    [N, C, ...OH.map(() => 1)],
    7,
    'base',
  );
  const local = ctx.op('Sub', [idx, base]);
  // Strides of the spatial index spaces.
  const hStride = H.map((_, i) => prod(H.slice(i + 1)));
  const oStride = OH.map((_, i) => prod(OH.slice(i + 1)));
  const maps: string[] = [];
  for (let j = 0; j < K; j++) {
    const off = k.map((_, i) => Math.floor(j / prod(k.slice(i + 1))) % k[i]);
    const table = new Array<number>(OHW);
    for (let o = 0; o < OHW; o++) {
      let flat = 0,
        ok = true;
      for (let i = 0; i < r; i++) {
        const oi = Math.floor(o / oStride[i]) % OH[i];
        const pos = oi * geo.s[i] - geo.pb[i] + off[i] * geo.d[i];
        if (pos < 0 || pos >= H[i]) {
          ok = false;
          break;
        }
        flat += pos * hStride[i];
      }
      table[o] = ok ? flat : -1;
    }
    const P = ctx.constant(table, OH, 7, 'argpos');
    const mask = ctx.op('Cast', [ctx.op('Equal', [local, P])], { to: et });
    maps.push(ctx.unsqueeze(ctx.op('Mul', [g0, mask]), [2]));
  }
  const stacked = ctx.reshape(K === 1 ? maps[0] : ctx.op('Concat', maps, { axis: 2 }), [N, C * K, ...OH]);
  const w = new Float32Array(C * K * K);
  for (let c = 0; c < C; c++) for (let j = 0; j < K; j++) w[(c * K + j) * K + j] = 1;
  const W = ctx.constant(w, [C * K, 1, ...k], et, 'onehot');
  out[0] = ctx.op('ConvTranspose', [stacked, W], placeAttrs(geo, C));
  return out;
};

/** AveragePool: dY ÷ (onnxruntime's per-window divisor), then a depthwise all-ones ConvTranspose. */
const averagePool: GradRule = (ctx, { node, dy, needs }) => {
  const out: (string | null)[] = [null];
  const g0 = dy[0];
  if (!g0 || !needs[0]) return out;
  const x = node.input[0];
  const xs = ctx.shape(x),
    ys = ctx.shape(node.output[0]);
  const [, C, ...H] = xs;
  const OH = ys.slice(2);
  const k = ctx.attrInts(node, 'kernel_shape', null)!;
  const r = k.length;
  const geo = geometry(ctx, node, H, OH, k);
  const includePad = ctx.attrInt(node, 'count_include_pad', 0) === 1;
  const pads = ctx.attrInts(node, 'pads', null);
  const pe = range(r).map((i) => {
    const ap = ctx.attrString(node, 'auto_pad', 'NOTSET');
    if (ap === 'SAME_UPPER' || ap === 'SAME_LOWER') {
      const need = Math.max(0, (OH[i] - 1) * geo.s[i] + (k[i] - 1) * geo.d[i] + 1 - H[i]);
      return need - geo.pb[i];
    }
    return pads && ap === 'NOTSET' ? pads[r + i] : 0;
  });
  const et = ctx.elemType(x);
  // Per dim, per output position: the divisor factor (onnxruntime: the window is clipped to [.., H + pad_end);
  // include-pad counts every tap of the clipped window, exclude-pad only taps inside [0, H)).
  const factors = range(r).map((i) =>
    range(OH[i]).map((o) => {
      const start = o * geo.s[i] - geo.pb[i];
      const end = Math.min(start + k[i] * geo.d[i], H[i] + pe[i]);
      if (includePad) return 1 + Math.floor((end - start - 1) / geo.d[i]);
      let n = 0;
      for (let p = start; p < end; p += geo.d[i]) if (p >= 0 && p < H[i]) n++;
      return n;
    }),
  );
  const OHW = prod(OH);
  const inv = new Array<number>(OHW);
  let uniform = true;
  for (let o = 0; o < OHW; o++) {
    let div = 1,
      rem = o;
    for (let i = r - 1; i >= 0; i--) {
      div *= factors[i][rem % OH[i]];
      rem = Math.floor(rem / OH[i]);
    }
    inv[o] = div > 0 ? 1 / div : 0;
    if (inv[o] !== inv[0]) uniform = false;
  }
  const scaled = ctx.op('Mul', [g0, uniform ? ctx.scalar(inv[0], et) : ctx.constant(inv, OH, et, 'invcount')]);
  const W = ctx.constant(new Float32Array(C * prod(k)).fill(1), [C, 1, ...k], et, 'ones');
  out[0] = ctx.op('ConvTranspose', [scaled, W], placeAttrs(geo, C));
  return out;
};

// ---------------------------------------------------------------- BatchNormalization

const batchNorm: GradRule = (ctx, { node, dy, needs }) => {
  const out: (string | null)[] = node.input.map(() => null);
  const g0 = dy[0];
  if (!g0) return out;
  const [x, scale, , mean, varT] = node.input;
  const xs = ctx.shape(x);
  const rank = xs.length;
  const C = xs[1];
  const et = ctx.elemType(x);
  const eps = ctx.attrFloat(node, 'epsilon', 1e-5);
  const training =
    ctx.opset >= 14 ? ctx.attrInt(node, 'training_mode', 0) === 1 : node.output.filter(Boolean).length > 1;
  const axes = [0, ...range(rank - 2, 2)];
  const bshape = [1, C, ...range(rank - 2).map(() => 1)];
  const col = (t: string) => ctx.reshape(t, bshape);
  const count = xs.reduce((a, b) => a * b, 1) / C;
  let centered: string, inv: string; // x − μ and 1/√(σ² + ε), broadcast shapes
  const epsT = ctx.scalar(eps, et);
  if (training) {
    const mu = ctx.reduceMean(x, axes, true);
    centered = ctx.op('Sub', [x, mu]);
    const v = ctx.reduceMean(ctx.op('Mul', [centered, centered]), axes, true);
    inv = ctx.op('Reciprocal', [ctx.op('Sqrt', [ctx.op('Add', [v, epsT])])]);
  } else {
    centered = ctx.op('Sub', [x, col(mean)]);
    inv = col(ctx.op('Reciprocal', [ctx.op('Sqrt', [ctx.op('Add', [varT, epsT])])]));
  }
  const xhat = ctx.op('Mul', [centered, inv]);
  const needSum = needs[1] || needs[2] || needs[3] || needs[4] || training;
  const sumDy = needSum ? ctx.reduceSum(g0, axes, true) : ''; // [1, C, 1, …]
  const sumDyX = needs[1] || needs[4] || training ? ctx.reduceSum(ctx.op('Mul', [g0, xhat]), axes, true) : '';
  const scaleInv = ctx.op('Mul', [col(scale), inv]);
  if (needs[0]) {
    if (training) {
      const n = ctx.scalar(1 / count, et);
      const meanDy = ctx.op('Mul', [sumDy, n]);
      const meanDyX = ctx.op('Mul', [sumDyX, n]);
      const inner = ctx.op('Sub', [ctx.op('Sub', [g0, meanDy]), ctx.op('Mul', [xhat, meanDyX])]);
      out[0] = ctx.op('Mul', [inner, scaleInv]);
    } else {
      out[0] = ctx.op('Mul', [g0, scaleInv]);
    }
  }
  if (needs[1]) out[1] = ctx.reshape(sumDyX, [C]);
  if (needs[2]) out[2] = ctx.reshape(sumDy, [C]);
  if (!training) {
    if (needs[3]) out[3] = ctx.reshape(ctx.op('Neg', [ctx.op('Mul', [sumDy, scaleInv])]), [C]);
    if (needs[4]) {
      // ∂/∂var of scale·(x−m)(var+ε)^{-1/2} = −½·scale·x̂·inv²
      const t = ctx.op('Mul', [ctx.op('Mul', [sumDyX, scaleInv]), inv]);
      out[4] = ctx.reshape(ctx.op('Mul', [t, ctx.scalar(-0.5, et)]), [C]);
    }
  }
  return out;
};

export const NN_RULES: Record<string, GradRule> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: gemm,
  MatMul: matmul,
  MaxPool: maxPool,
  AveragePool: averagePool,
  BatchNormalization: batchNorm,
};
