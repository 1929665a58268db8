// The analysis chart builders (webview/charts/analysis.ts), the report's overview rows and the HTML renderer, on the
// sample result (test/fixtures/report/sample-result.json: a 12-layer shallow CNN, every analysis, a compare block,
// noise SVD over 3 checkpoints × 2 splits) and on synthetic edge cases (1 and 60 layers, nulls, NaN, markup).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { AnalysisResult, LayerMatrix, LayerRef } from '../src/shared/result';
import {
  compareHeatmaps,
  depthCurves,
  gapColour,
  layerHeatmap,
  multiScaleChart,
  noiseSvdChart,
  noiseSvdMode,
  selectivityChart,
  similarityHeatmaps,
  summaryChart,
  uniqueLabels,
  type PlotFigure,
  type Trace,
  epochTicks,
  SELECTIVITY_BOXES,
} from '../webview/charts/analysis';
import { sig3 } from '../webview/charts/text';
import { reportCharts } from '../webview/views/registry';
import { selectivityView } from '../webview/views/selectivity';
import { noiseSvdView } from '../webview/views/noise-svd';
import { similarityView } from '../webview/views/similarity';
import { DEFAULT_DARK, DEFAULT_LIGHT } from '../webview/charts/theme';
import { OVERVIEW_COLUMNS, compareSort, overviewRows } from '../webview/report/overview';
import { jsonForScript, readReportBundle, renderReport, scriptForInline } from '../src/report/report';
import { layersCsv } from '../src/report/files';

const FIXTURE = path.join(__dirname, 'fixtures', 'report', 'sample-result.json');
const load = (): AnalysisResult => JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
const R = load();
const light = DEFAULT_LIGHT,
  dark = DEFAULT_DARK;
const LONG = 'classifier.head.final_projection.linear';
const LONG_SHORT = 'classifier.h…tion.linear';
const LABELS = [
  'features.conv1',
  'features.bn1',
  'features.relu1',
  'features.pool1',
  'features.conv2',
  'features.bn2',
  'features.relu2',
  'features.pool2',
  'features.conv3',
  'features.relu3',
  'classifier.fc1',
  LONG_SHORT,
];
// The figures' layouts and traces are nested plotly JSON with no type beyond Record<string, unknown>: the tests read
// them by path (L(fig).xaxis.title.text) and the assertions check the leaves.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped plotly JSON, read by path (see above)
type Spec = Record<string, any>;
const L = (fig: PlotFigure) => fig.layout as Spec;
const T = (t: Trace) => t as Spec;

/** Every number in the spec is finite (no NaN / Infinity), and the spec survives JSON unchanged. */
function assertClean(fig: PlotFigure | null, what: string): void {
  if (!fig) return;
  const walk = (v: unknown, at: string): void => {
    if (typeof v === 'number') assert.ok(Number.isFinite(v), `${what}: ${at} is ${v}`);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
  };
  walk(fig, what);
  assert.deepEqual(JSON.parse(JSON.stringify(fig)), fig, `${what} round-trips through JSON`);
}

// ---- synthetic results -------------------------------------------------------------------------------------------

/** A result over n layers with every analysis (single checkpoint noise SVD unless `epochs`). */
function synthetic(n: number, o: { label?: (i: number) => string } = {}): AnalysisResult {
  const layers: LayerRef[] = Array.from({ length: n }, (_, i) => ({
    tensor: `t${i}`,
    label: o.label ? o.label(i) : `blocks.${i}.conv`,
    op: 'Conv',
    shape: [8, 4, 4],
    params: 100 + i,
    index: i,
  }));
  const tensors = layers.map((l) => l.tensor);
  const mat = (f: (i: number, j: number) => number | null): LayerMatrix => ({
    rows: tensors,
    cols: tensors,
    values: tensors.map((_, i) => tensors.map((_, j) => f(i, j))),
  });
  const sym = mat((i, j) => (i === j ? 1 : 1 / (1 + Math.abs(i - j))));
  const stat = (m: number) => ({ mean: m, std: 0.01 });
  return {
    schema: 'replens.result/2',
    createdAt: '2025-01-01T00:00:00Z',
    tool: { name: 'replens', version: '0.0.0' },
    model: { path: '/m.onnx', name: 'm.onnx', sha256: '0'.repeat(64), opset: 17, params: 1 },
    dataset: { identity: 'd', description: 'd', samples: 100, hasLabels: true },
    settings: {
      analyses: ['summary', 'rra', 'similarity', 'selectivity', 'noise-svd'],
      samples: 100,
      seed: 0,
      batchSize: 8,
    },
    layers,
    analyses: {
      summary: {
        perLayer: layers.map((l, i) => ({
          tensor: l.tensor,
          mean: 0.1,
          std: 1,
          sparsity: (i % 10) / 10,
          channels: 8,
          deadChannels: i % 3,
        })),
      },
      rra: {
        k: 5,
        samples: 100,
        rule: 'r',
        poolings: ['avg2', 'maxglobal'],
        nnls: sym,
        perLayer: layers.map((l, i) => ({
          tensor: l.tensor,
          id: { twonn: 5 + (i % 7), ml: 6, dropped: 0 },
          nncs: 0.5,
          multiScale: { avg2: 0.6, maxglobal: 0.7 },
        })),
      },
      similarity: { cka: sym, svcca: sym, pwcca: sym, ckaMethod: 'gram' },
      selectivity: {
        perLayer: layers.map((l) => ({
          tensor: l.tensor,
          mean: 0.3,
          median: 0.3,
          histogram: { edges: [0, 1], counts: [3] },
          perUnit: [0.1, 0.3, 0.5],
        })),
      },
      'noise-svd': {
        settings: { sigmas: [0.1], groupSize: 4, seed: 0, centre: true, clip: null, images: 10 },
        series: (['train', 'test'] as const).map((split) => ({
          checkpoint: 'final.onnx',
          epoch: null,
          split,
          layers: layers.map((l) => ({
            tensor: l.tensor,
            features: 128,
            cells: [
              {
                sigma: 0.1,
                label: -1,
                images: 10,
                ev1: stat(0.5),
                ev2: stat(0.2),
                rest: stat(0.3),
                s1: stat(2),
                spectrum: [0.5, 0.2, 0.3],
              },
            ],
          })),
        })),
      },
    },
    timings: {},
    notes: [],
    complete: true,
  };
}

