// The view side of an analysis (webview code, browser-safe): its panel tab, its report sections and charts, its
// columns in the layer table (panel, report, layers.csv, terminal), its numbers on code lenses, its CSV files. The
// panel, the report, the exporters and the code lenses loop over registry.ts; none of them names an analysis.
import type { AnalysisId } from '../../src/shared/analyses';
import type { AnalysisResult } from '../../src/shared/result';
import type { ChartTheme } from '../charts/theme';
import type { NamedFigure } from '../charts/analysis';

/** A chart with where it goes: a report section (by key) and a panel tab (by id). */
export interface ViewChart extends NamedFigure {
  section: string;
  tab: string;
}

/** A report section; charts of several views may share one (the view's charts name it). */
export interface ViewSection {
  key: string;
  title: string;
  /** What the section's charts show, for the report. */
  note(r: AnalysisResult): string;
  /** Report order (the layer table comes first). */
  order: number;
}

/** A table cell: display text and sort key (number for numeric columns; null: no value, sorted last). */
export interface OverviewCell {
  text: string;
  sort: number | string | null;
}

/** A column of the layer table. `key` is the cell class (`col-<key>`) and the CSV column's name. */
export interface ViewColumn {
  key: string;
  label: string;
  /** The header's tooltip: what the number is. */
  title: string;
  numeric: boolean;
  cell(result: AnalysisResult, tensor: string): OverviewCell;
}

/** A number shown on code lenses and in their hover table. */
export interface LensValue {
  /** The hover table's column header. */
  label: string;
  value(result: AnalysisResult, tensor: string): number | null;
  /** On the lens ('ID 11.2'); null: in the hover only. */
  lens: ((v: number) => string) | null;
  /** In the hover table ('11.2', '54 %'). */
  hover(v: number): string;
}

export interface AnalysisView<Id extends AnalysisId = AnalysisId> {
  id: Id;
  /** The panel tab its charts go to: its own ({ id, title, order }) or 'layers' (with the table). */
  tab: { id: string; title: string; order: number } | 'layers';
  sections: readonly ViewSection[];
  /** The charts the result has for it (empty while it has not run). */
  charts(result: AnalysisResult, theme: ChartTheme): { section: string; chart: NamedFigure }[];
  columns: readonly ViewColumn[];
  lens: readonly LensValue[];
  /** A per-layer distribution the panel's table draws as a sparkline (a histogram's counts). */
  sparkline?: { label: string; counts(result: AnalysisResult, tensor: string): readonly number[] | null };
  /** Its CSV files (layer × layer matrices…): file stem → content. */
  csv(result: AnalysisResult): { name: string; csv: string }[];
}

/** The number or null (NaN, missing). */
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** A numeric cell with `digits` decimals, '—' when there is no value. */
export const fixedCell = (v: number | null, digits: number): OverviewCell => ({
  text: v === null ? '—' : v.toFixed(digits),
  sort: v,
});
