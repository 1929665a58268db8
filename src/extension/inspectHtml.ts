// The Inspect panel's HTML document: a pure function (no vscode import) so tests can render the exact document the
// extension serves. Scripts run only with the per-render nonce; styles come from the webview's resource origin (plus
// inline styles, which plotly injects at run time).
import { randomBytes } from 'crypto';

export interface InspectHtmlOptions {
  /** `webview.cspSource`: the origin the webview's local resources are served from. */
  cspSource: string;
  /** Fresh for every render (`makeNonce`). */
  nonce: string;
  /** dist/webview/plotly.min.js as a webview URI. */
  plotlyUri: string;
  /** dist/webview/inspect.js as a webview URI. */
  scriptUri: string;
  /** media/inspect.css as a webview URI. */
  styleUri: string;
  /** The model's absolute path (the webview keeps it in its state, so a restored panel knows its model). */
  modelPath: string;
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return (
    [
      "default-src 'none'",
      `img-src ${cspSource} data:`,
      `style-src ${cspSource} 'unsafe-inline'`,
      `script-src 'nonce-${nonce}'`,
      `font-src ${cspSource}`,
    ].join('; ') + ';'
  );
}

/** Escapes text and double-quoted attribute values (every attribute below is double-quoted). */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fileName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}

/** The columns of the layer table: key (also the cell class `col-<key>`), header, numeric (right-aligned). */
export const LAYER_COLUMNS: readonly { key: string; label: string; numeric: boolean }[] = [
  { key: 'index', label: '#', numeric: true },
  { key: 'name', label: 'Name', numeric: false },
  { key: 'op', label: 'Op', numeric: false },
  { key: 'module', label: 'Module', numeric: false },
  { key: 'shape', label: 'Shape', numeric: false },
  { key: 'params', label: 'Params', numeric: true },
  { key: 'output', label: 'Output', numeric: false },
];

export function inspectHtml(o: InspectHtmlOptions): string {
  const e = escapeHtml;
  const name = fileName(o.modelPath);
  const nonce = e(o.nonce);
  const headers = LAYER_COLUMNS.map(
    (c) =>
      `<th scope="col" class="col-${c.key}${c.numeric ? ' num' : ''}" data-col="${c.key}" tabindex="0" ` +
      `aria-sort="none">${e(c.label)}<span class="sort-mark" aria-hidden="true"></span></th>`,
  ).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="replens-model" content="${e(o.modelPath)}">
<link rel="stylesheet" href="${e(o.styleUri)}">
<title>RepLens: ${e(name)}</title>
</head>
<body>
<header id="header">
  <div class="title-row">
    <h1 id="model-name" title="${e(o.modelPath)}">${e(name)}</h1>
    <span id="status" role="status" aria-live="polite">loading…</span>
  </div>
  <dl id="model-meta" class="meta" hidden></dl>
  <div id="model-io" class="io" hidden></div>
</header>
<main>
  <section id="progress" class="progress">
    <vscode-progress-ring aria-label="Working"></vscode-progress-ring>
    <span id="progress-text">loading…</span>
  </section>
  <section id="error-card" class="error-card" role="alert" hidden>
    <div class="error-title">Inspect failed <vscode-badge id="error-code" variant="default"></vscode-badge></div>
    <p id="error-message"></p>
    <div class="error-actions">
      <vscode-button id="retry-button">Retry</vscode-button>
      <vscode-button id="show-log-button" secondary>Show Log</vscode-button>
    </div>
  </section>
  <section id="results" class="results" hidden>
    <div class="layers-pane">
      <div class="pane-head">
        <h2>Layers <span id="layer-count" class="count">0</span></h2>
        <input id="filter" type="search" placeholder="Filter by name, op, module, output" aria-label="Filter layers"
          spellcheck="false">
        <span id="filter-count" class="filter-count"></span>
      </div>
      <div class="table-wrap">
        <table id="layers-table">
          <thead><tr>${headers}</tr></thead>
          <tbody></tbody>
        </table>
      </div>
    </div>
    <div class="chart-pane">
      <div class="pane-head"><h2>Parameters per layer</h2><span id="chart-note" class="note"></span></div>
      <div id="param-chart" class="chart"></div>
    </div>
  </section>
</main>
<script nonce="${nonce}" src="${e(o.plotlyUri)}"></script>
<script nonce="${nonce}" src="${e(o.scriptUri)}"></script>
</body>
</html>
`;
}
