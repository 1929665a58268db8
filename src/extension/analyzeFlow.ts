// "RepLens: Analyze Model…" and "Compare With…": the pickers (analyses with their cost, dataset remembered per
// workspace, sample count, second model), then one run in the model's panel with a cancellable notification.
// Every picker can be skipped by passing the options (tests, keybindings, other extensions).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { ANALYSIS_IDS, ANALYSIS_SPECS, DEFAULT_ANALYSES, type AnalysisId } from '../shared/analyses';
import type { AnalyzeJob, DatasetSource } from '../shared/messages';
import { runtimeSettings } from './settings';

/**
 * Options that skip the pickers:
 * `vscode.commands.executeCommand('replens.analyzeModel', uri, { data, analyses, samples })`.
 */
export interface AnalyzeCommandOptions {
  data?: string;
  configPath?: string;
  analyses?: AnalysisId[];
  samples?: number;
  compare?: string;
  noCache?: boolean;
  /** The analyses the picker starts with (Compare With…: the shown run's), instead of the last picked. */
  defaultAnalyses?: AnalysisId[];
}

export function isCommandOptions(x: unknown): x is AnalyzeCommandOptions {
  return (
    typeof x === 'object' &&
    x !== null &&
    !Array.isArray(x) &&
    !(x instanceof vscode.Uri) &&
    ('data' in x || 'analyses' in x || 'samples' in x || 'compare' in x)
  );
}

const LAST_ANALYSES = 'replens.lastAnalyses';
const LAST_DATASET = 'replens.lastDataset';
const LAST_SAMPLES = 'replens.lastSamples';

interface DatasetChoice {
  data: DatasetSource;
  configPath?: string;
  label: string;
}

export class AnalyzeFlow {
  constructor(
    private readonly memento: vscode.Memento,
    private readonly log: (l: string) => void,
  ) {}

  /** The job for `modelPath`, asking what is not given; null when the user backed out. */
  async job(modelPath: string, o: AnalyzeCommandOptions = {}, compare = false): Promise<AnalyzeJob | null> {
    const cfg = vscode.workspace.getConfiguration('replens', vscode.Uri.file(modelPath));
    let compareWith = o.compare;
    if (compare && !compareWith) {
      const m = await pickOtherModel(modelPath);
      if (!m) return null;
      compareWith = m;
    }
    const analyses = o.analyses ?? (await this.pickAnalyses(cfg, o.defaultAnalyses));
    if (!analyses?.length) return null;
    const ds = o.data
      ? { data: { path: path.resolve(o.data) }, configPath: o.configPath }
      : await this.pickDataset(modelPath, cfg);
    if (!ds) return null;
    const samples = o.samples ?? (await this.pickSamples(cfg));
    if (samples === null) return null;
    const { runtime, warnings } = runtimeSettings((k) => cfg.get(k), os.availableParallelism());
    for (const w of warnings) this.log(`settings: ${w}`);
    const budget = cfg.get<number>('memoryBudgetMB');
    // Only `true` is passed: the default must not override a replens.json that asks to skip.
    const data = cfg.get<boolean>('skipUnreadableImages') ? { ...ds.data, skipUnreadable: true } : ds.data;
    // replens.json discovery stops at the data's workspace folder (a file above the workspace is not the project's)
    const configRoot = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(ds.data.path))?.uri.fsPath;
    return {
      kind: 'analyze',
      modelPath,
      ...(compareWith ? { compare: compareWith } : {}),
      data,
      ...(ds.configPath ? { configPath: ds.configPath } : {}),
      ...(configRoot ? { configRoot } : {}),
      analyses,
      samples,
      runtime,
      ...(typeof budget === 'number' && budget > 0 ? { memoryBudgetMB: budget } : {}),
      ...(o.noCache ? { noCache: true } : {}),
    };
  }

  private async pickAnalyses(cfg: vscode.WorkspaceConfiguration, given?: AnalysisId[]): Promise<AnalysisId[] | null> {
    const defaults =
      given ?? this.memento.get<string[]>(LAST_ANALYSES) ?? cfg.get<string[]>('analyses') ?? DEFAULT_ANALYSES;
    const items = ANALYSIS_IDS.map((a) => ({
      label: ANALYSIS_SPECS[a].title,
      description: a,
      detail: ANALYSIS_SPECS[a].cost,
      picked: defaults.includes(a),
      id: a,
    }));
    const picked = await vscode.window.showQuickPick(items, {
      canPickMany: true,
      title: 'RepLens: analyses to run',
      placeHolder: 'Space toggles, Enter runs',
    });
    if (!picked?.length) return null;
    const ids = picked.map((p) => p.id);
    await this.memento.update(LAST_ANALYSES, ids);
    return ids;
  }

  private async pickDataset(modelPath: string, cfg: vscode.WorkspaceConfiguration): Promise<DatasetChoice | null> {
    const choices = await findDatasets(modelPath, cfg.get<string>('dataset') ?? '');
    const last = this.memento.get<DatasetChoice>(LAST_DATASET);
    if (last && fs.existsSync(last.data.path)) {
      const i = choices.findIndex((c) => c.data.path === last.data.path);
      if (i >= 0) choices.splice(i, 1);
      choices.unshift({ ...last, label: last.label });
    }
    const items: (vscode.QuickPickItem & { choice?: DatasetChoice })[] = choices.map((c, i) => ({
      label: c.label,
      description:
        i === 0 && last && c.data.path === last.data.path ? 'last used' : c.configPath ? 'replens.json' : undefined,
      detail: vscode.workspace.asRelativePath(c.data.path),
      choice: c,
    }));
    items.push({
      label: '$(folder-opened) Browse…',
      description: 'IDX, .npy/.npz, or an image folder (one sub-folder per class)',
    });
    const pick = await vscode.window.showQuickPick(items, {
      title: 'RepLens: dataset',
      placeHolder: 'Samples to run through the model',
      matchOnDetail: true,
    });
    if (!pick) return null;
    let choice = pick.choice;
    if (!choice) {
      const uris = await vscode.window.showOpenDialog({
        canSelectFiles: true,
        canSelectFolders: true,
        canSelectMany: false,
        title: 'RepLens: dataset',
      });
      if (!uris?.length) return null;
      choice = { data: { path: uris[0].fsPath }, label: path.basename(uris[0].fsPath) };
    }
    await this.memento.update(LAST_DATASET, choice);
    return choice;
  }

  private async pickSamples(cfg: vscode.WorkspaceConfiguration): Promise<number | undefined | null> {
    const def = this.memento.get<number>(LAST_SAMPLES) ?? cfg.get<number>('samples') ?? 1000;
    const v = await vscode.window.showInputBox({
      title: 'RepLens: samples',
      prompt: 'How many samples to analyse (RRA and similarity cost grows with the square)',
      value: String(def),
      validateInput: (s) => (/^\d+$/.test(s.trim()) && Number(s) >= 4 ? null : 'a whole number ≥ 4'),
    });
    if (v === undefined) return null;
    const n = Number(v.trim());
    await this.memento.update(LAST_SAMPLES, n);
    return n;
  }
}

