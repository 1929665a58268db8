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
    <vscode-button id="cancel-button" hidden>Cancel</vscode-button>
    <vscode-button id="rerun-button" secondary hidden>Re-run</vscode-button>
    <vscode-button id="export-html" secondary disabled
      title="Save the standalone HTML report">Export HTML</vscode-button>
    <vscode-button id="export-json" secondary disabled title="Save result.json">JSON</vscode-button>
    <vscode-button id="export-csv" secondary disabled
      title="Save layers.csv and the matrices as CSV into a folder">CSV</vscode-button>
    <vscode-button id="show-log-button" secondary>Show Log</vscode-button>
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
