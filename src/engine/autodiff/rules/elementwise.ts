// Gradient rules for the elementwise op family: arithmetic with numpy broadcasting (Add, Sub, Mul, Div, Pow, Sum,
// Mean, Max, Min, Where), unary math (Neg, Abs, Exp, Log, Sqrt, Reciprocal, Erf), activations (Sigmoid, Tanh,
// LeakyRelu, PRelu, Clip, HardSigmoid, HardSwish, Gelu, Softplus, Elu, Selu, Mish), Softmax / LogSoftmax, and Cast.
// Relu, Identity and Dropout live in basic.ts. Every constant takes the element type of the tensor it combines with
// (float or double), and every gradient of a broadcast operand is summed back to the operand's shape (reduceTo).
//
// Conventions at kinks and ties (chosen to match PyTorch's backward formulas):
//   Abs         d|x|/dx = sign(x), 0 at x = 0.
//   LeakyRelu   slope 1 for x > 0, alpha for x ≤ 0 (alpha at 0).
//   PRelu       slope 1 for x > 0, the slope for x ≤ 0; dslope = x·dy where x ≤ 0 (0 at x = 0).
//   Elu / Selu  the negative branch (alpha·eˣ, scaled by gamma for Selu) for x ≤ 0.
//   Clip        gradient passes where min ≤ x ≤ max (inclusive, as torch.clamp); a tensor min gets dy where x < min,
//               a tensor max where x > max.
//   HardSigmoid gradient alpha strictly inside 0 < alpha·x + beta < 1 (torch's hardsigmoid: −3 < x < 3).
//   HardSwish   0 for x < −3, (2x + 3)/6 for −3 ≤ x ≤ 3, 1 for x > 3 (torch's hardswish_backward).
//   Max / Min   ties split the gradient equally among the tied operands (torch.maximum/minimum give dy/2 each).
//   Pow         the exponent gradient x^b·ln(x)·dy is taken as 0 where x = 0 (torch's pow_backward_exponent).
import type { GradContext, GradRule, RuleArgs } from '../context';
import type { NodeProto } from '../../onnx/proto';

type Grads = (string | null)[];

const FLOAT_TYPES = new Set([1, 10, 11, 16]); // float, float16, double, bfloat16
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);
const nulls = (node: NodeProto): Grads => node.input.map(() => null);

/** The first (and only) output gradient of a unary op, or null when nothing is asked. */
function unaryDy({ dy, needs }: RuleArgs): string | null {
  return needs[0] && dy[0] ? dy[0] : null;
}

/** Casts a boolean mask to `et` (1 where true, 0 elsewhere). */
function maskOf(ctx: GradContext, bool: string, et: number): string {
  return ctx.op('Cast', [bool], { to: et });
}

/** a ≥ b written with ops available at every opset ≥ 11 (GreaterOrEqual is opset 12). */
function geq(ctx: GradContext, a: string, b: string): string {
  return ctx.op('Not', [ctx.op('Less', [a, b])]);
}
function leq(ctx: GradContext, a: string, b: string): string {
  return ctx.op('Not', [ctx.op('Greater', [a, b])]);
}

/** Sums a gradient with the node output's shape back to input `i`'s shape. */
function toInput(ctx: GradContext, node: NodeProto, g: string, i: number): string {
  return ctx.reduceTo(g, ctx.shape(node.output[0]), ctx.shape(node.input[i]));
}

/** Rule for a one-input op: `grad(ctx, x, y, dy, et, node)` returns dx (x the input, y the output, et x's type). */
function unary(
  grad: (ctx: GradContext, x: string, y: string, dy: string, et: number, node: NodeProto) => string,
): GradRule {
  return (ctx, a) => {
    const dy = unaryDy(a);
    if (!dy) return nulls(a.node);
    const x = a.node.input[0];
    const out = nulls(a.node);
    out[0] = grad(ctx, x, a.node.output[0], dy, ctx.elemType(x), a.node);
    return out;
  };
}

