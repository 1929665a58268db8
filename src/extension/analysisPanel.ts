// The Analysis panels: one WebviewPanel per model. Analyze on a model with an open panel reveals it and runs again;
// closing a panel cancels its run. After a reload VS Code restores the panels through the serializer and each shows
// its model's last result from the ResultRegistry (no re-run). Logic: AnalysisController; document: analysisHtml.
import * as path from 'path';
import * as vscode from 'vscode';
import type { AnalyzeJob, AnalysisRunState } from '../shared/messages';
import { AnalysisController, type AnalysisControllerHost } from './analysisController';
import { analysisHtml } from './analysisHtml';
import { makeNonce } from './inspectHtml';
import type { ResultRegistry } from './results';

export const ANALYSIS_VIEW_TYPE = 'replens.analysis';

export type PanelHostServices = Omit<AnalysisControllerHost, 'post'> & {
  extensionUri: vscode.Uri;
  registry: ResultRegistry;
};

class AnalysisPanel {
  readonly controller: AnalysisController;

  constructor(
    readonly modelPath: string,
    readonly panel: vscode.WebviewPanel,
    services: PanelHostServices,
    onDispose: () => void,
  ) {
    panel.title = `RepLens: ${path.basename(modelPath)}`;
    panel.iconPath = vscode.Uri.joinPath(services.extensionUri, 'media', 'replens.svg');
    panel.webview.options = webviewOptions(services.extensionUri);
    this.controller = new AnalysisController({ ...services, post: (m) => panel.webview.postMessage(m) });
    const subs = [
      panel.webview.onDidReceiveMessage((m) => {
        void this.controller.onMessage(m);
      }),
      panel.onDidDispose(() => {
        this.controller.dispose();
        for (const d of subs) d.dispose();
        onDispose();
      }),
    ];
    const wv = panel.webview;
    const asset = (...p: string[]) => wv.asWebviewUri(vscode.Uri.joinPath(services.extensionUri, ...p)).toString();
    wv.html = analysisHtml({
      cspSource: wv.cspSource,
      nonce: makeNonce(),
      modelPath,
      plotlyUri: asset('dist', 'webview', 'plotly.min.js'),
      scriptUri: asset('dist', 'webview', 'analysis.js'),
      styleUri: asset('media', 'analysis.css'),
    });
  }
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [
      vscode.Uri.joinPath(extensionUri, 'dist', 'webview'),
      vscode.Uri.joinPath(extensionUri, 'media'),
    ],
  };
}

export class AnalysisPanels implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private readonly panels = new Map<string, AnalysisPanel>();

  constructor(private readonly services: PanelHostServices) {}

  private open(modelPath: string, preserveFocus = false): AnalysisPanel {
    const key = path.resolve(modelPath);
    let p = this.panels.get(key);
    if (p) {
      p.panel.reveal(undefined, preserveFocus);
      return p;
    }
    const panel = vscode.window.createWebviewPanel(
      ANALYSIS_VIEW_TYPE,
      `RepLens: ${path.basename(key)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      webviewOptions(this.services.extensionUri),
    );
    p = this.adopt(key, panel);
    return p;
  }

  /** Opens (or reveals) the model's panel and runs the job there. */
  run(job: AnalyzeJob): Promise<AnalysisRunState> {
    return this.open(job.modelPath).controller.start(job);
  }

  cancel(modelPath: string): void {
    this.panels.get(path.resolve(modelPath))?.controller.cancel('cancelled from the notification');
  }

  /** Opens the model's panel on its stored result (if it has no run of its own) and highlights a layer. */
  reveal(modelPath: string, tensor: string): void {
    const p = this.open(modelPath, true);
    const stored = this.services.registry.get(modelPath);
    if (!p.controller.lastResult && stored) p.controller.showResult(stored.result, runInfo(stored.result));
    p.controller.reveal(tensor);
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const modelPath = (state as { modelPath?: unknown } | undefined)?.modelPath;
    if (typeof modelPath !== 'string' || !modelPath) {
      this.services.log('a restored Analysis panel had no model path in its state; closing it');
      panel.dispose();
      return;
    }
    const key = path.resolve(modelPath);
    if (this.panels.has(key)) {
      panel.dispose();
      return;
    }
    this.services.log(`restoring the Analysis panel of ${modelPath}`);
    const p = this.adopt(key, panel);
    const stored = this.services.registry.get(key);
    if (stored) p.controller.showResult(stored.result, runInfo(stored.result));
  }

  private adopt(key: string, panel: vscode.WebviewPanel): AnalysisPanel {
    const p = new AnalysisPanel(key, panel, this.services, () => {
      if (this.panels.get(key) === p) this.panels.delete(key);
    });
    this.panels.set(key, p);
    return p;
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.panel.dispose();
    this.panels.clear();
  }
}

function runInfo(r: import('../shared/result').AnalysisResult) {
  return {
    modelPath: r.model.path,
    compare: r.compare?.path,
    dataset: r.dataset.path ?? r.dataset.description,
    analyses: r.settings.analyses,
    samples: r.dataset.samples,
  };
}