// ---- depth curves ------------------------------------------------------------------------------------------------

test('depthCurves: TwoNN and ML ID on the left axis, NNCS on the right, x = layer labels in depth order', () => {
  const fig = depthCurves(R, light)!;
  assert.equal(fig.data.length, 3);
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['ID (TwoNN)', 'ID (ML)', 'NNCS (k=10)'],
  );
  for (const t of fig.data) assert.deepEqual(T(t).x, LABELS);
  assert.deepEqual(
    fig.data.map((t) => T(t).yaxis),
    [undefined, undefined, 'y2'],
  );
  const rra = R.analyses.rra!;
  assert.deepEqual(
    T(fig.data[0]).y,
    rra.perLayer.map((l) => l.id!.twonn),
  );
  assert.deepEqual(
    T(fig.data[2]).y,
    rra.perLayer.map((l) => l.nncs),
  );
  // the undefined ML estimate of the last layer stays a gap
  assert.equal(T(fig.data[1]).y[11], null);
  assert.equal(T(fig.data[1]).connectgaps, false);
  assert.equal(L(fig).xaxis.title.text, 'layer (depth order)');
  assert.equal(L(fig).yaxis.title.text, 'intrinsic dimension');
  assert.equal(L(fig).yaxis2.title.text, 'NNCS');
  assert.equal(L(fig).yaxis2.overlaying, 'y');
  assert.equal(L(fig).xaxis.type, 'category');
  // hover: the full label, the value, the dropped points
  assert.equal(T(fig.data[1]).hovertext[11], `<b>${LONG}</b><br>ID (ML): n/a<br>points dropped: 3`);
  assert.equal(T(fig.data[2]).hovertext[0], '<b>features.conv1</b><br>NNCS (k=10): 0.342');
  assertClean(fig, 'depth');
});

test('depthCurves: the depth order comes from the LayerRefs, not from the order in perLayer', () => {
  const r = load();
  r.analyses.rra!.perLayer.reverse();
  const fig = depthCurves(r, light)!;
  assert.deepEqual(T(fig.data[0]).x, LABELS);
  assert.deepEqual(
    T(fig.data[2]).y,
    load().analyses.rra!.perLayer.map((l) => l.nncs),
  );
});

test('depthCurves: no labels (NNCS all null) leaves the NNCS trace and axis out', () => {
  const r = load();
  for (const l of r.analyses.rra!.perLayer) l.nncs = null;
  const fig = depthCurves(r, light)!;
  assert.equal(fig.data.length, 2);
  assert.equal(L(fig).yaxis2, undefined);
});

// ---- heatmaps ----------------------------------------------------------------------------------------------------

