// Charts of an analysis result (`replens.result/1`): pure functions from the result document and a theme to plotly
// figure specs ({data, layout}), shared by the standalone HTML report and the editor panel. No DOM.
//
// Every builder returns null when its analysis is missing (or has nothing to draw). Undefined values stay null in
// the spec (plotly draws gaps), never NaN and never 0. Labels come from the result's LayerRefs (the PyTorch module
// path when known); long labels are cut in the middle on the axes and shown in full in the hover. Every name, title
// and label reaches plotly through plotlyText (./text): plotly reads markup, entities, TeX and templates in text.
import {
  ccaCellFlag,
  type AnalysisResult,
  type CcaLayerDims,
  type LayerMatrix,
  type LayerRef,
  type NoiseSvdCellJson,
  type AnalysisValues,
} from '../../src/shared/result';
import {
  RELATIVE_DEPTH_TITLE,
  depthMode,
  inDepthOrder,
  modelSeries,
  pairedTensors,
  seriesTitle,
  type DepthMode,
  type ModelSeries,
} from './models';
import { hoverLabel, type ChartTheme } from './theme';
import { SIG3_FORMAT, drawnLength, hoverLines, plotlyText, sig3 } from './text';
import { formatCount, middleEllipsis } from '../format';

export type Trace = Record<string, unknown> & { type: string; name?: string };

export interface PlotFigure {
  data: Trace[];
  layout: Record<string, unknown>;
}

/** Longest axis label (characters) before it is cut in the middle. */
export const AXIS_LABEL_MAX = 24;
/** Heatmaps up to this many rows and columns print each cell's value (2 decimals) in the cell. */
export const HEATMAP_VALUES_MAX = 16;
/** Above this many layers a heatmap's tick labels get a smaller font and a shorter cut. */
export const HEATMAP_MANY = 24;
/** The heatmaps' fixed colour range. */
export const HEATMAP_RANGE: [number, number] = [0, 1];

// ---- values and labels -------------------------------------------------------------------------------------------

