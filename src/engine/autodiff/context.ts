// What a gradient rule sees while the backward graph is written: concrete shapes and element types of every
// forward tensor (the graph is specialised to the input shapes of one run), constant values where the forward
// pass has them (initializers, Constant nodes, shape subgraphs), and emitters that write backward nodes valid at
// the model's own opset (axes as attributes before opset 13, as inputs from 13; ReduceMean's from 18).
import { ReplensError } from '../errors';
import { make, onnx, type AttributeProto, type NodeProto, type TensorProto } from '../onnx/proto';
import { float32Tensor, int64Tensor } from '../onnx/tensor';

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] } | TensorProto;

/** A forward tensor as the probe run saw it. */
export interface ProbedTensor {
  dims: number[];
  /** ONNX element type (1 float, 11 double, 7 int64, 9 bool, …). */
  elemType: number;
  /** Values of small int64/int32 tensors (shape arithmetic), kept for rules that need them as constants. */
  ints?: number[];
  /** Values of small float tensors that do not depend on the differentiated inputs (e.g. Clip bounds). */
  floats?: number[];
}

export interface RuleArgs {
  node: NodeProto;
  /** Gradient tensor for each output of the node (null when no gradient flows into that output). */
  dy: (string | null)[];
  /** Which inputs need a gradient (false for constants, shapes, and inputs not on a path from `wrt`). */
  needs: boolean[];
}

/** Returns one gradient tensor name (or null) per input of the node. */
export type GradRule = (ctx: GradContext, a: RuleArgs) => (string | null)[];