/** Datasets in the workspace: replens.json files that name one (nearest to the model first), then data files. */
export async function findDatasets(modelPath: string, setting: string): Promise<DatasetChoice[]> {
  const out: DatasetChoice[] = [];
  const seen = new Set<string>();
  const add = (c: DatasetChoice) => {
    if (!seen.has(c.data.path) && fs.existsSync(c.data.path)) {
      seen.add(c.data.path);
      out.push(c);
    }
  };
  const configs = await vscode.workspace.findFiles('**/replens.json', '**/{node_modules,.git}/**', 50);
  const dist = (p: string) => path.relative(path.dirname(modelPath), p).split(path.sep).length;
  configs.sort((a, b) => dist(a.fsPath) - dist(b.fsPath));
  for (const u of configs) {
    try {
      const j = JSON.parse(fs.readFileSync(u.fsPath, 'utf8')) as { dataset?: { path?: string } };
      if (typeof j.dataset?.path !== 'string') continue;
      const p = path.resolve(path.dirname(u.fsPath), j.dataset.path);
      add({
        data: { path: p },
        configPath: u.fsPath,
        label: `${path.basename(path.dirname(u.fsPath))}: ${path.basename(p)}`,
      });
    } catch {
      /* an invalid replens.json is reported when it is used */
    }
  }
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (setting && root) add({ data: { path: path.resolve(root, setting) }, label: path.basename(setting) });
  const files = await vscode.workspace.findFiles(
    '**/*{-idx3-ubyte,-idx3-ubyte.gz,.npz,.npy}',
    '**/{node_modules,.git,.e2e-cache}/**',
    50,
  );
  for (const u of files)
    if (!/labels|[-_]y\.npy$|^y\.npy$/i.test(path.basename(u.fsPath)))
      add({ data: { path: u.fsPath }, label: path.basename(u.fsPath) });
  return out;
}

async function pickOtherModel(modelPath: string): Promise<string | null> {
  const files = (await vscode.workspace.findFiles('**/*.onnx', '**/{node_modules,.git}/**', 1000)).filter(
    (u) => path.resolve(u.fsPath) !== path.resolve(modelPath),
  );
  if (!files.length) {
    void vscode.window.showInformationMessage('RepLens: no other .onnx model in this workspace to compare with.');
    return null;
  }
  files.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
  const pick = await vscode.window.showQuickPick(
    files.map((uri) => ({
      label: path.basename(uri.fsPath),
      description: path.dirname(vscode.workspace.asRelativePath(uri, true)),
      uri,
    })),
    {
      title: `RepLens: compare ${path.basename(modelPath)} with…`,
      placeHolder: 'The second model (same samples, same order)',
      matchOnDescription: true,
    },
  );
  return pick?.uri.fsPath ?? null;
}
