// The standalone HTML report of an analysis result: one self-contained file (plotly and the page script inlined, the
// result as a JSON data block, no network: the CSP allows only the nonce'd inline scripts, inline styles and data:
// images). The header and the overview table are rendered here; the page script (dist/webview/report.js, built
// from webview/report/main.ts) draws the charts with the same pure builders and handles sorting and the theme toggle.
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { formatDuration } from '../shared/duration';
import { formatAccuracy, type AnalysisResult } from '../shared/result';
import { REPORT_SECTIONS, reportCharts } from '../../webview/views/registry';
import { ANALYSIS_IDS, ANALYSIS_SPECS } from '../shared/analyses';
import { baseName, formatCount } from '../../webview/format';
import { REPORT_FONT, REPORT_THEMES } from '../../webview/report/overview';
import { compareTable, overviewColumns, overviewRows, type TableModel } from '../../webview/views/registry';
import { packageRoot } from './root';
import type { PlotFigure } from '../../webview/charts/analysis';

export type ReportTheme = 'light' | 'dark' | 'auto';

export interface RenderReportOptions {
  /** dist/webview/plotly.min.js's text. */
  plotlyJs: string;
  /** 'auto' follows the viewer's system setting until the toggle is used. */
  theme: ReportTheme;
  /** The page script; default: dist/webview/report.js read from the package root (built by `npm run build`). */
  reportJs?: string;
  /** Default: fresh random. */
  nonce?: string;
}

/** Escapes text and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON for a `<script type="application/json">` block: `<` escaped so no `</script>` or `<!--` can end it. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * JavaScript for an inline `<script>`: `</script`, `<script` and `<!--` would end or confuse the HTML script
 * element, so their `<` becomes `\x3C` (the same character inside the strings, regexes and comments where minified
 * code has them); source-map comments are dropped (nothing to load them from).
 */
