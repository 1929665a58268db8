// The Inspect panel's webview: validates host messages, renders the header, the layer table and the parameter chart,
// and keeps the last result in the webview state so a hidden panel re-renders at once when it is shown again.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import {
  assertNever,
  parseHostToWebview,
  type ErrorInfo,
  type HostToWebview,
  type InspectResult,
  type Progress,
  type WebviewToHost,
} from '../../src/shared/messages';
import { formatEta } from '../../src/shared/duration';
import type { LayerInfo } from '../../src/engine/onnx/layers';
import { paramChart } from '../charts/params';
import { byId, documentModelPath } from '../dom';
import { themeFromCssVars, type ChartTheme } from '../charts/theme';
import { baseName, formatBytes, formatCount, formatShape } from '../format';
import {
  cellText,
  COLUMN_KEYS,
  isColumnKey,
  matchesFilter,
  nextSort,
  sortLayers,
  type ColumnKey,
  type SortState,
} from './table';
import { plotly } from '../charts/plotly';
import { ORT_TYPE } from '../../src/shared/elem-types';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type PlotDiv = HTMLElement & {
  on?: (event: string, cb: (ev: { points?: { customdata?: unknown }[] }) => void) => void;
};

/** What survives a hidden panel: the last result or error, and the table's view settings. */
interface ViewState {
  v: 1;
  modelPath: string;
  last?: Extract<HostToWebview, { type: 'inspect' | 'error' }>;
  sort?: SortState | null;
  filter?: string;
}

const vscode = acquireVsCodeApi();
const $ = byId;
const modelPath = documentModelPath();
const state: ViewState = restoreState();
let current: InspectResult | null = null;

function restoreState(): ViewState {
  const s = vscode.getState() as Partial<ViewState> | undefined;
  const fresh: ViewState = { v: 1, modelPath };
  if (!s || s.v !== 1) return fresh;
  let last: ViewState['last'];
  try {
    const m = s.last ? parseHostToWebview(s.last) : undefined;
    if (m && m.type !== 'progress') last = m;
  } catch {
    /* stale or malformed state: start fresh */
  }
  const sort = s.sort && isColumnKey(s.sort.col) && (s.sort.dir === 'asc' || s.sort.dir === 'desc') ? s.sort : null;
  return {
    v: 1,
    modelPath: modelPath || s.modelPath || '',
    last,
    sort,
    filter: typeof s.filter === 'string' ? s.filter : '',
  };
}

function saveState(): void {
  vscode.setState(state);
}

function post(message: WebviewToHost): void {
  vscode.postMessage(message);
}

// ---- status, progress, error ------------------------------------------------------------------------------------

function setStatus(text: string, kind: 'busy' | 'ready' | 'error'): void {
  const s = $('status');
  s.textContent = text;
  s.dataset.kind = kind;
}

function progressText(p: Progress): string {
  let t = p.stage || 'working';
  if (p.total > 0) t += ` ${p.done}/${p.total}`;
  if (p.layer) t += ` · ${p.layer}`;
  const eta = formatEta(p.etaSeconds);
  if (eta) t += ` · ${eta} left`;
  return p.total > 0 ? t : t + '…';
}

function showProgress(p: Progress): void {
  const text = progressText(p);
  setStatus(text, 'busy');
  $('progress-text').textContent = text;
  $('progress').hidden = false;
  $('error-card').hidden = true;
  $('results').classList.toggle('stale', current !== null);
}

function showError(error: ErrorInfo): void {
  setStatus('error', 'error');
  // what the header showed belongs to an earlier run
  $('model-meta').hidden = true;
  $('model-io').hidden = true;
  $('progress').hidden = true;
  $('results').hidden = true;
  $('error-message').textContent = error.message;
  const code = $('error-code');
  code.textContent = error.code || 'E_INTERNAL';
  code.hidden = !error.code;
  $('error-card').hidden = false;
}

