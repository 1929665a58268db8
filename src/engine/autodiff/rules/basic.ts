// Pass-through rules: Identity, inference-mode Dropout, Relu.
import type { GradRule } from '../context';

const identity: GradRule = (_ctx, { dy, needs }) => [needs[0] ? dy[0] : null];

export const BASIC_RULES: Record<string, GradRule> = {
  Identity: identity,
  // Inference form: y = x (the mask output, when requested, carries no gradient).
  Dropout: (_ctx, { dy, needs, node }) => node.input.map((_, i) => (i === 0 && needs[0] ? dy[0] : null)),
  // dx = dy · [x > 0] (the subgradient at 0 is 0, as PyTorch).
  Relu: (ctx, { node, dy, needs }) => {
    if (!needs[0] || !dy[0]) return [null];
    const x = node.input[0];
    const zero = ctx.scalar(0, ctx.elemType(x));
    const mask = ctx.op('Cast', [ctx.op('Greater', [x, zero])], { to: ctx.elemType(x) });
    return [ctx.op('Mul', [dy[0], mask])];
  },
};
