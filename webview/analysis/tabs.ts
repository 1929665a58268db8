// The Analysis panel's tabs: pure (result → which tabs exist and which charts each shows), so the panel and tests
// agree. Adding an analysis to the panel is one entry here plus its chart builder in webview/charts/.
import type { AnalysisResult } from '../../src/shared/result';
import type { ChartTheme } from '../charts/theme';
import { reportCharts, type ReportChart } from '../charts/analysis';

export interface PanelTab {
  id: string;
  title: string;
  /** Whether the result has anything for this tab yet (tabs appear as their analysis streams in). */
  has(result: AnalysisResult): boolean;
  /** Which of the report's charts go here. */
  takes(chart: ReportChart): boolean;
  /** The layer table is shown on this tab. */
  table?: boolean;
}

export const PANEL_TABS: readonly PanelTab[] = [
  { id: 'layers', title: 'Layers', table: true, has: () => true, takes: (c) => c.section === 'summary' },
  { id: 'rra', title: 'RRA', has: (r) => !!r.analyses.rra, takes: (c) => c.section === 'depth' || c.section === 'multiscale' || c.id === 'nnls' },
  { id: 'similarity', title: 'Similarity', has: (r) => !!r.analyses.similarity, takes: (c) => c.section === 'similarity' && c.id !== 'nnls' },
  { id: 'compare', title: 'Compare', has: (r) => !!r.compare, takes: (c) => c.section === 'compare' },
  { id: 'selectivity', title: 'Selectivity', has: (r) => !!r.analyses.selectivity, takes: (c) => c.section === 'selectivity' },
  { id: 'noise-svd', title: 'Noise SVD', has: (r) => !!r.analyses.noiseSvd, takes: (c) => c.section === 'noise-svd' },
];

/** The tabs the result has, each with its charts, in panel order. */
export function panelTabs(result: AnalysisResult, theme: ChartTheme): { tab: PanelTab; charts: ReportChart[] }[] {
  const charts = reportCharts(result, theme);
  return PANEL_TABS.filter((t) => t.has(result)).map((tab) => ({ tab, charts: charts.filter((c) => tab.takes(c)) }));
}

/** Histogram counts as an SVG polyline's points in a w×h box (a sparkline); '' when there is nothing to draw. */
export function sparklinePoints(counts: readonly number[], w: number, h: number): string {
  const max = Math.max(0, ...counts);
  if (!counts.length || !(max > 0)) return '';
  const step = counts.length > 1 ? w / (counts.length - 1) : 0;
  return counts.map((c, i) => `${(i * step).toFixed(1)},${(h - (c / max) * h).toFixed(1)}`).join(' ');
}