function attribute(name: string, v: AttrValue): AttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return make.attribute({ name, type: A.INT, i: v });
  if (typeof v === 'string') return make.attribute({ name, type: A.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return make.attribute({ name, type: A.INTS, ints: v });
  if ('float' in v) return make.attribute({ name, type: A.FLOAT, f: v.float });
  if ('floats' in v) return make.attribute({ name, type: A.FLOATS, floats: v.floats });
  return make.attribute({ name, type: A.TENSOR, t: v });
}

export class GradContext {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;
  /** Name of the forward node whose rule is running (backward node names are derived from it). */
  current = 'grad';

  constructor(
    readonly opset: number,
    private readonly probed: Map<string, ProbedTensor>,
    private readonly constants: Map<string, TensorProto>,
  ) {}

  // ---- forward facts ----

  has(t: string): boolean {
    return this.probed.has(t);
  }

  /** Concrete dims of a forward tensor (or of a backward tensor registered with `declare`). */
  shape(t: string): number[] {
    const p = this.probed.get(t);
    if (!p) throw new ReplensError('E_INTERNAL', `gradient: no shape known for tensor '${t}'`);
    return p.dims;
  }

  elemType(t: string): number {
    const p = this.probed.get(t);
    if (!p) throw new ReplensError('E_INTERNAL', `gradient: no element type known for tensor '${t}'`);
    return p.elemType;
  }

  /** Records the shape/type of a tensor the backward graph creates, so later rules can ask for it. */
  declare(t: string, dims: number[], elemType: number): string {
    this.probed.set(t, { dims, elemType });
    return t;
  }

  /** Integer values of a forward tensor (initializer, Constant node, or shape arithmetic seen in the probe). */
  ints(t: string): number[] | null {
    const c = this.constants.get(t);
    if (c) {
      if (c.int64Data.length) return c.int64Data.map(Number);
      if (c.int32Data.length) return [...c.int32Data];
      if (c.rawData?.length && (c.dataType === 7 || c.dataType === 6)) {
        const b = c.rawData;
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const out: number[] = [];
        if (c.dataType === 7) for (let i = 0; i < b.byteLength; i += 8) out.push(Number(dv.getBigInt64(i, true)));
        else for (let i = 0; i < b.byteLength; i += 4) out.push(dv.getInt32(i, true));
        return out;
      }
      if (c.dims.length && c.dims.reduce((a: number, b) => a * Number(b), 1) === 0) return [];
    }
    return this.probed.get(t)?.ints ?? null;
  }

  /** Float values of a constant forward tensor, or null. */
  floats(t: string): number[] | null {
    return this.probed.get(t)?.floats ?? null;
  }

  /** The node's attribute, or undefined. */
  attr(node: NodeProto, name: string): AttributeProto | undefined {
    return node.attribute.find((a) => a.name === name);
  }
  attrInt(node: NodeProto, name: string, def: number): number {
    const a = this.attr(node, name);
    return a ? Number(a.i) : def;
  }
  attrInts(node: NodeProto, name: string, def: number[] | null): number[] | null {
    const a = this.attr(node, name);
    return a ? a.ints.map(Number) : def;
  }
  attrFloat(node: NodeProto, name: string, def: number): number {
    const a = this.attr(node, name);
    return a ? a.f : def;
  }
  attrString(node: NodeProto, name: string, def: string): string {
    const a = this.attr(node, name);
    return a ? new TextDecoder().decode(a.s) : def;
  }

  // ---- emitters ----

  fresh(hint: string): string {
    return `grad/${this.current}/${hint}_${this.counter++}`;
  }

  /** Writes one backward node; returns its output names (`outputs` of them). */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1, domain = ''): string[] {
    const name = this.fresh(op);
    const outs = Array.from({ length: outputs }, (_, k) => (outputs === 1 ? name : `${name}:${k}`));
    this.nodes.push(
      make.node({
        name,
        opType: op,
        domain,
        input: inputs,
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs;
  }

  /** Single-output shorthand. */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(op, inputs, attrs, 1)[0];
  }

  /** A 1-D int64 constant. */
  int64s(values: readonly number[], hint = 'ints'): string {
    const name = this.fresh(hint);
    this.initializers.push(int64Tensor(name, [values.length], values));
    return name;
  }

  /** A constant of `elemType` (float or double) with the given dims. */
  constant(values: ArrayLike<number>, dims: number[], elemType: number, hint = 'const'): string {
    const name = this.fresh(hint);
    if (elemType === onnx.TensorProto.DataType.DOUBLE) {
      this.initializers.push(make.tensor({ name, dims, dataType: elemType, doubleData: Array.from(values) }));
    } else if (elemType === onnx.TensorProto.DataType.FLOAT) {
      this.initializers.push(float32Tensor(name, dims, Float32Array.from(values)));
    } else if (elemType === onnx.TensorProto.DataType.INT64) {
      this.initializers.push(int64Tensor(name, dims, Array.from(values)));
    } else {
      throw new ReplensError('E_INTERNAL', `gradient: constants of ONNX type ${elemType} are not supported`);
    }
    return this.declare(name, dims, elemType);
  }

  /** A scalar of `elemType` (rank 0). */
  scalar(v: number, elemType: number): string {
    return this.constant([v], [], elemType, 'scalar');
  }

  // ---- opset-aware helpers ----

  /** ReduceSum over `axes`; at opset ≥ 13 axes are an input. */
  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    if (!axes.length) return x;
    if (this.opset >= 13) return this.op('ReduceSum', [x, this.int64s(axes, 'axes')], { keepdims: keepdims ? 1 : 0 });
    return this.op('ReduceSum', [x], { axes, keepdims: keepdims ? 1 : 0 });
  }

  /** ReduceMean over `axes`; at opset ≥ 18 axes are an input. */
  reduceMean(x: string, axes: number[], keepdims: boolean): string {
    if (this.opset >= 18) return this.op('ReduceMean', [x, this.int64s(axes, 'axes')], { keepdims: keepdims ? 1 : 0 });
    return this.op('ReduceMean', [x], { axes, keepdims: keepdims ? 1 : 0 });
  }

  unsqueeze(x: string, axes: number[]): string {
    if (this.opset >= 13) return this.op('Unsqueeze', [x, this.int64s(axes, 'axes')]);
    return this.op('Unsqueeze', [x], { axes });
  }

  squeeze(x: string, axes: number[]): string {
    if (this.opset >= 13) return this.op('Squeeze', [x, this.int64s(axes, 'axes')]);
    return this.op('Squeeze', [x], { axes });
  }

  reshape(x: string, dims: number[]): string {
    return this.op('Reshape', [x, this.int64s(dims, 'shape')]);
  }

  /**
   * Sums a gradient of broadcast shape `from` down to the operand's shape `to` (numpy broadcasting): leading
   * extra axes and axes where the operand had 1 are summed, then the result is reshaped to `to`.
   */
  reduceTo(g: string, from: number[], to: number[]): string {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return g;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) {
      if (i < lead) axes.push(i);
      else if (to[i - lead] === 1 && from[i] !== 1) axes.push(i);
    }
    const s = this.reduceSum(g, axes, true);
    return this.reshape(s, to);
  }

  /** Sum of several gradient contributions to one tensor. */
  sum(terms: string[]): string {
    if (terms.length === 1) return terms[0];
    return this.op('Sum', terms);
  }
}