// ---- header -----------------------------------------------------------------------------------------------------

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function renderHeader(r: InspectResult): void {
  const s = r.summary;
  $('model-name').textContent = baseName(r.modelPath);
  $('model-name').title = r.modelPath;
  const meta = $('model-meta');
  meta.replaceChildren();
  const item = (label: string, value: string, id?: string) => {
    const div = el('div', undefined, 'meta-item');
    const dd = el('dd', value);
    if (id) dd.id = id;
    div.append(el('dt', label), dd);
    meta.append(div);
  };
  item('Parameters', formatCount(s.totalParams), 'total-params');
  item('Layers', String(s.layers.length));
  item('Opset', String(s.opset), 'opset');
  item('IR', String(s.irVersion));
  item('Producer', s.producer || 'unknown', 'producer');
  item('Execution provider', r.executionProvider.toUpperCase(), 'execution-provider');
  item('File', formatBytes(r.fileBytes));
  meta.hidden = false;

  const io = $('model-io');
  io.replaceChildren();
  const group = (label: string, rows: { name: string; shape: LayerInfo['shape']; type?: number }[], id: string) => {
    const g = el('div', undefined, 'io-group');
    g.id = id;
    g.append(el('span', label, 'io-label'));
    for (const t of rows) {
      const chip = el('span', undefined, 'io-tensor');
      chip.append(el('span', t.name, 'io-name'), el('span', formatShape(t.shape), 'io-shape'));
      if (t.type !== undefined) chip.append(el('span', ORT_TYPE[t.type] ?? `type ${t.type}`, 'io-type'));
      g.append(chip);
    }
    if (!rows.length) g.append(el('span', 'none', 'io-none'));
    io.append(g);
  };
  group('Inputs', s.inputs, 'model-inputs');
  group('Outputs', s.outputs, 'model-outputs');
  io.hidden = false;
}

// ---- table ------------------------------------------------------------------------------------------------------

const rowsByName = new Map<string, HTMLTableRowElement>();
const TRUNCATED: ReadonlySet<ColumnKey> = new Set(['name', 'module', 'output']);

function renderTable(layers: readonly LayerInfo[]): void {
  const tbody = document.querySelector<HTMLTableSectionElement>('#layers-table tbody')!;
  rowsByName.clear();
  const rows = sortLayers(layers, state.sort ?? null).map((l) => {
    const tr = el('tr', undefined, 'layer-row');
    tr.dataset.index = String(l.index);
    if (l.params === 0) tr.classList.add('no-params');
    for (const col of COLUMN_KEYS) {
      const text = cellText(l, col);
      const td = el('td', undefined, `col-${col}`);
      if (TRUNCATED.has(col)) {
        // table cells ignore max-width: the text sits in a block that can be cut with an ellipsis
        td.append(el('div', text, 'cut'));
        td.title = text;
      } else {
        td.textContent = text;
      }
      if (col === 'index' || col === 'params') td.classList.add('num');
      if (col === 'module' && l.module === '') td.classList.add('dim');
      tr.append(td);
    }
    rowsByName.set(l.name, tr);
    return tr;
  });
  tbody.replaceChildren(...rows);
  $('layer-count').textContent = String(layers.length);
  applyFilter();
  renderSortMarks();
}

function applyFilter(): void {
  if (!current) return;
  const q = state.filter ?? '';
  const byIndex = new Map(current.summary.layers.map((l) => [String(l.index), l]));
  let shown = 0;
  for (const tr of Array.from(document.querySelectorAll<HTMLTableRowElement>('#layers-table tbody tr.layer-row'))) {
    const l = byIndex.get(tr.dataset.index ?? '');
    const ok = !l || matchesFilter(l, q);
    tr.hidden = !ok;
    if (ok) shown++;
  }
  $('filter-count').textContent = q.trim() ? `${shown} of ${current.summary.layers.length}` : '';
}

function renderSortMarks(): void {
  for (const th of Array.from(document.querySelectorAll<HTMLTableCellElement>('#layers-table thead th'))) {
    const on = state.sort && th.dataset.col === state.sort.col;
    th.setAttribute('aria-sort', on ? (state.sort!.dir === 'asc' ? 'ascending' : 'descending') : 'none');
    const mark = th.querySelector('.sort-mark');
    if (mark) mark.textContent = on ? (state.sort!.dir === 'asc' ? ' ▲' : ' ▼') : '';
  }
}

function sortBy(col: ColumnKey): void {
  state.sort = nextSort(state.sort ?? null, col);
  saveState();
  if (current) renderTable(current.summary.layers);
}

