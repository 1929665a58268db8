// What the dataset picker shows about each dataset before anything runs: how many samples, the stored sample shape,
// the labels, and whether it fits the model's input. Cheap: IDX and .npy are read by their headers (and a labels
// file, one small integer per sample); an .npz opens its entries and an image folder is listed and its first image
// read, as opening them for a run does. The verdict follows the preprocessing a run would do (replens.json's, then
// what the model input implies: channel conversion, resize), so ✓ means the run will accept the data.
import * as path from 'path';
import { ReplensError, errorMessage } from './errors';
import { readHead } from './fsafe';
import { parseNpyHeader, NPY_MAX_HEADER } from './npy';
import { configFor, loadConfig } from './data/config';
import type { DatasetFormat, DatasetSpec } from './data/dataset';
import { gunzipHead, isGzip, readLabelsFile, siblingIdxLabels } from './data/idx';
import { openImageFolderSource } from './data/imagefolder';
import { openNpzSource } from './data/npyset';
import { inferFormat } from './data/open';
import {
  canConvertChannels,
  defaultsFromModelInput,
  outputShape,
  resolvePreprocess,
  type PreprocessConfig,
} from './data/preprocess';
import { arrayGeometry, type Geometry } from './data/source';
import { INTEGER_INPUTS } from './capture/source';
import type { DatasetSource } from '../shared/analyses';

/** The model input a dataset must fit: its shape with the batch dim first (symbolic dims as strings or null). */
export interface ModelInput {
  shape: (number | string | null)[] | null;
  /** ONNX element type (1 float; integer types take raw pixel values). */
  elemType?: number;
}

export interface DatasetProbe {
  path: string;
  format?: DatasetFormat;
  /** Samples in the dataset (before any limit). */
  samples?: number;
  /** One stored sample as C×H×W (an image folder: its first image). */
  stored?: number[];
  /** One sample as the model will get it (after preprocessing). */
  sampleShape?: number[];
  /** Class labels: how many classes, and their names where the data or replens.json has them; null: no labels. */
  labels?: { classes: number; names?: string[] } | null;
  /** Whether it fits the model input; null when the model's input shape is unknown. */
  fits?: boolean | null;
  /** Why not, in one line ("3×32×32, the model takes 1×28×28"). */
  reason?: string;
  /** What preprocessing will do to make it fit ("resized 32×32 → 28×28", "3 → 1 channels"). */
  conversions?: string[];
  /** The dataset cannot be read: one line naming the cause. */
  error?: string;
}

const fmt = (s: readonly (number | string | null)[]) => s.map((d) => d ?? '?').join('×');
/** Symbolic dims (and the -1/0 some exporters write for them) fit anything. */
const fixed = (d: number | string | null): d is number => typeof d === 'number' && d > 0;

const IDX_TYPES = new Set([0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e]);

/** The dims of an IDX file from its first bytes (raw or gzip). */
function idxShape(file: string): number[] {
  let head = readHead(file, 16 << 10, { what: 'an IDX file', code: 'E_DATASET' });
  if (isGzip(head)) head = gunzipHead(head);
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0 || !IDX_TYPES.has(head[2]) || head[3] === 0)
    throw new ReplensError('E_DATASET', `${file} is not an IDX file (bad magic bytes)`);
  const rank = head[3];
  if (head.length < 4 + 4 * rank) throw new ReplensError('E_DATASET', `${file} is truncated (header)`);
  return Array.from({ length: rank }, (_, i) => head.readUInt32BE(4 + 4 * i));
}

interface Header {
  format: DatasetFormat;
  samples: number;
  geometry: Geometry;
  /** 8-bit sources are scaled by 1/255 by default; the rest are taken as scaled. */
  pixels: 'uint8' | 'float';
  defaultChannels: number;
  labels: Int32Array | null;
  classNames?: string[];
}

async function readHeader(spec: DatasetSpec): Promise<Header> {
  const format = spec.format ?? inferFormat(spec.path);
  const file = spec.path;
  if (format === 'idx' || format === 'npy') {
    let shape: number[], pixels: 'uint8' | 'float';
    if (format === 'idx') {
      shape = idxShape(file);
      if (shape.length === 1)
        throw new ReplensError('E_DATASET', `${path.basename(file)} is a rank-1 IDX file (labels, not images)`);
      const head = readHead(file, 16 << 10, { code: 'E_DATASET' });
      pixels = (isGzip(head) ? gunzipHead(head) : head)[2] === 0x08 ? 'uint8' : 'float';
    } else {
      const h = parseNpyHeader(readHead(file, 12 + NPY_MAX_HEADER, { code: 'E_DATASET' }), file);
      shape = h.shape;
      pixels = h.dtype === 'uint8' ? 'uint8' : 'float';
    }
    // IDX stores 4-D samples channels-last unless the config says otherwise (as the IDX reader does).
    const layout = format === 'idx' && shape.length === 4 ? (spec.layout ?? 'NHWC') : spec.layout;
    const geometry = arrayGeometry(shape, layout, file);
    const labelsFile = spec.labels ?? (format === 'idx' ? siblingIdxLabels(file) : null);
    return {
      format,
      samples: shape[0],
      geometry,
      pixels,
      defaultChannels: geometry.channels,
      labels: labelsFile ? readLabelsFile(labelsFile) : null,
    };
  }
  const s =
    format === 'npz'
      ? openNpzSource(file, { x: spec.x, y: spec.y, labels: spec.labels, layout: spec.layout })
      : await openImageFolderSource(file, { skipUnreadable: spec.skipUnreadable });
  return {
    format,
    samples: s.length,
    geometry: s.geometry,
    pixels: s.pixels,
    defaultChannels: s.defaultChannels,
    labels: s.labels,
    classNames: s.classNames,
  };
}

