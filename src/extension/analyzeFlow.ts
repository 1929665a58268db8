// "RepLens: Analyze Model…" and "Compare With…": the pickers (analyses with their cost; the dataset, each probed
// against the model's input; the sample count, bounded by the dataset; the layers; noise-SVD's settings; a confirm
// item with the time estimate), then one run in the model's panel with a cancellable notification.
// Every picker can be skipped by passing the options (tests, keybindings, other extensions); called with options,
// the pickers added for issue 15 (layers, noise-SVD settings, confirm) take their option or the engine's default.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { ANALYSIS_IDS, ANALYSIS_SPECS, DEFAULT_ANALYSES, type AnalysisId } from '../shared/analyses';
import type {
  AnalyzeJob,
  DatasetSource,
  Job,
  JobResult,
  ModelCheckResult,
  ProbeDatasetsResult,
  TimeBatchResult,
} from '../shared/messages';
import type { AnalysisResult } from '../shared/result';
import { describeProbe, type DatasetProbe } from '../engine/dataprobe';
import {
  completeWith,
  describeEstimate,
  estimateFromProbe,
  estimateFromRun,
  type Estimate,
  type PlannedRun,
} from '../engine/estimate';
import { findCheckpoints } from '../engine/precheck';
import { runtimeSettings } from './settings';
import { parseSigmas, samplesProblem } from './pickerInput';

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
  /** Tensor, node or module names (as `--layers`); absent: the engine's default choice. */
  layers?: string[];
  checkpoints?: string[];
  noiseImages?: number;
  sigmas?: number[];
  /** Show the confirm item with the time estimate (default: only when no options were passed). */
  confirm?: boolean;
  /** The analyses the picker starts with (Compare With…: the shown run's), instead of the last picked. */
  defaultAnalyses?: AnalysisId[];
}

export function isCommandOptions(x: unknown): x is AnalyzeCommandOptions {
  return (
    typeof x === 'object' &&
    x !== null &&
    !Array.isArray(x) &&
    !(x instanceof vscode.Uri) &&
    ['data', 'analyses', 'samples', 'compare', 'layers', 'checkpoints', 'noiseImages', 'sigmas', 'confirm'].some(
      (k) => k in x,
    )
  );
}

/** What the flow needs from the extension: the worker, and this model's last finished result. */
export interface FlowDeps {
  run?: (job: Job) => Promise<JobResult>;
  lastResult?: (modelPath: string) => AnalysisResult | undefined;
}

const LAST_ANALYSES = 'replens.lastAnalyses';
const LAST_DATASET = 'replens.lastDataset';
const LAST_SAMPLES = 'replens.lastSamples';
const LAST_LAYERS = 'replens.lastLayers:';
const LAST_NOISE = 'replens.lastNoise:';

const DEFAULT_NOISE = { noiseImages: 10, sigmas: [0.2, 0.1, 0.01], groupSize: 64 };

interface DatasetChoice {
  data: DatasetSource;
  configPath?: string;
  label: string;
  /** What the worker found (samples, shape, labels, fit); absent until probed. */
  probe?: DatasetProbe;
}

export class AnalyzeFlow {
  constructor(
    private readonly memento: vscode.Memento,
    private readonly log: (l: string) => void,
    private readonly deps: FlowDeps = {},
  ) {}

  /** Choices to remember once the run starts: backing out of a later picker changes nothing. */
  private pending: [string, unknown][] = [];
  private remember(key: string, value: unknown): void {
    this.pending.push([key, value]);
  }

  /**
   * The job for `modelPath`, asking what is not given; null when the user backed out. `check`: the model check's
   * result (its input for the dataset probe, its layers for the layer picker); `interactive`: no options were passed.
   */
  async job(
    modelPath: string,
    o: AnalyzeCommandOptions = {},
    compare = false,
    check: ModelCheckResult | null = null,
    interactive = false,
  ): Promise<AnalyzeJob | null> {
    this.pending = [];
    const job = await this.ask(modelPath, o, compare, check, interactive);
    if (job) for (const [k, v] of this.pending) await this.memento.update(k, v);
    this.pending = [];
    return job;
  }

