// Graph queries and surgery: tensor types and static shapes, exposing intermediate tensors as outputs, and
// cutting the subgraph between tensors (prefix up to a layer, suffix from a layer).
import { ReplensError, closest } from '../errors';
import { onnx, make, num, type GraphProto, type ModelProto, type NodeProto, type ValueInfoProto } from './proto';

/** A dimension: a number when static, the symbolic name (or null) when not. */
export type Dim = number | string | null;
export interface TensorInfo {
  elemType: number;
  shape: Dim[] | null;
}

export function valueInfoOf(v: ValueInfoProto): TensorInfo | null {
  const tt = v.type?.tensorType;
  if (!tt) return null;
  const shape = tt.shape
    ? tt.shape.dim.map((d): Dim =>
        d.dimValue !== null && d.dimValue !== undefined ? num(d.dimValue) : d.dimParam || null,
      )
    : null;
  return { elemType: tt.elemType ?? 0, shape };
}

/** Types and shapes the model declares: inputs, outputs, value_info and initializers. */
export function declaredTensors(graph: GraphProto): Map<string, TensorInfo> {
  const m = new Map<string, TensorInfo>();
  for (const list of [graph.valueInfo, graph.input, graph.output]) {
    for (const v of list) {
      const info = valueInfoOf(v);
      if (info) m.set(v.name, info);
    }
  }
  for (const t of graph.initializer) m.set(t.name, { elemType: t.dataType, shape: t.dims.map(num) });
  return m;
}

export function initializerNames(graph: GraphProto): Set<string> {
  return new Set(graph.initializer.map((t) => t.name));
}

/** Graph inputs that are fed at run time (older exporters also list initializers as inputs). */
export function feedInputs(graph: GraphProto): ValueInfoProto[] {
  const inits = initializerNames(graph);
  return graph.input.filter((i) => !inits.has(i.name));
}

/** Tensor name → index of the node producing it. */
export function producers(graph: GraphProto): Map<string, number> {
  const m = new Map<string, number>();
  graph.node.forEach((n, i) => {
    for (const o of n.output) if (o) m.set(o, i);
  });
  return m;
}

/** Outer-scope tensors a node reads, including those read inside its subgraphs (If, Loop, Scan). */
export function nodeInputs(node: NodeProto): string[] {
  const out = node.input.filter((i) => i !== '');
  for (const a of node.attribute) {
    for (const g of [a.g, ...a.graphs]) if (g) out.push(...outerReads(g));
  }
  return out;
}

function outerReads(g: GraphProto): string[] {
  const local = new Set<string>([...g.input.map((i) => i.name), ...g.initializer.map((t) => t.name)]);
  for (const n of g.node) for (const o of n.output) local.add(o);
  const reads: string[] = [];
  for (const n of g.node) for (const i of nodeInputs(n)) if (!local.has(i)) reads.push(i);
  for (const o of g.output) if (!local.has(o.name)) reads.push(o.name);
  return reads;
}

/** Every tensor name a run can produce or read: inputs, initializers and node outputs. */
export function allTensorNames(graph: GraphProto): string[] {
  const s = new Set<string>();
  for (const i of graph.input) s.add(i.name);
  for (const n of graph.node) for (const o of n.output) if (o) s.add(o);
  return [...s];
}

/** Throws E_UNKNOWN_TENSOR, with the closest names, for any name the graph does not have. */
export function requireTensors(graph: GraphProto, names: readonly string[]): void {
  const all = allTensorNames(graph);
  const known = new Set(all);
  for (const n of names) {
    if (!known.has(n)) {
      throw new ReplensError(
        'E_UNKNOWN_TENSOR',
        `unknown tensor '${n}'; closest: ${closest(n, all)
          .map((c) => `'${c}'`)
          .join(', ')} (see 'replens layers')`,
      );
    }
  }
}

export function makeValueInfo(name: string, info?: TensorInfo | null): ValueInfoProto {
  if (!info) return make.valueInfo({ name });
  const tensorType = onnx.TypeProto.Tensor.create({ elemType: info.elemType });
  if (info.shape) {
    tensorType.shape = onnx.TensorShapeProto.create({
      dim: info.shape.map((d) =>
        typeof d === 'number'
          ? onnx.TensorShapeProto.Dimension.create({ dimValue: d })
          : onnx.TensorShapeProto.Dimension.create(d ? { dimParam: d } : {}),
      ),
    });
  }
  return make.valueInfo({ name, type: onnx.TypeProto.create({ tensorType }) });
}

export interface CutOptions {
  /** Tensors fed at run time; the cut stops at them. Default: the model's own feed inputs. */
  inputs?: string[];
  /** Tensors the new model outputs. */
  outputs: string[];
  /** Extra nodes appended after the cut (e.g. reductions), reading any kept tensor. */
  extraNodes?: NodeProto[];
  /** Types for inputs and outputs whose declared info is missing. */
  types?: Map<string, TensorInfo>;
}