test('similarityHeatmaps: NNLS, CKA, debiased CKA, SVCCA, PWCCA, each one heatmap over the layer labels', () => {
  const hs = similarityHeatmaps(R, light);
  assert.deepEqual(
    hs.map((h) => h.id),
    ['nnls', 'cka', 'cka-debiased', 'svcca', 'pwcca'],
  );
  assert.deepEqual(
    hs.map((h) => h.title),
    ['NNLS (k=10)', 'Linear CKA (feature)', 'Debiased linear CKA', 'SVCCA', 'PWCCA'],
  );
  for (const h of hs) {
    assert.equal(h.figure.data.length, 1);
    const t = T(h.figure.data[0]);
    assert.equal(t.type, 'heatmap');
    assert.deepEqual(t.x, LABELS);
    assert.deepEqual(t.y, LABELS);
    assert.deepEqual([t.zmin, t.zmax, t.zauto], [0, 1, false]);
    assert.equal(t.hovertemplate, '%{text}<extra></extra>');
    const lay = L(h.figure);
    assert.equal(lay.yaxis.autorange, 'reversed', 'first layer on top');
    assert.equal(lay.yaxis.scaleanchor, 'x', 'square cells');
    assert.equal(lay.yaxis.scaleratio, 1);
    assertClean(h.figure, h.id);
  }
  // a known cell: every digit in z, 3 significant digits in the hover, full labels
  const nnls = T(hs[0].figure.data[0]);
  const v = R.analyses.rra!.nnls.values[1][4]!;
  assert.equal(v, 0.1928868, 'the fixture has many digits');
  assert.equal(nnls.z[1][4], v);
  assert.equal(nnls.text[1][4], 'features.bn1 ↔ features.conv2: 0.193');
  assert.equal(nnls.text[11][0], `${LONG} ↔ features.conv1: ${sig3(R.analyses.rra!.nnls.values[11][0])}`);
  // the undefined PWCCA pair stays null (a grey gap), its hover says so
  const pw = T(hs[4].figure.data[0]);
  assert.equal(pw.z[0][11], null);
  assert.equal(pw.z[11][0], null);
  assert.equal(pw.text[0][11], `features.conv1 ↔ ${LONG}: n/a`);
  assert.equal(L(hs[4].figure).plot_bgcolor, gapColour(light));
});

test('compareHeatmaps: rows are this model, columns the compared model, titled with both', () => {
  const hs = compareHeatmaps(R, light);
  assert.deepEqual(
    hs.map((h) => h.id),
    ['compare-nnls', 'compare-cka', 'compare-svcca', 'compare-pwcca'],
  );
  const t = T(hs[1].figure.data[0]);
  assert.deepEqual(t.y, LABELS);
  assert.deepEqual(t.x, LABELS); // the compared model has the same architecture (its own tensor names)
  assert.equal(L(hs[1].figure).yaxis.title.text, 'model.onnx');
  assert.equal(L(hs[1].figure).xaxis.title.text, 'seed1/model.onnx');
  assert.equal(R.analyses.similarity!.compare!.cka.values[2][3], 0.7014758);
  assert.equal(t.text[2][3], 'features.relu1 ↔ features.pool1: 0.701');
  // without a compare block: nothing
  const r = load();
  delete r.analyses.similarity!.compare;
  delete r.analyses.rra!.interModel;
  assert.deepEqual(compareHeatmaps(r, light), []);
});

test('layerHeatmap: NaN and missing cells become null; a rectangular matrix; markup in labels is escaped', () => {
  const r = synthetic(3, { label: (i) => (i === 1 ? 'blk<1>&x' : `l${i}`) });
  const m: LayerMatrix = {
    rows: ['t0', 't1'],
    cols: ['t0', 't1', 't2'],
    values: [[1, NaN, 0.5], [0.25]] as (number | null)[][],
  };
  const fig = layerHeatmap(m, r, light, { metric: 'X' })!;
  const t = T(fig.data[0]);
  assert.deepEqual(t.z, [
    [1, null, 0.5],
    [0.25, null, null],
  ]);
  assert.deepEqual(t.y, ['l0', 'blk&lt;1&gt;&amp;x']);
  assert.equal(t.text[1][0], 'blk&lt;1&gt;&amp;x ↔ l0: 0.25');
  assert.equal(t.text[0][1], 'l0 ↔ blk&lt;1&gt;&amp;x: n/a');
  assertClean(fig, 'rect');
  assert.equal(layerHeatmap(undefined, r, light, { metric: 'X' }), null);
  assert.equal(layerHeatmap({ rows: [], cols: [], values: [] }, r, light, { metric: 'X' }), null);
});

// ---- multi-scale -------------------------------------------------------------------------------------------------

test('multiScaleChart: one line per pooling plus the unpooled NNCS; layers without spatial dims are gaps', () => {
  const fig = multiScaleChart(R, light)!;
  assert.equal(fig.data.length, 7);
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['unpooled', 'avg 2', 'max 2', 'avg 4', 'max 4', 'avg global', 'max global'],
  );
  const avg2 = T(fig.data[1]);
  assert.deepEqual(avg2.x, LABELS);
  assert.deepEqual(avg2.y.slice(10), [null, null]);
  assert.equal(avg2.y[0], R.analyses.rra!.perLayer[0].multiScale!.avg2);
  // same window, same colour; max dotted
  assert.equal(T(fig.data[1]).line.color, T(fig.data[2]).line.color);
  assert.notEqual(T(fig.data[1]).line.color, T(fig.data[3]).line.color);
  assert.deepEqual([T(fig.data[1]).line.dash, T(fig.data[2]).line.dash], ['solid', 'dot']);
  assert.equal(L(fig).yaxis.title.text, 'NNCS (k=10)');
  assertClean(fig, 'multiscale');
  const r = load();
  r.analyses.rra!.poolings = [];
  assert.equal(multiScaleChart(r, light), null);
});

