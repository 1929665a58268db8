// Opens a dataset: picks the reader, decides the preprocessing (user settings, then what the model input implies,
// then the source's own), checks labels and shapes up front, and streams preprocessed float32 batches.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ReplensError, throwIfAborted } from '../errors';
import { describeKind, fileError, formatBytes, readHead } from '../fsafe';
import { sizeOf } from '../npy';
import type { Batch, Dataset, DatasetFormat, DatasetSpec } from './dataset';
import { gunzipHead, openIdxSource, isGzip, looksLikeIdx } from './idx';
import { openImageFolderSource } from './imagefolder';
import { openNpySource, openNpzSource } from './npyset';
import {
  canConvertChannels,
  defaultsFromModelInput,
  outputShape,
  preprocessInto,
  resolvePreprocess,
  type PreprocessConfig,
  type ResolvedPreprocess,
} from './preprocess';
import { checkBudget, DEFAULT_DATA_BUDGET_BYTES, type SampleSource } from './source';

export interface OpenOptions {
  /** The user's preprocessing (replens.json / settings); unset keys come from the model input, then the source. */
  preprocess?: PreprocessConfig;
  /** The model's input shape, e.g. ['N', 1, 28, 28]: implies channels, resize and layout, and is checked. */
  modelInputShape?: (number | string)[];
  /** The model input's element type: an integer input (uint8) takes pixel values as they are, not scaled to [0, 1]. */
  modelInputType?: 'float' | 'integer';
  /** Class names (replens.json); labels must index into them. Replace ImageFolder's folder names (see folderLabels). */
  classNames?: string[];
  /**
   * The memory budget (replens.memoryBudgetMB / --memory-budget; default 2048): data loaded whole (IDX, .npz
   * entries, labels), a decoded image and a batch must each fit in it. Checked from headers, before allocating.
   */
  memoryBudgetMB?: number;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/**
 * The format of a dataset path: folder → imagefolder, .npz, .npy, IDX by name (…idx3…, …-ubyte), else by magic bytes.
 */
export function inferFormat(p: string): DatasetFormat {
  const st = statDataset(p);
  if (st.isDirectory()) return 'imagefolder';
  const base = path.basename(p).toLowerCase();
  if (base.endsWith('.npz')) return 'npz';
  if (base.endsWith('.npy')) return 'npy';
  if (/idx\d|-ubyte/.test(base)) return 'idx';
  let head = readHead(p, 1 << 14, { what: 'a dataset', code: 'E_DATASET' });
  if (head.length >= 4 && head.readUInt32BE(0) === 0x504b0304) return 'npz';
  if (isGzip(head)) head = gunzipHead(head);
  if (NPY_MAGIC.every((b, i) => head[i] === b)) return 'npy';
  if (looksLikeIdx(head)) return 'idx';
  throw new ReplensError(
    'E_DATASET',
    `cannot tell the format of ${p}; set dataset.format to idx, npy, npz or imagefolder`,
  );
}

/** Stats a dataset path: a folder or a regular file; a FIFO, device or socket is refused by type before any open. */
function statDataset(p: string): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    throw fileError(p, e);
  }
  if (!st.isDirectory() && !st.isFile()) {
    throw new ReplensError(
      'E_DATASET',
      `${p} is ${describeKind(st)}, not a regular file or a folder; refused (RepLens reads only regular files)`,
    );
  }
  return st;
}

async function openSource(
  spec: DatasetSpec,
  format: DatasetFormat,
  maxBytes: number,
  onSkip: (file: string, reason: string) => void,
): Promise<SampleSource> {
  const st = statDataset(spec.path);
  if ((format === 'imagefolder') !== st.isDirectory()) {
    throw new ReplensError(
      'E_DATASET',
      `${spec.path} is a ${st.isDirectory() ? 'folder' : 'file'}, but dataset.format is ${format}`,
    );
  }
  if (spec.labels && format === 'imagefolder')
    throw new ReplensError(
      'E_CONFIG',
      `dataset.labels cannot be used with an ImageFolder (${spec.path}): its labels are the class folders`,
    );
  switch (format) {
    case 'idx':
      return openIdxSource(spec.path, { labels: spec.labels, layout: spec.layout, maxBytes });
    case 'npy':
      return openNpySource(spec.path, { labels: spec.labels, layout: spec.layout, maxBytes });
    case 'npz':
      return openNpzSource(spec.path, { x: spec.x, y: spec.y, labels: spec.labels, layout: spec.layout, maxBytes });
    case 'imagefolder':
      return openImageFolderSource(spec.path, { maxBytes, skipUnreadable: spec.skipUnreadable, onSkip });
  }
}