export function scriptForInline(js: string): string {
  return js.replace(/<(\/?script|!--)/gi, '\\x3C$1').replace(/^\/\/# sourceMappingURL=.*$/gm, '');
}

export function reportCsp(nonce: string): string {
  return (
    [
      "default-src 'none'",
      'img-src data:',
      "style-src 'unsafe-inline'",
      `script-src 'nonce-${nonce}'`,
      'font-src data:',
    ].join('; ') + ';'
  );
}

/** dist/webview/report.js, with a clear error when it has not been built. */
export function readReportBundle(root: string = packageRoot(__dirname)): string {
  const file = path.join(root, 'dist', 'webview', 'report.js');
  if (!fs.existsSync(file)) {
    throw new Error(
      `the report page script ${file} is missing: build it with \`npm run build\` (esbuild.js) in ${root}`,
    );
  }
  return fs.readFileSync(file, 'utf8');
}

function dl(items: [string, string][]): string {
  return items.map(([k, v]) => `<div class="meta-item"><dt>${escapeHtml(k)}</dt><dd>${v}</dd></div>`).join('\n');
}

function settingValue(v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ');
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function header(r: AnalysisResult): string {
  const e = escapeHtml;
  const code = (s: string) => `<code>${e(s)}</code>`;
  const meta: [string, string][] = [
    ['Model', `<span title="${e(r.model.path)}">${e(r.model.path)}</span>`],
    ['Parameters', e(formatCount(r.model.params))],
    ['Opset', e(String(r.model.opset))],
    ['SHA-256', `<span class="mono" title="${e(r.model.sha256)}">${e(r.model.sha256.slice(0, 12))}…</span>`],
  ];
  if (r.model.accuracy) meta.push(['Accuracy', e(formatAccuracy(r.model.accuracy))]);
  if (r.compare) meta.push(['Compared with', `<span title="${e(r.compare.path)}">${e(r.compare.path)}</span>`]);
  if (r.compare?.accuracy) meta.push(['Its accuracy', e(formatAccuracy(r.compare.accuracy))]);
  const classes = r.dataset.classNames ? ` (${r.dataset.classNames.length} classes)` : '';
  const labelled = r.dataset.hasLabels ? `, labelled${classes}` : ', no labels';
  meta.push(
    [
      'Dataset',
      e(r.dataset.description || r.dataset.identity) +
        (r.dataset.description ? ` <span class="muted mono">${e(r.dataset.identity)}</span>` : ''),
    ],
    ['Samples', e(formatCount(r.dataset.samples)) + labelled],
    ['Analyses', r.settings.analyses.map(code).join(' ')],
  );
  const settings = Object.entries(r.settings)
    .filter(([k]) => k !== 'analyses')
    .map(([k, v]) => `${code(k)} ${e(settingValue(v))}`)
    .join(' · ');
  meta.push(['Settings', settings]);
  const timings = Object.entries(r.timings);
  if (timings.length) meta.push(['Time', timings.map(([k, s]) => `${e(k)} ${e(formatDuration(s))}`).join(' · ')]);
  meta.push([
    'Created',
    `${e(r.createdAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'))} by ${e(r.tool.name)} ${e(r.tool.version)}`,
  ]);
  const noteItems = r.notes.map((n) => `<li>${e(n)}</li>`).join('');
  const notes = r.notes.length
    ? `<section id="notes" class="notes" aria-label="Notes"><h2>Notes</h2><ul>${noteItems}</ul></section>`
    : '';
  return `<header id="header">
  <div class="title-row">
    <h1 id="model-name" title="${e(r.model.path)}">${e(r.model.name || baseName(r.model.path))}</h1>
    ${r.complete ? '' : '<span class="badge warn" id="incomplete">incomplete run</span>'}
    <span class="spacer"></span>
    <button id="theme-toggle" type="button" aria-label="Switch theme">Dark theme</button>
  </div>
  <dl id="model-meta" class="meta">
${dl(meta)}
  </dl>
  ${notes}
</header>`;
}

const OVERVIEW_NOTE =
  'Click a column header to sort; click again to reverse. Empty cells (—): not computed for that layer.';

/** One layer table: the model's (with "(B)" columns when paired) or the compared model's own. */
function layerTable(r: AnalysisResult, which: TableModel, id: string): string {
  const e = escapeHtml;
  const cols = overviewColumns(r, which);
  const rows = overviewRows(r, which);
  const head = cols
    .map(
      (c) =>
        `<th scope="col" class="col-${c.key}${c.numeric ? ' num' : ''}" data-col="${c.key}" ` +
        `data-numeric="${c.numeric}" tabindex="0" aria-sort="none" title="${e(c.title)}">${e(c.label)}<span ` +
        'class="sort-mark" aria-hidden="true"></span></th>',
    )
    .join('');
  const body = rows
    .map(
      (row) =>
        `<tr data-tensor="${e(row.tensor)}">${cols
          .map((c) => {
            const cell = row.cells[c.key];
            const sort = cell.sort === null ? '' : String(cell.sort);
            const title = c.key === 'label' ? ` title="${e(row.tensor)}"` : '';
            const cls = `col-${c.key}${c.numeric ? ' num' : ''}${cell.sort === null ? ' empty' : ''}`;
            return `<td class="${cls}" data-sort="${e(sort)}"${title}>${e(cell.text)}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  return `  <div class="table-wrap">
    <table id="${id}" class="layer-table">
      <thead><tr>${head}</tr></thead>
      <tbody>
${body}
      </tbody>
    </table>
  </div>`;
}

function overviewTable(r: AnalysisResult): string {
  const e = escapeHtml;
  const mode = compareTable(r);
  const count = overviewRows(r).length;
  const key =
    mode === 'paired'
      ? `<p class="note" id="table-models">The “(B)” columns are ${e(r.compare!.name)}, the compared model, on ` +
        `the same layer; the others ${e(r.model.name)}.</p>`
      : '';
  const second =
    mode === 'separate'
      ? `
  <h3 class="table-title" id="compare-table-title">${e(r.compare!.name)} (compared model) <span class="count">${
    overviewRows(r, 'compare').length
  }</span></h3>
  <p class="note">A different architecture: its own layers, the same columns.</p>
${layerTable(r, 'compare', 'compare-table')}`
      : '';
  const first = mode === 'separate' ? `\n  <h3 class="table-title">${e(r.model.name)}</h3>` : '';
  return `<section id="sec-overview" class="section">
  <h2>Layers <span class="count">${count}</span></h2>
  <p class="note">${OVERVIEW_NOTE}</p>
  ${key}${first}
${layerTable(r, 'model', 'overview-table')}${second}
</section>`;
}

/** A figure at least this wide (a heatmap over many layers: it has its own width) takes a whole grid row. */
const WIDE_FIGURE_PX = 700;

/** One chart's figure (its caption only in a grid of several). */
function chartCard(c: { id: string; title: string; figure: PlotFigure }, grid: boolean): string {
  const caption = grid ? `<figcaption>${escapeHtml(c.title)}</figcaption>` : '';
  const label = escapeHtml(c.title);
  const width = c.figure.layout.width;
  const wide = typeof width === 'number' && width >= WIDE_FIGURE_PX ? ' wide' : '';
  const chart = `<div class="chart" id="chart-${c.id}" data-chart="${c.id}" role="img" aria-label="${label}">`;
  return `    <figure class="chart-card${wide}">${caption}${chart}</div></figure>`;
}

function chartSections(r: AnalysisResult): { html: string; toc: [string, string][] } {
  const charts = reportCharts(r, REPORT_THEMES.light);
  const toc: [string, string][] = [['sec-overview', 'Layers']];
  const parts: string[] = [];
  for (const s of REPORT_SECTIONS) {
    const cs = charts.filter((c) => c.section === s.key);
    if (cs.length === 0) continue;
    toc.push([`sec-${s.key}`, s.title]);
    const grid = cs.length > 1;
    const title = s.key === 'compare' && r.compare ? `${s.title}: ${r.model.name} ↔ ${r.compare.name}` : s.title;
    parts.push(`<section id="sec-${s.key}" class="section">
  <h2>${escapeHtml(title)}</h2>
  <p class="note">${escapeHtml(s.note(r))}</p>
  <div class="${grid ? 'chart-grid' : 'chart-single'}">
${cs.map((c) => chartCard(c, grid)).join('\n')}
  </div>
</section>`);
  }
  const missing = ANALYSIS_IDS.filter((k) => !(k in r.analyses)).map((k) => ANALYSIS_SPECS[k].title);
  if (missing.length)
    parts.push(
      `<p class="note" id="not-computed">Not in this result: ${missing.map((m) => escapeHtml(m)).join(', ')}.</p>`,
    );
  return { html: parts.join('\n'), toc };
}

/** The dark theme's colours: chosen with the toggle, or followed from the system while the choice is "auto". */
const DARK = `
  color-scheme: dark;
  --fg: #cccccc;
  --bg: #1f1f1f;
  --muted: #9d9d9d;
  --border: #3c3c3c;
  --head: #252526;
  --hover: #2a2d2e;
  --accent: #4daafc;
  --chip: #2b2b2b;
  --warn: #e2c08d;
  --warn-bg: #3b3018;
`.slice(1);

const CSS = `
:root {
  color-scheme: light;
  --fg: #3b3b3b;
  --bg: #ffffff;
  --muted: #6f6f6f;
  --border: #e0e0e0;
  --head: #f6f6f6;
  --hover: #f0f4fa;
  --accent: #005fb8;
  --chip: #f0f0f0;
  --warn: #9a6700;
  --warn-bg: #fff4d6;
}
html[data-theme="dark"] {
${DARK}}
@media (prefers-color-scheme: dark) {
  html[data-theme="auto"] {
${DARK}  }
}
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body {
  color: var(--fg);
  background: var(--bg);
  font-family: ${REPORT_FONT};
  font-size: 14px;
  line-height: 1.45;
  padding: 20px 28px 48px;
  max-width: 1600px;
  margin: 0 auto;
}
h1, h2, h3 { font-weight: 600; margin: 0; }
h1 { font-size: 1.6em; overflow-wrap: anywhere; }
h2 { font-size: 1.2em; margin-bottom: 4px; }
code, .mono { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 0.92em; }
code { background: var(--chip); padding: 0 4px; border-radius: 3px; }
.muted { color: var(--muted); }
#header { border-bottom: 1px solid var(--border); padding-bottom: 14px; margin-bottom: 8px; }
.title-row { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; margin-bottom: 10px; }
.spacer { flex: 1; }
.badge { font-size: 0.85em; padding: 1px 8px; border-radius: 10px; border: 1px solid var(--border); }
.badge.warn { color: var(--warn); background: var(--warn-bg); border-color: var(--warn); }
#theme-toggle {
  font: inherit;
  color: var(--fg);
  background: var(--chip);
  border: 1px solid var(--border);
  border-radius: 4px;
  padding: 4px 12px;
  cursor: pointer;
}
#theme-toggle:hover { border-color: var(--accent); }
.meta { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 6px 24px; margin: 0; }
.meta-item { display: flex; gap: 10px; min-width: 0; }
.meta dt { color: var(--muted); flex: 0 0 104px; }
.meta dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.notes {
  margin-top: 12px;
  padding: 8px 12px;
  border-left: 3px solid var(--warn);
  background: var(--warn-bg);
  border-radius: 3px;
}
.notes h2 { font-size: 1em; }
.notes ul { margin: 4px 0 0; padding-left: 20px; }
nav#toc {
  position: sticky;
  top: 0;
  z-index: 10;
  background: var(--bg);
  border-bottom: 1px solid var(--border);
  padding: 8px 0;
  margin-bottom: 8px;
  display: flex;
  flex-wrap: wrap;
  gap: 4px 16px;
}
nav#toc a { color: var(--accent); text-decoration: none; }
nav#toc a:hover { text-decoration: underline; }
.section { margin: 28px 0 0; scroll-margin-top: 48px; }
.note { color: var(--muted); margin: 0 0 10px; max-width: 110ch; }
.count { color: var(--muted); font-weight: normal; font-size: 0.85em; }
.table-wrap { overflow: auto; max-height: 70vh; border: 1px solid var(--border); border-radius: 4px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; text-align: left; white-space: nowrap; border-bottom: 1px solid var(--border); }
th { position: sticky; top: 0; background: var(--head); cursor: pointer; user-select: none; font-weight: 600; }
th:hover, th:focus-visible { color: var(--accent); outline: none; }
th.num, td.num { text-align: right; }
td.col-label { max-width: 36ch; overflow: hidden; text-overflow: ellipsis; }
td.empty { color: var(--muted); }
tbody tr:hover { background: var(--hover); }
.sort-mark { display: inline-block; width: 1em; color: var(--accent); }
th[aria-sort="ascending"] .sort-mark::after { content: "▲"; font-size: 0.7em; }
th[aria-sort="descending"] .sort-mark::after { content: "▼"; font-size: 0.7em; }
figure { margin: 0; }
.chart-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
.chart-card { border: 1px solid var(--border); border-radius: 4px; padding: 8px; min-width: 0; }
.chart-card.wide { grid-column: 1 / -1; }
.chart-card figcaption { font-weight: 600; margin: 0 0 4px 4px; }
.chart { width: 100%; min-height: 120px; }
.chart-error { color: #d13438; }
.table-title { font-size: 1em; margin: 14px 0 4px; }
/* a large heatmap keeps its cell size and scrolls */
.chart { overflow-x: auto; }
/* the ⓘ beside a column header or chart title, and its popover (webview/analysis/info.ts) */
.info-button {
  font: inherit; font-weight: normal; line-height: 1; margin-left: 4px; padding: 0 2px; border: 0;
  border-radius: 3px; background: transparent; color: var(--accent); cursor: help;
}
.info-button::before {
  content: "i"; display: inline-block; box-sizing: border-box; width: 1.25em; height: 1.25em;
  border: 1px solid currentColor; border-radius: 50%; text-align: center;
  font: italic bold 0.72em/1.1em Georgia, "Times New Roman", serif;
}
.info-button:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
.info-popover {
  inset: auto; margin: 0; position: fixed; padding: 8px 12px; font-size: 13px; line-height: 1.45;
  white-space: normal; text-align: left; font-weight: normal; color: var(--fg); background: var(--bg);
  border: 1px solid var(--border); border-radius: 4px; box-shadow: 0 2px 10px rgba(0, 0, 0, 0.3);
}
.info-popover .info-title { font-size: 1em; margin: 0 0 4px; }
.info-popover p { margin: 4px 0; }
.info-popover .info-key { color: var(--muted); }
.info-popover a { color: var(--accent); }
@media (forced-colors: active) { .info-popover { border-color: CanvasText; } }
@media print { nav#toc, #theme-toggle { display: none; } }
`;

/** The report as one HTML document. */
export function renderReport(result: AnalysisResult, opts: RenderReportOptions): string {
  const e = escapeHtml;
  const nonce = opts.nonce ?? randomBytes(18).toString('base64');
  const reportJs = opts.reportJs ?? readReportBundle();
  const { html: sections, toc } = chartSections(result);
  const theme: ReportTheme = opts.theme === 'light' || opts.theme === 'dark' ? opts.theme : 'auto';
  return `<!DOCTYPE html>
<html lang="en" data-theme="${theme}" data-theme-choice="${theme}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(reportCsp(nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="${e(`${result.tool.name} ${result.tool.version}`)}">
<title>RepLens report: ${e(result.model.name)}</title>
<style>${CSS}</style>
</head>
<body>
${header(result)}
<nav id="toc" aria-label="Sections">${toc.map(([id, t]) => `<a href="#${id}">${e(t)}</a>`).join('')}</nav>
<main>
${overviewTable(result)}
${sections}
</main>
<script type="application/json" id="replens-result">${jsonForScript(result)}</script>
<script nonce="${e(nonce)}">${scriptForInline(opts.plotlyJs)}</script>
<script nonce="${e(nonce)}">${scriptForInline(reportJs)}</script>
</body>
</html>
`;
}