// ---- selectivity -------------------------------------------------------------------------------------------------

test('selectivityChart: one box trace over all units (x = layer per unit) and the mean line', () => {
  const fig = selectivityChart(R, light)!;
  assert.equal(fig.data.length, 2);
  const [box, mean] = fig.data.map(T);
  assert.equal(box.type, 'box');
  const sel = R.analyses.selectivity!.perLayer;
  assert.equal(
    box.y.length,
    sel.reduce((a, l) => a + l.perUnit.length, 0),
  );
  assert.equal(box.x.filter((x: string) => x === 'features.conv2').length, 64);
  assert.deepEqual(mean.x, LABELS);
  assert.deepEqual(
    mean.y,
    sel.map((l) => l.mean),
  );
  assert.match(mean.hovertext[4], /^<b>features\.conv2<\/b><br>mean: [\d.]+<br>median: [\d.]+<br>units: 64$/);
  assert.equal(mean.hovertext[4].split('<br>')[1], `mean: ${sig3(sel[4].mean)}`);
  assert.equal(L(fig).yaxis.title.text, 'selectivity');
  // the box statistics plotly writes itself: 3 significant digits too
  assert.equal(L(fig).yaxis.hoverformat, '.3~g');
  assertClean(fig, 'selectivity');
});

// ---- noise SVD ---------------------------------------------------------------------------------------------------

test('noiseSvdChart: 3 checkpoints with epochs → x = epoch; a line per (layer, σ, split) in EV1/EV2/rest each', () => {
  assert.equal(noiseSvdMode(R), 'epoch');
  const fig = noiseSvdChart(R, light)!;
  // 4 layers × 2 σ × 2 splits × 3 panels
  assert.equal(fig.data.length, 48);
  // one legend entry per layer; a layer's 12 lines (σ × split × panel) share its legend group
  const legend = fig.data.filter((t) => T(t).showlegend !== false).map((t) => t.name);
  assert.deepEqual(legend, ['features.conv1', 'features.conv2', 'features.conv3', 'classifier.fc1']);
  for (const name of legend) assert.equal(fig.data.filter((t) => T(t).legendgroup === name).length, 12);
  assert.equal(
    L(fig).legend.title.text,
    'layer (click to hide)<br>● σ=0.1  ■ σ=0.5<br>solid: test, dotted: train',
    'the legend title keys σ (marker) and split (line)',
  );
  const first = fig.data.slice(0, 3).map(T);
  assert.deepEqual(
    first.map((t) => t.yaxis),
    ['y', 'y2', 'y3'],
  );
  assert.ok(first.every((t) => t.legendgroup === 'features.conv1'));
  assert.deepEqual(first[0].x, [1, 10, 30]);
  // whole epochs only: a linear integer step (≤ 8 ticks over epochs 1–30), integer labels
  assert.deepEqual(
    [L(fig).xaxis.tickmode, L(fig).xaxis.tick0, L(fig).xaxis.dtick, L(fig).xaxis.tickformat],
    ['linear', 0, 5, 'd'],
  );
  // the hover names layer, σ and split (the legend no longer does), values at 3 significant digits
  assert.match(
    first[0].hovertext[0],
    /^<b>features\.conv1 σ=0\.1 \(test\)<\/b><br>epoch 1<br>EV₁: [\d.]+ ± [\d.]+<br>images: /,
  );
  for (const t of fig.data.map(T))
    for (const h of t.hovertext as string[])
      for (const num of h.match(/\d+\.\d+/g) ?? [])
        assert.ok(num.replace(/^0\.0*/, '').replace('.', '').length <= 3, h);
  // values: the all-images cell (label −1) of that σ, per checkpoint in epoch order
  const cell = (ck: string, split: string, sigma: number) =>
    R.analyses['noise-svd']!.series.find((s) => s.checkpoint === ck && s.split === split)!.layers[0].cells.find(
      (c) => c.sigma === sigma && c.label === -1,
    )!;
  assert.deepEqual(
    first[0].y,
    ['epoch01.onnx', 'epoch10.onnx', 'epoch30.onnx'].map((ck) => cell(ck, 'test', 0.1).ev1.mean),
  );
  assert.deepEqual(
    first[2].y,
    ['epoch01.onnx', 'epoch10.onnx', 'epoch30.onnx'].map((ck) => cell(ck, 'test', 0.1).rest.mean),
  );
  assert.equal(L(fig).xaxis.title.text, 'epoch');
  assert.deepEqual(
    [L(fig).yaxis.title.text, L(fig).yaxis2.title.text, L(fig).yaxis3.title.text],
    ['EV₁', 'EV₂', 'Σ EVⱼ, j≥3'],
  );
  // split by dash, σ by marker, layer by colour
  assert.deepEqual([T(fig.data[0]).line.dash, T(fig.data[3]).line.dash], ['solid', 'dot']);
  assert.deepEqual([T(fig.data[0]).marker.symbol, T(fig.data[6]).marker.symbol], ['circle', 'square']);
  assert.equal(T(fig.data[0]).line.color, T(fig.data[11]).line.color);
  assert.notEqual(T(fig.data[0]).line.color, T(fig.data[12]).line.color);
  assertClean(fig, 'noise-svd');
});

