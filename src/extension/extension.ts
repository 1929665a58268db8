// RepLens' VS Code entry point: a thin shell. It owns the output channel, one analysis worker (started on first use,
// so onnxruntime never runs on the extension host's thread) and the Inspect panels; every command handler catches
// everything, so a failing model or a dying worker never takes the extension host down.
import * as os from 'os';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { AnalysisWorker } from '../worker/client';
import { errorCode, errorMessage } from '../engine/errors';
import { writeAtomic } from '../engine/fswrite';
import { writeResultFiles } from '../report/files';
import type { AnalyzeJob, ErrorInfo, InspectJob, ModelCheckResult, Progress } from '../shared/messages';
import { ANALYSIS_IDS, type AnalysisId } from '../shared/analyses';
import type { AnalysisResult } from '../shared/result';
import { writeReport } from '../report/write';
import { INSPECT_VIEW_TYPE, InspectPanels } from './inspectPanel';
import { ANALYSIS_VIEW_TYPE, AnalysisPanels } from './analysisPanel';
import { AnalyzeFlow, isCommandOptions, type AnalyzeCommandOptions } from './analyzeFlow';
import { LayerLensProvider } from './codeLens';
import { ResultRegistry } from './results';
import { isOnnxPath, runtimeSettings, timestamp } from './settings';
import { applyTelemetryPolicy } from '../engine/runtime/telemetry';

let worker: AnalysisWorker | null = null;