const fmtShape = (s: readonly (number | string)[]) => s.join('×');

/** Raises E_INPUT_SHAPE when a preprocessed sample does not fit the model input, saying which setting fixes it. */
function checkModelShape(
  sample: number[],
  model: readonly (number | string)[],
  p: ResolvedPreprocess,
  source: SampleSource,
  where: string,
): void {
  // Symbolic dims (and the -1/0 some exporters write for them) fit anything.
  const fixed = (d: number | string): d is number => typeof d === 'number' && d > 0;
  const fits = model.length === sample.length + 1 && sample.every((d, i) => !fixed(model[i + 1]) || model[i + 1] === d);
  if (fits) return;
  const head =
    `${where}: samples are ${fmtShape(sample)} after preprocessing ` + `but the model input is [${model.join(', ')}]`;
  if (model.length !== 4)
    throw new ReplensError('E_INPUT_SHAPE', `${head}; RepLens feeds images as [N,C,H,W] or [N,H,W,C]`);
  const want = defaultsFromModelInput(model);
  const fixes: string[] = [];
  if (want.layout && want.layout !== p.layout) fixes.push(`preprocess.layout to "${want.layout}"`);
  const [, a, b, c] = model;
  const wantC = want.layout === 'NHWC' ? c : a;
  if (fixed(wantC) && wantC !== p.channels) {
    if (canConvertChannels(source.geometry.channels, wantC)) fixes.push(`preprocess.channels to ${wantC}`);
    else
      throw new ReplensError(
        'E_INPUT_SHAPE',
        `${head}; the data has ${source.geometry.channels} channels, which cannot be converted to ${wantC}`,
      );
  }
  const [h, w] = want.layout === 'NHWC' ? [a, b] : [b, c];
  const [sh, sw] = p.layout === 'NHWC' ? [sample[0], sample[1]] : [sample[1], sample[2]];
  if ((fixed(h) && h !== sh) || (fixed(w) && w !== sw)) {
    fixes.push(fixed(h) && fixed(w) ? `preprocess.resize to [${h}, ${w}]` : 'preprocess.resize');
  }
  throw new ReplensError(
    'E_INPUT_SHAPE',
    `${head}; set ${fixes.join(' and ') || 'preprocess.resize or preprocess.channels'}`,
  );
}

/**
 * ImageFolder labels when replens.json lists class names: if every class folder is named after one of them (exactly,
 * or with characters unsafe in file names replaced by '_': "T-shirt/top" → "T-shirt_top"), labels follow the
 * classNames order (the model's classes) instead of the folders' sorted order. With no folder matching, folders
 * map to classNames by position, as torchvision's order gives them. A partial match is an error.
 */
function folderLabels(source: SampleSource, classNames: string[], root: string): Int32Array {
  const folders = source.classNames!,
    labels = source.labels!;
  const safe = (n: string) => n.replace(/[^\p{L}\p{N}._-]/gu, '_');
  const index = folders.map((d) => {
    const exact = classNames.indexOf(d);
    return exact >= 0 ? exact : classNames.findIndex((n) => safe(n) === d);
  });
  if (index.every((i) => i < 0)) return labels;
  const unmatched = folders.filter((_, k) => index[k] < 0);
  if (unmatched.length) {
    throw new ReplensError(
      'E_LABELS',
      `class folders of ${root} partly match classNames: ` +
        `${unmatched.map((d) => `"${d}"`).join(', ')} match${unmatched.length > 1 ? '' : 'es'} no entry`,
    );
  }
  return labels.map((l) => index[l]);
}

