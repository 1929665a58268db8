// The Analysis panel's HTML document: pure (no vscode import), so tests render the exact document the extension
// serves. Same CSP as the Inspect panel: scripts only with the per-render nonce, no remote content.
import { contentSecurityPolicy, escapeHtml } from './inspectHtml';

export interface AnalysisHtmlOptions {
  cspSource: string;
  nonce: string;
  plotlyUri: string;
  scriptUri: string;
  styleUri: string;
  modelPath: string;
}

export function analysisHtml(o: AnalysisHtmlOptions): string {
  const e = escapeHtml;
  const name = o.modelPath.split(/[\\/]/).pop() || o.modelPath;
  const nonce = e(o.nonce);
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
<body data-state="idle">
<header id="header">
  <div class="title-row">
    <h1 id="model-name" title="${e(o.modelPath)}">${e(name)}</h1>
    <span id="status" role="status" aria-live="polite">loading…</span>
    <span class="spacer"></span>
    <div class="actions">
      <vscode-button id="cancel-button" hidden title="Stop the run; what finished is kept">Cancel</vscode-button>
      <vscode-button id="rerun-button" class="icon-button" secondary hidden aria-label="Re-run"
        title="Re-run the same analyses (an earlier identical run's results come from the cache)"
        >${ICONS.rerun}</vscode-button>
      <vscode-button id="export-button" secondary disabled aria-haspopup="menu" aria-expanded="false"
        title="Export the shown run: HTML report, result.json or CSV files">Export ${ICONS.chevron}</vscode-button>
      <vscode-button id="show-log-button" class="icon-button" secondary aria-label="Show Log"
        title="Show the RepLens log">${ICONS.log}</vscode-button>
      <div id="export-menu" class="menu" role="menu" hidden>
        <button id="export-html" role="menuitem" disabled title="Save the standalone HTML report">HTML report…</button>
        <button id="export-json" role="menuitem" disabled title="Save result.json">result.json…</button>
        <button id="export-csv" role="menuitem" disabled
          title="Save layers.csv and the matrices as CSV into a folder">CSV files…</button>
      </div>
    </div>
  </div>
  <div id="runs-row" class="runs-row" hidden>
    <label class="picker">Run <select id="run-picker" title="Show a stored run of this model"></select></label>
    <label class="picker">Compare with run <select id="overlay-picker"
      title="Overlay another stored run (of this model or another) on the shown one"></select></label>
  </div>
  <div id="run-meta" class="meta"></div>
  <div id="accuracy" class="meta" hidden></div>
  <div id="cached-row" class="meta" hidden>
    <span id="cached"></span>
    <vscode-button id="recompute-button" secondary
      title="Run every analysis again, without the cache">Recompute</vscode-button>
  </div>
  <section id="progress" class="progress" hidden>
    <vscode-progress-bar id="progress-bar" aria-label="Analysis progress"></vscode-progress-bar>
    <span id="progress-text">starting…</span>
  </section>
  <div id="toast" class="toast" role="status" aria-live="polite"></div>
</header>
<main>
  <section id="error-card" class="error-card" role="alert" hidden>
    <div class="error-title">Analysis failed <vscode-badge id="error-code" variant="default"></vscode-badge></div>
    <p id="error-message"></p>
    <vscode-button id="error-log-button" secondary>Show Log</vscode-button>
  </section>
  <p id="empty"
    class="empty">No result yet: right-click a model in the Explorer and choose <b>RepLens: Analyze Model…</b></p>
  <section id="results" hidden>
    <ul id="notes" class="notes" hidden></ul>
    <vscode-tabs id="tabs" panel></vscode-tabs>
    <div id="layers-section" class="layers-section">
      <h2>Layers <span id="layer-count" class="count">0</span></h2>
      <div class="table-wrap"><table id="layer-table"><thead><tr></tr></thead><tbody></tbody></table></div>
    </div>
  </section>
</main>
<script nonce="${nonce}" src="${e(o.plotlyUri)}"></script>
<script nonce="${nonce}" src="${e(o.scriptUri)}"></script>
</body>
</html>
`;
}

/** Inline icons (no icon font to load): 16×16, drawn in the button's text colour. */
const svg = (body: string) =>
  `<svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" fill="none" ` +
  `stroke="currentColor" stroke-width="1.4" stroke-linecap="round" stroke-linejoin="round">${body}</svg>`;
const ICONS = {
  rerun: svg('<path d="M13 8a5 5 0 1 1-1.5-3.6"/><path d="M12 1.8v3h-3"/>'),
  log: svg('<path d="M3 3.5h10M3 6.5h10M3 9.5h7M3 12.5h5"/>'),
  chevron: svg('<path d="M4.5 6.5 8 10l3.5-3.5"/>'),
};
