// The `replens` command line: a thin shell over the engine (the same jobs the extension's worker runs).
import { parseArgs } from 'util';
import * as path from 'path';
import { ReplensError, closest, errorCode, errorMessage, type ErrorCode } from '../engine/errors';
import { runJob } from '../engine/jobs';
import { formatShape, type LayerInfo } from '../engine/onnx/layers';
import { loadModel } from '../engine/onnx/model';
import { expandTensorSelectors } from '../engine/capture/select';
import { runMetric } from './metric';
import { runGradCommand } from './grad';
import { ANALYZE_FLAGS, analyzeJobFromFlags, analyzeOptionsUsage, formatTable, runAnalyzeCommand } from './analyze';
import type { ActivationsJob, DatasetSource, InspectResult, Progress, RuntimeSettings } from '../shared/messages';
import { printable } from '../shared/printable';
import { formatAccuracy } from '../shared/result';
import { formatDuration, formatEta } from '../shared/duration';

const VERSION = '0.1.0';

const ANALYZE_SUMMARY = 'every activation analysis → DIR/result.json, report.html, CSV (default DIR replens-report)';

const USAGE = `replens ${VERSION} — what each layer of your CNN has learned

Usage:
  replens layers MODEL.onnx [--json] [--input-shape 1,3,224,224] [--memory-budget MB] [--constants]
  replens activations MODEL.onnx (--input X.npy | --data PATH) --tensors T1,T2 --out-dir DIR [options]
  replens metric NAME [flags]      one metric on .npy inputs → one JSON object (see README, Metrics):
    cka --x X.npy --y Y.npy [--kernel linear|rbf] [--threshold T] [--debiased] [--batch-size B]
    cca --x --y [--epsilon E] | svcca --x --y [--keep-variance 0.99] | pwcca --x --y
    twonn --x [--fraction 0.9] | selectivity --acts A.npy --labels y.npy [--eps E]
    knn --x --k K | nncs --x --labels --k K [--pool avg|max --pool-size N|global] | nnls --x --y --k K
    ars --acts A.npy | noise-svd --acts A.npy [--group-size G] [--centre]
  replens analyze MODEL.onnx --data PATH [--analyses LIST] [options below]
                                   ${ANALYZE_SUMMARY}
  replens grad MODEL.onnx --input X.npy --tensor NAME --channel C [--mean] --out G.npy
                                   d(Σ over batch and space of NAME[:, C]) / d input (--mean: the mean instead)
  replens grad MODEL.onnx --input X.npy --mse-target T.npy --wrt INIT1,INIT2 --out-dir DIR
                                   DIR/INIT1.npy, … = d mean((output − target)²) / d initializer

activations options:
  --tensors LIST        comma-separated tensor names, node names, PyTorch module paths (layer1.0: the module's
                        output) or op:TYPE (every output of that op, e.g. op:Conv)
  --input FILE.npy      one batch, samples first, float32, fed as is
  --data PATH           a dataset streamed in batches: IDX (.gz), .npy, .npz, or an image folder (class = sub-folder)
  --labels FILE         labels for --data (IDX or .npy)
  --format F            idx | npy | npz | imagefolder (default: from the path)
  --limit N             first N samples only
  --skip-unreadable     leave out images that cannot be read or decoded (named in the result) instead of failing
  --config FILE         replens.json with dataset and preprocessing settings (default: the nearest one from the
                        data's folder up to its project root, a folder with .git or package.json)
  --reduce R            none | mean | max | avgpool:K | maxpool:K, per channel/window (default none)
  --batch-size N        samples per onnxruntime run (default 64)
  --out-dir DIR         where the .npy files and index.json go

${analyzeOptionsUsage()}
common options:
  --ep auto|cpu|cuda    execution provider (default auto: CUDA when it loads, else CPU)
  --threads N           onnxruntime intra-op threads (default: onnxruntime's choice)
  --quiet               no progress on stderr
  --json                machine-readable output
  -h, --help            this help
`;

const EXIT: Partial<Record<ErrorCode | 'E_INTERNAL', number>> = { E_ARGUMENT: 2, E_CANCELLED: 130 };

function fail(message: string): never {
  throw new ReplensError('E_ARGUMENT', message);
}

