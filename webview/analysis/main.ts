// The Analysis panel's webview: validates host messages; shows the run (status, progress, Cancel / Re-run / Export,
// the run pickers: any stored run of the model, another run overlaid on it),
// the per-layer table with selectivity sparklines, and one tab per analysis with the report's chart builders. Results
// stream in (the host sends the document so far a few times a second); only the visible tab is drawn. The last
// document is kept in the webview state, so a hidden or restored panel shows it at once.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import {
  assertNever,
  parseHostToAnalysisView,
  type AnalysisRunInfo,
  type AnalysisRuns,
  type AnalysisRunState,
  type AnalysisViewToHost,
  type ErrorInfo,
  type HostToAnalysisView,
  type Progress,
} from '../../src/shared/messages';
import { formatAccuracy, upgradeResult, type AnalysisResult } from '../../src/shared/result';
import { formatEta } from '../../src/shared/duration';
import { byId, documentModelPath } from '../dom';
import { themeFromCssVars, type ChartTheme } from '../charts/theme';
import { compareSort, type OverviewKey } from '../report/overview';
import { PANEL_TABS, sparklinePoints } from './tabs';
import {
  compareTable,
  overviewColumns,
  overviewRows,
  tableResult,
  tableSparklines,
  tabCharts,
  type TableModel,
} from '../views/registry';
import { plotly } from '../charts/plotly';
import { runLabel, runLine, stateText } from './state';
import { ANALYSIS_SPECS } from '../../src/shared/analyses';
import { infoButton, setReadmeOpener } from './info';
import { chartInfo, columnInfo, emptyTabText, sparklineInfo } from '../views/info';

interface VsCodeApi {
  postMessage(m: AnalysisViewToHost): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
interface ViewState {
  v: 1;
  modelPath: string;
  run?: AnalysisRunInfo;
  /** The stored runs and the ids shown and overlaid (a panel restored after a reload shows the same). */
  runs?: AnalysisRuns;
  result?: AnalysisResult;
  state?: AnalysisRunState;
  tab?: string;
  sort?: { col: OverviewKey; dir: 'asc' | 'desc' } | null;
}

const vscode = acquireVsCodeApi();
const $ = byId;
const modelPath = documentModelPath();
const post = (m: AnalysisViewToHost) => vscode.postMessage(m);
// a webview cannot open the README's web address: the host opens the bundled README at the section
setReadmeOpener((anchor) => post({ v: 1, type: 'readme', anchor }));
const PLOT_CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ['toImage', 'sendDataToCloud', 'select2d', 'lasso2d'],
};

const view: ViewState = restore();
let selectedTab = view.tab ?? 'layers';
let revealTensor: string | null = null;

function restore(): ViewState {
  const s = vscode.getState() as Partial<ViewState> | undefined;
  if (!s || s.v !== 1 || (modelPath && s.modelPath !== modelPath)) return { v: 1, modelPath };
  return {
    v: 1,
    modelPath,
    run: s.run,
    runs: s.runs,
    result: upgradeResult(s.result) ?? undefined,
    state: s.state,
    tab: s.tab,
    sort: s.sort ?? null,
  };
}
const save = () => vscode.setState(view);

// ---- header: status, progress, buttons ------------------------------------------------------------------------

function setState(state: AnalysisRunState | undefined): void {
  document.body.dataset.state = state ?? 'idle';
  $('status').textContent = state ? stateText(state, view.result) : 'no result yet';
  $('status').title = $('status').textContent; // shown in full where the header is narrow
  $('cancel-button').hidden = state !== 'running';
  $('rerun-button').hidden = state === 'running' || !view.run || view.run.rerun === false;
  const exportable = !!view.result && state !== 'running';
  for (const id of ['export-button', 'export-html', 'export-json', 'export-csv'])
    $(id).toggleAttribute('disabled', !exportable);
  if (!exportable) showMenu(false);
  if (state !== 'running') $('progress').hidden = true;
  showRuns();
}

