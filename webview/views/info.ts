// What each number means (issue 15, "each number explains itself"): one entry per layer-table column (by column
// key) and per chart (by chart id), with the definition from the source papers, the range and which way is better,
// the settings the given result used, and the README section that explains it. The panel and the report show it
// behind an ⓘ (webview/analysis/info.ts draws it). Pure: no DOM.
import { comparedResult, type AnalysisResult } from '../../src/shared/result';
import { formatCount } from '../format';
import { poolingName } from '../charts/analysis';

export interface InfoEntry {
  /** The popover's heading. */
  title: string;
  /** One or two sentences, after the source paper. */
  definition: string;
  /** The range and which way is better, e.g. "0–1, higher = …". */
  range: string;
  /** The README section (an `<a id>` in README.md). */
  anchor: string;
  /** The settings this result used for the number ("k = 10", "1,000 samples"); empty: none to show. */
  settings(r: AnalysisResult): string[];
}

/** What an ⓘ shows for one column or chart of one result. */
export interface InfoText {
  title: string;
  definition: string;
  range: string;
  /** "k = 10 · 1,000 samples" ('' when nothing applies). */
  settings: string;
  href: string;
}

/** The README the links point to: the repository's (package.json's `repository`, read in test/info.test.ts). */
export const README_URL = 'https://example.invalid/replens/blob/main/README.md';

// ---- settings read from the result -------------------------------------------------------------------------------

const samples = (n: number | undefined) => (n === undefined ? [] : [`${formatCount(n)} samples`]);
const classes = (r: AnalysisResult) =>
  r.dataset.classNames
    ? [`${r.dataset.classNames.length} classes`]
    : r.dataset.hasLabels
      ? []
      : ['no labels: NNCS and selectivity need a labelled dataset (or --labels)'];
const rraSamples = (r: AnalysisResult) => samples(r.analyses.rra?.samples ?? r.settings.samples);
const kSetting = (r: AnalysisResult) => {
  const rra = r.analyses.rra;
  return rra ? [`k = ${rra.k}`] : r.settings.k !== undefined ? [`k = ${r.settings.k}`] : [];
};
const runSamples = (r: AnalysisResult) => samples(r.settings.samples);
const ckaSettings = (r: AnalysisResult) => {
  const m = r.analyses.similarity?.ckaMethod;
  return [...(m ? [`CKA computed in ${m} form`] : []), ...runSamples(r)];
};
const ccaSettings = (r: AnalysisResult) => {
  const g = r.analyses.similarity?.cca;
  if (!g) return [...runSamples(r), 'units: conv channels by spatial mean'];
  return [
    ...(g.maxDims === null
      ? ['no cap on kept directions', ...samples(g.samples)]
      : [`at most ${g.maxDims} directions per layer (⌊n/10⌋ of ${formatCount(g.samples)} samples)`]),
    'units: conv channels by spatial mean',
  ];
};
const poolings = (r: AnalysisResult) => {
  const ps = r.analyses.rra?.poolings ?? [];
  return ps.length ? [`poolings: ${ps.map(poolingName).join(', ')}`] : [];
};
const noiseSvd = (r: AnalysisResult) => {
  const ns = r.analyses['noise-svd'];
  if (!ns) return [];
  const s = ns.settings;
  const checkpoints = new Set(ns.series.map((x) => x.checkpoint)).size;
  return [
    `σ = ${s.sigmas.join(', ')} (pixel units)`,
    `${s.groupSize} noisy copies per image`,
    `${formatCount(s.images)} images`,
    s.centre ? 'centred (PCA of the noise cloud)' : 'uncentred',
    ...(s.clip ? [`clipped to [${s.clip.join(', ')}]`] : []),
    ...(checkpoints > 1 ? [`${checkpoints} checkpoints`] : []),
    `seed ${s.seed}`,
  ];
};
const compared = (r: AnalysisResult) => (r.compare ? [`columns: ${r.compare.name}`] : []);

// ---- definitions -------------------------------------------------------------------------------------------------