function intOpt(v: string | undefined, name: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
}

function runtimeOf(v: Record<string, unknown>): RuntimeSettings {
  const ep = (v.ep as string | undefined) ?? 'auto';
  if (!['auto', 'cpu', 'cuda'].includes(ep)) fail(`--ep must be auto, cpu or cuda, got '${ep}'`);
  return {
    executionProvider: ep as RuntimeSettings['executionProvider'],
    intraOpThreads: intOpt(v.threads as string | undefined, 'threads'),
  };
}

const OPTIONS = {
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  constants: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  'input-shape': { type: 'string' },
  input: { type: 'string' },
  data: { type: 'string' },
  labels: { type: 'string' },
  format: { type: 'string' },
  limit: { type: 'string' },
  'skip-unreadable': { type: 'boolean' },
  config: { type: 'string' },
  tensors: { type: 'string' },
  reduce: { type: 'string' },
  'batch-size': { type: 'string' },
  'out-dir': { type: 'string' },
  ep: { type: 'string' },
  threads: { type: 'string' },
  'memory-budget': { type: 'string' },
  tensor: { type: 'string' },
  channel: { type: 'string' },
  mean: { type: 'boolean' },
  'mse-target': { type: 'string' },
  wrt: { type: 'string' },
  out: { type: 'string' },
  analyses: { type: 'string' },
  // analyze's own flags come from its options table (src/shared/analyses.ts)
  ...ANALYZE_FLAGS,
} as const;

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    const m = /Unknown option '(-+)([^']+)'/.exec(errorMessage(e));
    if (m)
      fail(
        `unknown option '${m[1]}${m[2]}'; did you mean ` +
          `'--${closest(m[2], Object.keys(OPTIONS), 1)[0]}'? (replens --help)`,
      );
    fail(errorMessage(e).replace(/\. To specify.*$/, ''));
  }
}

/** Whether progress bars go to stderr: a terminal, as told by the launcher when the command runs in its worker. */
let stderrIsTTY = !!process.stderr.isTTY;

function progressPrinter(quiet: boolean): (p: Progress) => void {
  if (quiet || !stderrIsTTY) return () => undefined;
  return (p) => {
    const frac = p.total > 0 ? p.done / p.total : 0;
    const width = 28;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const left = formatEta(p.etaSeconds);
    const eta = left ? ` ETA ${left}` : '';
    // our own \r and \x1b[K redraw the line; the stage and layer names are escaped
    process.stderr.write(
      `\r${printable(p.stage)} ${bar} ${p.done}/${p.total}${eta}${p.layer ? ` ${printable(p.layer)}` : ''}\x1b[K`,
    );
    if (p.done >= p.total) process.stderr.write('\n');
  };
}