test('noiseSvdChart: one checkpoint → x = layer depth, one line per (σ, split); a missing cell is a gap', () => {
  const r = synthetic(5);
  r.analyses['noise-svd']!.series[1].layers.splice(2, 1); // the test split lacks layer t2
  assert.equal(noiseSvdMode(r), 'depth');
  const fig = noiseSvdChart(r, light)!;
  assert.equal(fig.data.length, 6); // 1 σ × 2 splits × 3 panels
  // one legend entry per σ, both splits in its group; the title keys the split
  assert.deepEqual(
    fig.data.filter((t) => T(t).showlegend !== false).map((t) => t.name),
    ['σ=0.1'],
  );
  assert.ok(fig.data.every((t) => T(t).legendgroup === 'σ=0.1'));
  assert.equal(L(fig).legend.title.text, 'σ (click to hide)<br>solid: test, dotted: train');
  assert.equal(T(fig.data[3]).hovertext[0].split('<br>')[0], '<b>blocks.0.conv σ=0.1 (train)</b>');
  assert.deepEqual(T(fig.data[0]).x, [
    'blocks.0.conv',
    'blocks.1.conv',
    'blocks.2.conv',
    'blocks.3.conv',
    'blocks.4.conv',
  ]);
  assert.deepEqual(T(fig.data[0]).y, [0.5, 0.5, null, 0.5, 0.5]);
  assert.equal(L(fig).xaxis.title.text, 'layer (depth order)');
  assertClean(fig, 'noise-svd depth');
});

test('noiseSvdChart: checkpoints without epochs → x = checkpoint names', () => {
  const r = load();
  for (const s of r.analyses['noise-svd']!.series) s.epoch = null;
  assert.equal(noiseSvdMode(r), 'checkpoint');
  const fig = noiseSvdChart(r, light)!;
  assert.deepEqual(T(fig.data[0]).x, ['epoch01.onnx', 'epoch10.onnx', 'epoch30.onnx']);
  assert.equal(L(fig).xaxis.title.text, 'checkpoint');
  assert.equal(L(fig).xaxis.dtick, undefined, 'category axis: no epoch ticks');
  assert.equal(fig.data.filter((t) => T(t).showlegend !== false).length, 4, 'one legend entry per layer');
});

test('noiseSvdChart: 7 layers × 3 σ × 2 splits over 5 epochs → 7 legend entries and whole-epoch ticks', () => {
  const r = synthetic(7);
  const ns = r.analyses['noise-svd']!;
  ns.settings.sigmas = [0.05, 0.1, 0.2];
  const base = ns.series[0];
  const cell = base.layers[0].cells[0];
  ns.series = [0, 1, 2, 3, 4].flatMap((e) =>
    (['train', 'test'] as const).map((split) => ({
      ...base,
      checkpoint: `epoch${e}.onnx`,
      epoch: e,
      split,
      layers: base.layers.map((l) => ({ ...l, cells: ns.settings.sigmas.map((sigma) => ({ ...cell, sigma })) })),
    })),
  );
  assert.equal(noiseSvdMode(r), 'epoch');
  const fig = noiseSvdChart(r, light)!;
  assert.equal(fig.data.length, 7 * 3 * 2 * 3);
  assert.equal(fig.data.filter((t) => T(t).showlegend !== false).length, 7);
  assert.match(L(fig).legend.title.text, /<br>● σ=0\.05 {2}■ σ=0\.1 {2}◆ σ=0\.2<br>/);
  // epochs 0–4: a tick per epoch, never a fractional one
  assert.deepEqual([L(fig).xaxis.tickmode, L(fig).xaxis.dtick, L(fig).xaxis.tickformat], ['linear', 1, 'd']);
});

test('epochTicks: whole-epoch steps of 1, 2 or 5 × 10ⁿ, ≤ 8 intervals; fractional epochs: plotly ticks', () => {
  const step = (xs: number[]) => epochTicks(xs).dtick;
  assert.equal(step([3]), 1);
  assert.equal(step([1, 2, 3, 4, 5, 6, 7, 8, 9]), 1);
  assert.equal(step([0, 10]), 2);
  assert.equal(step([1, 10, 30]), 5);
  assert.equal(step([0, 50]), 10);
  assert.equal(step([0, 200]), 50);
  assert.equal(step([0, 1000]), 200);
  assert.deepEqual(epochTicks([0.5, 1, 1.5]), {});
  assert.deepEqual(epochTicks([]), {});
});

