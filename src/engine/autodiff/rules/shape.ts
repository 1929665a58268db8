// Gradient rules for the shape op family: Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice,
// Pad, Expand, Tile, Gather, the Reduce* ops, GlobalAveragePool/GlobalMaxPool and Constant. Every attribute form
// PyTorch exports at opsets 11–21 is read (axes/split as attributes before opset 13 — 18 for the Reduce* ops other
// than ReduceSum — and as inputs after; Split's num_outputs at 18; Slice/Pad parameters as inputs). Shapes are
// static, so index arithmetic (Slice starts/ends clamping, Pad crops, Gather one-hot matrices) is resolved here
// into constants. Only inputs flagged in `needs` get a gradient (never shapes, indices, axes or other integers).
//
// ReduceMax/ReduceMin/GlobalMaxPool: the gradient goes to the positions equal to the maximum (minimum), divided
// evenly among ties (as torch.amax/amin; torch.max(dim) would give it all to one index instead).
import { ReplensError } from '../../errors';
import type { NodeProto } from '../../onnx/proto';
import type { GradContext, GradRule } from '../context';

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);
const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);
const norm = (a: number, r: number) => (a < 0 ? a + r : a);

/** Reads a constant integer input of a node; throws when its values are not known. */
function constInts(ctx: GradContext, node: NodeProto, i: number, what: string): number[] {
  const v = ctx.ints(node.input[i]);
  if (!v)
    throw new ReplensError(
      'E_UNSUPPORTED_OP',
      `gradient of ${node.opType} '${node.name || node.output[0]}': ` +
        `the ${what} input '${node.input[i]}' has no known value`,
    );
  return v;
}

/** An optional integer input (absent or empty name → null). */
function optInts(ctx: GradContext, node: NodeProto, i: number, what: string): number[] | null {
  return node.input[i] ? constInts(ctx, node, i, what) : null;
}

/** A tensor of zeros of the given dims and element type (a broadcast scalar: no large constant). */
function zeros(ctx: GradContext, dims: number[], elemType: number): string {
  return ctx.declare(ctx.op('Expand', [ctx.scalar(0, elemType), ctx.int64s(dims, 'shape')]), dims, elemType);
}

/** Gradient of an op that only changes the shape: dy reshaped to the input's shape. */
const reshapeBack: GradRule = (ctx, { node, dy, needs }) =>
  node.input.map((x, i) => (i === 0 && needs[0] && dy[0] ? ctx.reshape(dy[0], ctx.shape(x)) : null));

const transpose: GradRule = (ctx, { node, dy, needs }) => {
  if (!needs[0] || !dy[0]) return [null];
  const r = ctx.shape(node.input[0]).length;
  const perm = ctx.attrInts(node, 'perm', null) ?? range(r).reverse();
  const inv = new Array<number>(r);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return [ctx.op('Transpose', [dy[0]], { perm: inv })];
};

const concat: GradRule = (ctx, { node, dy, needs }) => {
  const g = dy[0];
  if (!g) return node.input.map(() => null);
  const r = ctx.shape(node.output[0]).length;
  const axis = norm(ctx.attrInt(node, 'axis', 0), r);
  let offset = 0;
  return node.input.map((x, i) => {
    const size = x ? ctx.shape(x)[axis] : 0;
    const start = offset;
    offset += size;
    if (!needs[i]) return null;
    return ctx.op('Slice', [
      g,
      ctx.int64s([start], 'starts'),
      ctx.int64s([start + size], 'ends'),
      ctx.int64s([axis], 'axes'),
    ]);
  });
};

/** Sizes of Split's outputs along the axis: 'split' attribute (< 13) or input (≥ 13), else equal parts (ceil, 18). */
function splitSizes(ctx: GradContext, node: NodeProto, d: number): number[] {
  const given = ctx.attrInts(node, 'split', null) ?? (node.input[1] ? constInts(ctx, node, 1, 'split') : null);
  if (given && given.length) return given;
  const n = node.output.length;
  const part = Math.ceil(d / n);
  return range(n).map((k) => Math.max(0, Math.min(part, d - k * part)));
}