/**
 * A new model computing `outputs` from `inputs` with only the nodes needed, in the original order.
 * Initializers are shared with the source model (no copy). Fails, naming the tensor, when an output depends on a
 * graph input that is not among `inputs`.
 */
export function cutGraph(model: ModelProto, opts: CutOptions): ModelProto {
  const graph = model.graph!;
  const declared = declaredTensors(graph);
  const inits = new Map(graph.initializer.map((t) => [t.name, t]));
  const inputs = opts.inputs ?? feedInputs(graph).map((i) => i.name);
  const extra = opts.extraNodes ?? [];
  const extraProduced = new Set(extra.flatMap((n) => n.output));
  requireTensors(graph, [...inputs, ...opts.outputs.filter((o) => !extraProduced.has(o))]);
  const inputSet = new Set(inputs);
  const prod = producers(graph);
  const keepNodes = new Set<number>();
  const keepInits = new Set<string>();
  const usedInputs = new Set<string>();
  const graphInputs = new Set(feedInputs(graph).map((i) => i.name));
  const stack = [
    ...opts.outputs.filter((o) => !extraProduced.has(o)),
    ...extra.flatMap((n) => nodeInputs(n)).filter((i) => !extraProduced.has(i)),
  ];
  const seen = new Set<string>();
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    if (inputSet.has(t)) {
      usedInputs.add(t);
      continue;
    }
    if (inits.has(t)) {
      keepInits.add(t);
      continue;
    }
    const p = prod.get(t);
    if (p === undefined) {
      if (graphInputs.has(t))
        throw new ReplensError(
          'E_ARGUMENT',
          `the cut needs graph input '${t}', which is not among its inputs (${inputs.join(', ')})`,
        );
      throw new ReplensError('E_UNKNOWN_TENSOR', `tensor '${t}' is produced by no node`);
    }
    if (keepNodes.has(p)) continue;
    keepNodes.add(p);
    for (const i of nodeInputs(graph.node[p])) stack.push(i);
  }
  const typeOf = (name: string) => declared.get(name) ?? opts.types?.get(name) ?? null;
  const newInputs = inputs.map((name) => {
    const info = typeOf(name);
    if (!info)
      throw new ReplensError(
        'E_ARGUMENT',
        `cannot make '${name}' an input: its element type is unknown (run shape inference first)`,
      );
    return makeValueInfo(name, info);
  });
  // Models with IR < 4 list initializers as inputs too; keep them listed so old runtimes stay happy.
  const legacyInitInputs = graph.input.filter((i) => keepInits.has(i.name) && !inputSet.has(i.name));
  const newGraph = make.graph({
    name: graph.name,
    node: [...graph.node.filter((_, i) => keepNodes.has(i)), ...extra],
    initializer: graph.initializer.filter((t) => keepInits.has(t.name)),
    sparseInitializer: graph.sparseInitializer,
    input: [...newInputs, ...legacyInitInputs],
    output: opts.outputs.map((name) =>
      makeValueInfo(name, typeOf(name) ? { elemType: typeOf(name)!.elemType, shape: null } : null),
    ),
    valueInfo: graph.valueInfo.filter((v) => !opts.outputs.includes(v.name)),
  });
  return make.model({ ...model, graph: newGraph, metadataProps: model.metadataProps, opsetImport: model.opsetImport });
}

/** The model with extra tensors exposed as graph outputs (the original outputs are kept). */
export function exposeTensors(model: ModelProto, tensors: string[], keepOriginalOutputs = true): ModelProto {
  const graph = model.graph!;
  const outputs = keepOriginalOutputs ? [...graph.output.map((o) => o.name)] : [];
  for (const t of tensors) if (!outputs.includes(t)) outputs.push(t);
  return cutGraph(model, { outputs });
}

/** Prefix: everything up to (and including) the producer of `tensors`. */
export function prefixModel(model: ModelProto, tensors: string[]): ModelProto {
  return cutGraph(model, { outputs: tensors });
}

/** Suffix: the part of the graph that maps `from` tensors to the model's outputs (or `outputs`). */
export function suffixModel(
  model: ModelProto,
  from: string[],
  types: Map<string, TensorInfo>,
  outputs?: string[],
): ModelProto {
  const graph = model.graph!;
  return cutGraph(model, { inputs: from, outputs: outputs ?? graph.output.map((o) => o.name), types });
}

/** The default-domain opset version the model imports. */
export function opsetVersion(model: ModelProto): number {
  const o = model.opsetImport.find((x) => !x.domain || x.domain === 'ai.onnx');
  return o ? num(o.version) : 0;
}
