// Every analysis's view, by id (the table's type has one key per analysis id, so a view left out does not compile),
// and what the panel, the report, the exporters and the code lenses derive from them: tabs, sections, charts, the
// layer table's columns, lens numbers, CSV files.
import type { AnalysisId } from '../../src/shared/analyses';
import type { AnalysisResult } from '../../src/shared/result';
import type { ChartTheme } from '../charts/theme';
import { formatCount, formatShape } from '../format';
import type { AnalysisView, LensValue, OverviewCell, ViewChart, ViewColumn, ViewSection } from './view';
import { summaryView } from './summary';
import { selectivityView } from './selectivity';
import { rraView } from './rra';
import { similarityView } from './similarity';
import { noiseSvdView } from './noise-svd';
import { comparedResult, pairedTensors, sameLayers } from '../charts/models';

export const VIEWS: { readonly [Id in AnalysisId]: AnalysisView<Id> } = {
  summary: summaryView,
  selectivity: selectivityView,
  rra: rraView,
  similarity: similarityView,
  'noise-svd': noiseSvdView,
};

/** The order views show in (table columns, charts within a section): not the run order. */
export const VIEW_ORDER: readonly AnalysisId[] = ['rra', 'similarity', 'selectivity', 'noise-svd', 'summary'];
const views = (): AnalysisView[] => VIEW_ORDER.map((id) => VIEWS[id] as AnalysisView);

/** Between-model charts (any view's) go to one section and one tab. */
const COMPARE_SECTION: ViewSection = {
  key: 'compare',
  title: 'Between models',
  order: 40,
  note: (r) =>
    `Rows: layers of ${r.model.name}; columns: layers of ${r.compare?.name ?? 'the compared model'} (same samples).`,
};

/** Every report section, in report order. */
export const REPORT_SECTIONS: readonly ViewSection[] = [...views().flatMap((v) => v.sections), COMPARE_SECTION].sort(
  (a, b) => a.order - b.order,
);

/** Every chart the result has, in report order (by section, then view order). */
export function reportCharts(result: AnalysisResult, theme: ChartTheme): ViewChart[] {
  return chartsOf(views(), result, theme);
}

const tabOf = (v: AnalysisView) => (v.tab === 'layers' ? 'layers' : v.tab.id);

/**
 * The charts of one panel tab, building only the figures of the views that can draw there (the panel redraws
 * the visible tab as results stream in; building every tab's heatmaps each time is what froze it).
 */
export function tabCharts(result: AnalysisResult, theme: ChartTheme, tab: string): ViewChart[] {
  const vs = tab === 'compare' ? views() : views().filter((v) => tabOf(v) === tab);
  return chartsOf(vs, result, theme).filter((c) => c.tab === tab);
}

function chartsOf(vs: AnalysisView[], result: AnalysisResult, theme: ChartTheme): ViewChart[] {
  const order = new Map(REPORT_SECTIONS.map((s, i) => [s.key, i]));
  const out = vs.flatMap((v) =>
    v.charts(result, theme).map(({ section, chart }) => ({
      ...chart,
      section,
      tab: section === 'compare' ? 'compare' : tabOf(v),
    })),
  );
  // Array.prototype.sort is stable: within a section, view order is kept.
  return out.sort((a, b) => (order.get(a.section) ?? Infinity) - (order.get(b.section) ?? Infinity));
}

export interface PanelTab {
  id: string;
  title: string;
  /** Whether the result has anything for this tab yet (tabs appear as their analysis streams in). */
  has(result: AnalysisResult): boolean;
  /** The layer table is shown on this tab. */
  table?: boolean;
}

/** The panel's tabs in order: the layer table first, each view's own tab, Compare for two models. */
export const PANEL_TABS: readonly PanelTab[] = [
  { id: 'layers', title: 'Layers', table: true, has: () => true, order: 0 },
  ...views().flatMap((v) =>
    v.tab === 'layers'
      ? []
      : [{ id: v.tab.id, title: v.tab.title, order: v.tab.order, has: (r: AnalysisResult) => !!r.analyses[v.id] }],
  ),
  // Between-model matrices only (a run overlaid on another has none: its curves and columns are on the other tabs).
  {
    id: 'compare',
    title: 'Compare',
    has: (r: AnalysisResult) => !!r.compare && !!(r.analyses.similarity?.compare || r.analyses.rra?.interModel),
    order: COMPARE_SECTION.order,
  },
]
  .sort((a, b) => a.order - b.order)
  .map(({ order: _order, ...tab }) => tab);

// ---- the layer table ---------------------------------------------------------------------------------------------

const CORE_COLUMNS: readonly ViewColumn[] = [
  {
    key: 'index',
    label: '#',
    numeric: true,
    title: 'Position in the graph (depth order)',
    cell: (r, t) => {
      const l = ref(r, t);
      return { text: String(l.index), sort: l.index };
    },
  },
  {
    key: 'label',
    label: 'Layer',
    numeric: false,
    title: 'PyTorch module path when known, else the node name',
    cell: (r, t) => {
      const s = ref(r, t).label || t;
      return { text: s, sort: s.toLowerCase() };
    },
  },
  {
    key: 'op',
    label: 'Op',
    numeric: false,
    title: 'ONNX op type of the producing node',
    cell: (r, t) => {
      const l = ref(r, t);
      return { text: l.op, sort: l.op.toLowerCase() };
    },
  },
  {
    key: 'shape',
    label: 'Shape',
    numeric: false,
    title: 'Activation shape of one sample',
    cell: (r, t) => {
      const l = ref(r, t);
      return { text: formatShape(l.shape), sort: l.shape.reduce((p, d) => p * d, 1) };
    },
  },
  {
    key: 'params',
    label: 'Params',
    numeric: true,
    title: 'Parameters since the previous analysed layer (a block’s own)',
    cell: (r, t) => {
      const l = ref(r, t);
      return { text: formatCount(l.params), sort: l.params };
    },
  },
];
const ref = (r: AnalysisResult, t: string) => r.layers.find((l) => l.tensor === t)!;

