// The Analysis panels: one WebviewPanel per model. Analyze on a model with an open panel reveals it and runs again;
// closing a panel cancels its run. After a reload VS Code restores the panels through the serializer and each shows
// the stored run it showed before (its webview state names it), with the same overlay, from the ResultRegistry (no
// re-run). Logic: AnalysisController; document: analysisHtml.
import * as path from 'path';
import * as vscode from 'vscode';
import type { AnalyzeJob, AnalysisRunState } from '../shared/messages';
import type { AnalysisResult } from '../shared/result';
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
    const registry = services.registry;
    this.controller = new AnalysisController({
      ...services,
      post: (m) => panel.webview.postMessage(m),
      history: {
        runs: () => registry.runs(modelPath),
        others: () => registry.all().filter((r) => r.modelPath !== path.resolve(modelPath)),
        load: (id) => registry.load(id),
      },
    });
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

  /** Opens the model's panel on the run the lenses show (if it shows nothing yet) and highlights a layer. */
  reveal(modelPath: string, tensor: string): void {
    const p = this.open(modelPath, true);
    if (!p.controller.lastResult) p.controller.restore(this.services.registry.get(modelPath)?.id);
    p.controller.reveal(tensor);
  }

  /** Reveals the model's panel when it is open (the status bar item during a run). */
  show(modelPath: string): void {
    this.panels.get(path.resolve(modelPath))?.panel.reveal(undefined, false);
  }

  /** The result the model's panel shows, if it is open and shows one. */
  shownResult(modelPath: string): AnalysisResult | null {
    return this.panels.get(path.resolve(modelPath))?.controller.lastResult ?? null;
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const st = state as { modelPath?: unknown; runs?: { shown?: unknown; overlay?: unknown } } | undefined;
    const modelPath = st?.modelPath;
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
    const id = (x: unknown) => (typeof x === 'string' ? x : null);
    p.controller.restore(id(st?.runs?.shown), id(st?.runs?.overlay));
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
