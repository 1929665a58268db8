// The Inspect panels: one WebviewPanel per model file. A second Inspect of the same file reveals its panel and runs
// again; closing a panel cancels its job. The panel's logic lives in InspectController, its document in inspectHtml.
import * as path from 'path';
import * as vscode from 'vscode';
import type { ErrorInfo, InspectJob } from '../shared/messages';
import { InspectController, type JobRunner } from './inspectController';
import { inspectHtml, makeNonce } from './inspectHtml';

export const INSPECT_VIEW_TYPE = 'replens.inspect';

export interface PanelServices {
  extensionUri: vscode.Uri;
  runner(): JobRunner;
  /** The inspect job for a model with the current settings, or why it cannot run. */
  makeJob(modelPath: string): InspectJob | ErrorInfo;
  log(line: string): void;
  showLog(): void;
  notify(error: ErrorInfo): void;
}

class InspectPanel {
  readonly controller: InspectController;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    readonly modelPath: string,
    readonly panel: vscode.WebviewPanel,
    services: PanelServices,
    onDispose: () => void,
  ) {
    panel.title = `RepLens: ${path.basename(modelPath)}`;
    panel.iconPath = vscode.Uri.joinPath(services.extensionUri, 'media', 'replens.svg');
    panel.webview.options = webviewOptions(services.extensionUri);
    this.controller = new InspectController({
      post: (m) => panel.webview.postMessage(m),
      runner: () => services.runner(),
      makeJob: () => services.makeJob(modelPath),
      log: (l) => services.log(l),
      showLog: () => services.showLog(),
      notify: (e) => services.notify(e),
    });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m) => {
        void this.controller.onMessage(m);
      }),
      panel.onDidDispose(() => {
        this.controller.dispose();
        for (const d of this.disposables) d.dispose();
        onDispose();
      }),
    );
    this.render(services.extensionUri);
  }

  /** Sets the document with a fresh nonce. */
  private render(extensionUri: vscode.Uri): void {
    const wv = this.panel.webview;
    const asset = (...p: string[]) => wv.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString();
    wv.html = inspectHtml({
      cspSource: wv.cspSource,
      nonce: makeNonce(),
      plotlyUri: asset('dist', 'webview', 'plotly.min.js'),
      scriptUri: asset('dist', 'webview', 'inspect.js'),
      styleUri: asset('media', 'inspect.css'),
      modelPath: this.modelPath,
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

/**
 * Case-insensitive keys on Windows and macOS' default file systems would need more care; paths are compared as given.
 */
function keyOf(modelPath: string): string {
  return path.resolve(modelPath);
}

export class InspectPanels implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private readonly panels = new Map<string, InspectPanel>();

  constructor(private readonly services: PanelServices) {}

  /** Opens (or reveals) the panel of `modelPath` and runs Inspect. Resolves when the run ends; never rejects. */
  show(modelPath: string): Promise<void> {
    const key = keyOf(modelPath);
    let p = this.panels.get(key);
    if (p) {
      p.panel.reveal(undefined, false);
    } else {
      const panel = vscode.window.createWebviewPanel(
        INSPECT_VIEW_TYPE,
        `RepLens: ${path.basename(modelPath)}`,
        vscode.ViewColumn.Active,
        {
          ...webviewOptions(this.services.extensionUri),
          retainContextWhenHidden: false,
        },
      );
      p = this.adopt(key, panel);
    }
    return p.controller.start();
  }

  /**
   * A panel VS Code restores after a reload: its webview state names the model; it shows the saved result and runs
   * again.
   */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const modelPath = (state as { modelPath?: unknown } | undefined)?.modelPath;
    if (typeof modelPath !== 'string' || !modelPath) {
      this.services.log('a restored Inspect panel had no model path in its state; closing it');
      panel.dispose();
      return;
    }
    const key = keyOf(modelPath);
    if (this.panels.has(key)) {
      panel.dispose();
      return;
    }
    this.services.log(`restoring the Inspect panel of ${modelPath}`);
    const p = this.adopt(key, panel);
    // Where it cannot run (e.g. the workspace is no longer trusted) the panel keeps showing its saved result.
    const made = this.services.makeJob(modelPath);
    if ('kind' in made) void p.controller.start();
    else this.services.log(`not re-running ${modelPath}: ${made.message}`);
  }

  private adopt(key: string, panel: vscode.WebviewPanel): InspectPanel {
    const p = new InspectPanel(key, panel, this.services, () => {
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
