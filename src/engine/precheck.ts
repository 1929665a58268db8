// The checks Analyze Model… runs before any work: the model (read, shapes probed, its layers and the default
// choice among them), the datasets against its input (dataprobe.ts), and one timed batch of the planned capture
// (the time estimate's basis when the model has no past run).
import * as fs from 'fs';
import * as path from 'path';
import { feedInputs, valueInfoOf } from './onnx/graph';
import { loadModel } from './onnx/model';
import { defaultTaps } from './onnx/mainpath';
import type { SessionPool } from './runtime/session';
import { inspectModel } from './inspect';
import { probeDataset } from './dataprobe';
import { openDatasetFromJob } from './capture/source';
import { prepareModel } from './analyses/prepare';
import { runCapture } from './capture/capture';
import { ReplensError, throwIfAborted } from './errors';
import type {
  LayerChoice,
  ModelCheckResult,
  ProbeDatasetsJob,
  ProbeDatasetsResult,
  TimeBatchJob,
  TimeBatchResult,
} from '../shared/messages';

export async function modelCheck(
  modelPath: string,
  pool: SessionPool,
  opts: { signal?: AbortSignal } = {},
): Promise<ModelCheckResult> {
  const inspect = await inspectModel(modelPath, pool, { signal: opts.signal });
  const m = await loadModel(modelPath, { externalData: false });
  const fed = feedInputs(m.proto.graph!)[0];
  const info = fed ? valueInfoOf(fed) : null;
  const layers = inspect.summary.layers;
  const taps = defaultTaps(m.proto, layers);
  const blockOf = new Map(taps.map((t) => [t.tensor, t.block]));
  const choices: LayerChoice[] = layers
    .filter((l) => l.output)
    .map((l) => ({
      tensor: l.output,
      label: blockOf.get(l.output) ?? l.module ?? l.name,
      op: l.op,
      shape: (l.shape ?? []).slice(1).map((d) => (typeof d === 'number' ? d : 0)),
    }));
  return {
    kind: 'model-check',
    inspect,
    input: { name: fed?.name ?? '', shape: info?.shape ?? null, elemType: info?.elemType },
    layers: choices,
    defaultLayers: taps.map((t) => t.tensor),
  };
}

export async function probeDatasets(job: ProbeDatasetsJob, signal?: AbortSignal): Promise<ProbeDatasetsResult> {
  const probes = [];
  for (const d of job.datasets) {
    throwIfAborted(signal);
    probes.push(await probeDataset(d, job.input));
  }
  return { kind: 'probe-datasets', probes };
}

/**
 * Runs two batches of the planned capture and times the second (the first pays for the session): seconds per
 * sample, and each layer's features. The session stays in the pool, so the run that follows starts warm.
 */
export async function timeBatch(
  job: TimeBatchJob,
  pool: SessionPool,
  opts: { signal?: AbortSignal; log?: (l: string) => void } = {},
): Promise<TimeBatchResult> {
  const m = await loadModel(job.modelPath, { externalData: false });
  const info = valueInfoOf(feedInputs(m.proto.graph!)[0]);
  const ds = await openDatasetFromJob(job, info?.shape ?? null, opts.log, info?.elemType);
  const prepared = await prepareModel(job.modelPath, job.layers, ds.sampleShape, pool, { signal: opts.signal });
  const b = Math.min(job.samples ?? 32, Math.floor(ds.length / 2));
  if (b < 1) throw new ReplensError('E_DATASET', `${job.data.path} holds too few samples to time a batch`);
  let t0 = 0,
    seconds = 0,
    batch = 0;
  for await (const out of runCapture(prepared.plan, pool, ds.batches(b, { end: 2 * b, signal: opts.signal }), {
    signal: opts.signal,
  })) {
    void out;
    if (batch === 0) t0 = performance.now();
    else seconds = (performance.now() - t0) / 1000;
    batch++;
  }
  return {
    kind: 'time-batch',
    samples: b,
    secondsPerSample: seconds / b,
    features: prepared.layers.map((l) => l.shape.reduce((a, x) => a * x, 1)),
  };
}

const CHECKPOINT_NAME = /(epoch|ep|ckpt|checkpoint|step|iter)[-_.]?\d+/i;

/**
 * Checkpoints of a model for noise-SVD: .onnx files in its folder and in a `checkpoints` folder beside it whose names
 * carry an epoch or step number (`shallow_cnn-epoch-3.onnx`), those sharing the model's stem first, in number order.
 */
export function findCheckpoints(modelPath: string): string[] {
  const dir = path.dirname(path.resolve(modelPath));
  const stem = path.basename(modelPath).replace(/\.onnx$/i, '');
  const found: string[] = [];
  for (const d of [dir, path.join(dir, 'checkpoints')]) {
    let names: string[];
    try {
      names = fs.readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names)
      if (/\.onnx$/i.test(n) && CHECKPOINT_NAME.test(n) && path.join(d, n) !== path.resolve(modelPath))
        found.push(path.join(d, n));
  }
  const num = (f: string) => Number(/(\d+)(?!.*\d)/.exec(path.basename(f))?.[1] ?? 0);
  const own = (f: string) => (path.basename(f).startsWith(stem) ? 0 : 1);
  return found.sort((a, b) => own(a) - own(b) || num(a) - num(b) || a.localeCompare(b));
}