/** `samples` in the source, of which the first `length` are used; `where` names the labels' origin. */
function checkLabels(
  labels: Int32Array,
  samples: number,
  length: number,
  classNames: string[] | undefined,
  where: string,
): void {
  if (labels.length !== samples) {
    throw new ReplensError('E_LABELS', `labels: ${labels.length} entries for ${samples} samples in ${where}`);
  }
  for (let i = 0; i < length; i++) {
    const v = labels[i];
    if (v < 0)
      throw new ReplensError('E_LABELS', `labels: entry ${i} is ${v}; class indices cannot be negative, in ${where}`);
    if (classNames && v >= classNames.length) {
      throw new ReplensError(
        'E_LABELS',
        `labels: entry ${i} is ${v} but there are only ${classNames.length} class names, in ${where}`,
      );
    }
  }
}

async function identityOf(
  format: DatasetFormat,
  source: SampleSource,
  settings: Record<string, unknown>,
  p: ResolvedPreprocess,
  length: number,
): Promise<string> {
  const files: [string, number, number][] = [];
  for (let i = 0; i < source.files.length; i += 256) {
    const chunk = source.files.slice(i, i + 256);
    const stats = await Promise.all(
      chunk.map((f) =>
        fs.promises.stat(f).catch((e) => {
          throw fileError(f, e);
        }),
      ),
    );
    stats.forEach((st, k) => files.push([path.resolve(chunk[k]), st.size, st.mtimeMs]));
  }
  const key = JSON.stringify({ v: 1, format, files, settings, preprocess: p, length });
  return createHash('sha256').update(key).digest('hex');
}