function highlightRow(name: string): void {
  const tr = rowsByName.get(name);
  if (!tr) return;
  if (tr.hidden) {
    state.filter = '';
    $<HTMLInputElement>('filter').value = '';
    saveState();
    applyFilter();
  }
  for (const r of Array.from(document.querySelectorAll('tr.layer-row.highlight'))) r.classList.remove('highlight');
  tr.classList.add('highlight');
  tr.scrollIntoView({ block: 'center', behavior: 'smooth' });
}

// ---- chart ------------------------------------------------------------------------------------------------------

function readTheme(): ChartTheme {
  const cs = getComputedStyle(document.documentElement);
  const cl = document.body.classList;
  const dark =
    cl.contains('vscode-dark') || (cl.contains('vscode-high-contrast') && !cl.contains('vscode-high-contrast-light'));
  return themeFromCssVars((n) => cs.getPropertyValue(n), dark);
}

let chartBound = false;
function renderChart(r: InspectResult): void {
  const div = $<PlotDiv>('param-chart');
  const P = plotly();
  const withParams = r.summary.layers.filter((l) => l.params > 0).length;
  $('chart-note').textContent =
    withParams < r.summary.layers.length ? `${withParams} of ${r.summary.layers.length} layers have parameters` : '';
  if (!P) {
    div.textContent = 'The chart library did not load.';
    console.error('RepLens: plotly.min.js did not load');
    return;
  }
  const fig = paramChart(r.summary, readTheme());
  void P.react(div, fig.data, fig.layout, {
    displayModeBar: false,
    responsive: true,
    displaylogo: false,
    scrollZoom: false,
  }).then(() => {
    if (!chartBound && div.on) {
      chartBound = true;
      div.on('plotly_click', (ev) => {
        const name = ev.points?.[0]?.customdata;
        if (typeof name === 'string') highlightRow(name);
      });
    }
  });
}

let themeFrame = 0;
function onThemeChange(): void {
  if (themeFrame) return;
  themeFrame = requestAnimationFrame(() => {
    themeFrame = 0;
    if (current) renderChart(current);
  });
}

// ---- messages ---------------------------------------------------------------------------------------------------

function showResult(r: InspectResult): void {
  current = r;
  renderHeader(r);
  $('progress').hidden = true;
  $('error-card').hidden = true;
  const results = $('results');
  results.hidden = false;
  results.classList.remove('stale');
  renderTable(r.summary.layers);
  renderChart(r);
  setStatus('ready', 'ready');
}

function handle(msg: HostToWebview, persist: boolean): void {
  switch (msg.type) {
    case 'inspect':
      showResult(msg.result);
      if (persist) {
        state.last = msg;
        saveState();
      }
      return;
    case 'progress':
      showProgress(msg.progress);
      return;
    case 'error':
      current = null;
      showError(msg.error);
      if (persist) {
        state.last = msg;
        saveState();
      }
      return;
    default:
      assertNever(msg);
  }
}

window.addEventListener('message', (ev: MessageEvent) => {
  let msg: HostToWebview;
  try {
    msg = parseHostToWebview(ev.data);
  } catch (e) {
    console.warn(`RepLens: ignored a message: ${(e as Error).message}`);
    return;
  }
  handle(msg, true);
});

// ---- controls ---------------------------------------------------------------------------------------------------

$('retry-button').addEventListener('click', () => {
  showProgress({ stage: 'retrying', done: 0, total: 0, etaSeconds: null });
  post({ v: 1, type: 'retry' });
});
$('show-log-button').addEventListener('click', () => post({ v: 1, type: 'showLog' }));

const filter = $<HTMLInputElement>('filter');
filter.value = state.filter ?? '';
filter.addEventListener('input', () => {
  state.filter = filter.value;
  saveState();
  applyFilter();
});

for (const th of Array.from(document.querySelectorAll<HTMLTableCellElement>('#layers-table thead th'))) {
  const col = th.dataset.col;
  if (!isColumnKey(col)) continue;
  th.addEventListener('click', () => sortBy(col));
  th.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      sortBy(col);
    }
  });
}

// VS Code switches themes by changing the body's class (vscode-light / vscode-dark / vscode-high-contrast) and the
// CSS variables on <html>: redraw the chart with the new colours.
const themeObserver = new MutationObserver(onThemeChange);
themeObserver.observe(document.body, { attributes: true, attributeFilter: ['class'] });
themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });

// ---- start ------------------------------------------------------------------------------------------------------

if (state.last) handle(state.last, false);
saveState();
post({ v: 1, type: 'ready' });