export function activate(context: vscode.ExtensionContext): void {
  const out = vscode.window.createOutputChannel('RepLens');
  const log = (line: string) => out.appendLine(`[${timestamp()}] ${line}`);
  context.subscriptions.push(out);
  const version = (context.extension?.packageJSON as { version?: string } | undefined)?.version ?? '?';
  log(
    `RepLens ${version} activated (node ${process.version}, ${process.platform}-${process.arch}, ` +
      `workspace ${vscode.workspace.isTrusted ? 'trusted' : 'not trusted'})`,
  );
  // Before the worker loads onnxruntime, which reads the switch once per process (engine/runtime/telemetry.ts).
  const telemetry = applyTelemetryPolicy(
    vscode.workspace.getConfiguration('replens').get<boolean>('onnxruntimeTelemetry', false),
  );
  const userSet = `ORT_DISABLE_TELEMETRY=${process.env.ORT_DISABLE_TELEMETRY} as set in the environment`;
  log(`onnxruntime telemetry: ${telemetry === 'user-set' ? userSet : telemetry}`);

  // AnalysisWorker starts its thread on the first run and again after a crash.
  const analysis = new AnalysisWorker(path.join(context.extensionPath, 'dist', 'worker.js'), (line) =>
    log(`worker: ${line}`),
  );
  worker = analysis;
  context.subscriptions.push({
    dispose: () => {
      void analysis.dispose();
      if (worker === analysis) worker = null;
    },
  });

  const showLog = () => out.show(true);
  const panels = new InspectPanels({
    extensionUri: context.extensionUri,
    runner: () => analysis,
    makeJob: (modelPath) => inspectJob(modelPath, log),
    log,
    showLog,
    notify: (e) => {
      void vscode.window.showErrorMessage(`RepLens: ${e.message}`, 'Show Log').then(
        (pick) => {
          if (pick) showLog();
        },
        () => undefined,
      );
    },
  });
  context.subscriptions.push(panels, vscode.window.registerWebviewPanelSerializer(INSPECT_VIEW_TYPE, panels));

  // ---- analyses: registry (lenses, status bar, restored panels), panels, runs with a notification -------------
  const storage = context.storageUri ?? context.globalStorageUri;
  const registry = new ResultRegistry(storage ? path.join(storage.fsPath, 'results') : null, log);
  const SELECTED = 'replens.lensModel';
  const selected = (): string | null => {
    const s = context.workspaceState.get<string>(SELECTED);
    if (s && registry.get(s)) return s;
    return registry.models()[0] ?? null;
  };
  const status = vscode.window.createStatusBarItem('replens.status', vscode.StatusBarAlignment.Left, 50);
  status.name = 'RepLens';
  context.subscriptions.push(status);
  const runningProgress = new Map<string, Progress>();
  const updateStatus = () => {
    const running = [...runningProgress.entries()];
    if (running.length) {
      const [m, p] = running[0];
      // Only that a run is going on: its progress shows once, in the panel (with Cancel), which a click brings back.
      status.text = `$(sync~spin) RepLens: analysing ${path.basename(m)}`;
      status.tooltip =
        `RepLens: ${p.stage}${p.total > 0 ? ` ${p.done}/${p.total}` : ''} — ` +
        `click to show the panel of ${path.basename(m)} (progress, Cancel)`;
      status.command = { title: 'Show the panel', command: 'replens.showAnalysis', arguments: [m] };
      status.show();
      return;
    }
    const sel = selected();
    if (!sel) {
      status.hide();
      return;
    }
    status.text = `$(graph) RepLens: ${path.basename(sel)}`;
    status.tooltip = `Code lenses show ${sel}; click to choose another analysed model`;
    status.command = 'replens.selectModel';
    status.show();
  };
  context.subscriptions.push(registry.onDidChange(updateStatus));
  updateStatus();

  const analysisPanels = new AnalysisPanels({
    extensionUri: context.extensionUri,
    registry,
    runner: () => analysis,
    log,
    showLog,
    // The ⓘ's README link: the README shipped in the extension, beside the panel, at the section's heading (the
    // heading carries the anchor: `<a id="info-nncs"></a>`).
    openReadme: (anchor) => {
      // vsce packs the README as readme.md
      const name = ['README.md', 'readme.md'].find((n) => fs.existsSync(path.join(context.extensionPath, n)));
      const readme = vscode.Uri.joinPath(context.extensionUri, name ?? 'README.md');
      void (async () => {
        const doc = await vscode.workspace.openTextDocument(readme);
        const at = doc.getText().indexOf(`id="${anchor}"`);
        const line = at < 0 ? 0 : doc.positionAt(at).line;
        const editor = await vscode.window.showTextDocument(doc, {
          viewColumn: vscode.ViewColumn.Beside,
          preview: true,
          selection: new vscode.Range(line, 0, line, 0),
        });
        editor.revealRange(new vscode.Range(line, 0, line, 0), vscode.TextEditorRevealType.AtTop);
      })().catch((e: unknown) => log(`could not open the README at #${anchor}: ${errorMessage(e)}`));
    },
    notify: (e) => {
      void vscode.window.showErrorMessage(`RepLens: ${e.message}`, 'Show Log').then(
        (pick) => {
          if (pick) showLog();
        },
        () => undefined,
      );
    },
    onProgress: (p, modelPath) => {
      if (p) runningProgress.set(path.resolve(modelPath), p);
      else runningProgress.delete(path.resolve(modelPath));
      updateStatus();
    },
    onResult: (result, modules, state, job) => {
      const run = registry.add(result.model.path, result, modules, state, job);
      if (state === 'complete')
        void context.workspaceState.update(SELECTED, path.resolve(result.model.path)).then(updateStatus);
      return run.id;
    },
    exportResult: (result, format) => exportResult(result, format),
    savePng: async (chart, png) => {
      const uri = await vscode.window.showSaveDialog({
        defaultUri: defaultExportUri(`${chart}.png`),
        filters: { PNG: ['png'] },
        title: 'RepLens: save chart as PNG',
      });
      if (!uri) return null;
      writeAtomic(uri.fsPath, png);
      return uri.fsPath;
    },
  });
  context.subscriptions.push(
    analysisPanels,
    vscode.window.registerWebviewPanelSerializer(ANALYSIS_VIEW_TYPE, analysisPanels),
  );

  const flow = new AnalyzeFlow(context.workspaceState, log, {
    run: (job) => analysis.run(job),
    // The time estimate scales this model's last finished single-model run.
    lastResult: (m) => {
      const s = registry.runs(m).find((x) => x.state === 'complete' && !x.compare);
      return s ? registry.load(s.id)?.result : undefined;
    },
  });
  /**
   * Runs a job in its model's panel. Progress shows once, in the panel, with its one Cancel (closing the panel cancels
   * too); a notification would repeat both, so there is none. While the panel is hidden behind other editors, the
   * status bar item says the run is going on and brings the panel back.
   */
  const runJob = async (job: AnalyzeJob) => {
    const state = await analysisPanels.run(job);
    if (state === 'failed')
      void vscode.window
        .showErrorMessage(`RepLens: the analysis of ${path.basename(job.modelPath)} failed; see its panel`, 'Show Log')
        .then((p) => {
          if (p) showLog();
        });
  };

  /**
   * The model is read and its shapes probed (in the worker, which remembers the answer per model file version) before
   * any picker, so a broken model is reported at once rather than after the analyses, dataset and samples were
   * chosen; its input and layers then feed the dataset and layer pickers. Null when the model cannot be analysed.
   */
  const checkModel = async (modelPath: string): Promise<ModelCheckResult | null> => {
    const name = path.basename(modelPath);
    const job = inspectJob(modelPath, log);
    try {
      if (!('kind' in job)) throw new Error(job.message);
      const t0 = Date.now();
      const r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `RepLens: checking ${name}…` },
        () => analysis.run({ kind: 'model-check', modelPath, runtime: job.runtime }),
      );
      log(`analyze ${name}: model checked in ${Date.now() - t0} ms`);
      return r.kind === 'model-check' ? r : null;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log(`analyze ${name}: not started, the model cannot be read: ${message}`);
      void vscode.window.showErrorMessage(`RepLens: ${name} cannot be analysed: ${message}`, 'Show Log').then((a) => {
        if (a) showLog();
      });
      return null;
    }
  };

  const analyzeCommand = (compare: boolean) => (arg?: unknown, args?: unknown) =>
    guard(compare ? 'Compare With' : 'Analyze Model', log, showLog, async () => {
      const opts: AnalyzeCommandOptions = isCommandOptions(args) ? args : {};
      const targets = await modelTargets(
        arg,
        isCommandOptions(args) ? undefined : args,
        compare ? 'Compare With' : 'Analyze Model',
      );
      if (!targets) return;
      if (!(await requireTrust('analyse models', log))) return;
      const check = await checkModel(targets[0]);
      if (!check) return;
      // Compare With… runs, by default, the analyses of the run its panel shows (else of the model's latest run).
      const shown = compare ? (analysisPanels.shownResult(targets[0]) ?? registry.get(targets[0])?.result) : null;
      const defaults = shown?.settings.analyses.filter(isAnalysisId);
      const job = await flow.job(
        targets[0],
        defaults?.length ? { ...opts, defaultAnalyses: defaults } : opts,
        compare,
        check,
        !isCommandOptions(args),
      );
      if (!job) {
        log('analyze: not started (a picker was dismissed)');
        return;
      }
      await runJob(job);
    });
  context.subscriptions.push(
    vscode.commands.registerCommand('replens.analyzeModel', analyzeCommand(false)),
    vscode.commands.registerCommand('replens.compareWith', analyzeCommand(true)),
    vscode.commands.registerCommand('replens.showLog', showLog),
    vscode.commands.registerCommand('replens.showAnalysis', (modelPath?: unknown) => {
      if (typeof modelPath === 'string') analysisPanels.show(modelPath);
    }),
    vscode.commands.registerCommand('replens.revealLayer', (modelPath?: unknown, tensor?: unknown) =>
      guard('Reveal Layer', log, showLog, async () => {
        if (typeof modelPath !== 'string' || typeof tensor !== 'string') return;
        analysisPanels.reveal(modelPath, tensor);
      }),
    ),
    vscode.commands.registerCommand('replens.selectModel', () =>
      guard('Select Model', log, showLog, async () => {
        const models = registry.models();
        if (!models.length) {
          void vscode.window.showInformationMessage(
            'RepLens: no analysed model yet. Right-click an .onnx file → RepLens: Analyze Model…',
          );
          return;
        }
        const cur = selected();
        const pick = await vscode.window.showQuickPick(
          models.map((m) => {
            const r = registry.get(m)!;
            return {
              label: path.basename(m),
              description: m === cur ? 'shown in code lenses' : vscode.workspace.asRelativePath(m),
              detail: `${r.result.dataset.samples} samples · ${r.result.settings.analyses.join(', ')} · ${r.state}`,
              m,
            };
          }),
          { title: 'RepLens: model for code lenses and hovers' },
        );
        if (!pick) return;
        await context.workspaceState.update(SELECTED, pick.m);
        lenses.refresh();
        updateStatus();
      }),
    ),
    vscode.commands.registerCommand('replens.toggleCodeLens', () =>
      guard('Toggle Code Lens', log, showLog, async () => {
        const cfg = vscode.workspace.getConfiguration('replens');
        await cfg.update(
          'codeLens.enabled',
          !cfg.get<boolean>('codeLens.enabled', true),
          vscode.ConfigurationTarget.Global,
        );
      }),
    ),
  );

  const lenses = new LayerLensProvider(registry, selected, log);
  const python: vscode.DocumentSelector = [
    { language: 'python', scheme: 'file' },
    { language: 'python', scheme: 'untitled' },
  ];
  context.subscriptions.push(
    lenses,
    vscode.languages.registerCodeLensProvider(python, lenses),
    vscode.languages.registerHoverProvider(python, lenses),
  );

  context.subscriptions.push(
    vscode.commands.registerCommand('replens.inspectModel', (arg?: unknown, args?: unknown) =>
      guard('Inspect Model', log, showLog, async () => {
        const targets = await modelTargets(arg, args, 'Inspect Model');
        if (!targets) return;
        if (!vscode.workspace.isTrusted) {
          log('inspect refused: the workspace is not trusted');
          const pick = await vscode.window.showWarningMessage(
            'RepLens runs models only in trusted workspaces. Trust this workspace to inspect models.',
            'Manage Workspace Trust',
          );
          if (pick) await vscode.commands.executeCommand('workbench.trust.manage');
          return;
        }
        await Promise.all(targets.map((p) => panels.show(p)));
      }),
    ),
  );
}