function showMenu(open: boolean): void {
  $('export-menu').hidden = !open;
  $('export-button').setAttribute('aria-expanded', String(open));
  if (open) $<HTMLButtonElement>('export-html').focus();
}

function option(value: string, text: string, selected = false): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  o.selected = selected;
  return o;
}

/** The run pickers: the model's stored runs (the shown one selected) and the runs that can be overlaid on it. */
function showRuns(): void {
  const runs = view.runs;
  const running = view.state === 'running';
  $('runs-row').hidden = !runs || (!runs.own.length && !running);
  if (!runs) return;
  const picker = $<HTMLSelectElement>('run-picker');
  picker.replaceChildren(
    ...(runs.shown === null ? [option('', running ? 'this run (running…)' : 'this run', true)] : []),
    ...runs.own.map((r) => option(r.id, runLabel(r), r.id === runs.shown)),
  );
  picker.disabled = running;
  const overlay = $<HTMLSelectElement>('overlay-picker');
  const group = (label: string, items: HTMLOptionElement[]) => {
    const g = document.createElement('optgroup');
    g.label = label;
    g.append(...items);
    return g;
  };
  const own = runs.own.filter((r) => r.id !== runs.shown);
  overlay.replaceChildren(
    option('', 'none', !runs.overlay),
    ...(own.length
      ? [
          group(
            'this model',
            own.map((r) => option(r.id, runLabel(r), r.id === runs.overlay)),
          ),
        ]
      : []),
    ...(runs.others.length
      ? [
          group(
            'other models',
            runs.others.map((r) => option(r.id, runLabel(r, true), r.id === runs.overlay)),
          ),
        ]
      : []),
  );
  overlay.disabled = running || runs.shown === null || !(own.length + runs.others.length);
}

function showRun(run: AnalysisRunInfo): void {
  const base = (p: string) => p.split(/[\\/]/).pop() ?? p;
  $('model-name').textContent = base(run.modelPath);
  $('model-name').title = run.modelPath;
  $('run-meta').textContent = runLine(run, view.result, !!view.runs?.overlay);
}

/** Which analyses came from the cache (an earlier run with the same model, data and settings), with Recompute. */
function showCached(r: AnalysisResult): void {
  const ids = r.cached ?? [];
  $('cached').textContent = ids.length
    ? `From the cache (an earlier run with the same model, data and settings): ` +
      ids.map((id) => ANALYSIS_SPECS[id].title).join(', ')
    : '';
  $('cached-row').hidden = !ids.length || view.state === 'running' || view.run?.rerun === false;
}

/** The model's accuracy on the analysed samples (when the data has labels), under the run line. */
function showAccuracy(r: AnalysisResult): void {
  const el = $('accuracy');
  const parts = [
    ...(r.model.accuracy ? [`${r.model.name}: ${formatAccuracy(r.model.accuracy)}`] : []),
    ...(r.compare?.accuracy ? [`${r.compare.name}: ${formatAccuracy(r.compare.accuracy)}`] : []),
  ];
  el.textContent = parts.join(' · ');
  el.hidden = !parts.length;
}

function showProgress(p: Progress): void {
  $('progress').hidden = false;
  const bar = $<HTMLElement & { value?: number; max?: number }>('progress-bar');
  if (p.total > 0) {
    bar.max = p.total;
    bar.value = p.done;
  } else {
    bar.value = undefined;
  }
  const eta = formatEta(p.etaSeconds);
  const layer = p.layer ? ` — ${p.layer}` : '';
  const count = p.total > 0 ? ` (${p.done}/${p.total})` : '';
  $('progress-text').textContent = `${p.stage}${layer}${count}${eta ? ` · ${eta} left` : ''}`;
}

function showError(e: ErrorInfo | null): void {
  $('error-card').hidden = !e;
  if (!e) return;
  $('error-code').textContent = e.code;
  $('error-message').textContent = e.message;
}