const split: GradRule = (ctx, { node, dy, needs }) => {
  if (!needs[0]) return node.input.map(() => null);
  const x = node.input[0];
  const r = ctx.shape(x).length;
  const axis = norm(ctx.attrInt(node, 'axis', 0), r);
  const et = ctx.elemType(x);
  const sizes = splitSizes(ctx, node, ctx.shape(x)[axis]);
  const parts = node.output.map((_, k) => {
    if (dy[k]) return dy[k];
    const dims = [...ctx.shape(x)];
    dims[axis] = sizes[k];
    return zeros(ctx, dims, et); // an output with no gradient (often never computed by the probe)
  });
  const g = parts.length === 1 ? ctx.op('Identity', parts) : ctx.op('Concat', parts, { axis });
  return node.input.map((_, i) => (i === 0 ? g : null));
};

interface SliceAxis {
  axis: number;
  first: number;
  step: number;
  count: number;
}

/** Resolves Slice parameters (numpy semantics with ONNX clamping) into first index, step and count per axis. */
function sliceAxes(ctx: GradContext, node: NodeProto, dims: number[]): SliceAxis[] {
  const r = dims.length;
  let starts: number[], ends: number[], axes: number[] | null, steps: number[] | null;
  if (ctx.attr(node, 'starts')) {
    // opset < 10
    starts = ctx.attrInts(node, 'starts', [])!;
    ends = ctx.attrInts(node, 'ends', [])!;
    axes = ctx.attrInts(node, 'axes', null);
    steps = null;
  } else {
    starts = constInts(ctx, node, 1, 'starts');
    ends = constInts(ctx, node, 2, 'ends');
    axes = optInts(ctx, node, 3, 'axes');
    steps = optInts(ctx, node, 4, 'steps');
  }
  const out: SliceAxis[] = [];
  starts.forEach((s0, k) => {
    const axis = norm(axes ? axes[k] : k, r);
    const step = steps ? steps[k] : 1;
    const d = dims[axis];
    let s = s0 < 0 ? s0 + d : s0,
      e = ends[k] < 0 ? ends[k] + d : ends[k];
    let count: number;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      count = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      count = Math.max(0, Math.ceil((s - e) / -step));
    }
    out.push({ axis, first: s, step, count });
  });
  return out;
}

/**
 * Slice's gradient: dy scattered back into zeros of the input's shape. Per axis with |step| > 1 (after reversing
 * negative steps) the values are spread with an Unsqueeze → Pad → Reshape → Slice (stride insertion), then one Pad
 * places the block at its offset. Only standard ops valid at opset 11.
 */
