// The layer listing: one row per node with its output shape, parameter count and PyTorch module path.
import { num, type ModelProto } from './proto';
import { elementCount } from './tensor';
import { feedInputs, initializerNames, valueInfoOf, type Dim } from './graph';

export interface LayerInfo {
  /** Node name, or `<op>_<index>` when the exporter left it empty. */
  name: string;
  op: string;
  /** Operator domain ('' = ai.onnx). */
  domain: string;
  /** First output tensor (the activation a user captures). */
  output: string;
  /** All outputs. */
  outputs: string[];
  /** Non-parameter inputs (activations feeding the node). */
  inputs: string[];
  /** Output shape; dims are numbers, symbolic names (e.g. the batch 'N') or null when unknown. */
  shape: Dim[] | null;
  /** Elements in the initializers the node reads (weights, biases, BN statistics). */
  params: number;
  /** PyTorch module path from torch.onnx's scoped node names, e.g. 'layer1.0.conv1'; '' for the root module; null when the name carries no scope. */
  module: string | null;
  index: number;
}

export interface ModelSummary {
  inputs: { name: string; type: number; shape: Dim[] | null }[];
  outputs: { name: string; shape: Dim[] | null }[];
  opset: number;
  irVersion: number;
  producer: string;
  /** Unique parameter elements (an initializer shared by nodes counts once). */
  totalParams: number;
  layers: LayerInfo[];
}

/**
 * torch.onnx (≥ 1.13) names nodes after the module scope: `/layer1/layer1.0/conv1/Conv` is the Conv inside
 * module `layer1.0.conv1`. Children of containers appear as `parent.child` segments; the last segment is the op
 * (with an `_N` suffix when repeated). Returns null for names without a scope.
 */
export function torchModulePath(nodeName: string): string | null {
  if (!nodeName.startsWith('/')) return null;
  const segs = nodeName.slice(1).split('/');
  if (segs.length < 1 || segs.some((s) => s === '')) return null;
  const scopes = segs.slice(0, -1);
  const parts: string[] = [];
  for (const s of scopes) {
    const acc = parts.join('.');
    if (acc && s.startsWith(acc + '.')) parts.push(...s.slice(acc.length + 1).split('.'));
    else if (parts.length && s.startsWith(parts[parts.length - 1] + '.')) parts.push(...s.slice(parts[parts.length - 1].length + 1).split('.'));
    else parts.push(s);
  }
  return parts.join('.');
}

/** The layer listing. `shapes` (from `tensorShapes`) fills output shapes the model does not declare. */
export function listLayers(model: ModelProto, shapes?: Map<string, Dim[]>): ModelSummary {
  const graph = model.graph!;
  const inits = new Map(graph.initializer.map((t) => [t.name, elementCount(t)]));
  const initNames = initializerNames(graph);
  const declared = new Map<string, Dim[] | null>();
  for (const v of [...graph.valueInfo, ...graph.input, ...graph.output]) declared.set(v.name, valueInfoOf(v)?.shape ?? null);
  // Constant nodes hold parameters too when the exporter folded weights into them.
  const layers: LayerInfo[] = graph.node.map((n, index) => {
    const output = n.output[0] ?? '';
    let params = 0;
    for (const i of n.input) params += inits.get(i) ?? 0;
    return {
      name: n.name || `${n.opType}_${index}`,
      op: n.opType,
      domain: n.domain,
      output,
      outputs: [...n.output],
      inputs: n.input.filter((i) => i && !initNames.has(i)),
      shape: shapes?.get(output) ?? declared.get(output) ?? null,
      params,
      module: torchModulePath(n.name),
      index,
    };
  });
  // torch names a module's second call `relu_1`: map it back to `relu` when that module exists.
  const paths = new Set(layers.map((l) => l.module).filter((m): m is string => m !== null));
  for (const l of layers) {
    const m = l.module ? /^(.*)_(\d+)$/.exec(l.module) : null;
    if (m && paths.has(m[1])) l.module = m[1];
  }
  const opset = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  let totalParams = 0;
  for (const v of inits.values()) totalParams += v;
  return {
    inputs: feedInputs(graph).map((i) => ({ name: i.name, type: valueInfoOf(i)?.elemType ?? 0, shape: shapes?.get(i.name) ?? valueInfoOf(i)?.shape ?? null })),
    outputs: graph.output.map((o) => ({ name: o.name, shape: shapes?.get(o.name) ?? valueInfoOf(o)?.shape ?? null })),
    opset: opset ? num(opset.version) : 0,
    irVersion: num(model.irVersion),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    totalParams,
    layers,
  };
}

export function formatShape(shape: Dim[] | null): string {
  if (!shape) return '?';
  return shape.map((d) => (d === null ? '?' : String(d))).join('×');
}