// ---- the layer table ---------------------------------------------------------------------------------------------

function sparkline(counts: readonly number[] | null, label: string): SVGSVGElement | null {
  const pts = counts ? sparklinePoints(counts, 60, 16) : '';
  if (!pts) return null;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 60 16');
  svg.setAttribute('width', '60');
  svg.setAttribute('height', '16');
  svg.setAttribute('class', 'sparkline');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', pts);
  svg.append(line);
  return svg;
}

/** Fills one layer table (the model's, or the compared model's own): its head when its columns changed, its rows. */
function fillTable(table: HTMLTableElement, r: AnalysisResult, which: TableModel): number {
  const cols = overviewColumns(r, which),
    sparks = tableSparklines(r, which),
    src = tableResult(r, which);
  const head = table.tHead!.rows[0];
  const sig = [...cols.map((c) => c.key), ...sparks.map((sp) => sp.label)].join('\n');
  if (head.dataset.cols !== sig) {
    head.dataset.cols = sig;
    head.replaceChildren();
    for (const c of cols) {
      const th = document.createElement('th');
      th.textContent = c.label;
      th.title = c.title;
      th.dataset.col = c.key;
      th.tabIndex = 0;
      th.className = `col-${c.key}${c.numeric ? ' num' : ''}`;
      // the compared model's own table explains its numbers with its run's settings
      th.append(
        infoButton(document, c.label, () =>
          view.result ? columnInfo(c.key, tableResult(view.result, which) ?? view.result) : null,
        ),
      );
      th.addEventListener('click', () => sortBy(c.key, c.numeric));
      th.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          sortBy(c.key, c.numeric);
        }
      });
      head.append(th);
    }
    for (const sp of sparks) {
      const th = document.createElement('th');
      th.textContent = sp.label;
      th.append(infoButton(document, sp.label, () => (view.result ? sparklineInfo(sp.label, view.result) : null)));
      th.className = 'col-spark';
      head.append(th);
    }
  }
  let rows = overviewRows(r, which);
  const s = view.sort;
  if (s && cols.some((c) => c.key === s.col))
    rows = [...rows].sort(
      (a, b) =>
        compareSort(a.cells[s.col].sort, b.cells[s.col].sort, s.dir) ||
        compareSort(a.cells.index.sort, b.cells.index.sort, 'asc'),
    );
  const body = table.tBodies[0];
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement('tr');
      tr.dataset.tensor = row.tensor;
      for (const c of cols) {
        const td = document.createElement('td');
        td.textContent = row.cells[c.key].text;
        td.className = `col-${c.key}${c.numeric ? ' num' : ''}`;
        tr.append(td);
      }
      for (const sp of sparks) {
        const td = document.createElement('td');
        td.className = 'col-spark';
        const svg = src ? sparkline(sp.counts(src, row.tensor), sp.label) : null;
        if (svg) td.append(svg);
        tr.append(td);
      }
      if (which === 'model' && row.tensor === revealTensor) tr.classList.add('revealed');
      return tr;
    }),
  );
  head
    .querySelectorAll('th[data-col]')
    .forEach((th) =>
      th.setAttribute(
        'aria-sort',
        s && (th as HTMLElement).dataset.col === s.col ? (s.dir === 'asc' ? 'ascending' : 'descending') : 'none',
      ),
    );
  return rows.length;
}

/**
 * The compared model's table (different architectures), made after the model's on first use: a title and the table
 * (#compare-table). Removed for results that do not have one.
 */