/** Σ over the trailing axes from `axis` on (Softmax/LogSoftmax reduction axes). */
function softmaxAxes(ctx: GradContext, node: NodeProto): number[] {
  const rank = ctx.shape(node.input[0]).length;
  if (ctx.opset >= 13) {
    let axis = ctx.attrInt(node, 'axis', -1);
    if (axis < 0) axis += rank;
    return [axis];
  }
  // Before opset 13 the input is coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])]: the softmax runs over
  // every axis from `axis` on.
  let axis = ctx.attrInt(node, 'axis', 1);
  if (axis < 0) axis += rank;
  return range(rank - axis, axis);
}

// ---------------------------------------------------------------- binary arithmetic

const add: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0]) return out;
  for (const i of [0, 1]) if (needs[i]) out[i] = toInput(ctx, node, dy[0], i);
  return out;
};

const sub: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0]) return out;
  if (needs[0]) out[0] = toInput(ctx, node, dy[0], 0);
  if (needs[1]) out[1] = toInput(ctx, node, ctx.op('Neg', [dy[0]]), 1);
  return out;
};

const mul: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0]) return out;
  const [a, b] = node.input;
  if (needs[0]) out[0] = toInput(ctx, node, ctx.op('Mul', [dy[0], b]), 0);
  if (needs[1]) out[1] = toInput(ctx, node, ctx.op('Mul', [dy[0], a]), 1);
  return out;
};

// y = a / b: da = dy / b, db = −dy·a/b² = −(dy·y)/b.
const div: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0]) return out;
  const b = node.input[1],
    y = node.output[0];
  if (needs[0]) out[0] = toInput(ctx, node, ctx.op('Div', [dy[0], b]), 0);
  if (needs[1]) out[1] = toInput(ctx, node, ctx.op('Neg', [ctx.op('Div', [ctx.op('Mul', [dy[0], y]), b])]), 1);
  return out;
};

// z = x^b: dx = b·x^(b−1)·dy, db = x^b·ln(x)·dy (0 where x = 0). The exponent may be of another (even integer) type.
const pow: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0]) return out;
  const [x, b] = node.input;
  const z = node.output[0];
  const et = ctx.elemType(x);
  const bx = ctx.elemType(b) === et ? b : ctx.op('Cast', [b], { to: et });
  if (needs[0]) {
    const bm1 = ctx.op('Sub', [bx, ctx.scalar(1, et)]);
    const local = ctx.op('Mul', [bx, ctx.op('Pow', [x, bm1])]);
    out[0] = toInput(ctx, node, ctx.op('Mul', [dy[0], local]), 0);
  }
  if (needs[1]) {
    const zero = ctx.scalar(0, et);
    const zl = ctx.op('Where', [ctx.op('Equal', [x, zero]), zero, ctx.op('Mul', [z, ctx.op('Log', [x])])]);
    let g = toInput(ctx, node, ctx.op('Mul', [dy[0], zl]), 1);
    const bt = ctx.elemType(b);
    if (bt !== et) g = ctx.op('Cast', [g], { to: bt });
    out[1] = g;
  }
  return out;
};

// ---------------------------------------------------------------- n-ary

const sumRule: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0]) return out;
  node.input.forEach((_, i) => {
    if (needs[i]) out[i] = toInput(ctx, node, dy[0]!, i);
  });
  return out;
};

const meanRule: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0]) return out;
  const et = ctx.elemType(node.output[0]);
  const g = ctx.op('Mul', [dy[0], ctx.scalar(1 / node.input.length, et)]);
  node.input.forEach((_, i) => {
    if (needs[i]) out[i] = toInput(ctx, node, g, i);
  });
  return out;
};

/** Max/Min: dy goes to the operand(s) equal to the result; ties share it equally. */
const selectRule: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0]) return out;
  if (node.input.length === 1) return [needs[0] ? dy[0] : null];
  const y = node.output[0];
  const et = ctx.elemType(y);
  const masks = node.input.map((x) => maskOf(ctx, ctx.op('Equal', [x, y]), et));
  const share = ctx.op('Div', [dy[0], ctx.op('Sum', masks)]); // every position has ≥ 1 selected operand
  node.input.forEach((_, i) => {
    if (needs[i]) out[i] = toInput(ctx, node, ctx.op('Mul', [share, masks[i]]), i);
  });
  return out;
};