// ---- summary -----------------------------------------------------------------------------------------------------

test('summaryChart: sparsity and dead channels (a share of the layer) as bars in two panels', () => {
  const fig = summaryChart(R, light)!;
  assert.equal(fig.data.length, 2);
  assert.deepEqual(
    fig.data.map((t) => [t.type, t.name, T(t).yaxis]),
    [
      ['bar', 'sparsity', 'y'],
      ['bar', 'dead channels', 'y2'],
    ],
  );
  const s = R.analyses.summary!.perLayer;
  assert.deepEqual(
    T(fig.data[0]).y,
    s.map((l) => l.sparsity),
  );
  assert.deepEqual(
    T(fig.data[1]).y,
    s.map((l) => l.deadChannels / l.channels),
  );
  assert.deepEqual(T(fig.data[1]).x, LABELS);
  assert.equal(
    T(fig.data[1]).hovertext[9],
    `<b>features.relu3</b><br>dead channels: ${s[9].deadChannels} of 128 (10.9&#37;)`,
  );
  assert.equal(L(fig).yaxis.tickformat, '.0%');
  assert.equal(L(fig).yaxis2.title.text, 'dead channels (share)');
  assert.equal(L(fig).yaxis2.tickformat, '.0%');
  assert.deepEqual(L(fig).annotations, [], 'no layer is not applicable');
  assert.equal(
    T(fig.data[0]).hovertext[0].split('<br>')[1],
    `sparsity: ${sig3(s[0].sparsity * 100)}&#37;`,
    'the % escaped for plotly',
  );
  assertClean(fig, 'summary');
});

// ---- all builders: missing analyses, sizes, nulls, themes -------------------------------------------------------

test('reportCharts: every chart of the fixture, in report order', () => {
  const cs = reportCharts(R, light);
  assert.deepEqual(
    cs.map((c) => c.id),
    [
      'depth',
      'multiscale',
      'nnls',
      'cka',
      'cka-debiased',
      'svcca',
      'pwcca',
      'compare-nnls',
      'compare-cka',
      'compare-svcca',
      'compare-pwcca',
      'selectivity',
      'noise-svd',
      'summary',
    ],
  );
  assert.deepEqual(
    cs.map((c) => c.figure.data.length),
    [3, 7, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 48, 2],
  );
});

test('every hover of every chart shows numbers with at most 3 significant digits', () => {
  const r = load();
  // a value with many digits in each kind of chart
  r.analyses.rra!.nnls.values[1][4] = 0.626365079365079;
  r.analyses.rra!.perLayer[0].id!.twonn = 7.123456;
  r.analyses.summary!.perLayer[0].mean = 0.123456789;
  let hovers = 0;
  for (const c of reportCharts(r, light)) {
    for (const t of c.figure.data.map(T)) {
      const texts: string[] = [t.hovertext, t.text].flat(2).filter((x) => typeof x === 'string');
      hovers += texts.length;
      for (const h of texts)
        for (const num of h.match(/\d+\.\d+/g) ?? [])
          assert.ok(num.replace(/^0\.0*/, '').replace('.', '').length <= 3, `${c.id}: ${num} in ${h}`);
    }
  }
  assert.ok(hovers > 500, `${hovers} hover texts checked`);
  const nnls = T(similarityHeatmaps(r, light)[0].figure.data[0]);
  assert.equal(nnls.text[1][4], 'features.bn1 ↔ features.conv2: 0.626');
  assert.match(T(depthCurves(r, light)!.data[0]).hovertext[0], /ID \(TwoNN\): 7\.12(<br>|$)/);
  assert.match(T(summaryChart(r, light)!.data[0]).hovertext[0], /mean: 0\.123, std: /);
});

test('the selectivity caption says what the boxes draw: whiskers to min and max (plotly, boxpoints false)', () => {
  const note = selectivityView.sections[0].note(R);
  assert.ok(note.includes(SELECTIVITY_BOXES));
  assert.match(note, /whiskers: the lowest and highest unit/);
  assert.doesNotMatch(note, /IQR/);
  // plotly draws whiskers to the 1.5·IQR fences only with sample points; without them, to min and max
  const box = T(selectivityChart(R, light)!.data[0]);
  assert.equal(box.type, 'box');
  assert.equal(box.boxpoints, false);
  assert.equal(box.sizemode, undefined, "quartile boxes (not 'sd')");
  assert.equal(box.lowerfence, undefined, 'no precomputed fences');
});

test('the noise-SVD caption explains the legend of its mode', () => {
  const note = (r: AnalysisResult) => noiseSvdView.sections[0].note(r);
  assert.match(note(R), /One legend entry per layer \(colour\); the marker is the noise level σ/);
  assert.match(note(R), /solid for the test split and dotted for train/);
  assert.match(note(synthetic(3)), /One legend entry per noise level σ \(colour and marker\)/);
  assert.match(similarityView.sections[0].note(R), /3 significant digits/);
});

