// The report page's script (bundled to dist/webview/report.js, inlined into the report): reads the result from the
// JSON data block, draws every chart with the pure builders, sorts the overview table on header clicks and switches
// between the light and dark theme (re-rendering the charts). Plain DOM, no framework.
import { comparedResult, type AnalysisResult } from '../../src/shared/result';
import { reportCharts } from '../views/registry';
import { REPORT_THEMES, compareSort, type OverviewKey } from './overview';
import { plotly } from '../charts/plotly';
import { infoButton } from '../analysis/info';
import { chartInfo, columnInfo } from '../views/info';

type Mode = 'light' | 'dark';

const PLOT_CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d', 'toggleSpikelines'],
  toImageButtonOptions: { format: 'png', scale: 2 },
};

function readResult(): AnalysisResult {
  const el = document.getElementById('replens-result');
  if (!el || !el.textContent) throw new Error('the report has no result data block (#replens-result)');
  return JSON.parse(el.textContent) as AnalysisResult;
}

const root = document.documentElement;
const media = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
let followSystem = root.dataset.themeChoice === 'auto';

function currentMode(): Mode {
  const t = root.dataset.theme;
  if (t === 'light' || t === 'dark') return t;
  return media?.matches ? 'dark' : 'light';
}

function renderCharts(result: AnalysisResult, mode: Mode): Promise<unknown> {
  const plotlyApi = plotly();
  const charts = reportCharts(result, REPORT_THEMES[mode]);
  const jobs: Promise<unknown>[] = [];
  for (const c of charts) {
    const el = document.getElementById(`chart-${c.id}`);
    if (!el) continue;
    if (!plotlyApi) {
      el.textContent = 'plotly did not load: the chart cannot be drawn';
      el.className = 'chart chart-error';
      continue;
    }
    jobs.push(plotlyApi.react(el, c.figure.data, c.figure.layout, PLOT_CONFIG));
  }
  return Promise.all(jobs);
}

function setMode(result: AnalysisResult, mode: Mode): Promise<unknown> {
  root.dataset.theme = mode;
  const button = document.getElementById('theme-toggle');
  if (button) {
    button.textContent = mode === 'dark' ? 'Light theme' : 'Dark theme';
    button.setAttribute('aria-pressed', String(mode === 'dark'));
  }
  root.dataset.rendered = 'pending';
  return renderCharts(result, mode).then(() => {
    root.dataset.rendered = mode;
  });
}

// ---- the overview table -----------------------------------------------------------------------------------------

/** Header clicks sort a layer table (the model's, and the compared model's own); columns as the header lists them. */
function setupTable(table: HTMLTableElement): void {
  const body = table.tBodies[0];
  const heads = Array.from(table.querySelectorAll<HTMLElement>('thead th[data-col]'));
  const cols = heads.map((th) => ({ key: th.dataset.col as OverviewKey, numeric: th.dataset.numeric === 'true' }));
  const key = (td: Element | undefined, num: boolean): number | string | null => {
    const s = td?.getAttribute('data-sort') ?? '';
    if (s === '') return null;
    return num ? Number(s) : s;
  };
  let sort: { col: OverviewKey; dir: 'asc' | 'desc' } | null = null;
  const apply = (col: OverviewKey) => {
    const idx = cols.findIndex((c) => c.key === col);
    const num = cols[idx]?.numeric ?? false;
    // first click: numbers largest first, text A→Z; again: reversed
    const dir: 'asc' | 'desc' =
      sort && sort.col === col ? (sort.dir === 'asc' ? 'desc' : 'asc') : num && col !== 'index' ? 'desc' : 'asc';
    sort = { col, dir };
    const depth = cols.findIndex((c) => c.key === 'index');
    const rows = Array.from(body.rows);
    rows.sort(
      (a, b) =>
        compareSort(key(a.cells[idx], num), key(b.cells[idx], num), dir) ||
        compareSort(key(a.cells[depth], true), key(b.cells[depth], true), 'asc'),
    );
    body.append(...rows);
    heads.forEach((th) => {
      th.setAttribute('aria-sort', th.dataset.col === col ? (dir === 'asc' ? 'ascending' : 'descending') : 'none');
    });
  };
  heads.forEach((th) => {
    const col = th.dataset.col as OverviewKey;
    th.addEventListener('click', () => apply(col));
    th.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        apply(col);
      }
    });
  });
}

// ---- ⓘ: what each column and chart means ------------------------------------------------------------------------

/** An ⓘ on each column header and each chart (in its caption, or the section heading of a single chart). */
function addInfo(result: AnalysisResult): void {
  // both layer tables (the compared model's own, for another architecture, reads its settings from its run)
  document.querySelectorAll<HTMLElement>('table.layer-table thead th[data-col]').forEach((th) => {
    const key = th.dataset.col!;
    const of = th.closest('table')?.id === 'compare-table' ? (comparedResult(result) ?? result) : result;
    const label = th.firstChild?.textContent?.trim() || key;
    if (columnInfo(key, of))
      th.insertBefore(
        infoButton(document, label, () => columnInfo(key, of)),
        th.querySelector('.sort-mark'),
      );
  });
  // the chart placeholders carry the id and the title (aria-label): no figure is built here
  document.querySelectorAll<HTMLElement>('.chart[data-chart]').forEach((el) => {
    const id = el.dataset.chart!;
    const at = el.closest('figure')?.querySelector('figcaption') ?? el.closest('section')?.querySelector('h2');
    if (at && chartInfo(id, result))
      at.append(infoButton(document, el.getAttribute('aria-label') ?? id, () => chartInfo(id, result)));
  });
}

// ---- start ------------------------------------------------------------------------------------------------------

function main(): void {
  document.querySelectorAll<HTMLTableElement>('table.layer-table').forEach(setupTable);
  let result: AnalysisResult;
  try {
    result = readResult();
  } catch (e) {
    root.dataset.rendered = 'error';
    throw e;
  }
  addInfo(result);
  void setMode(result, currentMode());
  document.getElementById('theme-toggle')?.addEventListener('click', () => {
    followSystem = false;
    void setMode(result, currentMode() === 'dark' ? 'light' : 'dark');
  });
  media?.addEventListener?.('change', () => {
    if (followSystem) void setMode(result, media.matches ? 'dark' : 'light');
  });
}

main();
