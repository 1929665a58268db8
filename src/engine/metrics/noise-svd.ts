// Noise-perturbation SVD (blog `../shared/seeds/001_*`, "Related Results and Preliminary Findings"; spec §D.1):
// each image is analysed with a group of G noisy copies of itself, x + σ·ε_g, and per layer the singular values
// of the group's activation matrix A (G × D, one flattened activation per row, UNCENTRED: "if we were using a
// group of images that were not perturbed we would see all but the first singular values be 0") give the
// explained-variance ratios EV_j = s_j² / Σ s_t². Per (class, σ, layer) the ratios are averaged over the images.
//
// The singular values come from the G×G Gram matrix A·Aᵀ, which onnxruntime computes inside the model's own
// graph in float64 (Flatten → Cast(double) → Gemm(transB)), so only G² numbers per layer leave the runtime
// whatever the layer's size. Eigenvalues of the Gram carry an absolute error of about ε·s₁², so the ratios are
// accurate to ~1e-15 absolute (tiny components are not resolved relative to themselves, which the ratios do not
// need).
//
// Choices the blog leaves open (spec §D.1, our defaults): σ ∈ {0.2, 0.1, 0.01} in pixel units ([0, 1] images),
// G = 64 copies, the clean image not in the group, noise clipped to the valid pixel range, and fixed noise: ε_g
// depends only on (seed, image index, g), so the same draws are used for every σ and for every checkpoint of a
// training run (curves over epochs then differ only by the network).
import { ReplensError, errorMessage } from '../errors';
import { make, onnx, type ModelProto, type NodeProto } from '../onnx/proto';
import { cutGraph, requireTensors } from '../onnx/graph';
import { singleInput } from '../capture/capture';
import { runSession, type SessionPool } from '../runtime/session';
import { symEig } from '../linalg/eig';
import { ProgressTracker, type ProgressSink } from '../progress';
import { rng } from '../onnx/builder';

/** Spectrum of one group: singular values (descending) and their explained-variance ratios. */
export interface GroupSpectrum {
  singularValues: number[];
  explainedVariance: number[];
}

/**
 * The spectrum from a G×G Gram matrix K = A·Aᵀ (row-major, symmetric). `centre` double-centres K first
 * (H·K·H, i.e. the SVD of the column-centred A: PCA of the noise cloud instead of the blog's uncentred SVD).
 */
export function spectrumFromGram(
  gram: Float64Array,
  g: number,
  opts: { centre?: boolean; what?: string } = {},
): GroupSpectrum {
  const what = opts.what ?? 'activations';
  if (gram.length !== g * g)
    throw new ReplensError('E_ARGUMENT', `${what}: a ${g}×${g} Gram needs ${g * g} values, got ${gram.length}`);
  for (let i = 0; i < gram.length; i++)
    if (!Number.isFinite(gram[i]))
      throw new ReplensError('E_ARGUMENT', `${what}: the activations hold NaN or Inf (Gram entry ${i} is ${gram[i]})`);
  let k = gram;
  if (opts.centre) {
    k = new Float64Array(g * g);
    const row = new Float64Array(g);
    let all = 0;
    for (let i = 0; i < g; i++) {
      let s = 0;
      for (let j = 0; j < g; j++) s += gram[i * g + j];
      row[i] = s / g;
      all += s;
    }
    all /= g * g;
    for (let i = 0; i < g; i++) for (let j = 0; j < g; j++) k[i * g + j] = gram[i * g + j] - row[i] - row[j] + all;
  }
  const { values } = symEig(k, g, { vectors: false });
  let total = 0;
  const lam = Array.from(values, (v) => Math.max(0, v));
  for (const v of lam) total += v;
  if (!(total > 0)) {
    throw new ReplensError(
      'E_ARGUMENT',
      opts.centre
        ? `${what}: the group's activations do not vary (all copies ` +
            'equal after centring): the explained variance is undefined'
        : `${what}: the group's activations are all zero: the explained variance is undefined`,
    );
  }
  return { singularValues: lam.map(Math.sqrt), explainedVariance: lam.map((v) => v / total) };
}

