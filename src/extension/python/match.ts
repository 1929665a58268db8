/**
 * Which analysed layers a Python module definition (modules.ts) shows numbers for (the lens text comes from the
 * analyses' views: webview/views/registry.ts).
 * Pure (no `vscode`).
 *
 * The rule: each analysed layer is shown by one definition of the model, the best of those that could show it
 * (layersFor), in this order:
 *  1. 'exact': the definition that produces it, whose module path is the layer's label (`self.relu1 = nn.ReLU()`
 *     for `relu1`; for a block's output, labelled with the block, the block's definition: `layer1.0`, `features`);
 *  2. 'suffix': an unresolved definition (a block class built by `_make_layer`) whose attribute ends the label;
 *  3. 'next': the nearest module before it, when the layer has no module definition of its own (a functional
 *     `F.relu(self.conv1(x))`: the conv shows its ReLU's numbers); a conv followed by a `self.relu1` definition
 *     shows nothing, the ReLU's line does;
 *  4. 'block': the nearest definition containing it (`self.layer1 = self._make_layer(…)` for `layer1.0`, whose
 *     blocks have no definition of their own).
 * Ties go to the first definition in the order given (those of the open file first).
 */
import type { ModuleDef } from './modules';

/** An analysed layer: `label` is the torch module path of the node, possibly with ' (2)' for repeated calls of
 *  one module ('layer1.0.relu (2)'), or a raw tensor name when there is no module path; `index` is the ONNX node
 *  index. */
export interface ResultLayer {
  tensor: string;
  label: string;
  index: number;
}
/** Every node of the model with its module path and node index (from the model's layer list). */
export interface ModelModule {
  module: string;
  index: number;
}

export interface LayerMatch {
  path: string;
  layer: ResultLayer;
  via: 'exact' | 'suffix' | 'next' | 'block';
  /** 'next': how many nodes the layer lies after the module's first node. */
  distance?: number;
}

/** How far (in nodes) a 'next' match may look past the definition's own node (conv → its ReLU). */
export const NEXT_MAX_DISTANCE = 3;

const RANK: Record<LayerMatch['via'], number> = { exact: 0, suffix: 1, next: 2, block: 3 };

function stripRepeat(label: string): string {
  return label.replace(/ \(\d+\)$/, '');
}

function parent(path: string): string {
  const i = path.lastIndexOf('.');
  return i < 0 ? '' : path.slice(0, i);
}

/**
 * Every analysed layer `def` could show, taken alone. For each path of `def`: (a) 'exact': the layers whose label
 * (minus a trailing ' (n)') is the path, all repeats in index order; (b) otherwise 'next': when `modules` gives the
 * module's first node, the first analysed layer at or after it, if it immediately follows (1 node) or lies within
 * the same parent module and at most NEXT_MAX_DISTANCE nodes on; (c) 'block': the layers inside the module (label
 * starting with the path + '.'). When `def.paths` is empty (unresolved, e.g. a block built by `_make_layer`):
 * (d) 'suffix': the layers whose label ends with '.' + attr or equals attr. Each rule over all paths before the
 * next rule, deduplicated by tensor (the first rule that finds a layer keeps it); [] when nothing matches. What a
 * lens shows is decided over all definitions by assignLayers.
 */
export function layersFor(def: ModuleDef, layers: ResultLayer[], modules?: ModelModule[]): LayerMatch[] {
  return candidates(def, indexLayers(layers, modules));
}

interface LayerIndex {
  sorted: ResultLayer[];
  labels: Map<ResultLayer, string>;
  /** Each module's first node, and each node's (first listed) module; null without a module list. */
  firstNode: Map<string, number> | null;
  moduleAt: Map<number, string>;
}

function indexLayers(layers: ResultLayer[], modules?: ModelModule[]): LayerIndex {
  const sorted = [...layers].sort((a, b) => a.index - b.index);
  const labels = new Map(sorted.map((l) => [l, stripRepeat(l.label)]));
  const moduleAt = new Map<number, string>();
  const first = new Map<string, number>();
  for (const m of modules ?? []) {
    if (!moduleAt.has(m.index)) moduleAt.set(m.index, m.module);
    const at = first.get(m.module);
    if (at === undefined || m.index < at) first.set(m.module, m.index);
  }
  return { sorted, labels, firstNode: modules ? first : null, moduleAt };
}