/** A finite number, else null (JSON has no NaN; plotly draws null as a gap). */
export function finite(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Axis labels for a list of full labels: cut in the middle to `max`, made unique (plotly merges equal categories)
 * by appending " #i" (the position) to repeats, then escaped (plotly reads markup in tick labels too).
 */
export function uniqueLabels(full: readonly string[], max = AXIS_LABEL_MAX): string[] {
  const base = full.map((s) => middleEllipsis(s, max));
  const seen = new Map<string, number>();
  for (const b of base) seen.set(b, (seen.get(b) ?? 0) + 1);
  return base.map((b, i) => plotlyText(seen.get(b)! > 1 ? `${b} #${i}` : b));
}

interface Layer {
  tensor: string;
  label: string;
  ref: LayerRef | null;
}

/**
 * The given tensors as layers in depth order: known tensors by their LayerRef index, unknown ones (not in `refs`)
 * after them, in the given order, labelled with the tensor name.
 */
export function depthOrder(tensors: readonly string[], refs: readonly LayerRef[]): Layer[] {
  const byTensor = new Map(refs.map((r) => [r.tensor, r]));
  const ls = tensors.map((t, pos) => ({ tensor: t, ref: byTensor.get(t) ?? null, pos }));
  ls.sort((a, b) => (a.ref ? a.ref.index : Infinity) - (b.ref ? b.ref.index : Infinity) || a.pos - b.pos);
  return ls.map(({ tensor, ref }) => ({ tensor, ref, label: ref?.label || tensor }));
}

function labelOf(tensor: string, refs: readonly LayerRef[]): string {
  return refs.find((r) => r.tensor === tensor)?.label || tensor;
}

// ---- colours -----------------------------------------------------------------------------------------------------

function luminance(colour: string): number | null {
  let r: number, g: number, b: number;
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(colour.trim());
  const rgb = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(colour.trim());
  if (hex) {
    const h =
      hex[1].length === 3
        ? hex[1]
            .split('')
            .map((c) => c + c)
            .join('')
        : hex[1];
    [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  } else if (rgb) {
    [r, g, b] = [rgb[1], rgb[2], rgb[3]].map(Number);
  } else return null;
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

/** Whether the theme draws on a dark background. */
export function isDark(theme: ChartTheme): boolean {
  return (luminance(theme.background) ?? 1) < 0.5;
}

const PALETTE_LIGHT = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];
const PALETTE_DARK = [
  '#4ea8ff',
  '#ff6b6b',
  '#5fd068',
  '#ffa94d',
  '#b197fc',
  '#d8a47f',
  '#f783ac',
  '#3bc9db',
  '#adb5bd',
  '#e0e05a',
];

/** A categorical palette that reads on the theme's background. */
export function palette(theme: ChartTheme): string[] {
  return isDark(theme) ? PALETTE_DARK : PALETTE_LIGHT;
}

/** Viridis: perceptually uniform, no grey (so a grey null cell stands out), readable on light and dark pages. */
export const HEATMAP_COLORSCALE: [number, string][] = [
  [0, '#440154'],
  [0.111, '#482878'],
  [0.222, '#3e4989'],
  [0.333, '#31688e'],
  [0.444, '#26828e'],
  [0.556, '#1f9e89'],
  [0.667, '#35b779'],
  [0.778, '#6ece58'],
  [0.889, '#b5de2b'],
  [1, '#fde725'],
];
/** The colour of a null cell (the plot background behind the heatmap). */
export function gapColour(theme: ChartTheme): string {
  return isDark(theme) ? '#6b6b6b' : '#c8c8c8';
}

// ---- layout pieces -----------------------------------------------------------------------------------------------

function tickFont(theme: ChartTheme) {
  return { family: theme.fontFamily, size: Math.max(10, theme.fontSize - 2), color: theme.foreground };
}

function axis(theme: ChartTheme, title?: string): Record<string, unknown> {
  return {
    gridcolor: theme.grid,
    linecolor: theme.grid,
    zerolinecolor: theme.grid,
    tickfont: tickFont(theme),
    automargin: true,
    ...(title
      ? {
          title: {
            text: plotlyText(title),
            font: { family: theme.fontFamily, size: theme.fontSize - 1, color: theme.mutedForeground },
            standoff: 6,
          },
        }
      : {}),
  };
}

/** Tick label angle over n layer labels: flat for a few, 45° for more, vertical when 45° would crowd. */
function layerTickAngle(n: number): number {
  return n > 30 ? -90 : n > 8 ? -45 : 0;
}

/** Figure height for a plot area of `plotPx` over a layer axis: room for the (turned) tick labels and the title. */
function heightWithLabels(plotPx: number, labels: string[], theme: ChartTheme): number {
  const angle = layerTickAngle(labels.length);
  const longest = Math.max(1, ...labels.map(drawnLength)) * Math.max(10, theme.fontSize - 2) * 0.6;
  const ticks = angle === 0 ? theme.fontSize + 6 : longest * (angle === -90 ? 1 : 0.72) + 10;
  return Math.round(plotPx + ticks + 2 * theme.fontSize + 40);
}

/** A category axis over layer labels in depth order; tick labels turn when there are many. */
function layerAxis(theme: ChartTheme, labels: string[], title = 'layer (depth order)'): Record<string, unknown> {
  return {
    ...axis(theme, title),
    type: 'category',
    categoryorder: 'array',
    categoryarray: labels,
    tickangle: layerTickAngle(labels.length),
    showgrid: false,
    ticks: 'outside',
    ticklen: 3,
  };
}

function baseLayout(theme: ChartTheme, height: number): Record<string, unknown> {
  return {
    height,
    autosize: true,
    margin: { l: 8, r: 8, t: 8, b: 8, pad: 2 },
    paper_bgcolor: theme.background,
    plot_bgcolor: theme.background,
    font: { family: theme.fontFamily, size: theme.fontSize, color: theme.foreground },
    hovermode: 'closest',
    hoverlabel: hoverLabel(theme),
    legend: {
      orientation: 'h',
      x: 0,
      xanchor: 'left',
      y: 1.02,
      yanchor: 'bottom',
      font: tickFont(theme),
      bgcolor: 'rgba(0,0,0,0)',
    },
    showlegend: true,
  };
}

/** A line trace; `name` is text (escaped here), `hover` is built with hoverLines. */
function line(
  name: string,
  x: readonly (string | number)[],
  y: (number | null)[],
  hover: string[],
  colour: string,
  extra: Record<string, unknown> = {},
): Trace {
  return {
    type: 'scatter',
    mode: x.length > 40 ? 'lines' : 'lines+markers',
    name: plotlyText(name),
    x,
    y,
    connectgaps: false,
    hovertext: hover,
    hovertemplate: '%{hovertext}<extra></extra>',
    line: { color: colour, width: 2 },
    marker: { color: colour, size: 6 },
    ...extra,
  };
}

// ---- per-layer charts of one model or two ----------------------------------------------------------------------

/** One model's rows of a per-layer chart at its x positions (null: no value there, drawn as a gap). */
interface SeriesRows<T> {
  s: ModelSeries;
  /** Full layer labels, for the hover. */
  labels: string[];
  /** The layer axis's categories, or relative depth. */
  x: (string | number)[];
  rows: (T | null)[];
  /** 'layer 3 of 7' on relative depth (hover), else null. */
  where: (string | null)[];
}

interface DepthLayout<T> {
  mode: DepthMode;
  /** Traces carry their model (legend group, model B's style, the model in the hover): a comparison is drawn. */
  tagged: boolean;
  /** The layer axis's categories (not on relative depth). */
  categories: string[];
  series: SeriesRows<T>[];
}

/**
 * Where each model's rows of a per-layer chart go: one model on its layer axis as always; two with the same layers
 * on the first model's layer axis (the compared model's rows paired by depth position); two with different layers on
 * relative depth, each layer at its position ÷ the last position among its model's layers. Null when no model has
 * rows.
 */
function depthLayout<T extends { tensor: string }>(
  result: AnalysisResult,
  rowsOf: (a: Partial<AnalysisValues>) => readonly T[] | undefined,
): DepthLayout<T> | null {
  const all = modelSeries(result)
    .map((s) => ({ s, given: rowsOf(s.analyses) ?? [] }))
    .filter((q) => q.given.length > 0);
  if (all.length === 0) return null;
  const tagged = all.length > 1 || all[0].s.key === 'compare';
  const mode: DepthMode = all.length > 1 ? depthMode(result) : 'single';
  if (mode === 'relative') {
    const series = all.map(({ s, given }) => {
      const byTensor = new Map(given.map((g) => [g.tensor, g]));
      const tensors = [...new Set([...inDepthOrder(s.refs).map((l) => l.tensor), ...given.map((g) => g.tensor)])];
      const every = depthOrder(tensors, s.refs);
      const pos = new Map(every.map((l, i) => [l.tensor, i]));
      const last = Math.max(1, every.length - 1);
      const layers = depthOrder(
        given.map((g) => g.tensor),
        s.refs,
      );
      return {
        s,
        labels: layers.map((l) => l.label),
        x: layers.map((l) => pos.get(l.tensor)! / last),
        rows: layers.map((l) => byTensor.get(l.tensor) ?? null),
        where: layers.map((l) => `layer ${pos.get(l.tensor)! + 1} of ${every.length}`),
      };
    });
    return { mode, tagged, categories: [], series };
  }
  // one layer axis, the first drawn model's; the compared model's rows keyed by the model's tensor at their position
  const back = new Map([...pairedTensors(result)].map(([a, b]) => [b, a]));
  const keyed = all.map(
    ({ s, given }) =>
      new Map(
        given.map((g) => [s.key === 'compare' && mode === 'shared' ? (back.get(g.tensor) ?? g.tensor) : g.tensor, g]),
      ),
  );
  const layers = depthOrder([...new Set(keyed.flatMap((m) => [...m.keys()]))], all[0].s.refs);
  const labels = layers.map((l) => l.label);
  const x = uniqueLabels(labels);
  const series = all.map(({ s }, i) => ({
    s,
    labels,
    x,
    rows: layers.map((l) => keyed[i].get(l.tensor) ?? null),
    where: layers.map(() => null),
  }));
  return { mode, tagged, categories: x, series };
}

/** The hover lines naming the model (and, on relative depth, the layer's position) in a comparison. */
function modelLines(lay: DepthLayout<unknown>, q: SeriesRows<unknown>, i: number): string[] {
  if (!lay.tagged) return [];
  const w = q.where[i];
  return [seriesTitle(q.s), ...(w ? [w] : [])];
}

/** Model B's lines: dashed where model A's are solid, dash-dotted where dotted, long-dash-dotted where dashed. */
const B_DASH: Record<string, string> = { solid: 'dash', dot: 'dashdot', dash: 'longdashdot' };

/**
 * A trace of a comparison: in its model's legend group (titled 'A: name'); model B's drawn with open markers and
 * another dash than model A's, so the models differ without colour (print, colour vision) and the colour keeps
 * meaning the metric. Unchanged for one model.
 */
function asModel(t: Trace, s: ModelSeries, lay: DepthLayout<unknown>, theme: ChartTheme): Trace {
  if (!lay.tagged) return t;
  const out: Trace = {
    ...t,
    legendgroup: s.key,
    legendgrouptitle: { text: plotlyText(seriesTitle(s)), font: { ...tickFont(theme), color: theme.foreground } },
  };
  if (s.key !== 'compare') return out;
  const ln = t.line as Record<string, unknown> | undefined,
    mk = t.marker as Record<string, unknown> | undefined;
  if (ln && t.type === 'scatter')
    out.line = { ...ln, dash: B_DASH[typeof ln.dash === 'string' ? ln.dash : 'solid'] ?? 'dash' };
  if (mk && t.type === 'scatter')
    out.marker = { ...mk, symbol: `${typeof mk.symbol === 'string' ? mk.symbol : 'circle'}-open` };
  return out;
}

/** The x axis of a per-layer chart: the layer axis, or relative depth in [0, 1] (a comparison of two architectures). */
function depthAxis(theme: ChartTheme, lay: DepthLayout<unknown>): Record<string, unknown> {
  if (lay.mode !== 'relative') return layerAxis(theme, lay.categories);
  return {
    ...axis(theme, RELATIVE_DEPTH_TITLE),
    type: 'linear',
    range: [-0.03, 1.03],
    tickmode: 'linear',
    tick0: 0,
    dtick: 0.1,
    tickformat: '.1f',
    zeroline: false,
    showgrid: true,
  };
}

/**
 * The figure height for a per-layer chart: its plot area, the (turned) layer labels or flat depth ticks, and in a
 * comparison the legend's groups (plotly stacks a group's entries under its title, above the plot, where one model's
 * legend is one row): `entries` per model.
 */
function depthHeight(plotPx: number, lay: DepthLayout<unknown>, theme: ChartTheme, entries: number): number {
  const legend = lay.tagged ? entries * (Math.max(10, theme.fontSize - 2) + 8) : 0;
  return heightWithLabels(plotPx, lay.mode === 'relative' ? ['0.0'] : lay.categories, theme) + legend;
}

// ---- depth curves: intrinsic dimension and NNCS -----------------------------------------------------------------

/**
 * TwoNN intrinsic dimension (least squares and ML) on the left axis, NNCS on the right, over layer depth; with the
 * compared model's per-model analyses, its curves too (asModel).
 */
export function depthCurves(result: AnalysisResult, theme: ChartTheme): PlotFigure | null {
  const lay = depthLayout(result, (a) => a.rra?.perLayer);
  if (!lay) return null;
  const c = palette(theme);
  const data: Trace[] = [];
  let hasNncs = false;
  for (const q of lay.series) {
    const k = q.s.analyses.rra!.k;
    const rows = q.rows;
    const twonn = rows.map((r) => finite(r?.id?.twonn));
    const ml = rows.map((r) => finite(r?.id?.ml));
    const nncs = rows.map((r) => finite(r?.nncs));
    const hover = (what: string, ys: (number | null)[], more?: (i: number) => string[]) =>
      q.labels.map((label, i) =>
        hoverLines(label, [...modelLines(lay, q, i), `${what}: ${sig3(ys[i])}`, ...(more ? more(i) : [])]),
      );
    const dropped = (i: number) => {
      const id = rows[i]?.id;
      return id && id.dropped > 0 ? [`points dropped: ${formatCount(id.dropped)}`] : [];
    };
    const own: Trace[] = [
      line('ID (TwoNN)', q.x, twonn, hover('ID (TwoNN)', twonn, dropped), c[0]),
      line('ID (ML)', q.x, ml, hover('ID (ML)', ml, dropped), c[0], {
        line: { color: c[0], width: 2, dash: 'dot' },
        marker: { color: c[0], size: 6, symbol: 'square' },
      }),
    ];
    if (nncs.some((v) => v !== null)) {
      hasNncs = true;
      own.push(line(`NNCS (k=${k})`, q.x, nncs, hover(`NNCS (k=${k})`, nncs), c[1], { yaxis: 'y2' }));
    }
    data.push(...own.map((t) => asModel(t, q.s, lay, theme)));
  }
  const layout = baseLayout(theme, depthHeight(250, lay, theme, hasNncs ? 3 : 2));
  layout.xaxis = depthAxis(theme, lay);
  layout.yaxis = {
    ...axis(theme, 'intrinsic dimension'),
    rangemode: 'tozero',
    title: {
      ...(axis(theme, 'intrinsic dimension').title as object),
      font: { family: theme.fontFamily, size: theme.fontSize - 1, color: c[0] },
    },
  };
  if (hasNncs) {
    layout.yaxis2 = {
      ...axis(theme, 'NNCS'),
      overlaying: 'y',
      side: 'right',
      range: [0, 1.02],
      tickmode: 'linear',
      tick0: 0,
      dtick: 0.2,
      showgrid: false,
      title: { text: 'NNCS', font: { family: theme.fontFamily, size: theme.fontSize - 1, color: c[1] }, standoff: 6 },
    };
  }
  return { data, layout };
}

// ---- multi-scale NNCS --------------------------------------------------------------------------------------------

/** 'avg2' → 'avg 2', 'maxglobal' → 'max global'; anything else as is. */
export function poolingName(p: string): string {
  const m = /^(avg|max)\s*(.+)$/.exec(p);
  return m ? `${m[1]} ${m[2]}` : p;
}

/** NNCS per pooling over depth (one line per pooling; the unpooled NNCS dashed for reference), per model. */
export function multiScaleChart(result: AnalysisResult, theme: ChartTheme): PlotFigure | null {
  const lay = depthLayout(result, (a) => {
    const rra = a.rra;
    if (!rra || rra.poolings.length === 0) return undefined;
    return rra.perLayer.some((l) => l.multiScale && Object.keys(l.multiScale).length > 0) ? rra.perLayer : undefined;
  });
  if (!lay) return null;
  const c = palette(theme);
  // colour by window size (the same for both models), dash by kind: avg solid, max dotted
  const windowOf = (p: string) => /^(?:avg|max)\s*(.+)$/.exec(p)?.[1] ?? p;
  const sizes = [...new Set(lay.series.flatMap((q) => q.s.analyses.rra!.poolings.map(windowOf)))];
  const data: Trace[] = [];
  for (const q of lay.series) {
    const rra = q.s.analyses.rra!;
    const hover = (name: string, ys: (number | null)[]) =>
      q.labels.map((label, i) => hoverLines(label, [...modelLines(lay, q, i), `${name}: ${sig3(ys[i])}`]));
    const own: Trace[] = [];
    const unpooled = q.rows.map((r) => finite(r?.nncs));
    if (unpooled.some((v) => v !== null)) {
      own.push(
        line('unpooled', q.x, unpooled, hover('unpooled', unpooled), theme.mutedForeground, {
          line: { color: theme.mutedForeground, width: 2, dash: 'dash' },
        }),
      );
    }
    rra.poolings.forEach((p) => {
      const y = q.rows.map((r) => finite(r?.multiScale?.[p]));
      const kind = /^(avg|max)/.exec(p)?.[1];
      const colour = c[(1 + sizes.indexOf(windowOf(p))) % c.length];
      own.push(
        line(poolingName(p), q.x, y, hover(poolingName(p), y), colour, {
          line: { color: colour, width: 2, dash: kind === 'max' ? 'dot' : 'solid' },
          marker: { color: colour, size: 6, symbol: kind === 'max' ? 'diamond' : 'circle' },
        }),
      );
    });
    data.push(...own.map((t) => asModel(t, q.s, lay, theme)));
  }
  const ks = [...new Set(lay.series.map((q) => q.s.analyses.rra!.k))];
  const perModel = Math.max(...lay.series.map((q) => data.filter((t) => t.legendgroup === q.s.key).length));
  const layout = baseLayout(theme, depthHeight(250, lay, theme, perModel));
  layout.xaxis = depthAxis(theme, lay);
  layout.yaxis = { ...axis(theme, `NNCS (k=${ks.join(' / ')})`), range: [0, 1.02] };
  return { data, layout };
}

// ---- layer × layer heatmaps --------------------------------------------------------------------------------------

export interface HeatmapOptions {
  /** Colour bar title, e.g. "CKA". */
  metric: string;
  /** Labels for the column tensors (the compared model's layers); default: the result's layers. */
  colRefs?: readonly LayerRef[];
  rowTitle?: string;
  colTitle?: string;
  /** An extra hover line per cell (e.g. the SVCCA/PWCCA trivial-regime warning), null for none. */
  cellNote?: (row: string, col: string) => string | null;
}

/** Room right of a heatmap's plot for its colour bar (bar, tick labels, title). */
const HEATMAP_COLORBAR_PX = 84;

export interface HeatmapGeometry {
  /** Cell side (px): square cells. */
  cell: number;
  plotW: number;
  plotH: number;
  /** Tick label font size (px) and the length labels are cut to (in the middle). */
  tickPx: number;
  labelMax: number;
  /** Column label angle: flat for a few, 45° for more, vertical when they would crowd at 45°. */
  angle: number;
  /** Whether the cells print their values, and in which font size. */
  values: boolean;
  valuePx: number;
}

/**
 * The size of a rows × cols heatmap. A few layers: about 28 px cells, the plot 160–380 px. Many layers: the cells
 * never go below the tick label's line height, so every layer's label shows (the figure grows: at 54 layers about
 * 760 px), with a smaller font and a shorter cut. Up to HEATMAP_VALUES_MAX a side, cells are wide enough for "0.63".
 */
export function heatmapGeometry(rows: number, cols: number, theme: ChartTheme): HeatmapGeometry {
  const n = Math.max(rows, cols);
  const many = n > HEATMAP_MANY;
  const tickPx = many ? Math.max(9, theme.fontSize - 3) : Math.max(10, theme.fontSize - 2);
  const values = rows <= HEATMAP_VALUES_MAX && cols <= HEATMAP_VALUES_MAX;
  const valuePx = Math.max(9, theme.fontSize - 3);
  // the old sizing (a readable square for a few layers), then the floors: a label line, or a printed value
  const fit = Math.max(160 / n, Math.min(28, 380 / n));
  const floor = Math.max(Math.ceil(tickPx * 1.4), values ? Math.ceil(valuePx * 0.62 * 4 + 6) : 0);
  const cell = Math.round(Math.max(fit, floor) * 10) / 10;
  return {
    cell,
    plotW: Math.round(cols * cell),
    plotH: Math.round(rows * cell),
    tickPx,
    labelMax: many ? 20 : AXIS_LABEL_MAX,
    angle: cols > HEATMAP_MANY ? -90 : cols > 4 ? -45 : 0,
    values,
    valuePx,
  };
}

/**
 * A layer × layer matrix as a heatmap: rows top to bottom and columns left to right in the matrix's order, square
 * cells sized by heatmapGeometry (every layer labelled; values printed in small matrices), colour range fixed to
 * [0, 1], null cells grey (the plot background), hover "row ↔ col: value" with 3 significant digits and full labels.
 */
export function layerHeatmap(
  m: LayerMatrix | undefined | null,
  result: AnalysisResult,
  theme: ChartTheme,
  o: HeatmapOptions,
): PlotFigure | null {
  if (!m || m.rows.length === 0 || m.cols.length === 0) return null;
  const rowFull = m.rows.map((t) => labelOf(t, result.layers));
  const colFull = m.cols.map((t) => labelOf(t, o.colRefs ?? result.layers));
  const g = heatmapGeometry(m.rows.length, m.cols.length, theme);
  const y = uniqueLabels(rowFull, g.labelMax);
  const x = uniqueLabels(colFull, g.labelMax);
  const z = m.rows.map((_, i) => m.cols.map((_, j) => finite(m.values[i]?.[j])));
  const text = z.map((row, i) =>
    row.map((v, j) => {
      const note = v === null ? null : (o.cellNote?.(m.rows[i], m.cols[j]) ?? null);
      return plotlyText(`${rowFull[i]} ↔ ${colFull[j]}: ${sig3(v)}${note ? ` — ${note}` : ''}`);
    }),
  );
  // Explicit margins from the (shortened) label lengths, and the plot's size from the cell size, so the square
  // cells fill the figure instead of floating in slack, and every tick label has a cell of its own (automargin
  // still grows the margins when the estimate is short). A wide figure scrolls in its box.
  const charW = g.tickPx * 0.6;
  const longest = (xs: string[]) => Math.max(1, ...xs.map(drawnLength));
  const marginL = Math.ceil(longest(y) * charW + 12 + (o.rowTitle ? 22 : 0));
  const marginB = Math.ceil(
    (g.angle ? longest(x) * charW * (g.angle === -90 ? 1 : 0.72) + 14 : g.tickPx + 10) + (o.colTitle ? 22 : 0),
  );
  const font = { family: theme.fontFamily, size: g.tickPx, color: theme.foreground };
  const trace: Trace = {
    type: 'heatmap',
    name: plotlyText(o.metric),
    x,
    y,
    z,
    zmin: HEATMAP_RANGE[0],
    zmax: HEATMAP_RANGE[1],
    zauto: false,
    colorscale: HEATMAP_COLORSCALE,
    hoverongaps: true,
    text,
    hovertemplate: '%{text}<extra></extra>',
    // a small matrix prints its values (plotly picks a light or dark ink per cell; a null cell prints nothing)
    ...(g.values ? { texttemplate: '%{z:.2f}', textfont: { family: theme.fontFamily, size: g.valuePx } } : {}),
    colorbar: {
      title: {
        text: plotlyText(o.metric),
        font: { family: theme.fontFamily, size: theme.fontSize - 1, color: theme.mutedForeground },
        side: 'right',
      },
      tickfont: tickFont(theme),
      outlinewidth: 0,
      thickness: 12,
      len: 1,
      tickvals: [0, 0.25, 0.5, 0.75, 1],
    },
  };
  const marginT = 12;
  const layout = baseLayout(theme, marginT + g.plotH + marginB);
  layout.width = marginL + g.plotW + HEATMAP_COLORBAR_PX;
  layout.showlegend = false;
  layout.plot_bgcolor = gapColour(theme);
  layout.margin = { l: marginL, r: HEATMAP_COLORBAR_PX, t: marginT, b: marginB, pad: 0 };
  // every category gets its tick label (plotly would skip labels to keep its own spacing)
  const every = (labels: string[]) => ({ tickmode: 'array', tickvals: labels, ticktext: labels, tickfont: font });
  layout.xaxis = {
    ...layerAxis(theme, x, o.colTitle ?? ''),
    showgrid: false,
    zeroline: false,
    showline: false,
    ticks: '',
    tickangle: g.angle,
    constrain: 'domain',
    ...every(x),
  };
  layout.yaxis = {
    ...layerAxis(theme, y, o.rowTitle ?? ''),
    showgrid: false,
    zeroline: false,
    showline: false,
    ticks: '',
    tickangle: 0,
    autorange: 'reversed',
    scaleanchor: 'x',
    scaleratio: 1,
    constrain: 'domain',
    constraintoward: 'top',
    ...every(y),
  };
  return { data: [trace], layout };
}

export interface NamedFigure {
  id: string;
  title: string;
  figure: PlotFigure;
}

/**
 * SVCCA/PWCCA's guard (issue 13) as the views show it: a title suffix saying what the cap did or that cells are in
 * the trivial regime, and a per-cell hover note.
 */
function ccaGuardView(
  result: AnalysisResult,
  metric: 'svcca' | 'pwcca',
  compare: boolean,
): { suffix: string; cellNote: (row: string, col: string) => string | null } {
  const g = result.analyses.similarity?.cca;
  if (!g) return { suffix: '', cellNote: () => null };
  const A = new Map<string, CcaLayerDims>(g.perLayer.map((d) => [d.tensor, d]));
  const B = new Map<string, CcaLayerDims>((compare ? (g.perLayerB ?? []) : g.perLayer).map((d) => [d.tensor, d]));
  let trivial = 0,
    capped = 0;
  for (const a of A.values())
    for (const b of B.values()) {
      if (!compare && a === b) continue;
      const f = ccaCellFlag(a, b, metric, g.limit);
      if (f === 'trivial') trivial++;
      else if (f === 'capped') capped++;
    }
  const suffix = trivial
    ? ` — ⚠ ${trivial} cell(s) in the trivial regime (> ${g.limit} kept directions of ${g.samples} samples): ` +
      'near 1 by construction'
    : capped && g.maxDims !== null
      ? ` (≤ ${g.maxDims} directions per layer: ⌊n/10⌋ of ${g.samples} samples)`
      : '';
  const cellNote = (row: string, col: string) => {
    if (!compare && row === col) return null;
    const f = ccaCellFlag(A.get(row), B.get(col), metric, g.limit);
    return f === 'trivial'
      ? `⚠ trivial regime: more than ${g.limit} kept directions of ${g.samples} samples, ` +
          'independent data would score near 1'
      : f === 'capped'
        ? `capped at ${g.maxDims} directions (⌊n/10⌋)`
        : null;
  };
  return { suffix, cellNote };
}

/** The within-model heatmaps that are present: NNLS, CKA, debiased CKA, SVCCA, PWCCA. */
export function similarityHeatmaps(result: AnalysisResult, theme: ChartTheme): NamedFigure[] {
  const rra = result.analyses.rra,
    sim = result.analyses.similarity;
  const k = rra ? ` (k=${rra.k})` : '';
  const ckaNote = sim?.ckaMethod ? ` (${sim.ckaMethod})` : '';
  const sv = ccaGuardView(result, 'svcca', false),
    pw = ccaGuardView(result, 'pwcca', false);
  const specs: [string, string, string, LayerMatrix | undefined, HeatmapOptions['cellNote']?][] = [
    ['nnls', `NNLS${k}`, 'NNLS', rra?.nnls],
    ['cka', `Linear CKA${ckaNote}`, 'CKA', sim?.cka],
    ['cka-debiased', 'Debiased linear CKA', 'CKA (debiased)', sim?.ckaDebiased],
    ['svcca', `SVCCA${sv.suffix}`, 'SVCCA', sim?.svcca, sv.cellNote],
    ['pwcca', `PWCCA${pw.suffix}`, 'PWCCA', sim?.pwcca, pw.cellNote],
  ];
  const out: NamedFigure[] = [];
  for (const [id, title, metric, m, cellNote] of specs) {
    const figure = layerHeatmap(m, result, theme, { metric, cellNote });
    if (figure) out.push({ id, title, figure });
  }
  return out;
}

/** The between-model heatmaps that are present (rows: this model, columns: the compared model). */
export function compareHeatmaps(result: AnalysisResult, theme: ChartTheme): NamedFigure[] {
  const rra = result.analyses.rra,
    cmp = result.analyses.similarity?.compare;
  const other = result.compare?.name ?? 'compared model';
  const o = { colRefs: result.compare?.layers ?? [], rowTitle: result.model.name, colTitle: other };
  const sv = ccaGuardView(result, 'svcca', true),
    pw = ccaGuardView(result, 'pwcca', true);
  const specs: [string, string, string, LayerMatrix | undefined, HeatmapOptions['cellNote']?][] = [
    ['compare-nnls', `NNLS${rra ? ` (k=${rra.k})` : ''}`, 'NNLS', rra?.interModel],
    ['compare-cka', 'Linear CKA', 'CKA', cmp?.cka],
    ['compare-svcca', `SVCCA${sv.suffix}`, 'SVCCA', cmp?.svcca, sv.cellNote],
    ['compare-pwcca', `PWCCA${pw.suffix}`, 'PWCCA', cmp?.pwcca, pw.cellNote],
  ];
  const out: NamedFigure[] = [];
  for (const [id, title, metric, m, cellNote] of specs) {
    const figure = layerHeatmap(m, result, theme, { ...o, metric, cellNote });
    if (figure) out.push({ id, title, figure });
  }
  return out;
}

// ---- selectivity -------------------------------------------------------------------------------------------------

/**
 * What the selectivity boxes show, for the view's caption. The box trace is drawn from every unit's value with
 * `boxpoints: false`, and plotly then draws the whiskers to the minimum and maximum (not to the 1.5·IQR fences, which
 * it uses only when it also draws outlier points); the quartiles are plotly's default ('linear').
 */
export const SELECTIVITY_BOXES = 'box: quartiles and median; whiskers: the lowest and highest unit';

/** Per-layer distribution of per-unit selectivity (box plots) and the layer mean (line), per model. */
export function selectivityChart(result: AnalysisResult, theme: ChartTheme): PlotFigure | null {
  const lay = depthLayout(result, (a) => a.selectivity?.perLayer);
  if (!lay) return null;
  const c = palette(theme);
  const data: Trace[] = [];
  for (const q of lay.series) {
    const bx: (string | number)[] = [],
      by: number[] = [];
    q.rows.forEach((r, i) => {
      for (const v of r?.perUnit ?? []) {
        const f = finite(v);
        if (f !== null) {
          bx.push(q.x[i]);
          by.push(f);
        }
      }
    });
    const mean = q.rows.map((r) => finite(r?.mean));
    const median = q.rows.map((r) => finite(r?.median));
    const units = q.rows.map((r) => (r?.perUnit ?? []).filter((v) => finite(v) !== null).length);
    const compared = lay.tagged && q.s.key === 'compare';
    const box: Trace = {
      type: 'box',
      name: 'per-unit selectivity',
      x: bx,
      y: by,
      // no points: whiskers to min and max (SELECTIVITY_BOXES)
      boxpoints: false,
      // model B's boxes hollow: told apart from A's filled ones without colour
      fillcolor: compared ? 'rgba(0,0,0,0)' : isDark(theme) ? 'rgba(78,168,255,0.25)' : 'rgba(31,119,180,0.18)',
      line: { color: c[0], width: 1.5 },
      hoverinfo: 'y',
      hoverlabel: { namelength: 0 },
    };
    const meanLine = line(
      'mean',
      q.x,
      mean,
      q.labels.map((label, i) =>
        hoverLines(label, [
          ...modelLines(lay, q, i),
          `mean: ${sig3(mean[i])}`,
          `median: ${sig3(median[i])}`,
          `units: ${formatCount(units[i])}`,
        ]),
      ),
      c[1],
      { marker: { color: c[1], size: 7, symbol: 'diamond' } },
    );
    data.push(asModel(box, q.s, lay, theme), asModel(meanLine, q.s, lay, theme));
  }
  const layout = baseLayout(theme, depthHeight(250, lay, theme, 2));
  layout.xaxis = depthAxis(theme, lay);
  // plotly writes the box statistics' hover itself: the same 3 significant digits as sig3
  layout.yaxis = { ...axis(theme, 'selectivity'), range: [0, 1.02], hoverformat: SIG3_FORMAT };
  // two models: their boxes side by side at a layer (one model: one box per layer)
  layout.boxmode = lay.series.length > 1 ? 'group' : 'overlay';
  return { data, layout };
}

// ---- noise SVD ---------------------------------------------------------------------------------------------------

const METRICS: { key: 'ev1' | 'ev2' | 'rest'; title: string; axis: string }[] = [
  { key: 'ev1', title: 'EV₁', axis: 'y' },
  { key: 'ev2', title: 'EV₂', axis: 'y2' },
  { key: 'rest', title: 'Σ EVⱼ, j≥3', axis: 'y3' },
];
const SYMBOLS = ['circle', 'square', 'diamond', 'triangle-up', 'x', 'star'];
/** The marker symbols as text, for the legend title's key. */
const SYMBOL_GLYPHS = ['●', '■', '◆', '▲', '✕', '★'];

/** How the noise-SVD chart is laid out: over epochs (several checkpoints with epochs), checkpoints, or depth. */
export function noiseSvdMode(result: AnalysisResult): 'epoch' | 'checkpoint' | 'depth' | null {
  const ns = result.analyses['noise-svd'];
  if (!ns || ns.series.length === 0) return null;
  const checkpoints = new Set(ns.series.map((s) => s.checkpoint));
  if (checkpoints.size < 2) return 'depth';
  return ns.series.every((s) => finite(s.epoch) !== null) ? 'epoch' : 'checkpoint';
}

/**
 * Ticks for an epoch axis: whole epochs only (plotly's automatic ticks go fractional over a few epochs), about eight
 * at most, a step of 1, 2 or 5 × 10ⁿ epochs. Non-integer epochs keep plotly's ticks.
 */
export function epochTicks(epochs: readonly number[]): Record<string, unknown> {
  if (epochs.length === 0 || !epochs.every(Number.isInteger)) return {};
  const span = Math.max(...epochs) - Math.min(...epochs);
  let dtick = 1;
  for (let p = 1; span / dtick > 8; p *= 10) dtick = [1, 2, 5].map((f) => f * p).find((d) => span / d <= 8) ?? 10 * p;
  return { tickmode: 'linear', tick0: 0, dtick, tickformat: 'd' };
}

/** The all-images cell (label −1) for a σ, else null. */
function cellFor(cells: readonly NoiseSvdCellJson[], sigma: number): NoiseSvdCellJson | null {
  return cells.find((c) => c.sigma === sigma && c.label === -1) ?? null;
}

/**
 * Noise SVD (explained variance of the noise-response spectrum): EV₁, EV₂ and the rest (Σ_{j≥3}) stacked in three
 * panels. Several checkpoints: x = epoch (integer ticks) or checkpoint, one line per (layer, σ, split), coloured by
 * layer, marker by σ, dotted for train; one legend entry per layer. One checkpoint: x = layer depth, one line per
 * (σ, split), colour and marker by σ, dotted for train; one legend entry per σ. A legend entry toggles its lines in
 * all panels; the legend title keys the other dimensions (marker: σ, line: split).
 */
export function noiseSvdChart(result: AnalysisResult, theme: ChartTheme): PlotFigure | null {
  const ns = result.analyses['noise-svd'];
  const mode = noiseSvdMode(result);
  if (!ns || !mode) return null;
  const sigmas = [
    ...new Set([
      ...(ns.settings.sigmas ?? []),
      ...ns.series.flatMap((s) => s.layers.flatMap((l) => l.cells.map((c) => c.sigma))),
    ]),
  ].sort((a, b) => a - b);
  const splits = (['test', 'train'] as const).filter((sp) => ns.series.some((s) => s.split === sp));
  const c = palette(theme);
  const data: Trace[] = [];
  const dash = (split: string) => (split === 'train' ? 'dot' : 'solid');
  const dashName = (split: string) => (split === 'train' ? 'dotted' : 'solid');
  const value = (cell: NoiseSvdCellJson | null, key: 'ev1' | 'ev2' | 'rest') => finite(cell?.[key]?.mean);
  const spread = (cell: NoiseSvdCellJson | null, key: 'ev1' | 'ev2' | 'rest') =>
    cell && finite(cell[key]?.std) !== null ? ` ± ${sig3(finite(cell[key].std))}` : '';
  const hoverLine = (cell: NoiseSvdCellJson | null, key: 'ev1' | 'ev2' | 'rest', title: string) => [
    `${title}: ${sig3(value(cell, key))}${spread(cell, key)}`,
    ...(cell ? [`images: ${formatCount(cell.images)}`] : []),
  ];
  let xLayout: Record<string, unknown>;
  let xCategories: string[] | null = null;
  let legendTitle: string[];

  if (mode === 'depth') {
    // one checkpoint: layers over depth, per (σ, split)
    const tensors = [...new Set(ns.series.flatMap((s) => s.layers.map((l) => l.tensor)))];
    const layers = depthOrder(tensors, result.layers);
    const x = uniqueLabels(layers.map((l) => l.label));
    sigmas.forEach((sigma, si) =>
      splits.forEach((split) => {
        const series = ns.series.find((s) => s.split === split)!;
        const cells = layers.map((l) => {
          const sl = series.layers.find((q) => q.tensor === l.tensor);
          return sl ? cellFor(sl.cells, sigma) : null;
        });
        if (cells.every((cl) => cl === null)) return;
        const name = `σ=${sigma}`;
        const colour = c[si % c.length];
        // the σ's first drawn line carries its legend entry
        const first = !data.some((t) => t.legendgroup === plotlyText(name));
        METRICS.forEach((m, mi) =>
          data.push(
            line(
              name,
              x,
              cells.map((cl) => value(cl, m.key)),
              layers.map((l, i) => hoverLines(`${l.label} ${name} (${split})`, hoverLine(cells[i], m.key, m.title))),
              colour,
              {
                yaxis: m.axis,
                legendgroup: plotlyText(name),
                showlegend: first && mi === 0,
                line: { color: colour, width: 2, dash: dash(split) },
                marker: { color: colour, size: 6, symbol: SYMBOLS[si % SYMBOLS.length] },
              },
            ),
          ),
        );
      }),
    );
    xLayout = layerAxis(theme, x);
    xCategories = x;
    legendTitle = ['σ (click to hide)'];
  } else {
    // several checkpoints: per (layer, σ, split) over epochs (or checkpoint names)
    const tensors = [...new Set(ns.series.flatMap((s) => s.layers.map((l) => l.tensor)))];
    const layers = depthOrder(tensors, result.layers);
    const checkpoints: { checkpoint: string; epoch: number | null }[] = [];
    for (const s of ns.series)
      if (!checkpoints.some((q) => q.checkpoint === s.checkpoint))
        checkpoints.push({ checkpoint: s.checkpoint, epoch: finite(s.epoch) });
    if (mode === 'epoch') checkpoints.sort((a, b) => a.epoch! - b.epoch!);
    const x = mode === 'epoch' ? checkpoints.map((q) => q.epoch!) : uniqueLabels(checkpoints.map((q) => q.checkpoint));
    const names = uniqueLabels(layers.map((l) => l.label));
    layers.forEach((l, li) =>
      sigmas.forEach((sigma, si) =>
        splits.forEach((split) => {
          const cells = checkpoints.map((q) => {
            const series = ns.series.find((s) => s.checkpoint === q.checkpoint && s.split === split);
            const sl = series?.layers.find((z) => z.tensor === l.tensor);
            return sl ? cellFor(sl.cells, sigma) : null;
          });
          if (cells.every((cl) => cl === null)) return;
          const group = names[li];
          const colour = c[li % c.length];
          // the layer's first drawn line carries its legend entry
          const first = !data.some((t) => t.legendgroup === group);
          METRICS.forEach((m, mi) =>
            data.push({
              ...line(
                '',
                x,
                cells.map((cl) => value(cl, m.key)),
                checkpoints.map((q, i) =>
                  hoverLines(`${l.label} σ=${sigma} (${split})`, [
                    mode === 'epoch' ? `epoch ${q.epoch}` : q.checkpoint,
                    ...hoverLine(cells[i], m.key, m.title),
                  ]),
                ),
                colour,
                {
                  yaxis: m.axis,
                  legendgroup: group,
                  showlegend: first && mi === 0,
                  line: { color: colour, width: 1.8, dash: dash(split) },
                  marker: { color: colour, size: 6, symbol: SYMBOLS[si % SYMBOLS.length] },
                },
              ),
              // the legend entry names the layer (already escaped and unique); the hover names σ and split
              name: group,
              mode: 'lines+markers',
            }),
          );
        }),
      ),
    );
    xLayout =
      mode === 'epoch'
        ? { ...axis(theme, 'epoch'), type: 'linear', showgrid: true, ...epochTicks(x as number[]) }
        : layerAxis(theme, x as string[], 'checkpoint');
    if (mode !== 'epoch') xCategories = x as string[];
    legendTitle = [
      'layer (click to hide)',
      sigmas.map((sg, si) => `${SYMBOL_GLYPHS[si % SYMBOLS.length]} σ=${sg}`).join('  '),
    ];
  }
  legendTitle.push(splits.map((sp) => `${dashName(sp)}: ${sp}`).join(', '));
  if (data.length === 0) return null;
  const layout = baseLayout(theme, xCategories ? heightWithLabels(560, xCategories, theme) : 640);
  layout.xaxis = { ...xLayout, anchor: 'y3' };
  const domains: [number, number][] = [
    [0.7, 1],
    [0.36, 0.64],
    [0, 0.3],
  ];
  METRICS.forEach((m, i) => {
    layout[i === 0 ? 'yaxis' : `yaxis${i + 1}`] = {
      ...axis(theme, m.title),
      domain: domains[i],
      rangemode: 'tozero',
      anchor: 'x',
    };
  });
  layout.legend = {
    orientation: 'v',
    x: 1.02,
    xanchor: 'left',
    y: 1,
    yanchor: 'top',
    font: tickFont(theme),
    bgcolor: 'rgba(0,0,0,0)',
    // one entry per group: no extra gap between groups
    tracegroupgap: 2,
    title: {
      text: legendTitle.map(plotlyText).join('<br>'),
      font: { ...tickFont(theme), color: theme.mutedForeground },
    },
  };
  return { data, layout };
}

// ---- summary: sparsity and dead channels ------------------------------------------------------------------------

/**
 * Sparsity (share of activations ≤ 0) and dead channels per layer, two panels over depth, per model. Dead channels are
 * drawn as a share of the layer's channels (the count is in the hover and the table): a count grows with the layer's
 * width, so one wide layer (or a 10-unit head with every unit "dead") dwarfed the rest and two models of different
 * widths could not be read on one axis. Layers where neither means anything (signed values: logits, pre-activation
 * outputs) have no bar and an "n/a" mark, the reason in the hover. Bars on the layer axis (model B hatched); lines on
 * relative depth, where bars of two models would not line up.
 */
export function summaryChart(result: AnalysisResult, theme: ChartTheme): PlotFigure | null {
  const lay = depthLayout(result, (a) => a.summary?.perLayer);
  if (!lay) return null;
  const c = palette(theme);
  const bars = lay.mode !== 'relative';
  const data: Trace[] = [];
  const naMarks = new Set<string | number>();
  let maxShare = 0;
  const pct = (v: number | null) => (v === null ? 'n/a' : `${sig3(v * 100)}%`);
  for (const q of lay.series) {
    const rows = q.rows;
    // Not applicable on signed (non-ReLU-like) layers such as logits: no bar, the reason in the hover.
    const na = rows.map((r) => r?.sparsityNotApplicable ?? null);
    na.forEach((reason, i) => {
      if (reason) naMarks.add(q.x[i]);
    });
    const sparsity = rows.map((r, i) => (r && !na[i] ? finite(r.sparsity) : null));
    const dead = rows.map((r, i) => (r && !na[i] ? finite(r.deadChannels) : null));
    const channels = rows.map((r) => finite(r?.channels));
    const share = dead.map((d, i) => {
      const n = channels[i];
      return d !== null && n ? d / n : null;
    });
    maxShare = Math.max(maxShare, ...share.map((v) => v ?? 0));
    const compared = lay.tagged && q.s.key === 'compare';
    const trace = (name: string, y: (number | null)[], hover: string[], colour: string, yaxis: string): Trace =>
        bars
          ? {
              type: 'bar',
              name: plotlyText(name),
              x: q.x,
              y,
              yaxis,
              hovertext: hover,
              hovertemplate: '%{hovertext}<extra></extra>',
              // model B's bars hatched and outlined: told apart without colour
              marker: compared
                ? {
                    color: colour,
                    line: { color: colour, width: 1.5 },
                    pattern: { shape: '/', fillmode: 'replace', solidity: 0.35, bgcolor: 'rgba(0,0,0,0)' },
                  }
                : { color: colour, line: { width: 0 } },
            }
          : line(name, q.x, y, hover, colour, { yaxis }),
      hover = (i: number, what: string[]) =>
        rows[i] ? hoverLines(q.labels[i], [...modelLines(lay, q, i), ...what]) : hoverLines(q.labels[i], []);
    data.push(
      asModel(
        trace(
          'sparsity',
          sparsity,
          rows.map((r, i) =>
            hover(i, [
              na[i] ? `sparsity: not applicable — ${na[i]}` : `sparsity: ${pct(sparsity[i])}`,
              `mean: ${sig3(finite(r?.mean))}, std: ${sig3(finite(r?.std))}`,
            ]),
          ),
          c[0],
          'y',
        ),
        q.s,
        lay,
        theme,
      ),
      asModel(
        trace(
          'dead channels',
          share,
          rows.map((_, i) =>
            hover(i, [
              na[i]
                ? 'dead channels: not applicable (signed layer)'
                : `dead channels: ${sig3(dead[i])} of ${sig3(channels[i])} (${pct(share[i])})`,
            ]),
          ),
          c[1],
          'y2',
        ),
        q.s,
        lay,
        theme,
      ),
    );
  }
  const layout = baseLayout(theme, depthHeight(300, lay, theme, 2));
  layout.xaxis = { ...depthAxis(theme, lay), anchor: 'y2' };
  layout.yaxis = { ...axis(theme, 'sparsity'), domain: [0.56, 1], range: [0, 1], tickformat: '.0%', anchor: 'x' };
  // a share of the layer's channels: at least 0–10 % (no layer's few dead channels fill the panel), at most 100 %
  layout.yaxis2 = {
    ...axis(theme, 'dead channels (share)'),
    domain: [0, 0.44],
    tickformat: '.0%',
    anchor: 'x',
    range: [0, Math.min(1, Math.max(0.1, maxShare * 1.1))],
  };
  // "n/a" at the foot of both panels where a layer is not ReLU-like
  const muted = { family: theme.fontFamily, size: Math.max(9, theme.fontSize - 3), color: theme.mutedForeground };
  layout.annotations = [...naMarks].flatMap((x) =>
    ['y', 'y2'].map((yref) => ({
      x,
      y: 0,
      xref: 'x',
      yref,
      text: 'n/a',
      showarrow: false,
      yanchor: 'bottom',
      font: muted,
    })),
  );
  if (bars) {
    // a few layers: keep the bars narrow rather than spanning the plot
    const n = lay.categories.length;
    layout.bargap = n <= 2 ? 0.75 : n <= 5 ? 0.5 : 0.25;
    if (lay.series.length > 1) layout.barmode = 'group';
  }
  return { data, layout };
}