const where: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0]) return out;
  const cond = node.input[0];
  const zero = ctx.scalar(0, ctx.elemType(node.output[0]));
  if (needs[1]) out[1] = toInput(ctx, node, ctx.op('Where', [cond, dy[0], zero]), 1);
  if (needs[2]) out[2] = toInput(ctx, node, ctx.op('Where', [cond, zero, dy[0]]), 2);
  return out;
};

// ---------------------------------------------------------------- unary math

const SQRT_PI = Math.sqrt(Math.PI);

const UNARY: Record<string, GradRule> = {
  Neg: unary((ctx, _x, _y, dy) => ctx.op('Neg', [dy])),
  Abs: unary((ctx, x, _y, dy) => ctx.op('Mul', [dy, ctx.op('Sign', [x])])),
  Exp: unary((ctx, _x, y, dy) => ctx.op('Mul', [dy, y])),
  Log: unary((ctx, x, _y, dy) => ctx.op('Div', [dy, x])),
  // d√x = dy / (2√x)
  Sqrt: unary((ctx, _x, y, dy, et) => ctx.op('Div', [ctx.op('Mul', [dy, ctx.scalar(0.5, et)]), y])),
  // d(1/x) = −dy / x² = −dy·y²
  Reciprocal: unary((ctx, _x, y, dy) => ctx.op('Neg', [ctx.op('Mul', [dy, ctx.op('Mul', [y, y])])])),
  // d erf(x) = 2/√π · exp(−x²)
  Erf: unary((ctx, x, _y, dy, et) => {
    const e = ctx.op('Exp', [ctx.op('Neg', [ctx.op('Mul', [x, x])])]);
    return ctx.op('Mul', [dy, ctx.op('Mul', [e, ctx.scalar(2 / SQRT_PI, et)])]);
  }),
  // σ' = y(1 − y)
  Sigmoid: unary((ctx, _x, y, dy, et) =>
    ctx.op('Mul', [dy, ctx.op('Mul', [y, ctx.op('Sub', [ctx.scalar(1, et), y])])]),
  ),
  // tanh' = 1 − y²
  Tanh: unary((ctx, _x, y, dy, et) => ctx.op('Mul', [dy, ctx.op('Sub', [ctx.scalar(1, et), ctx.op('Mul', [y, y])])])),
  // softplus' = σ(x)
  Softplus: unary((ctx, x, _y, dy) => ctx.op('Mul', [dy, ctx.op('Sigmoid', [x])])),
};

// ---------------------------------------------------------------- activations