export async function openDataset(spec: DatasetSpec, opts: OpenOptions = {}): Promise<Dataset> {
  if (spec.limit !== undefined && !(Number.isInteger(spec.limit) && spec.limit > 0)) {
    throw new ReplensError('E_CONFIG', `dataset.limit must be a positive integer (got ${spec.limit})`);
  }
  const budget = opts.memoryBudgetMB;
  if (budget !== undefined && !(Number.isFinite(budget) && budget > 0))
    throw new ReplensError('E_CONFIG', `memoryBudgetMB must be a positive number (got ${budget})`);
  const maxBytes = budget !== undefined ? Math.floor(budget * 2 ** 20) : DEFAULT_DATA_BUDGET_BYTES;
  const format = spec.format ?? inferFormat(spec.path);
  // Images skipped as unreadable (dataset.skipUnreadable), in the order met; each is reported once.
  const skipped: { file: string; reason: string }[] = [];
  const skippedFiles = new Set<string>();
  const source = await openSource(spec, format, maxBytes, (file, reason) => {
    if (!skippedFiles.has(file)) {
      skippedFiles.add(file);
      skipped.push({ file, reason });
    }
  });
  const length = Math.min(source.length, spec.limit ?? Infinity);
  // A limit is "at most N": beyond the dataset it is not an error, but the run must say how many there are.
  const runNotes =
    spec.limit !== undefined && spec.limit > source.length
      ? [`dataset.limit ${spec.limit} is more than ${spec.path} holds: all ${source.length} samples used`]
      : [];
  if (length === 0) {
    throw new ReplensError(
      'E_DATASET',
      format === 'imagefolder' ? `${spec.path} holds no .png/.jpg/.jpeg images` : `${spec.path} holds no samples`,
    );
  }
  const classNames = opts.classNames ?? source.classNames;
  const labels =
    source.labels && source.format === 'imagefolder' && opts.classNames
      ? folderLabels(source, opts.classNames, spec.path)
      : source.labels;
  if (labels) checkLabels(labels, source.length, length, classNames, source.labelsFile ?? spec.path);

  const model = {
    ...(opts.modelInputShape ? defaultsFromModelInput(opts.modelInputShape) : {}),
    ...(opts.modelInputType === 'integer' ? { scale: 1 } : {}),
  };
  const p = resolvePreprocess(opts.preprocess ?? {}, model, source);
  const g = source.geometry;
  if (!canConvertChannels(g.channels, p.channels)) {
    // When the model's input fixes the channels, no setting helps: only other data (or another model) does.
    const fromModel = model.channels === p.channels;
    const fix = fromModel
      ? `the model's input takes ${p.channels}: use ${p.channels}-channel data, or a model that takes ${g.channels}`
      : `set preprocess.channels to ${g.channels} or use ${p.channels}-channel data`;
    throw new ReplensError(
      'E_INPUT_SHAPE',
      `${spec.path}: samples have ${g.channels} channels, which cannot be converted to ${p.channels}; ${fix}`,
    );
  }
  const sampleShape = outputShape(p, g.height, g.width);
  if (opts.modelInputShape) checkModelShape(sampleShape, opts.modelInputShape, p, source, spec.path);

  const notes = [...source.notes];
  if (labels !== source.labels) notes.push('labels in classNames order');
  if (length < source.length) notes.push(`first ${length} of ${source.length}`);
  if (spec.skipUnreadable && format === 'imagefolder') notes.push('unreadable images skipped');
  if (p.resize && (p.resize[0] !== g.height || p.resize[1] !== g.width)) {
    notes.push(
      source.uniform ? `resized ${g.height}×${g.width} → ${p.resize.join('×')}` : `resized to ${p.resize.join('×')}`,
    );
  }
  if (p.channels !== g.channels && !(source.format === 'imagefolder' && p.channels === 3))
    notes.push(`${g.channels} → ${p.channels} channels`);
  const noted = notes.length ? `, ${notes.join(', ')}` : '';
  const description = `${source.title} (${length} × ${fmtShape(sampleShape)})${noted}`;
  // Labels remapped to classNames order change what a cached result's labels mean.
  const settings = labels !== source.labels ? { ...source.settings, classOrder: opts.classNames } : source.settings;
  const identity = await identityOf(format, source, settings, p, length);
  const per = sizeOf(sampleShape);
  // A resize (or a stored sample) can make one preprocessed sample larger than the budget.
  checkBudget(spec.path, `one preprocessed sample (${fmtShape(sampleShape)} float32)`, per * 4, maxBytes);
  const first = source.files[0];

  async function* batches(
    batchSize: number,
    o: { signal?: AbortSignal; start?: number; end?: number } = {},
  ): AsyncGenerator<Batch> {
    const start = o.start ?? 0,
      end = o.end ?? length;
    if (!(Number.isInteger(batchSize) && batchSize > 0))
      throw new ReplensError('E_ARGUMENT', `batch size must be a positive integer (got ${batchSize})`);
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= length)) {
      throw new ReplensError('E_ARGUMENT', `batch range ${start}..${end} is outside the dataset's ${length} samples`);
    }
    for (let s = start; s < end; s += batchSize) {
      throwIfAborted(o.signal);
      const count = Math.min(batchSize, end - s);
      if (count * per * 4 > maxBytes) {
        throw new ReplensError(
          'E_MEMORY_BUDGET',
          `${spec.path}: a batch of ${count} samples of ${fmtShape(sampleShape)} ` +
            `float32 needs ${formatBytes(count * per * 4)}, over the ` +
            `${formatBytes(maxBytes)} memory budget; use a smaller batch size`,
        );
      }
      const x = new Float32Array(count * per);
      // Samples the source skipped (unreadable images) leave no gap: the batch holds the ones read, with their labels.
      const kept: number[] = [];
      await source.read(s, count, (r, i) => {
        if (!source.uniform && !p.resize && (r.height !== g.height || r.width !== g.width)) {
          throw new ReplensError(
            'E_INPUT_SHAPE',
            `${r.file} is ${r.height}×${r.width} but ${first} is ` +
              `${g.height}×${g.width}; set preprocess.resize to give all images one size`,
          );
        }
        preprocessInto(r, p, x, kept.length * per);
        kept.push(s + i);
      });
      throwIfAborted(o.signal);
      if (!kept.length) continue;
      const n = kept.length;
      yield {
        x: n === count ? x : x.subarray(0, n * per),
        shape: [n, ...sampleShape],
        labels: labels ? Int32Array.from(kept, (k) => labels[k]) : null,
        start: s,
      };
    }
  }

  return {
    identity,
    description,
    length,
    sampleShape,
    hasLabels: labels !== null,
    classNames,
    pixelSpace: {
      mean: p.mean,
      std: p.std,
      layout: p.layout,
      clip: p.divisor !== null || Math.abs(p.scale * 255 - 1) < 1e-9 ? [0, 1] : null,
    },
    skipped,
    notes: runNotes,
    batches,
    async close() {
      /* readers hold no handles between batches */
    },
  };
}