/** The spectrum of a G×D activation matrix (rows = the group's samples), Gram in float64 in JS (small inputs). */
export function groupSpectrum(
  acts: Float64Array,
  g: number,
  d: number,
  opts: { centre?: boolean } = {},
): GroupSpectrum {
  if (g < 1 || acts.length !== g * d)
    throw new ReplensError('E_ARGUMENT', `a ${g}×${d} group needs ${g * d} values, got ${acts.length}`);
  const gram = new Float64Array(g * g);
  for (let i = 0; i < g; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = 0, a = i * d, b = j * d; t < d; t++) s += acts[a + t] * acts[b + t];
      gram[i * g + j] = s;
      gram[j * g + i] = s;
    }
  }
  return spectrumFromGram(gram, g, opts);
}

/** How pixel-space noise maps to the model input (the dataset's normalisation), and the valid pixel range. */
export interface PixelSpace {
  /** Per channel (or one for all): model input = (pixel − mean) / std. */
  mean: number[];
  std: number[];
  layout: 'NCHW' | 'NHWC';
  /** Pixel range the noisy copies are clipped to, or null for no clipping. */
  clip: [number, number] | null;
}

export interface NoiseSvdOptions {
  /** Noise standard deviations in pixel units; default [0.2, 0.1, 0.01]. */
  sigmas?: number[];
  /** Copies per image (G); default 64. */
  groupSize?: number;
  /** Noise seed; default 0. */
  seed?: number;
  /** Double-centre the Gram (PCA of the noise cloud) instead of the blog's uncentred SVD. */
  centre?: boolean;
  /** Pixel space of the model input; default identity normalisation, clip [0, 1]. */
  pixel?: PixelSpace;
  /** Components whose mean ratio is kept per (class, σ, layer); default 10. */
  components?: number;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
}

export interface Stat {
  mean: number;
  std: number;
}

/** One (layer, σ, class) cell: the mean over the class's images. `label` −1 = all images. */
export interface NoiseSvdCell {
  sigma: number;
  label: number;
  images: number;
  ev1: Stat;
  ev2: Stat;
  /** Σ_{j≥3} EV_j */
  rest: Stat;
  /** s₁, the first singular value */
  s1: Stat;
  /** Mean EV_j for j = 1..components. */
  spectrum: number[];
}

export interface NoiseSvdLayer {
  tensor: string;
  /** Values per sample (D). */
  features: number;
  cells: NoiseSvdCell[];
}

export interface NoiseSvdResult {
  settings: {
    sigmas: number[];
    groupSize: number;
    seed: number;
    centre: boolean;
    clip: [number, number] | null;
    images: number;
  };
  layers: NoiseSvdLayer[];
}