const ID: Omit<InfoEntry, 'title'> = {
  definition:
    'TwoNN intrinsic dimension (Facco et al. 2017; thesis §3.2.2): from the ratio μ = r₂/r₁ of each sample’s two ' +
    'nearest-neighbour distances, the dimension d for which μ follows the Pareto law F(μ) = 1 − μ^−d ' +
    '(least-squares fit through the origin; ML: n / Σ log μ).',
  range:
    '≥ 1, at most the layer’s feature count; lower = the activations lie on a lower-dimensional manifold ' +
    '(not better or worse in itself).',
  anchor: 'info-id',
  settings: rraSamples,
};
const NNCS: Omit<InfoEntry, 'title'> = {
  definition:
    'Nearest-neighbour class separation (thesis eq. 3.4): the share of each sample’s k nearest neighbours ' +
    '(Euclidean, in this layer’s activations) that have its class, averaged over the samples.',
  range: '0–1, higher = classes better separated among the k nearest neighbours (chance ≈ 1 / classes).',
  anchor: 'info-nncs',
  settings: (r) => [...kSetting(r), ...rraSamples(r), ...classes(r)],
};
const NNLS: Omit<InfoEntry, 'title'> = {
  definition:
    'Nearest-neighbour layer similarity (thesis eqs. 3.2–3.3): for two layers, the Jaccard overlap of each ' +
    'sample’s k-nearest-neighbour sets, averaged over the samples.',
  range: '0–1, higher = the two layers put the same samples next to each other.',
  anchor: 'info-nnls',
  settings: (r) => [...kSetting(r), ...rraSamples(r)],
};
const CKA: Omit<InfoEntry, 'title'> = {
  definition:
    'Linear centred kernel alignment (Kornblith et al. 2019): ⟨HKH, HLH⟩ / (‖HKH‖ ‖HLH‖) for the two layers’ ' +
    'Gram matrices K = XXᵀ, L = YYᵀ — how alike the two representations’ geometries are, invariant to ' +
    'rotations and isotropic scaling.',
  range: '0–1, higher = more similar representations (1 on the diagonal).',
  anchor: 'info-cka',
  settings: ckaSettings,
};
const CKA_DEBIASED: Omit<InfoEntry, 'title'> = {
  definition:
    'CKA with U-centred Gram matrices (the unbiased HSIC estimator, Székely–Rizzo): removes the upward bias of ' +
    'CKA when the samples are few compared with the features.',
  range: 'about 0–1 (can dip slightly below 0), higher = more similar.',
  anchor: 'info-cka',
  settings: runSamples,
};
const SVCCA: Omit<InfoEntry, 'title'> = {
  definition:
    'SVCCA (Raghu et al. 2017): each layer’s units are reduced by SVD to the directions that keep 99 % of the ' +
    'variance, then the mean canonical correlation between the two reduced representations.',
  range: '0–1, higher = the layers span more similar subspaces; with too many kept directions it nears 1 by chance.',
  anchor: 'info-svcca',
  settings: ccaSettings,
};
const PWCCA: Omit<InfoEntry, 'title'> = {
  definition:
    'Projection-weighted CCA (Morcos et al. 2018): the canonical correlations weighted by how much of the ' +
    'layer’s units each canonical direction accounts for, so directions the layer uses count more.',
  range: '0–1, higher = more similar; with too many kept directions it nears 1 by chance.',
  anchor: 'info-pwcca',
  settings: ccaSettings,
};
const between = (e: Omit<InfoEntry, 'title'>): Omit<InfoEntry, 'title'> => ({
  ...e,
  definition: `${e.definition} Here rows are this model’s layers, columns the compared model’s, on the same samples.`,
  settings: (r) => [...e.settings(r), ...compared(r)],
});