function compareTableBox(r: AnalysisResult): HTMLTableElement | null {
  let box = document.getElementById('compare-table-box');
  if (compareTable(r) !== 'separate') {
    box?.remove();
    return null;
  }
  if (!box) {
    box = document.createElement('div');
    box.id = 'compare-table-box';
    const h = document.createElement('h3');
    h.id = 'compare-table-title';
    const wrap = document.createElement('div');
    wrap.className = 'table-wrap';
    const table = document.createElement('table');
    table.id = 'compare-table';
    table.append(document.createElement('thead'), document.createElement('tbody'));
    table.tHead!.append(document.createElement('tr'));
    wrap.append(table);
    box.append(h, wrap);
    $('layer-table').closest('.table-wrap')!.after(box);
  }
  $('compare-table-title').textContent = `${r.compare!.name} (compared model, its own layers)`;
  return $<HTMLTableElement>('compare-table');
}

function renderTable(r: AnalysisResult): void {
  const n = fillTable($<HTMLTableElement>('layer-table'), r, 'model');
  const second = compareTableBox(r);
  if (second) fillTable(second, r, 'compare');
  $('layer-count').textContent = String(n);
  // same layers: which model the "(B)" columns are
  let key = document.getElementById('table-models');
  if (compareTable(r) === 'paired') {
    if (!key) {
      key = document.createElement('p');
      key.id = 'table-models';
      key.className = 'table-key';
      $('layer-table').closest('.table-wrap')!.before(key);
    }
    key.textContent =
      `“(B)” columns: ${r.compare!.name} (compared model), on the same layer; ` + `the others: ${r.model.name}.`;
  } else key?.remove();
  const notes = $('notes');
  notes.replaceChildren(
    ...r.notes.map((n) => {
      const li = document.createElement('li');
      li.textContent = n;
      return li;
    }),
  );
  notes.hidden = !r.notes.length;
}

function sortBy(col: OverviewKey, numeric: boolean): void {
  const s = view.sort;
  view.sort = {
    col,
    dir: s && s.col === col ? (s.dir === 'asc' ? 'desc' : 'asc') : numeric && col !== 'index' ? 'desc' : 'asc',
  };
  save();
  if (view.result) renderTable(view.result);
}

// ---- tabs and charts ---------------------------------------------------------------------------------------------

function readTheme(): ChartTheme {
  const cs = getComputedStyle(document.documentElement);
  const cl = document.body.classList;
  const dark =
    cl.contains('vscode-dark') || (cl.contains('vscode-high-contrast') && !cl.contains('vscode-high-contrast-light'));
  return themeFromCssVars((n) => cs.getPropertyValue(n), dark);
}

function ensureTabs(r: AnalysisResult): void {
  const tabs = $<HTMLElement & { selectedIndex: number }>('tabs');
  const present = PANEL_TABS.filter((t) => t.has(r));
  const have = Array.from(tabs.querySelectorAll('vscode-tab-header')).map((h) => (h as HTMLElement).dataset.tab);
  if (have.join() === present.map((t) => t.id).join()) return;
  const table = $('layers-section');
  tabs.replaceChildren();
  for (const t of present) {
    const header = document.createElement('vscode-tab-header');
    header.setAttribute('slot', 'header');
    header.dataset.tab = t.id;
    header.id = `tab-${t.id}`;
    header.textContent = t.title;
    const panel = document.createElement('vscode-tab-panel');
    panel.dataset.tab = t.id;
    panel.id = `panel-${t.id}`;
    if (t.table) panel.append(table);
    const charts = document.createElement('div');
    charts.className = 'charts';
    charts.id = `charts-${t.id}`;
    panel.append(charts);
    tabs.append(header, panel);
  }
  const idx = Math.max(
    0,
    present.findIndex((t) => t.id === selectedTab),
  );
  tabs.selectedIndex = idx;
  selectedTab = present[idx].id;
}

/** Shows `selectedTab` when the tabs already exist (a reveal switches to Layers). */
function syncTab(r: AnalysisResult): void {
  const tabs = $<HTMLElement & { selectedIndex: number }>('tabs');
  const idx = PANEL_TABS.filter((t) => t.has(r)).findIndex((t) => t.id === selectedTab);
  if (idx >= 0 && tabs.selectedIndex !== idx) tabs.selectedIndex = idx;
}

