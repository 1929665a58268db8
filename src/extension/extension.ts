// RepLens' VS Code entry point: a thin shell. It owns the output channel, one analysis worker (started on first use,
// so onnxruntime never runs on the extension host's thread) and the Inspect panels; every command handler catches
// everything, so a failing model or a dying worker never takes the extension host down.
import * as path from 'path';
import * as vscode from 'vscode';
import { AnalysisWorker } from '../worker/client';
import { errorCode, errorMessage } from '../engine/errors';
import type { ErrorInfo, InspectJob } from '../shared/messages';
import { INSPECT_VIEW_TYPE, InspectPanels } from './inspectPanel';
import { isOnnxPath, runtimeSettings, timestamp } from './settings';

let worker: AnalysisWorker | null = null;

export function activate(context: vscode.ExtensionContext): void {
  const out = vscode.window.createOutputChannel('RepLens');
  const log = (line: string) => out.appendLine(`[${timestamp()}] ${line}`);
  context.subscriptions.push(out);
  const version = (context.extension?.packageJSON as { version?: string } | undefined)?.version ?? '?';
  log(`RepLens ${version} activated (node ${process.version}, ${process.platform}-${process.arch}, workspace ${vscode.workspace.isTrusted ? 'trusted' : 'not trusted'})`);

  // AnalysisWorker starts its thread on the first run and again after a crash.
  const analysis = new AnalysisWorker(path.join(context.extensionPath, 'dist', 'worker.js'), (line) => log(`worker: ${line}`));
  worker = analysis;
  context.subscriptions.push({ dispose: () => { void analysis.dispose(); if (worker === analysis) worker = null; } });

  const showLog = () => out.show(true);
  const panels = new InspectPanels({
    extensionUri: context.extensionUri,
    runner: () => analysis,
    makeJob: (modelPath) => inspectJob(modelPath, log),
    log,
    showLog,
    notify: (e) => {
      void vscode.window.showErrorMessage(`RepLens: ${e.message}`, 'Show Log').then((pick) => { if (pick) showLog(); }, () => undefined);
    },
  });
  context.subscriptions.push(panels, vscode.window.registerWebviewPanelSerializer(INSPECT_VIEW_TYPE, panels));

  context.subscriptions.push(vscode.commands.registerCommand('replens.inspectModel', (arg?: unknown, args?: unknown) =>
    guard('Inspect Model', log, showLog, async () => {
      const targets = await modelTargets(arg, args);
      if (!targets) return;
      if (!vscode.workspace.isTrusted) {
        log('inspect refused: the workspace is not trusted');
        const pick = await vscode.window.showWarningMessage(
          'RepLens runs models only in trusted workspaces. Trust this workspace to inspect models.', 'Manage Workspace Trust');
        if (pick) await vscode.commands.executeCommand('workbench.trust.manage');
        return;
      }
      await Promise.all(targets.map((p) => panels.show(p)));
    })));
}

export function deactivate(): Promise<void> | undefined {
  const w = worker;
  worker = null;
  return w?.dispose();
}

/** Runs a command body; anything it throws is logged and shown, never rethrown. */
async function guard(what: string, log: (l: string) => void, showLog: () => void, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const code = errorCode(e);
    const msg = errorMessage(e);
    log(`${what} failed: [${code}] ${msg}${e instanceof Error && e.stack && code === 'E_INTERNAL' ? `\n${e.stack}` : ''}`);
    try {
      const pick = await vscode.window.showErrorMessage(`RepLens: ${msg}`, 'Show Log');
      if (pick) showLog();
    } catch { /* the window is going away */ }
  }
}

function inspectJob(modelPath: string, log: (l: string) => void): InspectJob | ErrorInfo {
  if (!vscode.workspace.isTrusted) return { code: 'E_UNTRUSTED', message: 'RepLens runs models only in trusted workspaces' };
  const cfg = vscode.workspace.getConfiguration('replens', vscode.Uri.file(modelPath));
  const { runtime, warnings } = runtimeSettings((k) => cfg.get(k));
  for (const w of warnings) log(`settings: ${w}`);
  return { kind: 'inspect', modelPath, runtime };
}

function uriOf(x: unknown): vscode.Uri | null {
  if (x instanceof vscode.Uri) return x;
  if (typeof x === 'string' && x) return path.isAbsolute(x) ? vscode.Uri.file(x) : null;
  return null;
}

/**
 * The models to inspect: the explorer's selection (or the clicked file), else the active editor's .onnx file, else
 * one picked from the workspace's .onnx files. Null when there is nothing to do (the user was told why).
 */
async function modelTargets(arg: unknown, args: unknown): Promise<string[] | null> {
  let uris: vscode.Uri[] = [];
  if (Array.isArray(args)) uris = args.map(uriOf).filter((u): u is vscode.Uri => u !== null);
  if (!uris.length) { const u = uriOf(arg); if (u) uris = [u]; }
  if (!uris.length) {
    const active = activeEditorUri();
    if (active && isOnnxPath(active.path)) uris = [active];
  }
  if (!uris.length) {
    const picked = await pickModel();
    if (!picked) return null;
    uris = [picked];
  }
  const local = uris.filter((u) => u.scheme === 'file');
  if (local.length < uris.length) {
    void vscode.window.showErrorMessage(`RepLens: can only inspect files on disk (not ${uris.find((u) => u.scheme !== 'file')!.toString()})`);
    if (!local.length) return null;
  }
  const onnx = local.filter((u) => isOnnxPath(u.fsPath));
  if (!onnx.length) {
    void vscode.window.showErrorMessage(`RepLens: ${path.basename(local[0].fsPath)} is not an .onnx file`);
    return null;
  }
  return onnx.map((u) => u.fsPath);
}

function activeEditorUri(): vscode.Uri | null {
  const input = vscode.window.tabGroups?.activeTabGroup?.activeTab?.input as { uri?: unknown } | undefined;
  if (input && input.uri instanceof vscode.Uri) return input.uri;
  return vscode.window.activeTextEditor?.document.uri ?? null;
}

async function pickModel(): Promise<vscode.Uri | null> {
  if (!vscode.workspace.workspaceFolders?.length) {
    void vscode.window.showInformationMessage('RepLens: open a folder with .onnx models, or right-click an .onnx file to inspect it.');
    return null;
  }
  const files = await vscode.workspace.findFiles('**/*.onnx', '**/{node_modules,.git}/**', 1000);
  if (!files.length) {
    void vscode.window.showInformationMessage('RepLens: no .onnx files in this workspace.');
    return null;
  }
  files.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
  const items = files.map((uri) => ({
    label: path.basename(uri.fsPath),
    description: path.dirname(vscode.workspace.asRelativePath(uri, true)),
    uri,
  }));
  const pick = await vscode.window.showQuickPick(items, { title: 'RepLens: Inspect Model', placeHolder: 'Pick an ONNX model', matchOnDescription: true });
  return pick?.uri ?? null;
}
