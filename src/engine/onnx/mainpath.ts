// The layers analysed by default: the outputs of the blocks on the model's main path. Taking every activation
// instead mixes the inside of residual branches and squeeze-and-excitation gates with block outputs, which turns
// depth curves into a sawtooth. The rule (README, Analyses):
//   1. Main path: a tensor every path from the input to the output goes through (a cut of the data-flow graph;
//      shape computations — Shape, Size, Constant and what is computed from them alone — do not count).
//   2. Blocks: with PyTorch module paths, each top-level module, or the numbered children of a top-level container
//      (layer1.0, features.3, classifier.1); a block's output is the output of its last node. Without module paths,
//      every main-path tensor produced by an activation, a pooling or a merge (Add, Concat).
//   3. Kept: block outputs on the main path that are not pure reshapes (Flatten, Reshape, Identity …), pooling at
//      the root (a global ReduceMean in forward()), and the graph outputs.
//   4. A tap from which the next tap is computed pointwise (activations, Mul/Add/Div with constants or with
//      itself, reshapes) is dropped: conv1 before relu, the Add before a block's final ReLU, fc before an Identity
//      named `output`, a Linear before a Hardswish that the exporter wrote as x · HardSigmoid(x).
import type { ModelProto, NodeProto } from './proto';
import { moduleOutputsOf, type LayerInfo } from './layers';

const ACTIVATIONS = new Set([
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Elu',
  'Selu',
  'Sigmoid',
  'Tanh',
  'HardSwish',
  'HardSigmoid',
  'Clip',
  'Gelu',
  'Mish',
  'Softplus',
  'Softsign',
  'Swish',
]);
const POOLS = new Set([
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'ReduceMean',
  'ReduceMax',
  'LpPool',
  'GlobalLpPool',
]);
const MERGES = new Set(['Add', 'Sum', 'Concat']);
const RESHAPES = new Set(['Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Identity', 'Transpose', 'Dropout']);
// Pointwise in the activations: what an activation is computed from (HardSwish = x · HardSigmoid(x), GELU from Erf).
const POINTWISE = new Set([
  ...ACTIVATIONS,
  ...RESHAPES,
  'Mul',
  'Div',
  'Add',
  'Sub',
  'Neg',
  'Abs',
  'Max',
  'Min',
  'Pow',
  'Sqrt',
  'Exp',
  'Log',
  'Erf',
  'Cast',
]);
const SHAPE_OPS = new Set(['Shape', 'Size', 'Constant', 'ConstantOfShape']);

/**
 * Activation and pooling outputs in graph order, then the graph outputs: the full selection (`--layers activations`).
 */
export function activationTaps(layers: LayerInfo[], outputs: string[]): string[] {
  const taps = layers.filter((l) => ACTIVATIONS.has(l.op) || POOLS.has(l.op)).map((l) => l.output);
  for (const o of outputs) if (!taps.includes(o)) taps.push(o);
  return taps;
}

/** Tensors computed from shapes and constants only: they carry no activations and never block a cut. */
function shapeTensors(model: ModelProto): Set<string> {
  const g = model.graph!;
  const s = new Set<string>(g.initializer.map((t) => t.name));
  s.add('');
  for (const n of g.node) {
    if (SHAPE_OPS.has(n.opType) || n.input.every((i) => s.has(i))) for (const o of n.output) s.add(o);
  }
  return s;
}

/** Main-path tensors: after their producer runs (graph order is topological), they are the only live activation. */
export function mainPathTensors(model: ModelProto): Set<string> {
  const g = model.graph!;
  const shapes = shapeTensors(model);
  const lastUse = new Map<string, number>();
  g.node.forEach((n, i) => {
    for (const t of n.input) if (!shapes.has(t)) lastUse.set(t, i);
  });
  for (const o of g.output) lastUse.set(o.name, Infinity);
  const live = new Set<string>();
  for (const inp of g.input) if (!shapes.has(inp.name) && lastUse.has(inp.name)) live.add(inp.name);
  const cuts = new Set<string>();
  g.node.forEach((n, i) => {
    for (const t of n.input) if (lastUse.get(t) === i) live.delete(t);
    for (const o of n.output) if (!shapes.has(o) && lastUse.has(o)) live.add(o);
    if (live.size === 1) {
      const [t] = live;
      if (n.output.includes(t)) cuts.add(t);
    }
  });
  return cuts;
}

/** Block module paths: top-level modules, or the numbered children of a top-level container. */
function blockPaths(paths: Iterable<string>): string[] {
  const all = [...paths];
  const blocks: string[] = [];
  for (const t of all.filter((p) => !p.includes('.'))) {
    const children = all.filter((p) => p.startsWith(`${t}.`) && !p.slice(t.length + 1).includes('.'));
    const numbered = children.length > 0 && children.every((c) => /^\d+$/.test(c.slice(t.length + 1)));
    if (numbered) blocks.push(...children);
    else blocks.push(t);
  }
  return blocks;
}

/** The default taps (see the rule above), in graph order, each with the block it ends (null when none). */
export function defaultTaps(model: ModelProto, layers: LayerInfo[]): { tensor: string; block: string | null }[] {
  const g = model.graph!;
  const outputs = g.output.map((o) => o.name);
  const cuts = mainPathTensors(model);
  const producer = new Map<string, NodeProto>();
  const index = new Map<string, number>();
  g.node.forEach((n, i) => {
    for (const o of n.output) {
      producer.set(o, n);
      index.set(o, i);
    }
  });
  const layerOf = new Map(layers.map((l) => [l.output, l]));
  const taps = new Set<string>();
  const blockOf = new Map<string, string>();
  // Every module and container, with its output (the output of the last node inside it).
  const last = moduleOutputsOf(layers);
  if (last.size) {
    for (const b of blockPaths(last.keys())) {
      const t = last.get(b);
      if (t && cuts.has(t) && !RESHAPES.has(producer.get(t)?.opType ?? '')) {
        taps.add(t);
        blockOf.set(t, b);
      }
    }
    for (const t of cuts) {
      const l = layerOf.get(t);
      if (l && (l.module === '' || l.module === null) && POOLS.has(l.op)) taps.add(t);
    }
  } else {
    for (const t of cuts) {
      const op = producer.get(t)?.opType ?? '';
      if (ACTIVATIONS.has(op) || POOLS.has(op) || MERGES.has(op)) taps.add(t);
    }
  }
  for (const o of outputs) taps.add(o);
  // Rule 4: a tap from which the next tap is computed elementwise (an activation, hardswish written as
  // x · hardsigmoid(x), a reshape) adds nothing: the nodes between them all descend from it and are pointwise.
  const shapes = shapeTensors(model);
  const ordered = [...taps].sort((a, b) => (index.get(a) ?? Infinity) - (index.get(b) ?? Infinity));
  for (let k = 0; k + 1 < ordered.length; k++) {
    const t = ordered[k];
    const from = index.get(t);
    const to = index.get(ordered[k + 1]);
    if (outputs.includes(t) || from === undefined || to === undefined) continue;
    const reached = new Set([t]);
    let pointwise = true;
    for (let i = from + 1; i <= to && pointwise; i++) {
      const n = g.node[i];
      if (n.output.every((o) => shapes.has(o))) continue;
      pointwise = POINTWISE.has(n.opType) && n.input.some((x) => reached.has(x));
      for (const o of n.output) reached.add(o);
    }
    if (pointwise) taps.delete(t);
  }
  return [...taps]
    .sort((a, b) => (index.get(a) ?? Infinity) - (index.get(b) ?? Infinity))
    .map((tensor) => ({ tensor, block: blockOf.get(tensor) ?? null }));
}
