// The layer table's data side: cell texts, sorting and filtering (pure; the DOM lives in main.ts).
import type { LayerInfo } from '../../src/engine/onnx/layers';
import { formatCount, formatShape } from '../format';

export type ColumnKey = 'index' | 'name' | 'op' | 'module' | 'output' | 'shape' | 'params';
/** In display order (inspectHtml's LAYER_COLUMNS has the same keys in the same order). */
export const COLUMN_KEYS: readonly ColumnKey[] = ['index', 'name', 'op', 'module', 'shape', 'params', 'output'];
export const NUMERIC_COLUMNS: ReadonlySet<ColumnKey> = new Set(['index', 'params']);

export interface SortState {
  col: ColumnKey;
  dir: 'asc' | 'desc';
}

export function isColumnKey(x: unknown): x is ColumnKey {
  return typeof x === 'string' && (COLUMN_KEYS as readonly string[]).includes(x);
}

/**
 * The text of one cell. The module column shows "(root)" for the root module and nothing when the name has no
 * scope.
 */
export function cellText(l: LayerInfo, col: ColumnKey): string {
  switch (col) {
    case 'index':
      return String(l.index);
    case 'name':
      return l.name;
    case 'op':
      return l.domain && l.domain !== 'ai.onnx' ? `${l.domain}:${l.op}` : l.op;
    case 'module':
      return l.module === null ? '' : l.module === '' ? '(root)' : l.module;
    case 'output':
      return l.output;
    case 'shape':
      return formatShape(l.shape);
    case 'params':
      return formatCount(l.params);
  }
}

/** Elements of a shape with known dims (symbolic and unknown dims count as 1), -1 when the shape is unknown. */
function shapeSize(l: LayerInfo): number {
  if (!l.shape) return -1;
  return l.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function compare(a: LayerInfo, b: LayerInfo, col: ColumnKey): number {
  switch (col) {
    case 'index':
      return a.index - b.index;
    case 'params':
      return a.params - b.params;
    case 'shape':
      return shapeSize(a) - shapeSize(b) || collator.compare(formatShape(a.shape), formatShape(b.shape));
    case 'module':
      // layers without a module path sort last in either direction (handled by the caller)
      return collator.compare(a.module ?? '', b.module ?? '');
    default:
      return collator.compare(cellText(a, col), cellText(b, col));
  }
}

/** A sorted copy; ties keep graph order. */
export function sortLayers(layers: readonly LayerInfo[], sort: SortState | null): LayerInfo[] {
  const out = [...layers];
  if (!sort) return out.sort((a, b) => a.index - b.index);
  const sign = sort.dir === 'asc' ? 1 : -1;
  return out.sort((a, b) => {
    if (sort.col === 'module' && (a.module === null) !== (b.module === null)) return a.module === null ? 1 : -1;
    return sign * compare(a, b, sort.col) || a.index - b.index;
  });
}

/**
 * The next sort after a click on `col`: numbers start descending, text ascending; the third click restores graph
 * order.
 */
export function nextSort(current: SortState | null, col: ColumnKey): SortState | null {
  const first: SortState['dir'] = NUMERIC_COLUMNS.has(col) ? 'desc' : 'asc';
  if (!current || current.col !== col) return { col, dir: first };
  if (current.dir === first) return { col, dir: first === 'asc' ? 'desc' : 'asc' };
  return null;
}

/**
 * Whether a layer matches the filter: every whitespace-separated term occurs in its name, op, module, output or
 * shape.
 */
export function matchesFilter(l: LayerInfo, query: string): boolean {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!terms.length) return true;
  const hay = [l.name, cellText(l, 'op'), l.module ?? '', l.output, formatShape(l.shape)].join('\n').toLowerCase();
  return terms.every((t) => hay.includes(t));
}