/** The layer table's columns: the layer's own, then each view's. */
export const OVERVIEW_COLUMNS: readonly ViewColumn[] = [...CORE_COLUMNS, ...views().flatMap((v) => v.columns)];

/**
 * How the layer table shows a result's compared model: 'none' (a single model, or a result without the compared
 * model's per-model analyses: as always), 'paired' (the same layers: each view column followed by its "(B)" twin on
 * the same rows), 'separate' (different architectures: a second table, overviewRows(result, 'compare')).
 */
export type CompareTable = 'none' | 'paired' | 'separate';

export function compareTable(result: AnalysisResult): CompareTable {
  return !result.compare?.analyses ? 'none' : sameLayers(result) ? 'paired' : 'separate';
}

/** Which model's table: the model's (with paired "(B)" columns), or the compared model's own ('separate'). */
export type TableModel = 'model' | 'compare';

/**
 * A view column's twin for the compared model (paired tables): key `<key>-b`, label 'ID (B)', the compared model's
 * cell on the row of its layer at the same depth position. Its own column, so it sorts and exports as a number.
 */
function twinColumn(c: ViewColumn, name: string): ViewColumn {
  return {
    key: `${c.key}-b`,
    label: `${c.label} (B)`,
    numeric: c.numeric,
    title: `${c.title} — B: ${name}`,
    cell: (r, t) => {
      const b = comparedResult(r),
        bt = pairedTensors(r).get(t);
      return b && bt ? c.cell(b, bt) : { text: '—', sort: null };
    },
  };
}

/** The layer table's columns for one of the result's tables (see CompareTable). */
export function overviewColumns(result: AnalysisResult, which: TableModel = 'model'): readonly ViewColumn[] {
  if (which === 'compare' || compareTable(result) !== 'paired') return OVERVIEW_COLUMNS;
  const name = result.compare!.name;
  return [...CORE_COLUMNS, ...views().flatMap((v) => v.columns.flatMap((c) => [c, twinColumn(c, name)]))];
}

export interface OverviewRow {
  tensor: string;
  cells: Record<string, OverviewCell>;
}

/**
 * One row per layer in depth order, with overviewColumns' cells: the model's layers, or with 'compare' the compared
 * model's ('separate' tables; empty without its per-model analyses).
 */
export function overviewRows(result: AnalysisResult, which: TableModel = 'model'): OverviewRow[] {
  const r = which === 'compare' ? comparedResult(result) : result;
  if (!r) return [];
  const cols = overviewColumns(result, which);
  return [...r.layers]
    .sort((x, y) => x.index - y.index)
    .map((l) => ({
      tensor: l.tensor,
      cells: Object.fromEntries(cols.map((c) => [c.key, c.cell(r, l.tensor)])),
    }));
}

/** The table's sparkline columns for one of the result's tables: SPARKLINES, each with its "(B)" twin when paired. */
export function tableSparklines(result: AnalysisResult, which: TableModel = 'model'): readonly Sparkline[] {
  if (which === 'compare' || compareTable(result) !== 'paired') return SPARKLINES;
  return SPARKLINES.flatMap((sp) => [
    sp,
    {
      label: `${sp.label} (B)`,
      counts: (r: AnalysisResult, t: string) => {
        const b = comparedResult(r),
          bt = pairedTensors(r).get(t);
        return b && bt ? sp.counts(b, bt) : null;
      },
    },
  ]);
}

/** The result the compared model's table reads its cells and sparklines from (null without its analyses). */
export function tableResult(result: AnalysisResult, which: TableModel): AnalysisResult | null {
  return which === 'compare' ? comparedResult(result) : result;
}

/** Sort keys compared for one direction; nulls always last, ties in depth order (the caller passes index). */
export function compareSort(a: number | string | null, b: number | string | null, dir: 'asc' | 'desc'): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
  return dir === 'asc' ? c : -c;
}

// ---- code lenses and files ---------------------------------------------------------------------------------------

/** The numbers code lenses show, in lens order (ID, NNCS, selectivity…). */
export const LENS_VALUES: readonly LensValue[] = views().flatMap((v) => v.lens);

/** 'ID 11.2 · NNCS 0.83 · sel 0.41' for a layer of the result ('' when it has none). */
export function lensText(result: AnalysisResult, tensor: string): string {
  return LENS_VALUES.flatMap((x) => {
    const v = x.lens ? x.value(result, tensor) : null;
    return v === null ? [] : [x.lens!(v)];
  }).join(' · ');
}

type Sparkline = NonNullable<AnalysisView['sparkline']>;
/** The panel table's sparkline columns (after the number columns), one per view that has a distribution. */
export const SPARKLINES: readonly Sparkline[] = views().flatMap((v) => (v.sparkline ? [v.sparkline] : []));

/** Every view's CSV files (matrices), by file stem. */
export function viewCsvs(result: AnalysisResult): { name: string; csv: string }[] {
  return views().flatMap((v) => v.csv(result));
}
