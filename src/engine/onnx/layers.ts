// The layer listing: one row per node with its output shape, parameter count and PyTorch module path.
import { num, type ModelProto, type NodeProto } from './proto';
import { elementCount } from './tensor';
import { feedInputs, initializerNames, valueInfoOf, type Dim } from './graph';

const FLOAT_TYPES = new Set([1, 10, 11, 16]); // float, float16, double, bfloat16

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
  /**
   * PyTorch module path, e.g. 'layer1.0.conv1'; '' for the root module; null when the model does not say. Read from
   * the node's `pkg.torch.onnx.name_scopes` metadata (torch's dynamo exporter, the default since torch 2.9) or from
   * its scoped name (the TorchScript exporter).
   */
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
    else if (parts.length && s.startsWith(parts[parts.length - 1] + '.'))
      parts.push(...s.slice(parts[parts.length - 1].length + 1).split('.'));
    else parts.push(s);
  }
  return parts.join('.');
}

/** Strings of a Python list literal, as torch writes it with repr(): ['', 'layer1', 'layer1.0']. */
export function parsePythonStrings(text: string): string[] | null {
  const t = text.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) return null;
  const out: string[] = [];
  const re = /\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*(,|$)/y;
  const body = t.slice(1, -1);
  re.lastIndex = 0;
  while (re.lastIndex < body.length) {
    const start = re.lastIndex;
    const m = re.exec(body);
    if (!m || m.index !== start) return body.slice(start).trim() === '' ? out : null;
    const raw = m[1] ?? m[2];
    out.push(raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c)));
    if (m[3] === '') break;
  }
  return out;
}

const NAME_SCOPES = 'pkg.torch.onnx.name_scopes';

/**
 * The module path in torch's dynamo-exporter metadata: `name_scopes` lists the cumulative module paths from the
 * root ('') down to the node's own name (the FX node, e.g. 'linear_8'), so the module is the entry before the last.
 */
export function dynamoModulePath(node: NodeProto): string | null {
  const entry = node.metadataProps?.find((p) => p.key === NAME_SCOPES);
  if (!entry) return null;
  const scopes = parsePythonStrings(entry.value);
  if (!scopes || scopes.length < 2) return scopes?.length === 1 ? '' : null;
  return scopes[scopes.length - 2];
}

/** The layer listing. `shapes` (from `tensorShapes`) fills output shapes the model does not declare. */
export function listLayers(
  model: ModelProto,
  shapes?: Map<string, Dim[]>,
  opts: { constants?: boolean } = {},
): ModelSummary {
  const graph = model.graph!;
  const inits = new Map(graph.initializer.map((t) => [t.name, elementCount(t)]));
  const initNames = initializerNames(graph);
  // Weights stored as Constant nodes (Paddle and other exporters) are parameters too: floating-point constants of
  // more than one element. Small integer constants (shapes, axes) are not.
  for (const n of graph.node) {
    if (n.opType !== 'Constant' || n.domain || n.output.length !== 1) continue;
    const t = n.attribute.find((a) => a.name === 'value')?.t;
    if (t && FLOAT_TYPES.has(t.dataType) && elementCount(t) > 1) {
      inits.set(n.output[0], elementCount(t));
      initNames.add(n.output[0]);
    }
  }
  const declared = new Map<string, Dim[] | null>();
  for (const v of [...graph.valueInfo, ...graph.input, ...graph.output])
    declared.set(v.name, valueInfoOf(v)?.shape ?? null);
  const all: LayerInfo[] = graph.node.map((n, index) => {
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
      module: dynamoModulePath(n) ?? torchModulePath(n.name),
      index,
    };
  });
  // Constant rows are data, not layers: listed only on request (`replens layers --constants`).
  const layers = opts.constants ? all : all.filter((l) => !(l.op === 'Constant' && !l.domain));
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
    inputs: feedInputs(graph).map((i) => ({
      name: i.name,
      type: valueInfoOf(i)?.elemType ?? 0,
      shape: shapes?.get(i.name) ?? valueInfoOf(i)?.shape ?? null,
    })),
    outputs: graph.output.map((o) => ({ name: o.name, shape: shapes?.get(o.name) ?? valueInfoOf(o)?.shape ?? null })),
    opset: opset ? num(opset.version) : 0,
    irVersion: num(model.irVersion),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    totalParams,
    layers,
  };
}

/**
 * Module path → the module's output: the first output of the last node (in graph order) inside the module or its
 * children. Keys are every module and container (layer1, layer1.0, layer1.0.conv1). A module called more than once
 * gives the output of its last call.
 */
export function moduleOutputsOf(layers: LayerInfo[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of layers) {
    if (!l.module || !l.output) continue;
    const parts = l.module.split('.');
    for (let k = 1; k <= parts.length; k++) out.set(parts.slice(0, k).join('.'), l.output);
  }
  return out;
}

export function formatShape(shape: Dim[] | null): string {
  if (!shape) return '?';
  return shape.map((d) => (d === null ? '?' : String(d))).join('×');
}
