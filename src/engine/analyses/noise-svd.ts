// The noise-SVD analysis (seed 001): for a few images per class, each layer's response to G noisy copies of the
// image, and the explained variance of its leading singular directions (metrics/noise-svd.ts), per σ; run on each
// checkpoint (one model per epoch) and on the 'test' (analysed) and 'train' splits. Every model is loaded here: the
// checkpoints are other files than the analysed model.
import * as path from 'path';
import { ReplensError, throwIfAborted } from '../errors';
import { loadModel } from '../onnx/model';
import { adaptBatch } from '../runtime/batch';
import { singleInput } from '../capture/capture';
import { noiseSvd } from '../metrics/noise-svd';
import type { Dataset } from '../data/dataset';
import type { NoiseSvdResult } from '../../shared/result';
import { skipNote, type EngineAnalysis } from './context';

export interface NoiseSvdSettings {
  per: number;
  sigmas: number[];
  groupSize: number;
  checkpoints: string[];
  train: string | null;
}

/** The first `per` images of each class (or the first 10·per without labels), as model input. */
async function pickImages(
  ds: Dataset,
  per: number,
  batchSize: number,
  signal?: AbortSignal,
): Promise<{ x: Float32Array; labels: Int32Array }> {
  const size = ds.sampleShape.reduce((a, b) => a * b, 1);
  const taken = new Map<number, number>();
  const xs: Float32Array[] = [],
    ls: number[] = [];
  const want = ds.hasLabels ? Infinity : 10 * per;
  for await (const b of ds.batches(batchSize, { signal })) {
    for (let i = 0; i < b.shape[0]; i++) {
      const label = b.labels ? b.labels[i] : -1;
      if ((taken.get(label) ?? 0) >= per) continue;
      taken.set(label, (taken.get(label) ?? 0) + 1);
      xs.push(b.x.slice(i * size, (i + 1) * size));
      ls.push(label);
    }
    if (
      ls.length >= want ||
      (ds.hasLabels && [...taken.values()].every((c) => c >= per) && taken.size >= (ds.classNames?.length ?? 10))
    )
      break;
  }
  const x = new Float32Array(xs.length * size);
  xs.forEach((v, i) => x.set(v, i * size));
  return { x, labels: Int32Array.from(ls) };
}

export const noiseSvdAnalysis: EngineAnalysis<'noise-svd', NoiseSvdSettings> = {
  id: 'noise-svd',
  settings: (ctx) => {
    const o = ctx.settings;
    return {
      per: o.noiseImages ?? 10,
      sigmas: o.sigmas ?? [0.2, 0.1, 0.01],
      groupSize: o.groupSize ?? 64,
      checkpoints: o.checkpoints ?? [],
      train: o.trainData?.path ?? null,
    };
  },
  async run(ctx, settings) {
    const o = ctx.settings,
      ds = ctx.dataset,
      seed = ctx.seed,
      per = settings.per;
    const notes: string[] = [];

    const splits: { split: 'train' | 'test'; ds: Dataset }[] = [{ split: 'test', ds }];
    if (o.trainData) splits.push({ split: 'train', ds: await ctx.openDataset(o.trainData) });
    const files = o.checkpoints?.length ? o.checkpoints : [o.modelPath];
    // Degenerate layers (NaN, constant output) have no singular values to speak of: left out, with a note.
    const skipNoise = ctx.degenerate('model');
    for (const l of ctx.model.layers)
      if (skipNoise.has(l.tensor)) notes.push(skipNote('noise-SVD', l.label, skipNoise.get(l.tensor)!));
    const noiseLayers = ctx.model.layers.filter((l) => !skipNoise.has(l.tensor)).map((l) => l.tensor);
    const noiseBatch = new Map<string, Awaited<ReturnType<typeof adaptBatch>>>();
    const out: NoiseSvdResult = {
      settings: {
        sigmas: settings.sigmas,
        groupSize: settings.groupSize,
        seed,
        centre: false,
        clip: ds.pixelSpace?.clip ?? null,
        images: 0,
      },
      series: [],
    };
    try {
      for (const { split, ds: d } of splits) {
        const pick = await pickImages(d, per, ctx.batchSize, ctx.signal);
        out.settings.images = pick.labels.length;
        for (const file of files) {
          throwIfAborted(ctx.signal);
          const m = await loadModel(file);
          // Noise groups run G samples at once: a fixed batch must be freed, or be G (checked once per model).
          if (!noiseBatch.has(file))
            noiseBatch.set(
              file,
              await adaptBatch(m.proto, singleInput(m.proto), d.sampleShape, ctx.pool, `${m.path}#noise-batch`),
            );
          const fixed = noiseBatch.get(file)!;
          if (fixed.runBatch !== null && fixed.runBatch !== settings.groupSize) {
            throw new ReplensError(
              'E_INPUT_SHAPE',
              `noise-svd runs groups of ${settings.groupSize} samples, ` +
                `but ${fixed.note}; set --group-size ${fixed.runBatch}`,
            );
          }
          if (!noiseLayers.length) break;
          let r;
          try {
            r = await noiseSvd(
              fixed.proto,
              `${m.path}#noise${fixed.keySuffix}`,
              ctx.pool,
              noiseLayers,
              pick.x,
              d.sampleShape,
              d.hasLabels ? pick.labels : null,
              {
                sigmas: settings.sigmas,
                groupSize: settings.groupSize,
                seed,
                signal: ctx.signal,
                onProgress: ctx.onProgress,
                pixel: d.pixelSpace ?? { mean: [0], std: [1], layout: 'NCHW', clip: null },
              },
            );
          } catch (e) {
            // A checkpoint whose activations the metric refuses (NaN after a diverged epoch) loses only its series.
            if (!(e instanceof ReplensError) || e.code !== 'E_ARGUMENT') throw e;
            notes.push(`noise-SVD skipped for ${path.basename(file)} (${split}): ${e.message}`);
            continue;
          }
          const ep = /epoch[-_]?(\d+)/i.exec(path.basename(file));
          out.series.push({
            checkpoint: path.basename(file),
            epoch: ep ? Number(ep[1]) : null,
            split,
            layers: r.layers,
          });
        }
      }
    } finally {
      for (const { ds: d } of splits) if (d !== ds) await d.close?.();
    }
    return { value: out, notes, timings: {} };
  },
};