/** ε for image `index`: G × size standard normals, a function of (seed, index) only. */
export function noiseFor(seed: number, index: number, g: number, size: number): Float32Array {
  const r = rng(((seed >>> 0) * 0x9e3779b1 + Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const out = new Float32Array(g * size);
  for (let i = 0; i < out.length; i += 2) {
    let u = r();
    while (u === 0) u = r();
    const v = r(),
      m = Math.sqrt(-2 * Math.log(u));
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** The group x + σ·ε in model space: noise added and clipped in pixel units, then normalised like the dataset. */
export function noisyGroup(
  x: Float32Array,
  shape: number[],
  eps: Float32Array,
  sigma: number,
  pixel: PixelSpace,
): Float32Array {
  const size = x.length,
    g = eps.length / size;
  if (shape.length !== 3)
    throw new ReplensError(
      'E_ARGUMENT',
      `noise-svd expects image inputs (C, H, W) or (H, W, C), got shape (${shape.join(', ')})`,
    );
  const C = pixel.layout === 'NCHW' ? shape[0] : shape[2];
  const hw = size / C;
  const out = new Float32Array(g * size);
  const mean = (c: number) => (pixel.mean.length === 1 ? pixel.mean[0] : pixel.mean[c]);
  const std = (c: number) => (pixel.std.length === 1 ? pixel.std[0] : pixel.std[c]);
  for (let t = 0; t < size; t++) {
    const c = pixel.layout === 'NCHW' ? Math.floor(t / hw) : t % C;
    const m = mean(c),
      s = std(c);
    const p = x[t] * s + m; // back to pixel units
    for (let k = 0; k < g; k++) {
      let v = p + sigma * eps[k * size + t];
      if (pixel.clip) v = Math.min(pixel.clip[1], Math.max(pixel.clip[0], v));
      out[k * size + t] = (v - m) / s;
    }
  }
  return out;
}

/** The model with one float64 G×G Gram output per tapped tensor (Flatten → Cast → Gemm(transB)). */
export function gramModel(
  model: ModelProto,
  tensors: string[],
): { proto: ModelProto; input: string; outputs: Map<string, string> } {
  requireTensors(model.graph!, tensors);
  const input = singleInput(model);
  const nodes: NodeProto[] = [];
  const outputs = new Map<string, string>();
  const A = onnx.AttributeProto.AttributeType;
  tensors.forEach((t, i) => {
    const base = `replens/noise-svd/${i}`;
    nodes.push(
      make.node({
        name: `${base}/flat`,
        opType: 'Flatten',
        input: [t],
        output: [`${base}/flat`],
        attribute: [make.attribute({ name: 'axis', type: A.INT, i: 1 })],
      }),
    );
    nodes.push(
      make.node({
        name: `${base}/f64`,
        opType: 'Cast',
        input: [`${base}/flat`],
        output: [`${base}/f64`],
        attribute: [make.attribute({ name: 'to', type: A.INT, i: onnx.TensorProto.DataType.DOUBLE })],
      }),
    );
    nodes.push(
      make.node({
        name: `${base}/gram`,
        opType: 'Gemm',
        input: [`${base}/f64`, `${base}/f64`],
        output: [`${base}/gram`],
        attribute: [make.attribute({ name: 'transB', type: A.INT, i: 1 })],
      }),
    );
    nodes.push(make.node({ name: `${base}/d`, opType: 'Shape', input: [`${base}/flat`], output: [`${base}/d`] }));
    outputs.set(t, `${base}/gram`);
  });
  const outNames = tensors.flatMap((_, i) => [`replens/noise-svd/${i}/gram`, `replens/noise-svd/${i}/d`]);
  const proto = cutGraph(model, { inputs: [input], outputs: outNames, extraNodes: nodes });
  return { proto, input, outputs };
}

function stat(xs: number[]): Stat {
  const n = xs.length;
  if (!n) return { mean: NaN, std: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const v = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, std: Math.sqrt(v) };
}

/**
 * Runs the experiment on `images` (n × sampleShape, preprocessed model input) through `model`, tapping `tensors`.
 * One ORT run per (image, σ) with the group as the batch. Cells per (layer, σ, class) and for all images (−1).
 */
export async function noiseSvd(
  model: ModelProto,
  modelKey: string,
  pool: SessionPool,
  tensors: string[],
  images: Float32Array,
  sampleShape: number[],
  labels: Int32Array | null,
  opts: NoiseSvdOptions = {},
): Promise<NoiseSvdResult> {
  const sigmas = opts.sigmas ?? [0.2, 0.1, 0.01];
  const G = opts.groupSize ?? 64;
  const seed = opts.seed ?? 0;
  const comps = opts.components ?? 10;
  const pixel: PixelSpace = opts.pixel ?? { mean: [0], std: [1], layout: 'NCHW', clip: [0, 1] };
  if (!sigmas.length || sigmas.some((s) => !(s >= 0) || !Number.isFinite(s)))
    throw new ReplensError('E_ARGUMENT', `noise σ must be finite numbers ≥ 0, got ${sigmas.join(', ')}`);
  if (!Number.isInteger(G) || G < 2)
    throw new ReplensError('E_ARGUMENT', `the group size must be an integer ≥ 2, got ${G}`);
  if (!tensors.length) throw new ReplensError('E_ARGUMENT', 'noise-svd needs at least one layer tensor');
  const size = sampleShape.reduce((a, b) => a * b, 1);
  const n = size ? images.length / size : 0;
  if (!Number.isInteger(n) || n < 1)
    throw new ReplensError(
      'E_ARGUMENT',
      `noise-svd: ${images.length} values are not whole samples of shape (${sampleShape.join(', ')})`,
    );
  if (labels && labels.length !== n)
    throw new ReplensError('E_ARGUMENT', `noise-svd: ${n} images but ${labels.length} labels`);
  const plan = gramModel(model, tensors);
  const ms = await pool.get(`${modelKey}#noise-svd:${tensors.join('\u0000')}`, plan.proto, 'noise-svd');
  const progress = new ProgressTracker(opts.onProgress, 'noise-perturbation SVD', n * sigmas.length);
  // per[layer][sigma] = list of (label, spectrum)
  const per = tensors.map(() => sigmas.map(() => [] as { label: number; sp: GroupSpectrum }[]));
  const features = new Array<number>(tensors.length).fill(0);
  for (let i = 0; i < n; i++) {
    const x = images.subarray(i * size, (i + 1) * size);
    const eps = noiseFor(seed, i, G, size);
    for (let si = 0; si < sigmas.length; si++) {
      if (opts.signal?.aborted) throw new ReplensError('E_CANCELLED', 'noise-svd cancelled');
      const group = noisyGroup(x, sampleShape, eps, sigmas[si], pixel);
      let out;
      try {
        out = await runSession(
          ms,
          { [plan.input]: { data: group, dims: [G, ...sampleShape], type: 'float32' } },
          'noise-svd',
        );
      } catch (e) {
        throw e instanceof ReplensError ? e : new ReplensError('E_RUNTIME', `noise-svd: ${errorMessage(e)}`);
      }
      tensors.forEach((t, l) => {
        const gram = out[plan.outputs.get(t)!].data as Float64Array;
        features[l] = Number((out[`replens/noise-svd/${l}/d`].data as BigInt64Array)[1]);
        per[l][si].push({
          label: labels ? labels[i] : -1,
          sp: spectrumFromGram(gram, G, { centre: opts.centre, what: `layer '${t}', image ${i}, σ = ${sigmas[si]}` }),
        });
      });
      progress.update(i * sigmas.length + si + 1);
    }
  }
  const classes = labels ? [...new Set(labels)].sort((a, b) => a - b) : [];
  const layers: NoiseSvdLayer[] = tensors.map((tensor, l) => {
    const cells: NoiseSvdCell[] = [];
    sigmas.forEach((sigma, si) => {
      for (const label of [-1, ...classes]) {
        const rows = per[l][si].filter((r) => label === -1 || r.label === label).map((r) => r.sp);
        const ev = (j: number) => rows.map((r) => r.explainedVariance[j] ?? 0);
        const m = Math.min(comps, G);
        cells.push({
          sigma,
          label,
          images: rows.length,
          ev1: stat(ev(0)),
          ev2: stat(ev(1)),
          rest: stat(rows.map((r) => r.explainedVariance.slice(2).reduce((a, b) => a + b, 0))),
          s1: stat(rows.map((r) => r.singularValues[0])),
          spectrum: Array.from({ length: m }, (_, j) => stat(ev(j)).mean),
        });
      }
    });
    return { tensor, features: features[l], cells };
  });
  return { settings: { sigmas, groupSize: G, seed, centre: !!opts.centre, clip: pixel.clip, images: n }, layers };
}