const ACTIVATIONS: Record<string, GradRule> = {
  LeakyRelu: unary((ctx, x, _y, dy, et, node) => {
    const alpha = ctx.attrFloat(node, 'alpha', 0.01);
    const pos = ctx.op('Greater', [x, ctx.scalar(0, et)]);
    return ctx.op('Where', [pos, dy, ctx.op('Mul', [dy, ctx.scalar(alpha, et)])]);
  }),
  Elu: unary((ctx, x, _y, dy, et, node) => {
    const alpha = ctx.attrFloat(node, 'alpha', 1);
    const pos = ctx.op('Greater', [x, ctx.scalar(0, et)]);
    const neg = ctx.op('Mul', [dy, ctx.op('Mul', [ctx.op('Exp', [x]), ctx.scalar(alpha, et)])]);
    return ctx.op('Where', [pos, dy, neg]);
  }),
  Selu: unary((ctx, x, _y, dy, et, node) => {
    const alpha = ctx.attrFloat(node, 'alpha', 1.67326319217681884765625);
    const gamma = ctx.attrFloat(node, 'gamma', 1.05070102214813232421875);
    const pos = ctx.op('Greater', [x, ctx.scalar(0, et)]);
    const local = ctx.op('Where', [
      pos,
      ctx.scalar(gamma, et),
      ctx.op('Mul', [ctx.op('Exp', [x]), ctx.scalar(alpha * gamma, et)]),
    ]);
    return ctx.op('Mul', [dy, local]);
  }),
  // y = clamp(alpha·x + beta, 0, 1): gradient alpha where 0 < y < 1 (strict, as torch).
  HardSigmoid: unary((ctx, _x, y, dy, et, node) => {
    const alpha = ctx.attrFloat(node, 'alpha', 0.2);
    const inside = ctx.op('And', [ctx.op('Greater', [y, ctx.scalar(0, et)]), ctx.op('Less', [y, ctx.scalar(1, et)])]);
    return ctx.op('Mul', [dy, ctx.op('Mul', [maskOf(ctx, inside, et), ctx.scalar(alpha, et)])]);
  }),
  // y = x·clamp(x/6 + 1/2, 0, 1): 0 below −3, (2x + 3)/6 on [−3, 3], 1 above 3 (torch's hardswish_backward).
  HardSwish: unary((ctx, x, _y, dy, et) => {
    const mid = maskOf(ctx, ctx.op('And', [geq(ctx, x, ctx.scalar(-3, et)), leq(ctx, x, ctx.scalar(3, et))]), et);
    const hi = maskOf(ctx, ctx.op('Greater', [x, ctx.scalar(3, et)]), et);
    const slope = ctx.op('Add', [ctx.op('Mul', [x, ctx.scalar(1 / 3, et)]), ctx.scalar(0.5, et)]);
    return ctx.op('Mul', [dy, ctx.op('Add', [ctx.op('Mul', [mid, slope]), hi])]);
  }),
  Gelu: unary((ctx, x, _y, dy, et, node) => {
    const approx = ctx.attrString(node, 'approximate', 'none');
    const half = ctx.scalar(0.5, et),
      one = ctx.scalar(1, et);
    if (approx === 'tanh') {
      // y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³): y' = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
      const k = Math.sqrt(2 / Math.PI),
        c = 0.044715;
      const x2 = ctx.op('Mul', [x, x]);
      const u = ctx.op('Mul', [
        ctx.op('Mul', [x, ctx.op('Add', [one, ctx.op('Mul', [x2, ctx.scalar(c, et)])])]),
        ctx.scalar(k, et),
      ]);
      const t = ctx.op('Tanh', [u]);
      const du = ctx.op('Mul', [ctx.op('Add', [one, ctx.op('Mul', [x2, ctx.scalar(3 * c, et)])]), ctx.scalar(k, et)]);
      const a = ctx.op('Mul', [half, ctx.op('Add', [one, t])]);
      const b = ctx.op('Mul', [
        ctx.op('Mul', [half, x]),
        ctx.op('Mul', [ctx.op('Sub', [one, ctx.op('Mul', [t, t])]), du]),
      ]);
      return ctx.op('Mul', [dy, ctx.op('Add', [a, b])]);
    }
    // y = xΦ(x): y' = Φ(x) + x·φ(x), Φ(x) = ½(1 + erf(x/√2)), φ(x) = exp(−x²/2)/√(2π)
    const cdf = ctx.op('Mul', [
      half,
      ctx.op('Add', [one, ctx.op('Erf', [ctx.op('Mul', [x, ctx.scalar(Math.SQRT1_2, et)])])]),
    ]);
    const pdf = ctx.op('Mul', [
      ctx.op('Exp', [ctx.op('Mul', [ctx.op('Mul', [x, x]), ctx.scalar(-0.5, et)])]),
      ctx.scalar(1 / Math.sqrt(2 * Math.PI), et),
    ]);
    return ctx.op('Mul', [dy, ctx.op('Add', [cdf, ctx.op('Mul', [x, pdf])])]);
  }),
  // y = x·tanh(softplus(x)): y' = tanh(sp) + x·σ(x)·(1 − tanh²(sp))
  Mish: unary((ctx, x, _y, dy, et) => {
    // softplus written as relu(x) + log(1 + exp(−|x|)): stable, and onnxruntime has no double Softplus kernel.
    const sp = ctx.op('Add', [
      ctx.op('Relu', [x]),
      ctx.op('Log', [ctx.op('Add', [ctx.scalar(1, et), ctx.op('Exp', [ctx.op('Neg', [ctx.op('Abs', [x])])])])]),
    ]);
    const t = ctx.op('Tanh', [sp]);
    const sech2 = ctx.op('Sub', [ctx.scalar(1, et), ctx.op('Mul', [t, t])]);
    // x·(σ(x)·sech²), not (x·σ(x))·sech²: onnxruntime fuses Mul(x, Sigmoid(x)) into com.microsoft QuickGelu,
    // which has no double kernel.
    return ctx.op('Mul', [dy, ctx.op('Add', [t, ctx.op('Mul', [x, ctx.op('Mul', [ctx.op('Sigmoid', [x]), sech2])])])]);
  }),
};