/** The layer table's columns, by column key (OVERVIEW_COLUMNS). */
export const COLUMN_INFO: Readonly<Record<string, InfoEntry>> = {
  index: {
    title: '# (depth)',
    definition: 'The layer’s position in the graph: the ONNX nodes in topological (depth) order.',
    range: '0 … number of nodes − 1; the table’s default order.',
    anchor: 'info-layers',
    settings: (r) => [`${r.layers.length} layers analysed`],
  },
  label: {
    title: 'Layer',
    definition:
      'The PyTorch module path when the exporter recorded it (layer1.0, features.3), else the ONNX node name. By ' +
      'default the outputs of the blocks on the model’s main path are analysed.',
    range: 'a name.',
    anchor: 'info-layers',
    settings: (r) => [`${r.layers.length} layers analysed`],
  },
  op: {
    title: 'Op',
    definition: 'The ONNX operator that produces the layer’s output tensor (Relu, Conv, Add, Gemm…).',
    range: 'an ONNX op type.',
    anchor: 'info-layers',
    settings: () => [],
  },
  shape: {
    title: 'Shape',
    definition: 'The shape of one sample’s activation at this layer: channels × height × width, or features.',
    range: 'dimensions; their product is the feature count the metrics see.',
    anchor: 'info-layers',
    settings: () => [],
  },
  params: {
    title: 'Params',
    definition: 'The parameters (weights and biases) between the previous analysed layer and this one: a block’s own.',
    range: '≥ 0.',
    anchor: 'info-layers',
    settings: (r) => [`${formatCount(r.model.params)} parameters in the model`],
  },
  id: { title: 'ID — intrinsic dimension', ...ID },
  nncs: { title: 'NNCS — nearest-neighbour class separation', ...NNCS },
  selectivity: {
    title: 'Selectivity — mean class selectivity',
    definition:
      'Class selectivity index (Morcos et al. 2018) per unit, (μmax − μ−max) / (μmax + μ−max): μmax the highest ' +
      'class-conditional mean activation, μ−max the mean over the other classes (conv channels by spatial mean). ' +
      'The column is the layer’s mean over its units.',
    range: '0–1, higher = units respond to one class more than to the rest; 0 = equally to every class.',
    anchor: 'info-selectivity',
    settings: (r) => [...runSamples(r), ...classes(r), 'ReLU-like layers only'],
  },
  sparsity: {
    title: 'Sparsity',
    definition:
      'The share of the layer’s activation values (all samples and positions) that are ≤ 0. Not applicable on ' +
      'signed layers (logits, pre-activations), where ≤ 0 is half of a distribution, not inactivity.',
    range: '0–100 %, higher = more units inactive on this data.',
    anchor: 'info-sparsity',
    settings: runSamples,
  },
  dead: {
    title: 'Dead channels',
    definition:
      'Channels (units) that are ≤ 0 for every sample and position: never active on this data, so they carry no ' +
      'information downstream.',
    range: '0 … channels, lower = more of the layer in use.',
    anchor: 'info-sparsity',
    settings: runSamples,
  },
};

/** The charts, by chart id (the views' charts: panel tabs and report sections). */
export const CHART_INFO: Readonly<Record<string, InfoEntry>> = {
  depth: {
    title: 'Intrinsic dimension and NNCS over depth',
    definition: `${ID.definition} ${NNCS.definition}`,
    range: `ID: ${ID.range} NNCS: ${NNCS.range}`,
    anchor: 'info-id',
    settings: NNCS.settings,
  },
  multiscale: {
    title: 'Multi-scale NNCS',
    definition:
      'NNCS after pooling each layer’s feature maps (thesis ch. 6, multi-scale RRA): average or max pooling over ' +
      'windows of 2, 4 or the whole map, then the same k-nearest-neighbour class separation.',
    range: '0–1, higher = classes better separated at that scale; no value on layers without spatial dimensions.',
    anchor: 'info-nncs',
    settings: (r) => [...poolings(r), ...NNCS.settings(r)],
  },
  nnls: { title: 'NNLS — nearest-neighbour layer similarity', ...NNLS },
  cka: { title: 'Linear CKA', ...CKA },
  'cka-debiased': { title: 'Debiased linear CKA', ...CKA_DEBIASED },
  svcca: { title: 'SVCCA', ...SVCCA },
  pwcca: { title: 'PWCCA', ...PWCCA },
  'compare-nnls': { title: 'NNLS between models', ...between(NNLS) },
  'compare-cka': { title: 'Linear CKA between models', ...between(CKA) },
  'compare-svcca': { title: 'SVCCA between models', ...between(SVCCA) },
  'compare-pwcca': { title: 'PWCCA between models', ...between(PWCCA) },
  selectivity: {
    title: 'Class selectivity per layer',
    definition:
      'The distribution of the per-unit class selectivity index (Morcos et al. 2018), (μmax − μ−max) / ' +
      '(μmax + μ−max), over each layer’s units (box: quartiles and median; whiskers: lowest and highest unit), ' +
      'and the layer mean.',
    range: '0–1, higher = units specialise in one class.',
    anchor: 'info-selectivity',
    settings: (r) => [...runSamples(r), ...classes(r), 'ReLU-like layers only'],
  },
  'noise-svd': {
    title: 'Noise SVD',
    definition:
      'Noise-perturbation SVD (blog 001): each image is copied with Gaussian pixel noise of level σ; the singular ' +
      'values s of the layer’s response to the copies give EVⱼ = sⱼ² / Σ s². EV₁ near 1 = the layer maps the ' +
      'noise onto one direction.',
    range: '0–1 each; EV₁ + EV₂ + rest = 1. Over training, a rising EV₁ = the layer becomes insensitive to noise.',
    anchor: 'info-noise-svd',
    settings: noiseSvd,
  },
  summary: {
    title: 'Sparsity and dead channels',
    definition:
      'Per layer, the share of activation values ≤ 0 (top) and the channels that are ≤ 0 for every sample ' +
      '(bottom). Signed layers (logits) have no bar: there ≤ 0 is not inactivity.',
    range: 'sparsity 0–100 %, dead channels 0 … channels; lower dead count = more of the layer in use.',
    anchor: 'info-sparsity',
    settings: runSamples,
  },
};

