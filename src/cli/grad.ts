// `replens grad`: gradients of an objective of a model run, written as float32 C-order .npy files.
//   grad MODEL --input x.npy --tensor NAME --channel C [--mean] --out g.npy
//       d(Σ over batch and space of NAME[:, C]) / d input
//   grad MODEL --input x.npy --mse-target t.npy --wrt INIT1,INIT2 --out-dir D
//       D/INIT1.npy, … = d mean((output − target)²) / d initializer
// Prints one JSON object (objective value, files written, seconds) on stdout.
import * as path from 'path';
import { ReplensError } from '../engine/errors';
import { loadModel } from '../engine/onnx/model';
import { feedInputs, valueInfoOf } from '../engine/onnx/graph';
import { readNpy, writeNpy } from '../engine/npy';
import { tensorFileNames } from '../engine/capture/npydir';
import { expandTensorSelectors } from '../engine/capture/select';
import { ensureDir } from '../engine/fswrite';
import { buildGradientModel, runGradient } from '../engine/autodiff/gradient';
import { TARGET_INPUT, type Objective } from '../engine/autodiff/objective';
import { SessionPool, type Feed } from '../engine/runtime/session';
import { adaptBatch, fixedBatch } from '../engine/runtime/batch';
import type { RuntimeSettings } from '../shared/messages';

export interface GradArgs {
  model: string;
  input?: string;
  tensor?: string;
  channel?: string;
  mean?: boolean;
  mseTarget?: string;
  wrt?: string;
  out?: string;
  outDir?: string;
  runtime: RuntimeSettings;
}

function bad(message: string): never {
  throw new ReplensError('E_ARGUMENT', message);
}

/** A float .npy as a float32 (or float64, when the model input is double) feed. */
function floatFeed(file: string, what: string, elemType: number): Feed {
  const a = readNpy(file);
  if (!['float32', 'float64'].includes(a.dtype))
    bad(`${what} (${path.basename(file)}) holds ${a.dtype}; gradients need float32 or float64 values`);
  const data =
    elemType === 11
      ? Float64Array.from(a.data as Float32Array)
      : a.data instanceof Float32Array
        ? a.data
        : Float32Array.from(a.data as Float64Array);
  for (let i = 0; i < data.length; i++)
    if (!Number.isFinite(data[i])) bad(`${what} (${path.basename(file)}) holds ${data[i]} at flat index ${i}`);
  return { data, dims: a.shape, type: elemType === 11 ? 'float64' : 'float32' };
}

export async function runGradCommand(a: GradArgs): Promise<unknown> {
  const t0 = Date.now();
  if (!a.input) bad('grad needs --input X.npy (samples first, float32)');
  const { proto } = await loadModel(a.model);
  const graph = proto.graph!;
  const inputs = feedInputs(graph);
  if (inputs.length !== 1)
    bad(`grad supports models with one input; this one has ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`);
  const inputName = inputs[0].name;
  const elemType = valueInfoOf(inputs[0])?.elemType ?? 1;
  const x = floatFeed(a.input, '--input', elemType);
  const channelMode = a.tensor !== undefined || a.channel !== undefined;
  const mseMode = a.mseTarget !== undefined;
  if (channelMode === mseMode)
    bad(
      'grad needs either --tensor NAME --channel C (channel objective) ' +
        'or --mse-target T.npy --wrt INIT1,… (MSE objective)',
    );

  let objective: Objective;
  let wrt: string[];
  const feeds: Record<string, Feed> = { [inputName]: x };
  if (channelMode) {
    if (!a.tensor) bad('--channel goes with --tensor NAME');
    if (a.channel === undefined) bad('--tensor goes with --channel C');
    const c = Number(a.channel);
    if (!Number.isInteger(c) || c < 0) bad(`--channel must be an integer ≥ 0, got '${a.channel}'`);
    if (!a.out) bad('grad --tensor … writes one file: give --out G.npy');
    // A tensor, node or module name, as --tensors takes them (one tensor).
    const [tensor, ...more] = expandTensorSelectors(proto, [a.tensor]);
    if (more.length) bad(`--tensor '${a.tensor}' names ${more.length + 1} tensors; give one`);
    objective = { kind: 'channel', tensor, channel: c, reduce: a.mean ? 'mean' : 'sum' };
    wrt = a.wrt
      ? a.wrt
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [inputName];
    if (wrt.length !== 1 || wrt[0] !== inputName)
      bad('grad --tensor … differentiates with respect to the input; use --mse-target with --wrt for initializers');
  } else {
    if (graph.output.length !== 1)
      bad(`--mse-target needs a model with one output; this one has ${graph.output.length}`);
    if (!a.wrt) bad('--mse-target needs --wrt INIT1,INIT2 (initializer names, see replens layers --json)');
    if (!a.outDir) bad('grad --mse-target writes one file per --wrt name: give --out-dir DIR');
    wrt = a.wrt
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    objective = { kind: 'mse', tensor: graph.output[0].name };
  }
  const pool = new SessionPool({
    executionProvider: a.runtime.executionProvider,
    intraOpThreads: a.runtime.intraOpThreads,
  });
  try {
    let key = `${path.resolve(a.model)}#grad`;
    // A fixed batch size that --input does not match: free it when that is safe (runtime/batch.ts).
    let model = proto;
    const batch = fixedBatch(proto, inputName);
    if (batch !== null && x.dims[0] !== batch) {
      const adapted = await adaptBatch(proto, inputName, x.dims.slice(1), pool, key);
      if (adapted.runBatch !== null)
        bad(
          `--input has ${x.dims[0]} samples, but ${adapted.note?.replace(/; running .*$/, '')}; ` +
            `give ${batch} sample${batch === 1 ? '' : 's'} per call`,
        );
      model = adapted.proto;
      key += adapted.keySuffix;
    }
    const gm = await buildGradientModel(model, { objective, wrt }, feeds, pool, key);
    if (mseMode) {
      const t = floatFeed(a.mseTarget!, '--mse-target', elemType);
      const want = gm.extraInputs.find((i) => i.name === TARGET_INPUT)!.dims;
      if (t.dims.join() !== want.join())
        bad(
          `--mse-target has shape (${t.dims.join(', ')}), the model output ` +
            `'${graph.output[0].name}' has shape (${want.join(', ')}) for this input`,
        );
      feeds[TARGET_INPUT] = t;
    }
    const res = await runGradient(gm, pool, `${key}:${objective.kind}:${wrt.join(',')}`, feeds);
    const files: Record<string, string> = {};
    const asF32 = (d: ArrayLike<number>) => (d instanceof Float32Array ? d : Float32Array.from(d));
    if (channelMode) {
      const g = res.gradients.get(wrt[0])!;
      writeNpy(a.out!, { shape: g.dims, data: asF32(g.data as Float32Array) });
      files[wrt[0]] = path.resolve(a.out!);
    } else {
      ensureDir(a.outDir!);
      const names = tensorFileNames(wrt);
      for (const w of wrt) {
        const g = res.gradients.get(w)!;
        const file = path.join(a.outDir!, names.get(w)!);
        writeNpy(file, { shape: g.dims, data: asF32(g.data as Float32Array) });
        files[w] = path.resolve(file);
      }
    }
    return {
      objective: Number(res.objective.data[0]),
      kind: objective.kind,
      files,
      executionProvider: pool.executionProvider,
      backwardNodes: gm.proto.graph!.node.length,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await pool.dispose();
  }
}
