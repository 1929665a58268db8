// Parameters per layer as a horizontal bar chart: a pure function from the Inspect summary to a plotly figure spec,
// so the panel and a standalone HTML report draw the same chart.
import type { LayerInfo, ModelSummary } from '../../src/engine/onnx/layers';
import { hoverLabel, type ChartTheme } from './theme';
import { hoverLines, plotlyText } from './text';
import { formatCompact, formatCount, middleEllipsis } from '../format';

export interface BarTrace {
  type: 'bar';
  orientation: 'h';
  name: string;
  /** Parameter counts. */
  x: number[];
  /** Category labels (unique). */
  y: string[];
  /** Compact counts drawn next to the bars. */
  text: string[];
  textposition: 'outside';
  cliponaxis: boolean;
  textfont: { color: string; size: number };
  /** Layer names, so a click can find the table row (raw: data for the click handler, never drawn). */
  customdata: string[];
  hovertext: string[];
  hovertemplate: string;
  marker: { color: string; line: { width: number } };
}

export interface Figure {
  data: BarTrace[];
  layout: Record<string, unknown>;
}

export const LABEL_MAX = 40;
export const BAR_HEIGHT = 22;
const MARGIN_T = 8,
  MARGIN_B = 44;

/**
 * One bar label per layer: the PyTorch module path when the exporter recorded one (short, and what the user wrote),
 * else the node name; long labels are cut in the middle; duplicates get the op, then the layer index, appended
 * (plotly merges equal categories); then escaped for plotly (escaping keeps distinct labels distinct).
 */
export function barLabels(layers: readonly LayerInfo[]): string[] {
  const base = layers.map((l) => middleEllipsis(l.module ? l.module : l.name, LABEL_MAX));
  const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const c1 = count(base);
  const withOp = base.map((b, i) => (c1.get(b)! > 1 ? `${b} · ${layers[i].op}` : b));
  const c2 = count(withOp);
  return withOp.map((b, i) => plotlyText(c2.get(b)! > 1 ? `${b} #${layers[i].index}` : b));
}

/** The hover text of one bar: name, op, module path (when known) and the exact count. */
export function hoverText(l: LayerInfo): string {
  const lines = [`op: ${l.op}`];
  if (l.module) lines.push(`module: ${l.module}`);
  lines.push(`params: ${formatCount(l.params)}`);
  return hoverLines(l.name, lines);
}

/** The figure: one bar per layer with parameters (> 0), in graph order, top to bottom. */
export function paramChart(summary: ModelSummary, theme: ChartTheme): Figure {
  const layers = summary.layers.filter((l) => l.params > 0);
  const labels = barLabels(layers);
  const font = { family: theme.fontFamily, size: theme.fontSize, color: theme.foreground };
  const tickFont = { family: theme.fontFamily, size: Math.max(10, theme.fontSize - 1), color: theme.foreground };
  const axis = {
    gridcolor: theme.grid,
    linecolor: theme.grid,
    zerolinecolor: theme.grid,
    tickfont: tickFont,
    fixedrange: true,
    automargin: true,
  };
  const layout: Record<string, unknown> = {
    height: Math.max(140, layers.length * BAR_HEIGHT + MARGIN_T + MARGIN_B),
    autosize: true,
    margin: { l: 8, r: 64, t: MARGIN_T, b: MARGIN_B, pad: 4 },
    paper_bgcolor: theme.background,
    plot_bgcolor: theme.background,
    font,
    showlegend: false,
    bargap: 0.3,
    hovermode: 'closest',
    hoverlabel: hoverLabel(theme),
    xaxis: {
      ...axis,
      title: { text: 'parameters', font: { ...tickFont, color: theme.mutedForeground }, standoff: 8 },
      rangemode: 'tozero',
      tickformat: '~s',
      showgrid: true,
    },
    yaxis: {
      ...axis,
      type: 'category',
      autorange: 'reversed',
      showgrid: false,
      ticks: '',
      ticksuffix: ' ',
    },
  };
  if (layers.length === 0) {
    layout.annotations = [
      {
        text: 'No layer has parameters',
        showarrow: false,
        xref: 'paper',
        yref: 'paper',
        x: 0.5,
        y: 0.5,
        font: { ...font, color: theme.mutedForeground },
      },
    ];
    layout.xaxis = { ...(layout.xaxis as object), visible: false };
    layout.yaxis = { ...(layout.yaxis as object), visible: false };
    return { data: [], layout };
  }
  const trace: BarTrace = {
    type: 'bar',
    orientation: 'h',
    name: 'parameters',
    x: layers.map((l) => l.params),
    y: labels,
    text: layers.map((l) => formatCompact(l.params)),
    textposition: 'outside',
    cliponaxis: false,
    textfont: { color: theme.foreground, size: tickFont.size },
    customdata: layers.map((l) => l.name),
    hovertext: layers.map(hoverText),
    hovertemplate: '%{hovertext}<extra></extra>',
    marker: { color: theme.accent, line: { width: 0 } },
  };
  return { data: [trace], layout };
}
