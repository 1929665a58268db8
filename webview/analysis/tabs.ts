// The Analysis panel's tabs: pure (result → which tabs exist and which charts each shows), so the panel and tests
// agree. The tabs come from the analyses' views (webview/views/registry.ts).
import type { AnalysisResult } from '../../src/shared/result';
import type { ChartTheme } from '../charts/theme';
import { PANEL_TABS, reportCharts, type PanelTab } from '../views/registry';
import type { ViewChart as ReportChart } from '../views/view';

export { PANEL_TABS, type PanelTab } from '../views/registry';

/** The tabs the result has, each with its charts, in panel order. */
export function panelTabs(result: AnalysisResult, theme: ChartTheme): { tab: PanelTab; charts: ReportChart[] }[] {
  const charts = reportCharts(result, theme);
  return PANEL_TABS.filter((t) => t.has(result)).map((tab) => ({
    tab,
    charts: charts.filter((c) => c.tab === tab.id),
  }));
}

/** Histogram counts as an SVG polyline's points in a w×h box (a sparkline); '' when there is nothing to draw. */
export function sparklinePoints(counts: readonly number[], w: number, h: number): string {
  const max = Math.max(0, ...counts);
  if (!counts.length || !(max > 0)) return '';
  const step = counts.length > 1 ? w / (counts.length - 1) : 0;
  return counts.map((c, i) => `${(i * step).toFixed(1)},${(h - (c / max) * h).toFixed(1)}`).join(' ');
}