const slice: GradRule = (ctx, { node, dy, needs }) => {
  const none = node.input.map(() => null as string | null);
  if (!needs[0] || !dy[0]) return none;
  const x = node.input[0];
  const dims = ctx.shape(x),
    r = dims.length,
    et = ctx.elemType(x);
  const spec = sliceAxes(ctx, node, dims);
  if (spec.some((a) => a.count === 0)) {
    none[0] = zeros(ctx, dims, et);
    return none;
  }
  let g = dy[0];
  const cur = [...ctx.shape(node.output[0])];
  const begin = new Array<number>(r).fill(0),
    end = new Array<number>(r).fill(0);
  const sliced = new Set<number>();
  for (const { axis, first, step, count } of spec) {
    sliced.add(axis);
    let lo = first,
      s = step;
    if (step < 0) {
      // reverse the axis: the block then runs upwards from the last index taken
      g = ctx.op('Slice', [
        g,
        ctx.int64s([-1], 'starts'),
        ctx.int64s([-cur[axis] - 1], 'ends'),
        ctx.int64s([axis], 'axes'),
        ctx.int64s([-1], 'steps'),
      ]);
      lo = first + (count - 1) * step;
      s = -step;
    }
    if (s > 1 && count > 1) {
      const u = ctx.unsqueeze(g, [axis + 1]);
      const pads = new Array<number>(2 * (r + 1)).fill(0);
      pads[r + 1 + axis + 1] = s - 1;
      const p = ctx.op('Pad', [u, ctx.int64s(pads, 'pads')], { mode: 'constant' });
      const spread = [...cur];
      spread[axis] = count * s;
      const flat = ctx.reshape(p, spread);
      g = ctx.op('Slice', [
        flat,
        ctx.int64s([0], 'starts'),
        ctx.int64s([(count - 1) * s + 1], 'ends'),
        ctx.int64s([axis], 'axes'),
      ]);
    }
    const len = (count - 1) * s + 1;
    cur[axis] = len;
    begin[axis] = lo;
    end[axis] = dims[axis] - lo - len;
  }
  for (let a = 0; a < r; a++)
    if (!sliced.has(a) && cur[a] !== dims[a])
      throw new ReplensError('E_INTERNAL', `gradient of Slice '${node.name}': axis ${a} size mismatch`);
  if (begin.some((v) => v) || end.some((v) => v))
    g = ctx.op('Pad', [g, ctx.int64s([...begin, ...end], 'pads')], { mode: 'constant' });
  none[0] = g;
  return none;
};

/** Pad (mode 'constant', negative pads crop): dx = dy cropped back (and zero-padded where the forward cropped). */
const pad: GradRule = (ctx, { node, dy, needs }) => {
  const none = node.input.map(() => null as string | null);
  if (!dy[0] || !(needs[0] || needs[2])) return none;
  const mode = ctx.attrString(node, 'mode', 'constant');
  if (mode !== 'constant')
    throw new ReplensError(
      'E_UNSUPPORTED_OP',
      `no gradient rule for Pad '${node.name || node.output[0]}' ` +
        `with mode '${mode}' (only 'constant' padding is supported)`,
    );
  const x = node.input[0];
  const dims = ctx.shape(x),
    r = dims.length;
  const raw = ctx.attr(node, 'pads') ? ctx.attrInts(node, 'pads', [])! : constInts(ctx, node, 1, 'pads');
  const axes = (optInts(ctx, node, 3, 'axes') ?? range(r)).map((a) => norm(a, r));
  const b = new Array<number>(r).fill(0),
    e = new Array<number>(r).fill(0);
  axes.forEach((a, k) => {
    b[a] = raw[k];
    e[a] = raw[k + axes.length];
  });
  const out = ctx.shape(node.output[0]);
  let inner = dy[0];
  const sAxes = range(r).filter((a) => b[a] > 0 || e[a] > 0);
  if (sAxes.length) {
    inner = ctx.op('Slice', [
      inner,
      ctx.int64s(
        sAxes.map((a) => Math.max(0, b[a])),
        'starts',
      ),
      ctx.int64s(
        sAxes.map((a) => out[a] - Math.max(0, e[a])),
        'ends',
      ),
      ctx.int64s(sAxes, 'axes'),
    ]);
  }
  if (needs[0]) {
    const crop = [...b.map((v) => Math.max(0, -v)), ...e.map((v) => Math.max(0, -v))];
    none[0] = crop.some((v) => v)
      ? ctx.op('Pad', [inner, ctx.int64s(crop, 'pads')], { mode: 'constant' })
      : inner === dy[0]
        ? ctx.op('Identity', [inner])
        : inner;
  }
  if (needs[2] && node.input[2]) {
    // d/d constant_value = Σ dy over the padded positions
    const total = ctx.reduceSum(dy[0], range(r), false);
    const kept = ctx.reduceSum(inner, range(r), false);
    none[2] = ctx.reshape(ctx.op('Sub', [total, kept]), ctx.shape(node.input[2]));
  }
  return none;
};

