// Heatmap size and text (issue 15): at 10 layers the cells print their values; at 54 (resnet-size) every layer keeps
// its tick label, the cells keep a floor size and the figure grows; every chart's hover has 3 significant digits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { AnalysisResult, LayerMatrix, LayerRef } from '../src/shared/result';
import {
  AXIS_LABEL_MAX,
  HEATMAP_VALUES_MAX,
  heatmapGeometry,
  layerHeatmap,
  type PlotFigure,
} from '../webview/charts/analysis';
import { reportCharts } from '../webview/views/registry';
import { REPORT_THEMES } from '../webview/report/overview';

const light = REPORT_THEMES.light; // font 13 px
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- plotly JSON read by path
type Spec = Record<string, any>;

/** A result over n layers with resnet-like labels (long module paths) and a layer × layer matrix. */
function result(n: number): { r: AnalysisResult; m: LayerMatrix } {
  const layers: LayerRef[] = Array.from({ length: n }, (_, i) => ({
    tensor: `t${i}`,
    label: `layer${1 + (i % 4)}.${i}.downsample.conv_block_${i}`,
    op: 'Relu',
    shape: [64, 8, 8],
    params: 10,
    index: i,
  }));
  const tensors = layers.map((l) => l.tensor);
  const m: LayerMatrix = {
    rows: tensors,
    cols: tensors,
    values: tensors.map((_, i) => tensors.map((_, j) => (i === j ? 1 : 0.626365079365079 / (1 + Math.abs(i - j))))),
  };
  const r = {
    schema: 'replens.result/2',
    model: { name: 'm' },
    layers,
    analyses: {},
    notes: [],
  } as unknown as AnalysisResult;
  return { r, m };
}

test('10 layers: values printed in the cells, every label, cells wide enough for "0.63", width from the cells', () => {
  const { r, m } = result(10);
  const fig = layerHeatmap(m, r, light, { metric: 'CKA' })!;
  const t = fig.data[0] as Spec,
    lay = fig.layout as Spec;
  assert.equal(t.texttemplate, '%{z:.2f}');
  assert.equal(t.textfont.size, 10);
  const g = heatmapGeometry(10, 10, light);
  assert.ok(g.values && g.cell >= 4 * 0.62 * g.valuePx, `a cell (${g.cell} px) holds four characters`);
  assert.equal(g.cell, 31);
  assert.deepEqual(lay.xaxis.tickvals, t.x, 'every column label');
  assert.deepEqual(lay.yaxis.tickvals, t.y, 'every row label');
  assert.equal(lay.xaxis.tickfont.size, 11);
  assert.equal(lay.width, lay.margin.l + 10 * g.cell + lay.margin.r);
  assert.equal(lay.height, lay.margin.t + 10 * g.cell + lay.margin.b);
  // labels are cut to the usual length in the middle
  assert.ok(t.x.every((s: string) => s.length <= AXIS_LABEL_MAX + 3));
  // the hover: 3 significant digits (the matrix has 15)
  assert.equal(t.text[0][1], 'layer1.0.downsample.conv_block_0 ↔ layer2.1.downsample.conv_block_1: 0.313');
});

test('54 layers: no values, every label with a smaller font, cells never below a label line, the figure grows', () => {
  const { r, m } = result(54);
  const fig = layerHeatmap(m, r, light, { metric: 'CKA' })!;
  const t = fig.data[0] as Spec,
    lay = fig.layout as Spec;
  assert.equal(t.texttemplate, undefined, 'a 54 × 54 matrix is too big to print');
  const g = heatmapGeometry(54, 54, light);
  assert.equal(g.tickPx, 10);
  assert.equal(g.cell, 14);
  assert.ok(g.cell >= 1.4 * g.tickPx, 'a label line per cell');
  assert.equal(lay.xaxis.tickvals.length, 54);
  assert.equal(lay.yaxis.tickvals.length, 54);
  assert.equal(new Set(t.x).size, 54, 'unique labels');
  assert.equal(lay.xaxis.tickangle, -90);
  assert.ok(
    t.x.every((s: string) => s.replace(/ #\d+$/, '').length <= 20),
    'labels cut to 20 characters',
  );
  assert.match(t.x[0], /…/, 'cut in the middle');
  assert.equal(lay.height, lay.margin.t + 54 * 14 + lay.margin.b);
  assert.ok(lay.height > 900 && lay.width > 900, `${lay.width} × ${lay.height}: grows with the layers`);
  // before: a 380 px plot at any count, which showed one label in three
  assert.ok(54 * g.cell >= 1.9 * 380);
  // a rectangular between-model matrix: 54 rows, 10 columns; values stay off (one side too big)
  const rect = { rows: m.rows, cols: m.cols.slice(0, 10), values: m.values.map((row) => row.slice(0, 10)) };
  const g2 = heatmapGeometry(54, 10, light);
  const f2 = layerHeatmap(rect, r, light, { metric: 'CKA' })!;
  assert.equal((f2.data[0] as Spec).texttemplate, undefined);
  assert.equal((f2.layout as Spec).xaxis.tickangle, -45);
  assert.equal((f2.layout as Spec).width, (f2.layout as Spec).margin.l + 10 * g2.cell + (f2.layout as Spec).margin.r);
});

test('the values threshold: printed up to HEATMAP_VALUES_MAX a side, not beyond', () => {
  assert.equal(heatmapGeometry(HEATMAP_VALUES_MAX, HEATMAP_VALUES_MAX, light).values, true);
  assert.equal(heatmapGeometry(HEATMAP_VALUES_MAX + 1, 3, light).values, false);
  // one layer: the old minimum square (160 px)
  assert.equal(heatmapGeometry(1, 1, light).plotW, 160);
});

/** Every decimal number in a hover string. */
const numbers = (s: string) => [...s.replace(/<[^>]+>/g, ' ').matchAll(/-?\d[\d,]*\.\d+(?:e-?\d+)?/g)].map((x) => x[0]);
const sigDigits = (s: string) => s.replace(/^-?0?\.?0*|[.,]|e.*$/g, '').replace(/^0+/, '').length;

test('every chart of the fixture: hovers have at most 3 significant digits; plotly-written hovers use a format', () => {
  const FIXTURE = path.join(__dirname, 'fixtures', 'report', 'sample-result.json');
  const r = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as AnalysisResult;
  const charts = reportCharts(r, light);
  let seen = 0;
  for (const c of charts) {
    const fig: PlotFigure = c.figure;
    for (const tr of fig.data as Spec[]) {
      const hover: unknown = tr.hovertemplate?.includes('%{text}') ? tr.text : tr.hovertext;
      if (tr.hovertemplate) {
        assert.match(tr.hovertemplate, /^%\{(text|hovertext)\}<extra><\/extra>$/, `${c.id}: hover from our text`);
        for (const s of [hover].flat(2) as string[])
          for (const x of numbers(s)) {
            seen++;
            assert.ok(sigDigits(x) <= 3, `${c.id}: ${x} in "${s}"`);
          }
      } else {
        // plotly writes the hover itself (box statistics): the axis formats it to 3 significant digits
        assert.equal((fig.layout as Spec).yaxis.hoverformat, '.3~g', `${c.id}: ${tr.type} hover format`);
      }
    }
  }
  assert.ok(seen > 1000, `the check saw the hover numbers (${seen})`);
  assert.equal(sigDigits('0.626'), 3);
  assert.equal(sigDigits('0.626365079365079'), 15, 'the helper counts the heatmap tooltip of the issue as 15');
});