test('missing analyses: every builder returns null, reportCharts returns nothing', () => {
  const r = load();
  r.analyses = {};
  delete r.compare;
  for (const f of [depthCurves, multiScaleChart, selectivityChart, noiseSvdChart, summaryChart])
    assert.equal(f(r, light), null, f.name);
  assert.deepEqual(similarityHeatmaps(r, light), []);
  assert.deepEqual(compareHeatmaps(r, light), []);
  assert.deepEqual(reportCharts(r, light), []);
  // empty analyses too
  const e = synthetic(0);
  assert.deepEqual(reportCharts(e, light), []);
  // only some analyses: the others are absent
  const s = load();
  delete s.analyses.similarity;
  delete s.analyses['noise-svd'];
  assert.deepEqual(
    reportCharts(s, light).map((c) => c.id),
    ['depth', 'multiscale', 'nnls', 'compare-nnls', 'selectivity', 'summary'],
  );
  // no debiased CKA: four within-model heatmaps
  const d = load();
  delete d.analyses.similarity!.ckaDebiased;
  assert.deepEqual(
    similarityHeatmaps(d, light).map((h) => h.id),
    ['nnls', 'cka', 'svcca', 'pwcca'],
  );
});

test('a single layer and 60 layers: every chart builds, labels unique, no NaN', () => {
  for (const n of [1, 60]) {
    const r = synthetic(n);
    const cs = reportCharts(r, light);
    assert.deepEqual(
      cs.map((c) => c.id),
      ['depth', 'multiscale', 'nnls', 'cka', 'svcca', 'pwcca', 'selectivity', 'noise-svd', 'summary'],
      `n=${n}`,
    );
    for (const c of cs) {
      assertClean(c.figure, `${c.id} n=${n}`);
      for (const t of c.figure.data) {
        const x = T(t).x as unknown[];
        if (t.type !== 'box' && Array.isArray(x) && typeof x[0] === 'string')
          assert.equal(new Set(x).size, x.length, `${c.id} n=${n}: unique x`);
      }
    }
    const h = T(cs[2].figure.data[0]);
    assert.equal(h.z.length, n);
    assert.equal(h.z[0].length, n);
    // every layer keeps a labelled row (the figure grows; test/heatmap-size.test.ts measures it)
    assert.equal(L(cs[2].figure).yaxis.tickvals.length, n);
  }
});

test('duplicate and long labels: shortened in the middle and made unique; the full name stays in the hover', () => {
  const r = synthetic(3, { label: (i) => (i < 2 ? 'encoder.blocks.0.attention.projection.out' : 'x') });
  const fig = depthCurves(r, light)!;
  assert.deepEqual(T(fig.data[0]).x, ['encoder.bloc…jection.out #0', 'encoder.bloc…jection.out #1', 'x']);
  assert.match(T(fig.data[0]).hovertext[0], /^<b>encoder\.blocks\.0\.attention\.projection\.out<\/b>/);
  assert.deepEqual(uniqueLabels(['a<b', 'a<b']), ['a&lt;b #0', 'a&lt;b #1']);
});

test('nulls and NaN in the result are gaps (null), never zeros', () => {
  const r = load();
  r.analyses.rra!.perLayer[3].id = null;
  r.analyses.rra!.perLayer[4].nncs = NaN;
  r.analyses.summary!.perLayer[2].sparsity = NaN;
  r.analyses.selectivity!.perLayer[1].perUnit[0] = NaN;
  r.analyses.selectivity!.perLayer[1].mean = NaN;
  const d = depthCurves(r, light)!;
  assert.equal(T(d.data[0]).y[3], null);
  assert.equal(T(d.data[1]).y[3], null);
  assert.equal(T(d.data[2]).y[4], null);
  assert.equal(T(summaryChart(r, light)!.data[0]).y[2], null);
  const s = selectivityChart(r, light)!;
  assert.equal(T(s.data[1]).y[1], null);
  assert.equal(T(s.data[0]).y.length, R.analyses.selectivity!.perLayer.reduce((a, l) => a + l.perUnit.length, 0) - 1);
  for (const c of reportCharts(r, light)) assertClean(c.figure, c.id);
});