  private async ask(
    modelPath: string,
    o: AnalyzeCommandOptions,
    compare: boolean,
    check: ModelCheckResult | null,
    interactive: boolean,
  ): Promise<AnalyzeJob | null> {
    const cfg = vscode.workspace.getConfiguration('replens', vscode.Uri.file(modelPath));
    let compareWith = o.compare;
    if (compare && !compareWith) {
      const m = await pickOtherModel(modelPath);
      if (!m) return null;
      compareWith = m;
    }
    const analyses = o.analyses ?? (await this.pickAnalyses(cfg, o.defaultAnalyses));
    if (!analyses?.length) return null;
    const ds: Omit<DatasetChoice, 'label'> | null = o.data
      ? { data: { path: path.resolve(o.data) }, configPath: o.configPath }
      : await this.pickDataset(modelPath, cfg, check);
    if (!ds) return null;
    // replens.json discovery stops at the data's workspace folder (a file above the workspace is not the project's)
    const configRoot = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(ds.data.path))?.uri.fsPath;
    let probed = ds.probe;
    if (!probed && check && (o.samples === undefined || (o.confirm ?? interactive)))
      probed = (await this.probe([{ data: ds.data, configPath: ds.configPath, configRoot }], check))?.[0];
    const holds = probed?.error ? undefined : probed?.samples;
    const samples = o.samples ?? (await this.pickSamples(cfg, holds));
    if (samples === null) return null;
    // A comparison keeps the default: the second model has its own layer names.
    const layers =
      o.layers ?? (interactive && check && !compareWith ? await this.pickLayers(modelPath, check) : undefined);
    if (layers === null) return null;
    let noise: NoiseSettings | null = {};
    if (analyses.includes('noise-svd'))
      noise = interactive
        ? await this.pickNoise(modelPath, o)
        : pickDefined(o, ['checkpoints', 'noiseImages', 'sigmas']);
    if (noise === null) return null;
    const { runtime, warnings } = runtimeSettings((k) => cfg.get(k), os.availableParallelism());
    for (const w of warnings) this.log(`settings: ${w}`);
    const budget = cfg.get<number>('memoryBudgetMB');
    // Only `true` is passed: the default must not override a replens.json that asks to skip.
    const data = cfg.get<boolean>('skipUnreadableImages') ? { ...ds.data, skipUnreadable: true } : ds.data;
    const job: AnalyzeJob = {
      kind: 'analyze',
      modelPath,
      ...(compareWith ? { compare: compareWith } : {}),
      data,
      ...(ds.configPath ? { configPath: ds.configPath } : {}),
      ...(configRoot ? { configRoot } : {}),
      analyses,
      samples,
      ...(layers ? { layers } : {}),
      ...noise,
      runtime,
      ...(typeof budget === 'number' && budget > 0 ? { memoryBudgetMB: budget } : {}),
      ...(o.noCache ? { noCache: true } : {}),
    };
    if (o.confirm ?? interactive) {
      const go = await this.confirm(job, check, probed);
      if (!go) return null;
    }
    return job;
  }

  /** The datasets probed in the worker against the model's input; null when it could not be asked. */
  private async probe(
    datasets: { data: DatasetSource; configPath?: string; configRoot?: string }[],
    check: ModelCheckResult,
  ): Promise<DatasetProbe[] | null> {
    if (!this.deps.run) return null;
    try {
      const r = (await this.deps.run({
        kind: 'probe-datasets',
        input: { shape: check.input.shape, elemType: check.input.elemType },
        datasets,
      })) as ProbeDatasetsResult;
      return r.probes;
    } catch (e) {
      this.log(`dataset probe failed: ${(e as Error).message}`);
      return null;
    }
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
    this.remember(LAST_ANALYSES, ids);
    return ids;
  }

  private async pickDataset(
    modelPath: string,
    cfg: vscode.WorkspaceConfiguration,
    check: ModelCheckResult | null,
  ): Promise<DatasetChoice | null> {
    const choices = await findDatasets(modelPath, cfg.get<string>('dataset') ?? '');
    // A stable order (replens.json files nearest the model, then data files); the last used is marked and active.
    const last = this.memento.get<DatasetChoice>(LAST_DATASET);
    if (last && fs.existsSync(last.data.path) && !choices.some((c) => c.data.path === last.data.path))
      choices.push({ ...last });
    type Item = vscode.QuickPickItem & { choice?: DatasetChoice };
    const isLast = (c: DatasetChoice) => !!last && c.data.path === last.data.path;
    const itemOf = (c: DatasetChoice): Item => {
      const where = c.configPath ? 'replens.json · ' : '';
      const p = c.probe ? describeProbe(c.probe) : null;
      return {
        label: p ? `${p.mark} ${c.label}` : c.label,
        description: `${isLast(c) ? 'last used · ' : ''}${p ? p.summary : check ? 'probing…' : where.slice(0, -3)}`,
        detail:
          `${where}${vscode.workspace.asRelativePath(c.data.path)}` +
          (p ? ` — ${p.detail}${p.classes ? ` · ${p.classes}` : ''}` : ''),
        choice: c,
      };
    };
    const browse: Item = {
      label: '$(folder-opened) Browse…',
      description: 'IDX, .npy/.npz, or an image folder (one sub-folder per class)',
    };
    const qp = vscode.window.createQuickPick<Item>();
    qp.title = 'RepLens: dataset';
    qp.placeholder = check
      ? `Samples to run through the model (its input: ${fmtInput(check)})`
      : 'Samples to run through the model';
    qp.matchOnDetail = true;
    qp.matchOnDescription = true;
    let closed = false;
    const show = () => {
      if (closed) return; // the probe answered after the pick
      // Refreshing the items keeps the highlighted one (else the last used).
      const cur = qp.activeItems[0]?.choice?.data.path;
      const items = [...choices.map(itemOf), browse];
      qp.items = items;
      const active =
        items.find((i) => cur !== undefined && i.choice?.data.path === cur) ??
        items.find((i) => i.choice && isLast(i.choice));
      if (active) qp.activeItems = [active];
    };
    show();
    if (check && choices.length) {
      qp.busy = true;
      void this.probe(
        choices.map((c) => ({ data: c.data, configPath: c.configPath, configRoot: rootOf(c.data.path) })),
        check,
      ).then((probes) => {
        probes?.forEach((p, i) => (choices[i].probe = p));
        if (!closed) qp.busy = false;
        show();
      });
    }
    const pick = await new Promise<Item | undefined>((resolve) => {
      qp.onDidAccept(() => {
        const it = qp.selectedItems[0] ?? qp.activeItems[0];
        const p = it?.choice?.probe;
        // A dataset that cannot work is not taken: the reason stays on screen and the picker open.
        if (p && (p.error || p.fits === false)) {
          qp.value = ''; // so the placeholder with the reason shows
          qp.placeholder = `✗ ${it.choice!.label}: ${p.error ?? p.reason} — pick another`;
          return;
        }
        resolve(it);
        qp.hide();
      });
      qp.onDidHide(() => resolve(undefined));
      qp.show();
    });
    closed = true;
    qp.dispose();
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
      if (check) {
        const [p] = (await this.probe([{ data: choice.data, configRoot: rootOf(choice.data.path) }], check)) ?? [];
        if (p && (p.error || p.fits === false)) {
          void vscode.window.showErrorMessage(`RepLens: ${choice.label}: ${p.error ?? p.reason}`);
          return null;
        }
        choice.probe = p;
      }
    }
    const { probe, ...remembered } = choice;
    this.remember(LAST_DATASET, remembered);
    return { ...remembered, probe };
  }

  private async pickSamples(cfg: vscode.WorkspaceConfiguration, holds?: number): Promise<number | undefined | null> {
    const remembered = this.memento.get<number>(LAST_SAMPLES) ?? cfg.get<number>('samples') ?? 1000;
    const def = holds !== undefined ? Math.min(remembered, holds) : remembered;
    const v = await vscode.window.showInputBox({
      title: 'RepLens: samples',
      prompt:
        (holds !== undefined ? `The dataset holds ${holds} samples. ` : '') +
        'How many to analyse (RRA and similarity cost grows with the square)' +
        (holds !== undefined ? `; "all" uses all ${holds}` : ''),
      value: String(def),
      validateInput: (s) => samplesProblem(s, holds),
    });
    if (v === undefined) return null;
    const n = v.trim() === 'all' && holds !== undefined ? holds : Number(v.trim());
    this.remember(LAST_SAMPLES, n);
    return n;
  }

  /** The layers to analyse: the model's layers, the last choice for this model (else the engine's) picked. */
  private async pickLayers(modelPath: string, check: ModelCheckResult): Promise<string[] | undefined | null> {
    const key = LAST_LAYERS + path.resolve(modelPath);
    const known = new Set(check.layers.map((l) => l.tensor));
    const saved = this.memento.get<string[]>(key)?.filter((t) => known.has(t));
    const picked = new Set(saved?.length ? saved : check.defaultLayers);
    const defaults = new Set(check.defaultLayers);
    const items = check.layers.map((l) => ({
      label: l.label,
      description: `${l.op} ${l.shape.join('×')}${defaults.has(l.tensor) ? ' · default' : ''}`,
      detail: l.tensor !== l.label ? l.tensor : undefined,
      picked: picked.has(l.tensor),
      tensor: l.tensor,
    }));
    const pick = await vscode.window.showQuickPick(items, {
      canPickMany: true,
      title: `RepLens: layers to analyse (${check.defaultLayers.length} by default)`,
      placeHolder: "Space toggles, Enter accepts; the default: the main path's block outputs",
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (!pick?.length) return null;
    const tensors = pick.map((p) => p.tensor);
    this.remember(key, tensors);
    // The default choice goes as no choice: the engine then labels the layers by their blocks (layer1.0, …).
    return sameSet(tensors, check.defaultLayers) ? undefined : tensors;
  }

  /** noise-SVD's settings as the CLI offers them: checkpoints (found beside the model), images per class, σ. */
  private async pickNoise(modelPath: string, o: AnalyzeCommandOptions): Promise<NoiseSettings | null> {
    const key = LAST_NOISE + path.resolve(modelPath);
    const last = this.memento.get<NoiseSettings>(key) ?? {};
    let checkpoints = o.checkpoints;
    const found = findCheckpoints(modelPath);
    if (!checkpoints && found.length) {
      const was = new Set(last.checkpoints ?? found);
      const items = [path.resolve(modelPath), ...found].map((f, i) => ({
        label: path.basename(f),
        description: i === 0 ? 'the model itself' : path.dirname(vscode.workspace.asRelativePath(f)),
        picked: was.has(f),
        file: f,
      }));
      const pick = await vscode.window.showQuickPick(items, {
        canPickMany: true,
        title: 'RepLens: noise-SVD checkpoints',
        placeHolder: 'One series per checkpoint (e.g. per epoch); Enter accepts',
      });
      if (!pick?.length) return null;
      const files = pick.map((p) => p.file);
      checkpoints = files.length === 1 && files[0] === path.resolve(modelPath) ? undefined : files;
    }
    const noiseImages =
      o.noiseImages ??
      (await askNumber(
        'RepLens: noise-SVD images per class',
        'Images per class, each run as noisy copies',
        last.noiseImages ?? DEFAULT_NOISE.noiseImages,
      ));
    if (noiseImages === null) return null;
    let sigmas = o.sigmas;
    if (!sigmas) {
      const v = await vscode.window.showInputBox({
        title: 'RepLens: noise-SVD σ',
        prompt: 'Noise levels (standard deviations in pixel units), comma-separated',
        value: (last.sigmas ?? DEFAULT_NOISE.sigmas).join(','),
        validateInput: (s) => (parseSigmas(s) ? null : 'numbers ≥ 0, comma-separated, e.g. 0.2,0.1,0.01'),
      });
      if (v === undefined) return null;
      sigmas = parseSigmas(v)!;
    }
    const out: NoiseSettings = { ...(checkpoints ? { checkpoints } : {}), noiseImages, sigmas };
    this.remember(key, out);
    return out;
  }

  /** The confirm item with the time estimate; false when the user backed out. */
  private async confirm(job: AnalyzeJob, check: ModelCheckResult | null, data?: DatasetProbe): Promise<boolean> {
    const holds = data?.samples;
    const qp = vscode.window.createQuickPick<vscode.QuickPickItem & { go: boolean }>();
    qp.title = `RepLens: run ${job.analyses.join(', ')} on ${path.basename(job.modelPath)}?`;
    qp.placeholder = 'Enter runs, Escape goes back to the editor';
    const planned: PlannedRun = {
      analyses: job.analyses,
      samples: Math.min(job.samples ?? holds ?? 15000, holds ?? Infinity),
      layers: job.layers?.length ?? check?.defaultLayers.length ?? 1,
      noiseUnits: noiseUnits(job, data?.labels?.classes),
    };
    let closed = false;
    const set = (estimate: { head: string; detail: string }) => {
      if (closed) return;
      qp.items = [
        { label: '$(play) Run', description: estimate.head, detail: estimate.detail, go: true },
        { label: '$(close) Cancel', go: false },
      ];
    };
    set({ head: 'estimating…', detail: 'from the last run of this model, or a probe batch' });
    qp.busy = true;
    void this.estimate(job, planned).then((e) => {
      if (!closed) qp.busy = false;
      this.log(`analyze ${path.basename(job.modelPath)}: estimate ${e.head}: ${e.detail}`);
      set(e);
    });
    const go = await new Promise<boolean>((resolve) => {
      qp.onDidAccept(() => {
        resolve(qp.selectedItems[0]?.go ?? qp.activeItems[0]?.go ?? false);
        qp.hide();
      });
      qp.onDidHide(() => resolve(false));
      qp.show();
    });
    closed = true;
    qp.dispose();
    return go;
  }

  /**
   * The estimate: from this model's last finished run (the parts it lacks from a probe batch), else from a probe
   * batch timed in the worker.
   */
  private async estimate(job: AnalyzeJob, planned: PlannedRun): Promise<{ head: string; detail: string }> {
    const last = this.deps.lastResult?.(job.modelPath);
    const fromRun = last?.complete && !job.compare ? estimateFromRun(last, planned) : null;
    if (fromRun && !fromRun.unknown.length) return describeEstimate(fromRun, planned);
    if (!this.deps.run)
      return fromRun ? describeEstimate(fromRun, planned) : { head: 'no estimate', detail: 'no worker' };
    try {
      const t = (await this.deps.run({
        kind: 'time-batch',
        modelPath: job.modelPath,
        data: job.data,
        ...(job.configPath ? { configPath: job.configPath } : {}),
        ...(job.configRoot ? { configRoot: job.configRoot } : {}),
        ...(job.layers ? { layers: job.layers } : {}),
        runtime: job.runtime,
      })) as TimeBatchResult;
      let e: Estimate = estimateFromProbe(t, planned);
      // A comparison runs the second model's capture too.
      if (job.compare) e = { ...e, seconds: e.seconds + e.parts[0].seconds };
      return describeEstimate(fromRun ? completeWith(fromRun, e) : e, planned);
    } catch (e) {
      return fromRun
        ? describeEstimate(fromRun, planned)
        : { head: 'no estimate', detail: `the probe batch failed: ${(e as Error).message}` };
    }
  }
}

type NoiseSettings = Pick<AnalyzeJob, 'checkpoints' | 'noiseImages' | 'sigmas'>;

function pickDefined(o: AnalyzeCommandOptions, keys: (keyof NoiseSettings)[]): NoiseSettings {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** noise-SVD's units of work in the planned run: checkpoints × images × σ × copies. */
function noiseUnits(job: AnalyzeJob, classes = 10): number | undefined {
  // Without labels noise-SVD takes images as one class; 10 is the plan's guess when the classes are not known.
  if (!job.analyses.includes('noise-svd')) return undefined;
  return (
    (job.checkpoints?.length ?? 1) *
    (job.noiseImages ?? DEFAULT_NOISE.noiseImages) *
    classes *
    (job.sigmas ?? DEFAULT_NOISE.sigmas).length *
    (job.groupSize ?? DEFAULT_NOISE.groupSize)
  );
}

async function askNumber(title: string, prompt: string, value: number): Promise<number | null> {
  const v = await vscode.window.showInputBox({
    title,
    prompt,
    value: String(value),
    validateInput: (s) => (/^\d+$/.test(s.trim()) && Number(s) >= 1 ? null : 'a whole number ≥ 1'),
  });
  return v === undefined ? null : Number(v.trim());
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && b.every((x) => a.includes(x));

const rootOf = (p: string) => vscode.workspace.getWorkspaceFolder(vscode.Uri.file(p))?.uri.fsPath;

function fmtInput(check: ModelCheckResult): string {
  const s = check.input.shape;
  return s
    ? s
        .slice(1)
        .map((d) => d ?? '?')
        .join('×')
    : 'shape unknown';
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