const expand: GradRule = (ctx, { node, dy, needs }) => {
  if (!needs[0] || !dy[0]) return node.input.map(() => null);
  return [ctx.reduceTo(dy[0], ctx.shape(node.output[0]), ctx.shape(node.input[0])), null];
};

/** Tile: dy viewed as [r0, d0, r1, d1, …], summed over the repeat axes. */
const tile: GradRule = (ctx, { node, dy, needs }) => {
  if (!needs[0] || !dy[0]) return node.input.map(() => null);
  const dims = ctx.shape(node.input[0]);
  const reps = constInts(ctx, node, 1, 'repeats');
  if (reps.every((v) => v === 1)) return [ctx.op('Identity', [dy[0]]), null];
  const view = ctx.reshape(
    dy[0],
    dims.flatMap((d, i) => [reps[i], d]),
  );
  const s = ctx.reduceSum(
    view,
    range(dims.length).map((i) => 2 * i),
    false,
  );
  return [ctx.reshape(s, dims), null];
};

/**
 * Gather (constant indices): dx[…, j, …] = Σ_{k: idx[k] = j} dy[…, k, …]. At opset ≥ 16 a ScatterND with
 * reduction 'add' along the gathered axis (moved to the front); below, a one-hot [dim, nIdx] MatMul.
 */
const gather: GradRule = (ctx, { node, dy, needs }) => {
  if (!needs[0] || !dy[0]) return node.input.map(() => null);
  const x = node.input[0];
  const dims = ctx.shape(x),
    et = ctx.elemType(x);
  const axis = norm(ctx.attrInt(node, 'axis', 0), dims.length);
  const d = dims[axis];
  const idx = constInts(ctx, node, 1, 'indices').map((v) => norm(v, d));
  const pre = prod(dims.slice(0, axis)),
    post = prod(dims.slice(axis + 1)),
    n = idx.length;
  if (n === 0) return [zeros(ctx, dims, et), null];
  const g3 = ctx.reshape(dy[0], [pre, n, post]);
  let out: string;
  if (ctx.opset >= 16) {
    const upd = ctx.op('Transpose', [g3], { perm: [1, 0, 2] });
    const indices = ctx.constant(idx, [n, 1], 7, 'indices');
    const sc = ctx.op('ScatterND', [zeros(ctx, [d, pre, post], et), indices, upd], { reduction: 'add' });
    out = ctx.op('Transpose', [sc], { perm: [1, 0, 2] });
  } else {
    const onehot = new Array<number>(d * n).fill(0);
    idx.forEach((j, k) => {
      onehot[j * n + k] = 1;
    });
    out = ctx.op('MatMul', [ctx.constant(onehot, [d, n], et, 'onehot'), g3]);
  }
  return [ctx.reshape(out, dims), null];
};

/** Reduced axes of a Reduce* node (attribute or input form), or null for "reduce nothing" (noop_with_empty_axes). */
function reduceAxes(ctx: GradContext, node: NodeProto, r: number): number[] | null {
  let axes = ctx.attrInts(node, 'axes', null);
  if (!axes && node.input[1]) axes = constInts(ctx, node, 1, 'axes');
  if (!axes || !axes.length) return ctx.attrInt(node, 'noop_with_empty_axes', 0) ? null : range(r);
  return [...new Set(axes.map((a) => norm(a, r)))].sort((a, b) => a - b);
}

interface Reduction {
  x: string;
  dims: number[];
  et: number;
  axes: number[];
  keep: number[];
  dyk: string;
}

/** Common part of the Reduce* rules: dy reshaped to the keepdims shape (null when the node is a no-op). */
function reduction(ctx: GradContext, node: NodeProto, dy: string): Reduction | null {
  const x = node.input[0];
  const dims = ctx.shape(x);
  const axes = reduceAxes(ctx, node, dims.length);
  if (!axes) return null;
  const keep = dims.map((d, i) => (axes.includes(i) ? 1 : d));
  return { x, dims, et: ctx.elemType(x), axes, keep, dyk: ctx.reshape(dy, keep) };
}