/** What each drawn chart was drawn from (figure JSON): a streamed update redraws only the charts that changed. */
const drawn = new Map<string, string>();
const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));
let drawing = 0;

async function renderCharts(r: AnalysisResult): Promise<void> {
  const P = plotly();
  const theme = readTheme();
  const tab = PANEL_TABS.find((t) => t.id === selectedTab && t.has(r));
  const box = document.getElementById(`charts-${selectedTab}`);
  if (!tab || !box) return;
  const run = ++drawing;
  document.body.dataset.rendered = 'pending';
  // Only the visible tab's figures are built; hidden tabs are drawn when they are opened.
  const entry = { tab, charts: tabCharts(r, theme, selectedTab) };
  const ids = new Set(entry.charts.map((c) => c.id));
  for (const el of Array.from(box.children)) if (!ids.has((el as HTMLElement).dataset.chart ?? '')) el.remove();
  const jobs: Promise<unknown>[] = [];
  for (const c of entry.charts) {
    let fig = box.querySelector<HTMLElement>(`[data-chart="${c.id}"]`);
    if (!fig) {
      fig = document.createElement('figure');
      fig.dataset.chart = c.id;
      fig.className = 'chart-box';
      const cap = document.createElement('figcaption');
      const title = document.createElement('span');
      title.textContent = c.title;
      const png = document.createElement('vscode-button');
      png.setAttribute('secondary', '');
      png.textContent = 'PNG';
      png.title = `Save "${c.title}" as PNG`;
      png.className = 'png-button';
      png.addEventListener('click', () => {
        void savePng(c.id);
      });
      title.append(infoButton(document, c.title, () => (view.result ? chartInfo(c.id, view.result) : null)));
      cap.append(title, png);
      const plot = document.createElement('div');
      plot.className = 'chart';
      plot.id = `chart-${c.id}`;
      fig.append(cap, plot);
      box.append(fig);
    }
    const plot = fig.querySelector<HTMLElement>('.chart')!;
    if (!P) {
      plot.textContent = 'The chart library did not load.';
      continue;
    }
    const key = JSON.stringify(c.figure);
    if (drawn.get(plot.id) === key && plot.childElementCount) continue; // unchanged since it was drawn
    // One chart per frame: the editor gets its frames between plotly's drawing instead of after all of it.
    if (jobs.length) await nextFrame();
    if (run !== drawing) return; // a newer document is being drawn
    drawn.set(plot.id, key);
    jobs.push(P.react(plot, c.figure.data, c.figure.layout, PLOT_CONFIG));
  }
  if (!entry.charts.length && !entry.tab.table)
    box.textContent = emptyTabText(selectedTab, r, view.state === 'running');
  await Promise.all(jobs);
  if (run === drawing) document.body.dataset.rendered = selectedTab;
}

async function savePng(chart: string): Promise<void> {
  const P = plotly(),
    el = document.getElementById(`chart-${chart}`);
  if (!P || !el) return;
  const dataUrl = await P.toImage(el, { format: 'png', scale: 2 });
  post({ v: 1, type: 'png', chart, dataUrl });
}

let pending = false;
/** Draws the document; streamed updates coalesce into one draw per animation frame. */
function render(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    const r = view.result;
    $('results').hidden = !r;
    $('empty').hidden = !!r || view.state === 'running';
    if (!r) return;
    renderTable(r);
    $('run-meta').textContent = runLine(view.run, r, !!view.runs?.overlay);
    showAccuracy(r);
    showCached(r);
    ensureTabs(r);
    syncTab(r);
    void renderCharts(r);
    if (revealTensor) {
      const row = document.querySelector<HTMLElement>(`#layer-table tr[data-tensor="${CSS.escape(revealTensor)}"]`);
      row?.scrollIntoView({ block: 'center' });
      document.body.dataset.revealed = row ? revealTensor : '';
    }
  });
}