// y = x for x > 0, slope·x otherwise (slope broadcast unidirectionally to x).
const prelu: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0]) return out;
  const [x, slope] = node.input;
  const et = ctx.elemType(x);
  const zero = ctx.scalar(0, et);
  const pos = ctx.op('Greater', [x, zero]);
  if (needs[0]) out[0] = toInput(ctx, node, ctx.op('Where', [pos, dy[0], ctx.op('Mul', [dy[0], slope])]), 0);
  if (needs[1]) out[1] = toInput(ctx, node, ctx.op('Where', [pos, zero, ctx.op('Mul', [dy[0], x])]), 1);
  return out;
};

// Clip (opset ≥ 11): min/max are optional inputs (absent or ''). Inclusive pass-through, as torch.clamp.
const clip: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0]) return out;
  const x = node.input[0];
  const et = ctx.elemType(x);
  const lo = node.input[1] || null,
    hi = node.input[2] || null;
  if (needs[0]) {
    const conds: string[] = [];
    if (lo) conds.push(geq(ctx, x, lo));
    if (hi) conds.push(leq(ctx, x, hi));
    if (!conds.length) out[0] = dy[0];
    else {
      const inside = conds.length === 2 ? ctx.op('And', conds) : conds[0];
      out[0] = ctx.op('Mul', [dy[0], maskOf(ctx, inside, et)]);
    }
  }
  if (lo && needs[1]) out[1] = toInput(ctx, node, ctx.op('Mul', [dy[0], maskOf(ctx, ctx.op('Less', [x, lo]), et)]), 1);
  if (hi && needs[2])
    out[2] = toInput(ctx, node, ctx.op('Mul', [dy[0], maskOf(ctx, ctx.op('Greater', [x, hi]), et)]), 2);
  return out;
};

// dx = y ⊙ (dy − Σ_axes dy ⊙ y)
const softmax: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0] || !needs[0]) return out;
  const y = node.output[0];
  const s = ctx.reduceSum(ctx.op('Mul', [dy[0], y]), softmaxAxes(ctx, node), true);
  out[0] = ctx.op('Mul', [y, ctx.op('Sub', [dy[0], s])]);
  return out;
};

// dx = dy − exp(y) ⊙ Σ_axes dy
const logSoftmax: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0] || !needs[0]) return out;
  const y = node.output[0];
  const s = ctx.reduceSum(dy[0], softmaxAxes(ctx, node), true);
  out[0] = ctx.op('Sub', [dy[0], ctx.op('Mul', [ctx.op('Exp', [y]), s])]);
  return out;
};

// Float ↔ float casts carry the gradient back in the input's type; casts to integer/bool types are not differentiable.
const cast: GradRule = (ctx, { node, dy, needs }) => {
  const out = nulls(node);
  if (!dy[0] || !needs[0]) return out;
  const to = ctx.attrInt(node, 'to', 0);
  const from = ctx.elemType(node.input[0]);
  if (!FLOAT_TYPES.has(to) || !FLOAT_TYPES.has(from)) return out;
  out[0] = to === from ? dy[0] : ctx.op('Cast', [dy[0]], { to: from });
  return out;
};

export const ELEMENTWISE_RULES: Record<string, GradRule> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Pow: pow,
  Sum: sumRule,
  Mean: meanRule,
  Max: selectRule,
  Min: selectRule,
  Where: where,
  ...UNARY,
  ...ACTIVATIONS,
  PRelu: prelu,
  Clip: clip,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  Cast: cast,
};
