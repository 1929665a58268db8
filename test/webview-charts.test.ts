import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayerInfo, ModelSummary } from '../src/engine/onnx/layers';
import { barLabels, paramChart, hoverText, BAR_HEIGHT } from '../webview/charts/params';
import { DEFAULT_DARK, DEFAULT_LIGHT, themeFromCssVars, type ChartTheme } from '../webview/charts/theme';
import { formatBytes, formatCompact, formatCount, formatShape, middleEllipsis } from '../webview/format';
import { SIG3_FORMAT, sig3 } from '../webview/charts/text';

function layer(
  index: number,
  name: string,
  op: string,
  params: number,
  module: string | null = null,
  shape: LayerInfo['shape'] = null,
): LayerInfo {
  return {
    name,
    op,
    domain: '',
    output: `${name}_out`,
    outputs: [`${name}_out`],
    inputs: [],
    shape,
    params,
    module,
    index,
  };
}

const summary: ModelSummary = {
  inputs: [{ name: 'x', type: 1, shape: ['N', 3, 32, 32] }],
  outputs: [{ name: 'logits', shape: ['N', 10] }],
  opset: 17,
  irVersion: 8,
  producer: 'pytorch 2.3.0',
  totalParams: 448 + 32 + 2_359_808 + 5130,
  layers: [
    layer(0, '/conv1/Conv', 'Conv', 448, 'conv1', ['N', 16, 32, 32]),
    layer(1, '/bn1/BatchNormalization', 'BatchNormalization', 32, 'bn1', ['N', 16, 32, 32]),
    layer(2, '/relu/Relu', 'Relu', 0, 'relu', ['N', 16, 32, 32]),
    layer(3, 'big_linear', 'MatMul', 2_359_808, null, ['N', 1024]),
    layer(4, '/Flatten', 'Flatten', 0, '', ['N', 1024]),
    layer(5, '/fc/Gemm', 'Gemm', 5130, 'fc', ['N', 10]),
  ],
};

const theme: ChartTheme = {
  foreground: '#111111',
  mutedForeground: '#777777',
  background: '#fafafa',
  accent: '#ff00aa',
  grid: '#dddddd',
  fontFamily: 'Test Sans',
  fontSize: 12,
  hoverBackground: '#eeeeee',
  hoverForeground: '#222222',
  hoverBorder: '#999999',
};

test('paramChart: one horizontal bar per layer with parameters, in graph order, zero-parameter layers left out', () => {
  const fig = paramChart(summary, theme);
  assert.equal(fig.data.length, 1);
  const t = fig.data[0];
  assert.equal(t.type, 'bar');
  assert.equal(t.orientation, 'h');
  assert.deepEqual(t.x, [448, 32, 2_359_808, 5130]);
  // module paths where the exporter recorded them, else the node name
  assert.deepEqual(t.y, ['conv1', 'bn1', 'big_linear', 'fc']);
  assert.deepEqual(t.text, ['448', '32', '2.36M', '5.13k']);
  assert.deepEqual(t.customdata, ['/conv1/Conv', '/bn1/BatchNormalization', 'big_linear', '/fc/Gemm']);
  assert.ok(!t.y.includes('relu') && !t.customdata.includes('/Flatten'));
  // the hover names the layer, its op, its module and the exact count
  assert.equal(t.hovertext[0], '<b>/conv1/Conv</b><br>op: Conv<br>module: conv1<br>params: 448');
  assert.equal(t.hovertext[2], '<b>big_linear</b><br>op: MatMul<br>params: 2,359,808');
  assert.equal(t.hovertemplate, '%{hovertext}<extra></extra>');
  // first layer on top, labels are categories, the height grows with the number of bars
  const y = fig.layout.yaxis as Record<string, unknown>;
  assert.equal(y.autorange, 'reversed');
  assert.equal(y.type, 'category');
  assert.ok((fig.layout.height as number) >= 4 * BAR_HEIGHT);
});

test('paramChart: theme colours and font are applied to bars, text, axes, background and hover', () => {
  const fig = paramChart(summary, theme);
  const t = fig.data[0];
  // the parts of the plotly layout this test reads
  type Colour = { color: string };
  const L = fig.layout as {
    paper_bgcolor: string;
    plot_bgcolor: string;
    font: unknown;
    xaxis: { gridcolor: string; tickfont: Colour; title: { font: Colour } };
    yaxis: { tickfont: Colour };
    hoverlabel: { bgcolor: string; bordercolor: string; font: Colour };
  };
  assert.equal(t.marker.color, '#ff00aa');
  assert.equal(t.textfont.color, '#111111');
  assert.equal(L.paper_bgcolor, '#fafafa');
  assert.equal(L.plot_bgcolor, '#fafafa');
  assert.deepEqual(L.font, { family: 'Test Sans', size: 12, color: '#111111' });
  assert.equal(L.xaxis.gridcolor, '#dddddd');
  assert.equal(L.xaxis.tickfont.color, '#111111');
  assert.equal(L.yaxis.tickfont.color, '#111111');
  assert.equal(L.xaxis.title.font.color, '#777777');
  assert.equal(L.hoverlabel.bgcolor, '#eeeeee');
  assert.equal(L.hoverlabel.bordercolor, '#999999');
  assert.equal(L.hoverlabel.font.color, '#222222');
  // a different theme changes the figure and nothing else
  const dark = paramChart(summary, DEFAULT_DARK);
  assert.equal(dark.data[0].marker.color, DEFAULT_DARK.accent);
  assert.equal(dark.layout.paper_bgcolor, DEFAULT_DARK.background);
  assert.deepEqual(dark.data[0].x, t.x);
});

