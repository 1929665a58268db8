// The report's per-layer overview table (rows of display text and sort keys, shared by the HTML renderer in node and
// the page script in the browser) and the report's chart themes.
import type { ChartTheme } from '../charts/theme';
import { DEFAULT_DARK, DEFAULT_LIGHT } from '../charts/theme';

// The columns come from the analyses' views (webview/views/registry.ts): the layer's own, then each view's.
export { OVERVIEW_COLUMNS, overviewRows, compareSort, type OverviewRow } from '../views/registry';
export type { OverviewCell } from '../views/view';
/** A column key (`col-<key>`): the layer's own (index, label, op, shape, params) or a view's. */
export type OverviewKey = string;

const FONT = 'system-ui, -apple-system, "Segoe UI", Ubuntu, Cantarell, "Noto Sans", "DejaVu Sans", sans-serif';
/** The report's chart themes: VS Code's Light+/Dark+ colours with system fonts (no web fonts). */
export const REPORT_THEMES: Record<'light' | 'dark', ChartTheme> = {
  light: { ...DEFAULT_LIGHT, fontFamily: FONT, fontSize: 13 },
  dark: { ...DEFAULT_DARK, fontFamily: FONT, fontSize: 13 },
};
export const REPORT_FONT = FONT;