function textOf(e: InfoEntry | undefined, r: AnalysisResult): InfoText | null {
  if (!e) return null;
  return {
    title: e.title,
    definition: e.definition,
    range: e.range,
    settings: e.settings(r).join(' · '),
    href: `${README_URL}#${e.anchor}`,
  };
}

/** The ⓘ text of a layer-table column for this result (null: no entry). */
export function columnInfo(key: string, r: AnalysisResult): InfoText | null {
  // A comparison's "(B)" twin (registry.ts: key `<key>-b`) explains the same number, with the compared model's run.
  if (!(key in COLUMN_INFO) && key.endsWith('-b'))
    return ofCompared(textOf(COLUMN_INFO[key.slice(0, -2)], asCompared(r)));
  return textOf(COLUMN_INFO[key], r);
}
const asCompared = (r: AnalysisResult) => comparedResult(r) ?? r;
const ofCompared = (t: InfoText | null) => (t ? { ...t, title: `${t.title} — compared model (B)` } : null);
/** The ⓘ text of a chart for this result (null: no entry). */
export const chartInfo = (id: string, r: AnalysisResult): InfoText | null => textOf(CHART_INFO[id], r);
/** The panel table's sparkline columns, by their label (SPARKLINES): the distribution a chart also draws. */
export const SPARKLINE_INFO: Readonly<Record<string, InfoEntry>> = {
  'Selectivity dist.': { ...CHART_INFO.selectivity, title: 'Selectivity distribution (per-unit histogram)' },
};
/** The ⓘ text of a sparkline column for this result (null: no entry). */
export function sparklineInfo(label: string, r: AnalysisResult): InfoText | null {
  if (!(label in SPARKLINE_INFO) && label.endsWith(' (B)'))
    return ofCompared(textOf(SPARKLINE_INFO[label.slice(0, -4)], asCompared(r)));
  return textOf(SPARKLINE_INFO[label], r);
}
/** Every README anchor the entries link to (the README must have each). */
export const INFO_ANCHORS: readonly string[] = [
  ...new Set([...Object.values(COLUMN_INFO), ...Object.values(CHART_INFO)].map((e) => e.anchor)),
];

// ---- empty states ------------------------------------------------------------------------------------------------

/** What a tab needs, by tab id, for the empty state's "what to do". */
const TAB_NEEDS: Readonly<Record<string, string>> = {
  rra: 'RRA needs at least a few samples per layer; NNCS also needs class labels (a labelled dataset or --labels).',
  similarity: 'Similarity needs at least 2 analysed layers with finite, non-constant activations.',
  selectivity:
    'Selectivity needs class labels with at least 2 classes and ReLU-like layers (non-negative activations): ' +
    'pick a labelled dataset, or analyse the activation layers (--layers activations).',
  'noise-svd': 'Noise SVD needs labelled images (it takes --noise-images per class) and at least one σ.',
  compare: 'Compare needs a second model: run RepLens: Compare With… on a model.',
};

/**
 * The text of a tab with nothing to draw: why (the result's notes about it) and what to do, or that it is still
 * computing.
 */
export function emptyTabText(tab: string, r: AnalysisResult, running: boolean): string {
  if (running) return 'Computing… the charts appear as the analysis streams in.';
  const words: Record<string, RegExp> = {
    rra: /\b(rra|nncs|nnls|twonn|intrinsic)\b/i,
    similarity: /\b(similarity|cka|svcca|pwcca)\b/i,
    selectivity: /\bselectivity\b/i,
    'noise-svd': /\bnoise[- ]svd\b/i,
    compare: /\bcompar/i,
  };
  const why = r.notes.filter((n) => words[tab]?.test(n));
  return [
    'Nothing to draw for this analysis in this result.',
    ...(why.length ? [`Why: ${why.join('; ')}.`] : []),
    TAB_NEEDS[tab] ?? '',
  ]
    .filter(Boolean)
    .join(' ');
}