test('paramChart: a model without parameters gives no bars and a note', () => {
  const fig = paramChart({ ...summary, totalParams: 0, layers: summary.layers.filter((l) => l.params === 0) }, theme);
  assert.deepEqual(fig.data, []);
  const ann = (fig.layout.annotations as { text: string }[])[0];
  assert.equal(ann.text, 'No layer has parameters');
});

test('paramChart: the figure is plain JSON (the standalone report serialises it)', () => {
  const fig = paramChart(summary, theme);
  assert.deepEqual(JSON.parse(JSON.stringify(fig)), fig);
});

test('bar labels are unique and short: duplicates get the op, then the index; long names are cut in the middle', () => {
  const ls = [
    layer(0, '/block/conv/Conv', 'Conv', 10, 'block.conv'),
    layer(1, '/block/conv/Add', 'Add', 5, 'block.conv'),
    layer(2, 'a', 'Conv', 1),
    layer(3, 'a', 'Conv', 1),
    layer(4, 'x'.repeat(100), 'Conv', 1),
  ];
  const labels = barLabels(ls);
  assert.deepEqual(labels.slice(0, 4), ['block.conv · Conv', 'block.conv · Add', 'a · Conv #2', 'a · Conv #3']);
  assert.equal(labels[4].length, 40);
  assert.match(labels[4], /^x+…x+$/);
  assert.equal(new Set(labels).size, labels.length);
  assert.equal(hoverText(layer(0, '<script>', 'Op&', 1)), '<b>&lt;script&gt;</b><br>op: Op&amp;<br>params: 1');
});

test('themeFromCssVars reads VS Code variables and falls back per theme kind', () => {
  const vars: Record<string, string> = {
    '--vscode-editor-foreground': ' #abcdef ',
    '--vscode-editor-background': '#010203',
    '--vscode-charts-blue': '#0000ff',
    '--vscode-charts-lines': 'rgba(1, 2, 3, 0.5)',
    '--vscode-font-family': 'Ubuntu, sans-serif',
    '--vscode-font-size': '14px',
  };
  const t = themeFromCssVars((n) => vars[n] ?? '', true);
  assert.equal(t.foreground, '#abcdef');
  assert.equal(t.background, '#010203');
  assert.equal(t.accent, '#0000ff');
  assert.equal(t.grid, 'rgba(1, 2, 3, 0.5)');
  assert.equal(t.fontFamily, 'Ubuntu, sans-serif');
  assert.equal(t.fontSize, 14);
  assert.equal(t.hoverForeground, '#abcdef');
  assert.equal(t.hoverBackground, DEFAULT_DARK.hoverBackground);
  assert.deepEqual(
    themeFromCssVars(() => '', false),
    DEFAULT_LIGHT,
  );
  assert.deepEqual(
    themeFromCssVars(() => '', true),
    DEFAULT_DARK,
  );
});

test('formatting helpers', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(1234567), '1,234,567');
  assert.equal(formatCompact(999), '999');
  assert.equal(formatCompact(1000), '1k');
  assert.equal(formatCompact(25_557_032), '25.6M');
  assert.equal(formatCompact(123_456_789), '123M');
  assert.equal(formatShape(['N', 3, null, 7]), 'N×3×?×7');
  assert.equal(formatShape(null), '?');
  assert.equal(formatShape([]), 'scalar');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(5 * 1024 * 1024), '5.0 MB');
  assert.equal(middleEllipsis('abcdefghij', 5), 'ab…ij');
});

test('sig3: hover numbers at 3 significant digits, whole numbers in full, n/a when missing', () => {
  assert.equal(sig3(0.626365079365079), '0.626');
  assert.equal(sig3(0.1928868), '0.193');
  assert.equal(sig3(18.3749), '18.4');
  assert.equal(sig3(0.5), '0.5', 'no padding zeros');
  assert.equal(sig3(0.9999), '1');
  assert.equal(sig3(0.000123456), '0.000123');
  assert.equal(sig3(-2.71828), '-2.72');
  assert.equal(sig3(123456.7), '123,000');
  assert.equal(sig3(1024), '1,024', 'counts stay whole');
  assert.equal(sig3(0), '0');
  assert.equal(sig3(null), 'n/a');
  assert.equal(sig3(undefined), 'n/a');
  assert.equal(sig3(NaN), 'n/a');
  assert.equal(sig3(Infinity), 'n/a');
  assert.equal(SIG3_FORMAT, '.3~g', 'the d3 format for the same digits');
});