function reveal(tensor: string): void {
  revealTensor = tensor;
  selectedTab = 'layers';
  view.tab = 'layers';
  render();
}

// ---- messages ----------------------------------------------------------------------------------------------------

window.addEventListener('message', (ev: MessageEvent) => {
  let m: HostToAnalysisView;
  try {
    m = parseHostToAnalysisView(ev.data);
  } catch (e) {
    console.error(`RepLens: ${(e as Error).message}`);
    return;
  }
  switch (m.type) {
    case 'run':
      view.run = m.run;
      showRun(m.run);
      showError(null);
      if (!view.result || view.result.model.path !== m.run.modelPath) view.result = undefined;
      break;
    case 'runs':
      view.runs = m.runs;
      showRuns();
      break;
    case 'progress':
      // Progress comes only while a run is going on (a webview reloaded mid-run may get it before the run).
      if (!view.state) {
        view.state = 'running';
        setState('running');
      }
      if (view.state === 'running') showProgress(m.progress);
      break;
    case 'result':
      view.result = m.result;
      view.state = m.state;
      setState(m.state);
      render();
      if (m.state !== 'running') document.body.dataset.done = m.state;
      break;
    case 'error':
      showError(m.error);
      view.state = view.state === 'running' ? 'failed' : view.state;
      setState(view.state);
      break;
    case 'reveal':
      reveal(m.tensor);
      break;
    case 'exported':
      $('toast').textContent = `${m.what} saved to ${m.path}`;
      break;
    default:
      assertNever(m);
  }
  if (m.type === 'run') {
    view.state = 'running';
    setState('running');
    $('progress').hidden = false;
    render();
  }
  save();
});

$('tabs').addEventListener('vsc-tabs-select', (e: Event) => {
  const idx = (e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex;
  const header = document.querySelectorAll<HTMLElement>('#tabs vscode-tab-header')[idx];
  if (!header?.dataset.tab) return;
  selectedTab = header.dataset.tab;
  view.tab = selectedTab;
  save();
  if (view.result) void renderCharts(view.result);
});
$('cancel-button').addEventListener('click', () => post({ v: 1, type: 'cancel' }));
$('rerun-button').addEventListener('click', () => post({ v: 1, type: 'rerun' }));
$('recompute-button').addEventListener('click', () => post({ v: 1, type: 'rerun', recompute: true }));
$('show-log-button').addEventListener('click', () => post({ v: 1, type: 'showLog' }));
$('error-log-button').addEventListener('click', () => post({ v: 1, type: 'showLog' }));
for (const format of ['html', 'json', 'csv'] as const)
  $(`export-${format}`).addEventListener('click', () => {
    showMenu(false);
    post({ v: 1, type: 'export', format });
  });
$('export-button').addEventListener('click', (e) => {
  e.stopPropagation();
  if (!$('export-button').hasAttribute('disabled')) showMenu($('export-menu').hidden);
});
document.addEventListener('click', (e) => {
  if (!$('export-menu').hidden && !$('export-menu').contains(e.target as Node)) showMenu(false);
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !$('export-menu').hidden) {
    showMenu(false);
    $('export-button').focus();
  }
});
$<HTMLSelectElement>('run-picker').addEventListener('change', (e) => {
  const id = (e.target as HTMLSelectElement).value;
  if (id) post({ v: 1, type: 'showRun', id });
});
$<HTMLSelectElement>('overlay-picker').addEventListener('change', (e) => {
  post({ v: 1, type: 'overlay', id: (e.target as HTMLSelectElement).value || null });
});

new MutationObserver(() => {
  if (view.result) void renderCharts(view.result);
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

if (view.run) showRun(view.run);
setState(view.state === 'running' ? undefined : view.state);
render();
post({ v: 1, type: 'ready' });
document.body.dataset.loaded = 'true'; // the scripts (plotly, then this one) have run: tests wait for it
