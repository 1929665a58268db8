/**
 * Which analysed layers a Python module definition (modules.ts) shows numbers for (the lens text comes from the
 * analyses' views: webview/views/registry.ts).
 * Pure (no `vscode`).
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
  via: 'exact' | 'next' | 'suffix';
}

/** How far (in nodes) a 'next' match may look past the definition's own node (conv → its ReLU). */
export const NEXT_MAX_DISTANCE = 3;

function stripRepeat(label: string): string {
  return label.replace(/ \(\d+\)$/, '');
}

function parent(path: string): string {
  const i = path.lastIndexOf('.');
  return i < 0 ? '' : path.slice(0, i);
}

/**
 * For each path of `def`: (a) 'exact': the layers whose label (minus a trailing ' (n)') is the path, all repeats
 * in index order; (b) otherwise 'next': when `modules` gives the module's first node, the first analysed layer at
 * or after it, if it immediately follows (1 node) or lies within the same parent module and at most
 * NEXT_MAX_DISTANCE nodes on (an untapped conv shows its ReLU's numbers). When `def.paths` is empty (unresolved,
 * e.g. a block built by `_make_layer`): (c) 'suffix': the layers whose label ends with '.' + attr or equals attr.
 * Deduplicated by tensor; [] when nothing matches.
 */
export function layersFor(def: ModuleDef, layers: ResultLayer[], modules?: ModelModule[]): LayerMatch[] {
  const sorted = [...layers].sort((a, b) => a.index - b.index);
  const out: LayerMatch[] = [];
  const seen = new Set<string>();
  const push = (path: string, layer: ResultLayer, via: LayerMatch['via']) => {
    if (seen.has(layer.tensor)) return;
    seen.add(layer.tensor);
    out.push({ path, layer, via });
  };
  if (def.paths.length === 0) {
    for (const l of sorted) {
      const label = stripRepeat(l.label);
      if (label === def.attr || label.endsWith('.' + def.attr)) push(label, l, 'suffix');
    }
    return out;
  }
  const moduleAt = new Map<number, string>();
  for (const m of modules ?? []) if (!moduleAt.has(m.index)) moduleAt.set(m.index, m.module);
  for (const path of def.paths) {
    const exact = sorted.filter((l) => stripRepeat(l.label) === path);
    if (exact.length) {
      for (const l of exact) push(path, l, 'exact');
      continue;
    }
    if (!modules) continue;
    let node: number | undefined;
    for (const m of modules) if (m.module === path && (node === undefined || m.index < node)) node = m.index;
    if (node === undefined) continue;
    const next = sorted.find((l) => l.index >= node);
    if (!next) continue;
    const distance = next.index - node;
    const nextModule = moduleAt.get(next.index) ?? stripRepeat(next.label);
    if (distance <= 1 || (distance <= NEXT_MAX_DISTANCE && parent(nextModule) === parent(path)))
      push(path, next, 'next');
  }
  return out;
}