export function deactivate(): Promise<void> | undefined {
  const w = worker;
  worker = null;
  return w?.dispose();
}

/** Runs a command body; anything it throws is logged and shown, never rethrown. */
async function guard(
  what: string,
  log: (l: string) => void,
  showLog: () => void,
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (e) {
    const code = errorCode(e);
    const msg = errorMessage(e);
    log(
      `${what} failed: [${code}] ${msg}${e instanceof Error && e.stack && code === 'E_INTERNAL' ? `\n${e.stack}` : ''}`,
    );
    try {
      const pick = await vscode.window.showErrorMessage(`RepLens: ${msg}`, 'Show Log');
      if (pick) showLog();
    } catch {
      /* the window is going away */
    }
  }
}

function inspectJob(modelPath: string, log: (l: string) => void): InspectJob | ErrorInfo {
  if (!vscode.workspace.isTrusted)
    return { code: 'E_UNTRUSTED', message: 'RepLens runs models only in trusted workspaces' };
  const cfg = vscode.workspace.getConfiguration('replens', vscode.Uri.file(modelPath));
  const { runtime, warnings } = runtimeSettings((k) => cfg.get(k), os.availableParallelism());
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
async function modelTargets(arg: unknown, args: unknown, title: string): Promise<string[] | null> {
  let uris: vscode.Uri[] = [];
  if (Array.isArray(args)) uris = args.map(uriOf).filter((u): u is vscode.Uri => u !== null);
  if (!uris.length) {
    const u = uriOf(arg);
    if (u) uris = [u];
  }
  if (!uris.length) {
    const active = activeEditorUri();
    if (active && isOnnxPath(active.path)) uris = [active];
  }
  if (!uris.length) {
    const picked = await pickModel(title);
    if (!picked) return null;
    uris = [picked];
  }
  const local = uris.filter((u) => u.scheme === 'file');
  if (local.length < uris.length) {
    void vscode.window.showErrorMessage(
      `RepLens: can only open model files on disk (not ${uris.find((u) => u.scheme !== 'file')!.toString()})`,
    );
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

async function pickModel(title: string): Promise<vscode.Uri | null> {
  if (!vscode.workspace.workspaceFolders?.length) {
    void vscode.window.showInformationMessage(
      'RepLens: open a folder with .onnx models, or right-click an .onnx file to inspect it.',
    );
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
  const pick = await vscode.window.showQuickPick(items, {
    title: `RepLens: ${title}`,
    placeHolder: 'Pick an ONNX model',
    matchOnDescription: true,
  });
  return pick?.uri ?? null;
}

/** True in a trusted workspace; otherwise says why nothing runs and offers to manage trust. */
async function requireTrust(what: string, log: (l: string) => void): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  log(`refused to ${what}: the workspace is not trusted`);
  const pick = await vscode.window.showWarningMessage(
    `RepLens runs models only in trusted workspaces. Trust this workspace to ${what}.`,
    'Manage Workspace Trust',
  );
  if (pick) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

function defaultExportUri(name: string): vscode.Uri | undefined {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  return root ? vscode.Uri.joinPath(root, name) : undefined;
}

/** Export from the panel: the standalone HTML report, result.json, or a folder of CSV files. */
async function exportResult(result: AnalysisResult, format: 'html' | 'json' | 'csv'): Promise<string | null> {
  const stem = path.basename(result.model.path).replace(/\.onnx$/i, '');
  if (format === 'csv') {
    const dirs = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      title: 'RepLens: folder for layers.csv and the matrices',
      openLabel: 'Export here',
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    if (!dirs?.length) return null;
    writeResultFiles(result, dirs[0].fsPath);
    return dirs[0].fsPath;
  }
  const uri = await vscode.window.showSaveDialog({
    defaultUri: defaultExportUri(format === 'html' ? `${stem}-report.html` : `${stem}-result.json`),
    filters: format === 'html' ? { HTML: ['html'] } : { JSON: ['json'] },
    title: `RepLens: export ${format.toUpperCase()}`,
  });
  if (!uri) return null;
  if (format === 'html') writeReport(result, uri.fsPath);
  else writeAtomic(uri.fsPath, JSON.stringify(result, null, 1) + '\n');
  return uri.fsPath;
}

const isAnalysisId = (x: string): x is AnalysisId => (ANALYSIS_IDS as readonly string[]).includes(x);