test('themes: light and dark change backgrounds, fonts, series colours and the gap colour, not the data', () => {
  const a = reportCharts(R, light),
    b = reportCharts(R, dark);
  for (let i = 0; i < a.length; i++) {
    assert.equal(L(a[i].figure).paper_bgcolor, light.background);
    assert.equal(L(b[i].figure).paper_bgcolor, dark.background);
    assert.equal(L(a[i].figure).font.color, light.foreground);
    assert.equal(L(b[i].figure).font.color, dark.foreground);
    assert.equal(L(b[i].figure).hoverlabel.bgcolor, dark.hoverBackground);
    assert.deepEqual(
      a[i].figure.data.map((t) => T(t).y ?? T(t).z),
      b[i].figure.data.map((t) => T(t).y ?? T(t).z),
    );
  }
  const la = depthCurves(R, light)!,
    da = depthCurves(R, dark)!;
  assert.notEqual(T(la.data[0]).line.color, T(da.data[0]).line.color);
  assert.equal(L(da).xaxis.gridcolor, dark.grid);
  assert.notEqual(gapColour(light), gapColour(dark));
  // the heatmap colour scale and range are the same in both themes
  assert.deepEqual(T(a[2].figure.data[0]).colorscale, T(b[2].figure.data[0]).colorscale);
});

// ---- the overview table and the HTML renderer -------------------------------------------------------------------

test('overviewRows: one row per layer in depth order, text and sort keys, nulls as — and sorted last', () => {
  const rows = overviewRows(R);
  assert.equal(rows.length, 12);
  assert.deepEqual(
    OVERVIEW_COLUMNS.map((c) => c.key),
    ['index', 'label', 'op', 'shape', 'params', 'id', 'nncs', 'selectivity', 'sparsity', 'dead'],
  );
  const r4 = rows[4].cells;
  assert.deepEqual(
    [r4.label.text, r4.op.text, r4.shape.text, r4.params.text, r4.nncs.text],
    ['features.conv2', 'Conv', '64×16×16', '18,496', '0.468'],
  );
  assert.equal(r4.dead.text, '0 / 64');
  assert.equal(rows[11].cells.label.text, LONG);
  const r = load();
  delete r.analyses.selectivity;
  assert.deepEqual(overviewRows(r)[0].cells.selectivity, { text: '—', sort: null });
  assert.deepEqual(
    [3, null, 1].sort((a, b) => compareSort(a, b, 'desc')),
    [3, 1, null],
  );
  assert.deepEqual(
    [3, null, 1].sort((a, b) => compareSort(a, b, 'asc')),
    [1, 3, null],
  );
});

test('renderReport: CSP with the nonce, no external resources, the result as an escaped JSON block, the table', () => {
  const r = load();
  r.notes.push('</script><script>alert(1)</script> <!-- x');
  const html = renderReport(r, {
    plotlyJs: 'var a = "</script>"; /<!--/.test(a);',
    reportJs: 'console.log("page")\n//# sourceMappingURL=report.js.map',
    theme: 'dark',
    nonce: 'N0nce',
  });
  assert.ok(
    html.includes(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; ` +
        `style-src 'unsafe-inline'; script-src 'nonce-N0nce'; font-src data:;">`,
    ),
  );
  assert.equal((html.match(/<script nonce="N0nce">/g) ?? []).length, 2);
  assert.equal((html.match(/<script\b/g) ?? []).length, 3, 'two page scripts and the data block, nothing injected');
  assert.ok(!/\b(src|href)="(https?:)?\/\//.test(html), 'no external resources');
  assert.ok(!html.includes('sourceMappingURL'));
  assert.match(html, /<html lang="en" data-theme="dark"/);
  const block = /<script type="application\/json" id="replens-result">([^]*?)<\/script>/.exec(html)![1];
  assert.deepEqual(JSON.parse(block), r);
  assert.equal((html.match(/<tr data-tensor=/g) ?? []).length, 12);
  assert.match(html, /&lt;\/script&gt;&lt;script&gt;alert\(1\)/, 'notes are escaped in the header');
  for (const id of reportCharts(R, light).map((c) => c.id)) assert.ok(html.includes(`id="chart-${id}"`), id);
  assert.equal(scriptForInline('x="</SCRIPT>"; y=/<!--/'), 'x="\\x3C/SCRIPT>"; y=/\\x3C!--/');
  assert.equal(jsonForScript({ a: '</script>' }), '{"a":"\\u003c/script>"}');
});

test('readReportBundle: a clear error when dist/webview/report.js has not been built', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-report-root-'));
  assert.throws(() => readReportBundle(dir), /report\.js is missing: build it with `npm run build`/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('overview rows and layers.csv mark sparsity and dead channels not applicable for signed layers (logits)', () => {
  const r = load();
  const s = r.analyses.summary!.perLayer[4];
  s.sparsityNotApplicable = 'signed values (min -3.2): not a ReLU-like layer';
  const cells = overviewRows(r).find((row) => row.tensor === s.tensor)!.cells;
  assert.deepEqual(
    [cells.sparsity, cells.dead],
    [
      { text: '—', sort: null },
      { text: '—', sort: null },
    ],
  );
  const line = layersCsv(r)
    .split('\n')
    .find((l) => l.startsWith(`${r.layers.find((l) => l.tensor === s.tensor)!.label},`))!;
  assert.match(line, /,,$/, 'no value: empty CSV cells');
});
