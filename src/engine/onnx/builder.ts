// A small ONNX graph builder: tests build their models with it, the benchmark builds a realistic conv net, and
// later the auxiliary networks are emitted with it. Weights come from a seeded generator so models are reproducible.
import {
  onnx,
  make,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto';
import { float32Tensor, int64Tensor } from './tensor';
import { makeValueInfo, type Dim } from './graph';

export type AttrValue = number | number[] | string | string[] | { float: number } | { floats: number[] } | TensorProto;

export function float(v: number): { float: number } {
  return { float: v };
}
export function floats(v: number[]): { floats: number[] } {
  return { floats: v };
}

function attribute(name: string, v: AttrValue): AttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number')
    return Number.isInteger(v)
      ? make.attribute({ name, type: A.INT, i: v })
      : make.attribute({ name, type: A.FLOAT, f: v });
  if (typeof v === 'string') return make.attribute({ name, type: A.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) {
    if (v.length && typeof v[0] === 'string')
      return make.attribute({
        name,
        type: A.STRINGS,
        strings: (v as string[]).map((s) => new TextEncoder().encode(s)),
      });
    const nums = v as number[];
    return nums.every(Number.isInteger)
      ? make.attribute({ name, type: A.INTS, ints: nums })
      : make.attribute({ name, type: A.FLOATS, floats: nums });
  }
  if ('float' in v) return make.attribute({ name, type: A.FLOAT, f: v.float });
  if ('floats' in v) return make.attribute({ name, type: A.FLOATS, floats: v.floats });
  return make.attribute({ name, type: A.TENSOR, t: v });
}

/** mulberry32: a tiny seeded PRNG, enough for reproducible weights. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class GraphBuilder {
  private nodes: NodeProto[] = [];
  private inits: TensorProto[] = [];
  private inputs: ValueInfoProto[] = [];
  private outputs: ValueInfoProto[] = [];
  private counter = 0;
  private readonly random: () => number;

  constructor(
    readonly name = 'graph',
    readonly opset = 13,
    seed = 1,
  ) {
    this.random = rng(seed);
  }

  input(name: string, shape: Dim[], elemType = onnx.TensorProto.DataType.FLOAT): string {
    this.inputs.push(makeValueInfo(name, { elemType, shape }));
    return name;
  }

  output(name: string, shape: Dim[] | null = null, elemType = onnx.TensorProto.DataType.FLOAT): string {
    this.outputs.push(makeValueInfo(name, { elemType, shape }));
    return name;
  }

  init(name: string, dims: number[], data: Float32Array | number[]): string {
    this.inits.push(float32Tensor(name, dims, data));
    return name;
  }

  initInt64(name: string, dims: number[], data: number[]): string {
    this.inits.push(int64Tensor(name, dims, data));
    return name;
  }

  /** Uniform(-scale, scale) weights, deterministic for the builder's seed. */
  randomInit(name: string, dims: number[], scale = 0.5, offset = 0): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = offset + (this.random() * 2 - 1) * scale;
    return this.init(name, dims, data);
  }

  /** Adds a node; returns its first output (more outputs with `outputs`). */
  node(
    op: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    opts: { name?: string; outputs?: string[] | number; domain?: string } = {},
  ): string {
    const id = this.counter++;
    const name = opts.name ?? `/${op}_${id}`;
    const outputs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, (_, k) => `${name}_output_${k}`);
    this.nodes.push(
      make.node({
        name,
        opType: op,
        domain: opts.domain ?? '',
        input: inputs,
        output: outputs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outputs[0];
  }

  build(extraOpsets: { domain: string; version: number }[] = []): ModelProto {
    return make.model({
      irVersion: 8,
      producerName: 'replens-builder',
      opsetImport: [make.opset('', this.opset), ...extraOpsets.map((o) => make.opset(o.domain, o.version))],
      graph: make.graph({
        name: this.name,
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      }),
    });
  }
}
