// The `activations` job: run a model on an .npy batch or a whole dataset and write the requested tensors
// (reduced while streaming) as .npy files with index.json.
import * as path from 'path';
import { ReplensError, throwIfAborted } from '../errors';
import { loadModel } from '../onnx/model';
import { feedInputs, valueInfoOf, type Dim } from '../onnx/graph';
import { readNpy } from '../npy';
import { arrayDataset } from '../data/array';
import type { Dataset } from '../data/dataset';
import { openDatasetFromJob } from './source';
import type { SessionPool } from '../runtime/session';
import { tensorShapes } from '../runtime/shapes';
import { adaptBatch } from '../runtime/batch';
import { fileKey } from '../inspect';
import { typeName } from '../onnx/proto';
import type { ActivationsJob, ActivationsResult } from '../../shared/messages';
import type { JobContext } from '../jobs';
import { planCapture, runCapture, singleInput } from './capture';
import { parseReduce } from './reduce';
import { NpyDirSink } from './npydir';

/** An .npy batch fed as is: its dtype and shape must fit the model input. */
export function npyInputDataset(file: string, inputName: string, inputType: number): Dataset {
  const arr = readNpy(file);
  if (inputType && typeName(inputType) !== arr.dtype) {
    throw new ReplensError(
      'E_INPUT_DTYPE',
      `${path.basename(file)} holds ${arr.dtype}; model input '${inputName}' takes ${typeName(inputType)}`,
    );
  }
  if (arr.dtype !== 'float32')
    throw new ReplensError('E_INPUT_DTYPE', `${path.basename(file)} holds ${arr.dtype}; RepLens feeds float32 inputs`);
  if (arr.shape.length < 1 || arr.shape[0] < 1)
    throw new ReplensError(
      'E_INPUT_SHAPE',
      `${path.basename(file)} has shape (${arr.shape.join(', ')}); expected a batch, samples first`,
    );
  return arrayDataset(arr.data as Float32Array, arr.shape, {
    description: `${path.basename(file)} (${arr.shape.join('×')})`,
  });
}

function checkSampleShape(
  ds: Dataset,
  inputName: string,
  shape: (number | string | null)[] | null,
  what: string,
): void {
  if (!shape) return;
  const got = [ds.length, ...ds.sampleShape];
  const text = (s: readonly (number | string | null)[]) => `[${s.map((d) => d ?? '?').join(', ')}]`;
  if (shape.length !== got.length || shape.some((d, i) => i > 0 && typeof d === 'number' && d !== got[i])) {
    throw new ReplensError(
      'E_INPUT_SHAPE',
      `${what} gives samples of shape ${text(got)}; model input '${inputName}' takes ${text(shape)}`,
    );
  }
}

export const DEFAULT_BUDGET_MB = 2048;

/**
 * The files stream to disk, so what the budget bounds is one batch in flight: its input and every captured
 * output. Checked before the first run, with the fix in the message.
 */
export function checkBatchBudget(
  outputs: { tensor: string; sampleShape: Dim[] | null }[],
  batchSize: number,
  sampleShape: number[],
  budgetMB: number,
): void {
  const per = (s: readonly (Dim | number)[]) => s.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
  let perSample = per(sampleShape);
  for (const o of outputs) perSample += o.sampleShape ? per(o.sampleShape) : 0;
  const bytes = perSample * 4 * batchSize;
  if (bytes > budgetMB * 1048576) {
    const fit = Math.floor((budgetMB * 1048576) / (perSample * 4));
    throw new ReplensError(
      'E_MEMORY_BUDGET',
      `a batch of ${batchSize} needs ${(bytes / 1048576).toFixed(1)} MB for its input and ` +
        `${outputs.length} captured tensors, over the ${budgetMB} MB memory budget; use ` +
        `--batch-size ${Math.max(1, fit)}${fit < 1 ? ' and --reduce mean' : ''} or raise the budget`,
    );
  }
}

export async function runActivationsJob(
  job: ActivationsJob,
  pool: SessionPool,
  ctx: JobContext,
): Promise<ActivationsResult> {
  const t0 = Date.now();
  const reduce = parseReduce(job.reduce);
  const model = await loadModel(job.modelPath);
  const key = await fileKey(model.path);
  const input = singleInput(model.proto);
  const decl = feedInputs(model.proto.graph!).find((i) => i.name === input)!;
  const info = valueInfoOf(decl);
  let ds: Dataset;
  if (job.input) {
    ds = npyInputDataset(job.input, input, info?.elemType ?? 0);
    checkSampleShape(ds, input, info?.shape ?? null, path.basename(job.input));
  } else if (job.data) {
    ds = await openDatasetFromJob(job, info?.shape ?? null, ctx.log, info?.elemType);
  } else {
    throw new ReplensError('E_ARGUMENT', 'give --input FILE.npy or --data PATH');
  }
  throwIfAborted(ctx.signal);
  // A fixed batch size (the most common export): a relaxed copy when that is safe, else runs at that size.
  const batching = await adaptBatch(model.proto, input, ds.sampleShape, pool, key);
  if (batching.note) ctx.log(`activations: ${batching.note}`);
  const proto = batching.proto,
    runKey = key + batching.keySuffix;
  const shapes = await tensorShapes(proto, pool, runKey, {
    inputShapes: { [input]: [batching.runBatch ?? 1, ...ds.sampleShape] },
    memoryBudgetMB: job.memoryBudgetMB,
    signal: ctx.signal,
  });
  const plan = planCapture(proto, runKey, job.tensors, reduce, shapes, batching.runBatch);
  const batchSize = job.batchSize ?? 64;
  checkBatchBudget(plan.outputs, batchSize, ds.sampleShape, job.memoryBudgetMB ?? DEFAULT_BUDGET_MB);
  const sink = new NpyDirSink(job.outDir, plan, { model: model.path, dataset: ds.description });
  let complete = false;
  let written: number;
  try {
    for await (const b of runCapture(plan, pool, ds.batches(batchSize, { signal: ctx.signal }), {
      signal: ctx.signal,
      total: ds.length,
      onProgress: ctx.progress,
      what: path.basename(model.path),
    })) {
      sink.write(b);
    }
    complete = true;
  } finally {
    // Also on cancel or error: what was written stays readable, and the manifest says how far it got.
    const manifest = sink.close(complete);
    written = manifest.samples;
    if (!complete)
      ctx.log(
        `activations: stopped after ${manifest.samples} samples; ` +
          `${job.outDir} holds them (manifest.json: complete=false)`,
      );
    await ds.close?.();
  }
  const files: Record<string, string> = {};
  for (const [t, f] of sink.files) {
    files[t] = f;
    ctx.partial({ kind: 'tensor-written', tensor: t, file: f });
  }
  // Unreadable images skipped (dataset.skipUnreadable): the files hold the others, in order, with their labels.
  const skipped = [...(ds.skipped ?? [])];
  for (const k of skipped) ctx.log(`activations: skipped ${k.file}: ${k.reason}`);
  return {
    kind: 'activations',
    outDir: job.outDir,
    samples: written,
    files,
    executionProvider: (await pool.get(plan.key, plan.proto, 'capture')).ep,
    seconds: (Date.now() - t0) / 1000,
    ...(skipped.length ? { skipped } : {}),
  };
}