/** The layers as a table; names are shown with control characters escaped (widths measured on what is printed). */
export function layerTable(layers: LayerInfo[]): string {
  const rows = layers.map((l) =>
    [l.name, l.op, l.output, formatShape(l.shape), String(l.params), l.module ?? ''].map(printable),
  );
  const head = ['name', 'op', 'output', 'shape', 'params', 'module'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 4 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function cmdLayers(pos: string[], v: Record<string, unknown>, signal: AbortSignal): Promise<void> {
  if (pos.length !== 1) fail('layers takes one model: replens layers MODEL.onnx');
  let inputShapes: Record<string, number[]> | undefined;
  const inputShape = v['input-shape'] as string | undefined;
  if (inputShape) {
    const dims = inputShape.split(/[,x×]/).map(Number);
    if (dims.some((d) => !Number.isInteger(d) || d < 1))
      fail(`--input-shape must be positive integers like 1,3,224,224, got '${inputShape}'`);
    const model = await loadModel(pos[0], { externalData: false });
    const inits = new Set(model.proto.graph!.initializer.map((t) => t.name));
    const first = model.proto.graph!.input.find((i) => !inits.has(i.name));
    if (first) inputShapes = { [first.name]: dims };
  }
  const res = (await runJob(
    {
      kind: 'inspect',
      modelPath: pos[0],
      inputShapes,
      memoryBudgetMB: intOpt(v['memory-budget'] as string | undefined, 'memory-budget'),
      constants: !!v.constants,
      runtime: runtimeOf(v),
    },
    ctxFor(v, signal),
  )) as InspectResult;
  const s = res.summary;
  if (v.json) {
    process.stdout.write(
      JSON.stringify(
        s.layers.map((l) => ({
          name: l.name,
          op: l.op,
          output: l.output,
          shape: l.shape,
          params: l.params,
          module: l.module,
          inputs: l.inputs,
          outputs: l.outputs,
        })),
        null,
        2,
      ) + '\n',
    );
    return;
  }
  process.stdout.write(layerTable(s.layers) + '\n');
  process.stdout.write(
    '\n' +
      printable(
        `${s.layers.length} nodes, ${s.totalParams} parameters; inputs: ` +
          `${s.inputs.map((i) => `${i.name} ${formatShape(i.shape)}`).join(', ')}; outputs: ` +
          `${s.outputs.map((o) => `${o.name} ${formatShape(o.shape)}`).join(', ')}; opset ` +
          `${s.opset}${s.producer ? `; ${s.producer}` : ''}`,
      ) +
      '\n',
  );
}

async function cmdActivations(pos: string[], v: Record<string, unknown>, signal: AbortSignal): Promise<void> {
  if (pos.length !== 1)
    fail('activations takes one model: replens activations MODEL.onnx --input X.npy --tensors T --out-dir DIR');
  const tensorList = v.tensors as string | undefined;
  const outDir = v['out-dir'] as string | undefined;
  if (!tensorList)
    fail('activations needs --tensors (see replens layers MODEL for names; op:Conv selects every Conv output)');
  if (!outDir) fail('activations needs --out-dir DIR');
  if (!v.input === !v.data) fail('activations needs exactly one of --input FILE.npy and --data PATH');
  const model = await loadModel(pos[0]);
  const tensors = expandTensorSelectors(
    model.proto,
    tensorList
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  );
  const format = v.format as string | undefined;
  if (format && !['idx', 'npy', 'npz', 'imagefolder'].includes(format))
    fail(`--format must be idx, npy, npz or imagefolder, got '${format}'`);
  const dataPath = v.data as string | undefined;
  const job: ActivationsJob = {
    kind: 'activations',
    modelPath: pos[0],
    tensors,
    reduce: (v.reduce as string) ?? 'none',
    outDir,
    input: v.input as string | undefined,
    data: dataPath
      ? {
          path: dataPath,
          format: format as DatasetSource['format'],
          labels: v.labels as string | undefined,
          limit: intOpt(v.limit as string | undefined, 'limit'),
          ...(v['skip-unreadable'] ? { skipUnreadable: true } : {}),
        }
      : undefined,
    configPath: v.config as string | undefined,
    batchSize: intOpt(v['batch-size'] as string | undefined, 'batch-size'),
    memoryBudgetMB: intOpt(v['memory-budget'] as string | undefined, 'memory-budget'),
    runtime: runtimeOf(v),
  };
  const res = await runJob(job, ctxFor(v, signal));
  if (res.kind !== 'activations') throw new Error('unexpected result');
  if (v.json) {
    process.stdout.write(JSON.stringify(res, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    `wrote ${Object.keys(res.files).length} tensors × ${res.samples} samples to ` +
      `${path.resolve(res.outDir)} (index.json) in ${formatDuration(res.seconds)} ` +
      `on ${res.executionProvider.toUpperCase()}\n`,
  );
  if (res.skipped?.length)
    process.stdout.write(
      printable(
        `note: ${res.skipped.length} unreadable image${res.skipped.length === 1 ? '' : 's'} skipped: ${res.skipped
          .slice(0, 20)
          .map((k) => k.reason)
          .join(
            '; ',
          )}${res.skipped.length > 20 ? `; and ${res.skipped.length - 20} more (REPLENS_VERBOSE=1 lists them)` : ''}`,
      ) + '\n',
    );
}

function ctxFor(v: Record<string, unknown>, signal: AbortSignal) {
  return {
    signal,
    progress: progressPrinter(!!v.quiet),
    partial: () => undefined,
    log: (line: string) => {
      if (!v.quiet && process.env.REPLENS_VERBOSE) process.stderr.write(printable(line) + '\n');
    },
  };
}

export interface MainOptions {
  /** Cancels the command (the launcher's first Ctrl-C). Without one, main handles SIGINT itself. */
  signal?: AbortSignal;
  stderrIsTTY?: boolean;
}

/** Runs one command; resolves to the process exit code. */
export async function main(argv: string[], opts: MainOptions = {}): Promise<number> {
  const ac = new AbortController();
  if (opts.stderrIsTTY !== undefined) stderrIsTTY = opts.stderrIsTTY;
  opts.signal?.addEventListener('abort', () => ac.abort(), { once: true });
  if (opts.signal?.aborted) ac.abort();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write('\nreplens: cancelling after the current batch (Ctrl-C again to quit now)\n');
    ac.abort();
  };
  if (!opts.signal) process.on('SIGINT', onSigint);
  try {
    // `metric` has its own flags per metric (src/cli/metric.ts).
    if (argv[0] === 'metric') {
      process.stdout.write(JSON.stringify(await runMetric(argv.slice(1))) + '\n');
      return 0;
    }
    const { values, positionals } = parse(argv);
    if (values.version) {
      process.stdout.write(VERSION + '\n');
      return 0;
    }
    const [cmd, ...rest] = positionals;
    if (values.help || !cmd || cmd === 'help') {
      process.stdout.write(USAGE);
      return cmd || values.help ? 0 : 2;
    }
    switch (cmd) {
      case 'layers':
        await cmdLayers(rest, values, ac.signal);
        return 0;
      case 'activations':
        await cmdActivations(rest, values, ac.signal);
        return 0;
      case 'analyze': {
        if (rest.length !== 1) fail('analyze takes one model: replens analyze MODEL.onnx --data PATH …');
        const format = values.format as DatasetSource['format'] | undefined;
        if (format && !['idx', 'npy', 'npz', 'imagefolder'].includes(format))
          fail(`--format must be idx, npy, npz or imagefolder, got '${format}'`);
        const out = values.out ?? 'replens-report';
        const job = analyzeJobFromFlags(rest[0], values, runtimeOf(values));
        const r = await runAnalyzeCommand(job, out, {
          ...ctxFor(values, ac.signal),
          log: (line) => {
            if (process.env.REPLENS_VERBOSE) process.stderr.write(printable(line) + '\n');
          },
        });
        if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
        else {
          process.stdout.write(formatTable(r) + '\n');
          for (const m of [r.model, r.compare]) {
            if (m?.accuracy)
              process.stdout.write(`accuracy of ${printable(m.name)}: ${printable(formatAccuracy(m.accuracy))}\n`);
          }
          for (const n of r.notes) process.stdout.write(`note: ${printable(n)}\n`);
          process.stdout.write(
            `\n${r.dataset.samples} samples of ${printable(r.dataset.description)}; ${Object.entries(r.timings)
              .map(([k, v]) => `${k} ${formatDuration(v)}`)
              .join(', ')}\nwrote ${path.resolve(out)}/result.json, report.html, *.csv\n`,
          );
        }
        return 0;
      }
      case 'grad': {
        if (rest.length !== 1) fail('grad takes one model: replens grad MODEL.onnx --input X.npy …');
        const r = await runGradCommand({
          model: rest[0],
          input: values.input,
          tensor: values.tensor,
          channel: values.channel,
          mean: values.mean,
          mseTarget: values['mse-target'],
          wrt: values.wrt,
          out: values.out,
          outDir: values['out-dir'],
          runtime: runtimeOf(values),
        });
        process.stdout.write(JSON.stringify(r) + '\n');
        return 0;
      }
      default:
        fail(
          `unknown command '${cmd}'; did you mean ` +
            `'${closest(cmd, ['layers', 'activations', 'metric', 'grad', 'analyze'], 1)[0]}'? ` +
            '(replens --help)',
        );
    }
  } catch (e) {
    process.stderr.write(`replens: ${errorMessage(e)}\n`);
    if (errorCode(e) === 'E_INTERNAL' && process.env.REPLENS_VERBOSE)
      process.stderr.write(String((e as Error).stack) + '\n');
    return EXIT[errorCode(e)] ?? 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