function candidates(def: ModuleDef, ix: LayerIndex): LayerMatch[] {
  const { sorted, labels, firstNode, moduleAt } = ix;
  const out: LayerMatch[] = [];
  const seen = new Set<string>();
  const push = (m: LayerMatch) => {
    if (seen.has(m.layer.tensor)) return;
    seen.add(m.layer.tensor);
    out.push(m);
  };
  if (def.paths.length === 0) {
    for (const l of sorted) {
      const label = labels.get(l)!;
      if (label === def.attr || label.endsWith('.' + def.attr)) push({ path: label, layer: l, via: 'suffix' });
    }
    return out;
  }
  // the rules in turn over every path, so that a layer one path matches exactly is not kept as another's 'next'
  const unmatched: string[] = [];
  for (const path of def.paths) {
    const exact = sorted.filter((l) => labels.get(l) === path);
    for (const l of exact) push({ path, layer: l, via: 'exact' });
    if (!exact.length) unmatched.push(path);
  }
  for (const path of unmatched) {
    const node = firstNode?.get(path);
    if (node === undefined) continue;
    const next = sorted.find((l) => l.index >= node);
    if (!next) continue;
    const distance = next.index - node;
    const nextModule = moduleAt.get(next.index) ?? labels.get(next)!;
    if (distance <= 1 || (distance <= NEXT_MAX_DISTANCE && parent(nextModule) === parent(path)))
      push({ path, layer: next, via: 'next', distance });
  }
  for (const path of def.paths)
    for (const l of sorted) if (labels.get(l)!.startsWith(path + '.')) push({ path, layer: l, via: 'block' });
  return out;
}

/** Lower is better: the rule, then the nearer module ('next') or the nearer (longer) enclosing path ('block'). */
function score(m: LayerMatch): [number, number] {
  return [RANK[m.via], m.via === 'next' ? (m.distance ?? 0) : m.via === 'block' ? -m.path.length : 0];
}

/**
 * What each definition shows (parallel to `defs`): every analysed layer goes to the one definition with the best
 * candidate match (layersFor; by rule, then nearness, then the order of `defs`), so no layer's numbers appear on
 * two definitions. Within a definition, its layers keep layersFor's order.
 */
export function assignLayers(defs: ModuleDef[], layers: ResultLayer[], modules?: ModelModule[]): LayerMatch[][] {
  const ix = indexLayers(layers, modules);
  const found = defs.map((d) => candidates(d, ix));
  const best = new Map<string, { def: number; score: [number, number] }>();
  found.forEach((ms, def) => {
    for (const m of ms) {
      const s = score(m);
      const held = best.get(m.layer.tensor);
      if (!held || s[0] < held.score[0] || (s[0] === held.score[0] && s[1] < held.score[1]))
        best.set(m.layer.tensor, { def, score: s });
    }
  });
  return found.map((ms, def) => ms.filter((m) => best.get(m.layer.tensor)?.def === def));
}

/** One code lens: the definitions starting on one line that show layers, and those layers. */
export interface LensPlan {
  line: number;
  defs: ModuleDef[];
  matches: LayerMatch[];
  /** Whether other definitions start on the line too (the lens then names its layer). */
  shared: boolean;
}

/** A layer's name for the lens: its label, or its tensor when the label names no module (a functional op of the
 *  root module is labelled '' or ' (2)'). */
export function layerName(layer: ResultLayer): string {
  return stripRepeat(layer.label) ? layer.label : layer.tensor;
}

/**
 * The lenses of one file: `defs` are its definitions, `context` those of the files around it (imports, siblings:
 * a layer they show is not shown here). One lens per line with the layers of every definition starting on it
 * (`nn.Sequential(nn.Conv2d(…), nn.ReLU())` on one line, `self.a = self.b = nn.ReLU()`), exact matches first,
 * then in definition order; lines whose definitions show nothing get none. In line order.
 */
export function planLenses(
  defs: ModuleDef[],
  context: ModuleDef[],
  layers: ResultLayer[],
  modules?: ModelModule[],
): LensPlan[] {
  const shown = assignLayers([...defs, ...context], layers, modules);
  const perLine = new Map<number, number>();
  for (const d of defs) perLine.set(d.line, (perLine.get(d.line) ?? 0) + 1);
  const byLine = new Map<number, LensPlan>();
  defs.forEach((d, i) => {
    if (!shown[i].length) return;
    const plan = byLine.get(d.line) ?? { line: d.line, defs: [], matches: [], shared: perLine.get(d.line)! > 1 };
    byLine.set(d.line, plan);
    plan.defs.push(d);
    plan.matches.push(...shown[i]);
  });
  const plans = [...byLine.values()].sort((a, b) => a.line - b.line);
  for (const p of plans) p.matches.sort((a, b) => RANK[a.via] - RANK[b.via]);
  return plans;
}
