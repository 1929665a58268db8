// The report's per-layer overview table: pure rows (display text and sort keys) from a result document, shared by
// the HTML renderer (node) and the page script (sorting, browser).
import type { AnalysisResult } from '../../src/shared/result';
import type { ChartTheme } from '../charts/theme';
import { DEFAULT_DARK, DEFAULT_LIGHT } from '../charts/theme';
import { formatCount, formatShape } from '../format';

export type OverviewKey = 'index' | 'label' | 'op' | 'shape' | 'params' | 'id' | 'nncs' | 'selectivity' | 'sparsity' | 'dead';

/** Columns: key (the cell class is `col-<key>`), header, numeric (right-aligned, sorted as numbers), header tooltip. */
export const OVERVIEW_COLUMNS: readonly { key: OverviewKey; label: string; numeric: boolean; title: string }[] = [
  { key: 'index', label: '#', numeric: true, title: 'Position in the graph (depth order)' },
  { key: 'label', label: 'Layer', numeric: false, title: 'PyTorch module path when known, else the node name' },
  { key: 'op', label: 'Op', numeric: false, title: 'ONNX op type of the producing node' },
  { key: 'shape', label: 'Shape', numeric: false, title: 'Activation shape of one sample' },
  { key: 'params', label: 'Params', numeric: true, title: 'Parameters of the producing node' },
  { key: 'id', label: 'ID', numeric: true, title: 'TwoNN intrinsic dimension (least squares)' },
  { key: 'nncs', label: 'NNCS', numeric: true, title: 'Nearest-neighbour class separation at k' },
  { key: 'selectivity', label: 'Selectivity', numeric: true, title: 'Mean per-unit class selectivity' },
  { key: 'sparsity', label: 'Sparsity', numeric: true, title: 'Share of activations ≤ 0' },
  { key: 'dead', label: 'Dead ch.', numeric: true, title: 'Channels that are ≤ 0 for every sample' },
];

export interface OverviewCell { text: string; /** Sort key: number for numeric columns, string otherwise, null = no value (sorted last). */ sort: number | string | null }
export interface OverviewRow { tensor: string; cells: Record<OverviewKey, OverviewCell> }

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const fixed = (v: number | null, digits: number): OverviewCell => ({ text: v === null ? '—' : v.toFixed(digits), sort: v });

/** One row per layer of the result, in depth order. */
export function overviewRows(result: AnalysisResult): OverviewRow[] {
  const a = result.analyses;
  const rra = new Map((a.rra?.perLayer ?? []).map((l) => [l.tensor, l]));
  const sel = new Map((a.selectivity?.perLayer ?? []).map((l) => [l.tensor, l]));
  const sum = new Map((a.summary?.perLayer ?? []).map((l) => [l.tensor, l]));
  return [...result.layers].sort((x, y) => x.index - y.index).map((l) => {
    const r = rra.get(l.tensor), s = sel.get(l.tensor), m = sum.get(l.tensor);
    // Signed layers (logits, pre-activations): sparsity and dead channels do not apply (summary.ts says why).
    const na = m?.sparsityNotApplicable !== undefined;
    const sparsity = na ? null : num(m?.sparsity);
    const dead = na ? null : num(m?.deadChannels), channels = num(m?.channels);
    return {
      tensor: l.tensor,
      cells: {
        index: { text: String(l.index), sort: l.index },
        label: { text: l.label || l.tensor, sort: (l.label || l.tensor).toLowerCase() },
        op: { text: l.op, sort: l.op.toLowerCase() },
        shape: { text: formatShape(l.shape), sort: l.shape.reduce((p, d) => p * d, 1) },
        params: { text: formatCount(l.params), sort: l.params },
        id: fixed(num(r?.id?.twonn), 2),
        nncs: fixed(num(r?.nncs), 3),
        selectivity: fixed(num(s?.mean), 3),
        sparsity: { text: sparsity === null ? '—' : `${(sparsity * 100).toFixed(1)}%`, sort: sparsity },
        dead: { text: dead === null ? '—' : channels !== null ? `${formatCount(dead)} / ${formatCount(channels)}` : formatCount(dead), sort: dead },
      },
    };
  });
}

/** Sort keys compared for one direction; nulls always last, ties in depth order (the caller passes index). */
export function compareSort(a: number | string | null, b: number | string | null, dir: 'asc' | 'desc'): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
  return dir === 'asc' ? c : -c;
}

const FONT = 'system-ui, -apple-system, "Segoe UI", Ubuntu, Cantarell, "Noto Sans", "DejaVu Sans", sans-serif';
/** The report's chart themes: VS Code's Light+/Dark+ colours with system fonts (no web fonts). */
export const REPORT_THEMES: Record<'light' | 'dark', ChartTheme> = {
  light: { ...DEFAULT_LIGHT, fontFamily: FONT, fontSize: 13 },
  dark: { ...DEFAULT_DARK, fontFamily: FONT, fontSize: 13 },
};
export const REPORT_FONT = FONT;