function reduceRule(f: (ctx: GradContext, node: NodeProto, r: Reduction) => string): GradRule {
  return (ctx, { node, dy, needs }) => {
    const none = node.input.map(() => null as string | null);
    if (!needs[0] || !dy[0]) return none;
    const r = reduction(ctx, node, dy[0]);
    none[0] = r ? f(ctx, node, r) : ctx.op('Identity', [dy[0]]);
    return none;
  };
}

const expandTo = (ctx: GradContext, t: string, dims: number[]) => ctx.op('Expand', [t, ctx.int64s(dims, 'shape')]);

/** Mask of the extreme positions (x == y), divided by the number of ties along the reduced axes. */
function tieMask(ctx: GradContext, x: string, yk: string, axes: number[], et: number): string {
  const mask = ctx.op('Cast', [ctx.op('Equal', [x, yk])], { to: et });
  const count = ctx.reduceSum(mask, axes, true);
  return ctx.op('Div', [mask, count]);
}

const reduceExtreme = reduceRule((ctx, node, r) => {
  const yk = ctx.reshape(node.output[0], r.keep);
  return ctx.op('Mul', [tieMask(ctx, r.x, yk, r.axes, r.et), r.dyk]);
});

export const SHAPE_RULES: Record<string, GradRule> = {
  Constant: () => [],
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  Expand: expand,
  Tile: tile,
  Gather: gather,
  ReduceSum: reduceRule((ctx, _n, r) => expandTo(ctx, r.dyk, r.dims)),
  ReduceMean: reduceRule((ctx, _n, r) => {
    const n = prod(r.axes.map((a) => r.dims[a]));
    return expandTo(ctx, ctx.op('Div', [r.dyk, ctx.scalar(n, r.et)]), r.dims);
  }),
  ReduceMax: reduceExtreme,
  ReduceMin: reduceExtreme,
  // y = Σ x²: dx = 2x·dy
  ReduceSumSquare: reduceRule((ctx, _n, r) => ctx.op('Mul', [ctx.op('Mul', [r.x, ctx.scalar(2, r.et)]), r.dyk])),
  // y = √Σx²: dx = x/y·dy (0 where y = 0, the subgradient PyTorch's norm uses)
  ReduceL2: reduceRule((ctx, node, r) => {
    const yk = ctx.reshape(node.output[0], r.keep);
    const safe = ctx.op('Add', [yk, ctx.op('Cast', [ctx.op('Equal', [yk, ctx.scalar(0, r.et)])], { to: r.et })]);
    return ctx.op('Mul', [ctx.op('Div', [r.x, safe]), r.dyk]);
  }),
  // y = Σ|x|: dx = sign(x)·dy
  ReduceL1: reduceRule((ctx, _n, r) => ctx.op('Mul', [ctx.op('Sign', [r.x]), r.dyk])),
  // y = log Σ exp x: dx = exp(x − y)·dy
  ReduceLogSumExp: reduceRule((ctx, node, r) => {
    const yk = ctx.reshape(node.output[0], r.keep);
    return ctx.op('Mul', [ctx.op('Exp', [ctx.op('Sub', [r.x, yk])]), r.dyk]);
  }),
  GlobalAveragePool: (ctx, { node, dy, needs }) => {
    if (!needs[0] || !dy[0]) return [null];
    const dims = ctx.shape(node.input[0]);
    const s = prod(dims.slice(2));
    return [expandTo(ctx, ctx.op('Div', [dy[0], ctx.scalar(s, ctx.elemType(node.input[0]))]), dims)];
  },
  GlobalMaxPool: (ctx, { node, dy, needs }) => {
    if (!needs[0] || !dy[0]) return [null];
    const x = node.input[0];
    const dims = ctx.shape(x);
    return [ctx.op('Mul', [tieMask(ctx, x, node.output[0], range(dims.length - 2, 2), ctx.elemType(x)), dy[0]])];
  },
};