/** The dataset spec and settings a run would use: the job's data over the replens.json that applies to it. */
function resolveSpec(
  data: DatasetSource,
  configPath: string | undefined,
  configRoot: string | undefined,
): { spec: DatasetSpec; preprocess?: PreprocessConfig; classNames?: string[] } {
  const dataPath = path.resolve(data.path);
  const configFile = configFor(configPath, dataPath, { stopAt: configRoot });
  const config = configFile ? loadConfig(configFile) : undefined;
  const same = config?.dataset && path.resolve(config.dataset.path) === dataPath ? config.dataset : undefined;
  return {
    spec: {
      ...(same ?? {}),
      path: dataPath,
      ...(data.format ? { format: data.format } : {}),
      ...(data.labels ? { labels: path.resolve(data.labels) } : {}),
      ...(data.skipUnreadable !== undefined ? { skipUnreadable: data.skipUnreadable } : {}),
    },
    preprocess: config?.preprocess,
    classNames: config?.classNames,
  };
}

/**
 * Whether samples of `h` fit the model input after preprocessing, with the same rules as opening the dataset for a
 * run (data/open.ts): the user's preprocessing, then what the model input implies, then the source's own.
 */
export function judgeFit(
  h: Pick<Header, 'geometry' | 'pixels' | 'defaultChannels'>,
  model: ModelInput,
  user: PreprocessConfig = {},
): Pick<DatasetProbe, 'sampleShape' | 'fits' | 'reason' | 'conversions'> {
  const g = h.geometry;
  const stored = [g.channels, g.height, g.width];
  const implied = {
    ...(model.shape ? defaultsFromModelInput(model.shape.map((d) => d ?? '?')) : {}),
    ...(model.elemType !== undefined && INTEGER_INPUTS.has(model.elemType) ? { scale: 1 } : {}),
  };
  const p = resolvePreprocess(user, implied, h);
  const sampleShape = outputShape(p, g.height, g.width);
  const ms = model.shape;
  const takes = ms ? fmt(ms.slice(1)) : '?';
  if (!canConvertChannels(g.channels, p.channels))
    return {
      sampleShape,
      fits: false,
      reason: `${fmt(stored)}: ${g.channels} channels cannot become ${p.channels}; the model takes ${takes}`,
    };
  if (!ms) return { sampleShape, fits: null };
  const ok = ms.length === sampleShape.length + 1 && sampleShape.every((d, i) => !fixed(ms[i + 1]) || ms[i + 1] === d);
  if (!ok) {
    const after = fmt(sampleShape) !== fmt(stored) ? ` (${fmt(sampleShape)} after preprocessing)` : '';
    return { sampleShape, fits: false, reason: `${fmt(stored)}${after}, the model takes ${takes}` };
  }
  const conversions: string[] = [];
  if (p.channels !== g.channels) conversions.push(`${g.channels} → ${p.channels} channels`);
  if (p.resize && (p.resize[0] !== g.height || p.resize[1] !== g.width))
    conversions.push(`resized ${g.height}×${g.width} → ${p.resize.join('×')}`);
  return { sampleShape, fits: true, conversions };
}

/** Probes one dataset against the model input; a dataset that cannot be read gives `error`, never a throw. */
export async function probeDataset(
  d: { data: DatasetSource; configPath?: string; configRoot?: string },
  model: ModelInput,
): Promise<DatasetProbe> {
  const out: DatasetProbe = { path: path.resolve(d.data.path) };
  try {
    const { spec, preprocess, classNames } = resolveSpec(d.data, d.configPath, d.configRoot);
    const h = await readHeader(spec);
    out.format = h.format;
    out.samples = h.samples;
    out.stored = [h.geometry.channels, h.geometry.height, h.geometry.width];
    if (h.labels) {
      const names = classNames ?? h.classNames;
      let max = -1;
      for (const v of h.labels) if (v > max) max = v;
      out.labels = { classes: names?.length ?? max + 1, ...(names ? { names } : {}) };
    } else out.labels = null;
    Object.assign(out, judgeFit(h, model, preprocess));
  } catch (e) {
    out.error = errorMessage(e);
  }
  return out;
}

/**
 * What the picker shows for a probe: a ✓/✗ mark, "1000 samples · 1×28×28 · 10 classes", the fit ("fits the model
 * input (1×28×28)", or why not) and the class names, if any ("T-shirt/top, Trouser, Pullover, …").
 */
export function describeProbe(p: DatasetProbe): {
  mark: '✓' | '✗' | '?';
  summary: string;
  detail: string;
  classes: string;
} {
  const classes = p.labels?.names?.length ? shortList(p.labels.names) : '';
  if (p.error) return { mark: '✗', summary: 'cannot be read', detail: p.error, classes };
  const labels = !p.labels ? 'no labels' : `${p.labels.classes} class${p.labels.classes === 1 ? '' : 'es'}`;
  const summary = `${p.samples} samples · ${fmt(p.stored ?? [])} · ${labels}`;
  if (p.fits === false) return { mark: '✗', summary, detail: p.reason ?? 'does not fit the model input', classes };
  if (p.fits === null || p.fits === undefined)
    return { mark: '?', summary, detail: "the model's input shape is not known: checked when the run starts", classes };
  const conv = p.conversions?.length ? `, ${p.conversions.join(', ')}` : '';
  return { mark: '✓', summary, detail: `fits the model input (${fmt(p.sampleShape ?? [])}${conv})`, classes };
}

function shortList(names: string[], max = 3): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, …`;
}
