// A comparison shows both models (issue 15): the per-layer charts overlay the compared model's own analyses
// (compare.analyses) and the layer table shows its values, on the same layer axis / rows for the same layers and on
// relative depth / a second table for another architecture; results without compare.analyses draw as before. The
// fixtures (test/helpers/compare-fixtures.ts) shift the model's numbers by known amounts, so B's expected values are
// computed here from the model's, independently of the views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { AnalysisResult } from '../src/shared/result';
import { depthCurves, multiScaleChart, selectivityChart, summaryChart, type Trace } from '../webview/charts/analysis';
import { comparedResult, depthMode, pairedTensors, sameLayers } from '../webview/charts/models';
import { DEFAULT_DARK, DEFAULT_LIGHT } from '../webview/charts/theme';
import {
  OVERVIEW_COLUMNS,
  REPORT_SECTIONS,
  compareSort,
  compareTable,
  overviewColumns,
  overviewRows,
  reportCharts,
  tableSparklines,
} from '../webview/views/registry';
import { layersCsv, writeResultFiles } from '../src/report/files';
import { formatTable } from '../src/cli/analyze';
import { renderReport } from '../src/report/report';
import { B_MISSING_RRA, OTHER_LABELS, SHIFT, loadSample, otherArch, sameArch } from './helpers/compare-fixtures';
import { tempDir } from './helpers/tmp';

const light = DEFAULT_LIGHT;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped plotly JSON, read by path
type Spec = Record<string, any>;
const T = (t: Trace) => t as Spec;
const A_TITLE = 'A: model.onnx',
  B_TITLE = 'B: seed1/model.onnx';
/** A trace without the comparison's additions: what the single-model chart draws. */
const plain = (t: Trace) => {
  const { legendgroup: _g, legendgrouptitle: _t, ...rest } = T(t);
  return rest;
};
const close = (a: (number | null)[], b: (number | null)[]) => {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => (v === null ? assert.equal(b[i], null, `[${i}]`) : assert.ok(Math.abs(v - b[i]!) < 1e-12)));
};

// ---- results without compare.analyses -----------------------------------------------------------------------------

test('without compare.analyses (older results, one model) every per-layer chart and the table are as before', () => {
  const r = loadSample();
  assert.equal(r.compare!.analyses, undefined);
  assert.equal(depthMode(r), 'single');
  assert.equal(compareTable(r), 'none');
  for (const f of [depthCurves, multiScaleChart, selectivityChart, summaryChart]) {
    const fig = f(r, light)!;
    assert.ok(
      fig.data.every((t) => t.legendgroup === undefined && t.legendgrouptitle === undefined),
      `${f.name}: no model groups`,
    );
    // an empty compare.analyses draws the same figure
    const e = loadSample();
    e.compare!.analyses = {};
    assert.deepEqual(f(e, light), fig, f.name);
  }
  assert.deepEqual(
    reportCharts(r, light).map((c) => c.figure.data.length),
    [3, 7, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 48, 2],
  );
  assert.equal(overviewColumns(r), OVERVIEW_COLUMNS);
  assert.deepEqual(overviewRows(r, 'compare'), []);
  assert.deepEqual(
    tableSparklines(r).map((s) => s.label),
    ['Selectivity dist.'],
  );
  assert.equal(
    REPORT_SECTIONS.find((s) => s.key === 'depth')!
      .note(r)
      .includes('Two models'),
    false,
  );
  const html = renderReport(r, { plotlyJs: '', reportJs: '', nonce: 'n', theme: 'light' });
  assert.ok(!html.includes('compare-table'));
  assert.ok(!html.includes('(B)'));
  assert.doesNotMatch(formatTable(r), /\(B\)|compared/);
});

// ---- the same layers: one layer axis, paired columns -------------------------------------------------------------

test('same layers: pairs by depth position, one layer axis', () => {
  const r = sameArch();
  assert.ok(sameLayers(r));
  assert.equal(depthMode(r), 'shared');
  assert.equal(compareTable(r), 'paired');
  const pairs = pairedTensors(r);
  assert.equal(pairs.size, 12);
  for (const [a, b] of pairs) assert.equal(b, `${a}@b`);
  // a compared model with one label renamed is another architecture
  const o = sameArch();
  o.compare!.layers[3].label = 'features.other';
  assert.equal(depthMode(o), 'relative');
  assert.equal(pairedTensors(o).size, 0);
});

test('same layers: depth curves draw both models on the layer axis, B dashed with open markers, gaps kept', () => {
  const r = sameArch();
  const fig = depthCurves(r, light)!;
  const single = depthCurves(loadSample(), light)!;
  assert.equal(fig.data.length, 6);
  assert.deepEqual(
    fig.data.map((t) => [t.name, t.legendgroup, T(t).legendgrouptitle.text]),
    [
      ['ID (TwoNN)', 'model', A_TITLE],
      ['ID (ML)', 'model', A_TITLE],
      ['NNCS (k=10)', 'model', A_TITLE],
      ['ID (TwoNN)', 'compare', B_TITLE],
      ['ID (ML)', 'compare', B_TITLE],
      ['NNCS (k=10)', 'compare', B_TITLE],
    ],
  );
  // model A's traces are the single-model chart's, grouped, the model named in the hover
  fig.data.slice(0, 3).forEach((t, i) => {
    const { hovertext, ...rest } = plain(t),
      { hovertext: was, ...then } = T(single.data[i]);
    assert.deepEqual(rest, then);
    assert.deepEqual(
      hovertext,
      was.map((h: string) => h.replace('</b><br>', `</b><br>${A_TITLE}<br>`)),
    );
  });
  const x = T(single.data[0]).x;
  for (const t of fig.data) assert.deepEqual(T(t).x, x);
  assert.equal(fig.layout.xaxis && (fig.layout.xaxis as Spec).type, 'category');
  const rra = loadSample().analyses.rra!.perLayer;
  const expect = (f: (i: number) => number | null) => rra.map((_, i) => (i === B_MISSING_RRA ? null : f(i)));
  close(
    T(fig.data[3]).y,
    expect((i) => rra[i].id!.twonn! + SHIFT.twonn),
  );
  close(
    T(fig.data[5]).y,
    expect((i) => rra[i].nncs! + SHIFT.nncs),
  );
  assert.equal(T(fig.data[3]).y[B_MISSING_RRA], null, 'the layer B lacks is a gap');
  assert.equal(T(fig.data[3]).connectgaps, false);
  // B: dashed where A is solid, dash-dotted where A is dotted; open markers; the same colour per metric
  assert.deepEqual(
    fig.data.map((t) => T(t).line.dash ?? 'solid'),
    ['solid', 'dot', 'solid', 'dash', 'dashdot', 'dash'],
  );
  assert.deepEqual(
    fig.data.slice(3).map((t) => T(t).marker.symbol),
    ['circle-open', 'square-open', 'circle-open'],
  );
  fig.data.slice(0, 3).forEach((t, i) => assert.equal(T(t).line.color, T(fig.data[i + 3]).line.color));
  assert.equal(T(fig.data[3]).hovertext[0], `<b>features.conv1</b><br>${B_TITLE}<br>ID (TwoNN): ${11.1}`);
  // room for the legend's three rows per model
  assert.ok((fig.layout.height as number) > (single.layout.height as number) + 40);
});

test('same layers: multi-scale, selectivity and summary draw both models', () => {
  const r = sameArch();
  const ms = multiScaleChart(r, light)!;
  assert.equal(ms.data.length, 14);
  assert.deepEqual(
    ms.data.slice(7).map((t) => t.name),
    ['unpooled', 'avg 2', 'max 2', 'avg 4', 'max 4', 'avg global', 'max global'],
  );
  // the same window, the same colour in both models; B's max dash-dotted
  ms.data.slice(0, 7).forEach((t, i) => assert.equal(T(t).line.color, T(ms.data[i + 7]).line.color));
  assert.deepEqual(
    ms.data.slice(7, 10).map((t) => T(t).line.dash),
    ['longdashdot', 'dash', 'dashdot'],
  );

  const sel = selectivityChart(r, light)!;
  assert.deepEqual(
    sel.data.map((t) => [t.type, t.name, t.legendgroup]),
    [
      ['box', 'per-unit selectivity', 'model'],
      ['scatter', 'mean', 'model'],
      ['box', 'per-unit selectivity', 'compare'],
      ['scatter', 'mean', 'compare'],
    ],
  );
  const units = loadSample().analyses.selectivity!.perLayer;
  assert.equal(
    T(sel.data[2]).y.length,
    units.reduce((n, l) => n + l.perUnit.length, 0),
  );
  assert.deepEqual(T(sel.data[2]).x, T(sel.data[0]).x, 'B’s units at the same layer categories');
  close(
    T(sel.data[3]).y,
    units.map((l) => l.mean + SHIFT.selectivity),
  );
  assert.equal(T(sel.data[2]).fillcolor, 'rgba(0,0,0,0)', 'B’s boxes hollow');
  assert.notEqual(T(sel.data[0]).fillcolor, 'rgba(0,0,0,0)');
  assert.equal(sel.layout.boxmode, 'group');
  assert.equal(selectivityChart(loadSample(), light)!.layout.boxmode, 'overlay');

  const sum = summaryChart(r, light)!;
  assert.deepEqual(
    sum.data.map((t) => [t.type, t.name, T(t).yaxis, t.legendgroup]),
    [
      ['bar', 'sparsity', 'y', 'model'],
      ['bar', 'dead channels', 'y2', 'model'],
      ['bar', 'sparsity', 'y', 'compare'],
      ['bar', 'dead channels', 'y2', 'compare'],
    ],
  );
  const s = loadSample().analyses.summary!.perLayer;
  close(
    T(sum.data[3]).y,
    s.map((l) => (l.deadChannels + SHIFT.dead) / l.channels),
  );
  close(
    T(sum.data[2]).y,
    s.map((l) => l.sparsity * SHIFT.sparsity),
  );
  assert.equal(T(sum.data[3]).marker.pattern.shape, '/', 'B hatched');
  assert.equal(T(sum.data[1]).marker.pattern, undefined);
  assert.equal(sum.layout.barmode, 'group');
});

test('same layers: the table pairs each view column with its (B) twin; sorts and exports B as numbers', () => {
  const r = sameArch();
  const cols = overviewColumns(r);
  assert.deepEqual(
    cols.map((c) => c.key),
    [
      ...['index', 'label', 'op', 'shape', 'params'],
      ...['id', 'id-b', 'nncs', 'nncs-b', 'selectivity', 'selectivity-b', 'sparsity', 'sparsity-b', 'dead', 'dead-b'],
    ],
  );
  assert.equal(cols.find((c) => c.key === 'id-b')!.label, 'ID (B)');
  assert.match(cols.find((c) => c.key === 'id-b')!.title, /— B: seed1\/model\.onnx$/);
  const rows = overviewRows(r);
  const a = loadSample();
  const rra = a.analyses.rra!.perLayer,
    sum = a.analyses.summary!.perLayer;
  rows.forEach((row, i) => {
    const want = i === B_MISSING_RRA ? null : rra[i].id!.twonn! + SHIFT.twonn;
    if (want === null) assert.deepEqual(row.cells['id-b'], { text: '—', sort: null });
    else {
      assert.ok(Math.abs((row.cells['id-b'].sort as number) - want) < 1e-12);
      assert.equal(row.cells['id-b'].text, want.toFixed(2));
    }
    assert.equal(row.cells['dead-b'].text, `${sum[i].deadChannels + SHIFT.dead} / ${sum[i].channels}`);
    assert.equal(row.cells.id.sort, rra[i].id!.twonn, 'A’s cells unchanged');
  });
  // sorted by ID (B), largest first: B's values in descending order, the missing one last
  const sorted = [...rows].sort((x, y) => compareSort(x.cells['id-b'].sort, y.cells['id-b'].sort, 'desc'));
  const keys = sorted.map((x) => x.cells['id-b'].sort);
  assert.equal(keys.at(-1), null);
  for (let i = 1; i < keys.length - 1; i++) assert.ok((keys[i - 1] as number) >= (keys[i] as number));
  // layers.csv: the (B) columns, unrounded
  const csv = layersCsv(r).trim().split('\n');
  const header = csv[0].split(',');
  assert.deepEqual(header.slice(4, 8), ['ID', 'ID (B)', 'NNCS', 'NNCS (B)']);
  assert.equal(Number(csv[1].split(',')[5]), rra[0].id!.twonn! + SHIFT.twonn);
  assert.equal(csv[1 + B_MISSING_RRA].split(',')[5], '');
  // the sparkline's twin reads B's histogram of the paired layer
  const sp = tableSparklines(r);
  assert.deepEqual(
    sp.map((s) => s.label),
    ['Selectivity dist.', 'Selectivity dist. (B)'],
  );
  const t0 = r.layers[0].tensor;
  assert.deepEqual(sp[1].counts(r, t0), a.analyses.selectivity!.perLayer[0].histogram.counts);
  // the terminal and the report say which model B is
  const table = formatTable(r).split('\n');
  assert.equal(table[0], '(B) = seed1/model.onnx');
  assert.match(table[1], /ID {2}ID \(B\)/);
  const html = renderReport(r, { plotlyJs: '', reportJs: '', nonce: 'n', theme: 'light' });
  assert.equal((/<table id="overview-table"[^]*?<\/thead>/.exec(html)![0].match(/<th /g) ?? []).length, 15);
  assert.match(html, /id="table-models">The “\(B\)” columns are seed1\/model\.onnx/);
  assert.ok(!html.includes('id="compare-table"'));
});

// ---- different architectures: relative depth, a second table ---------------------------------------------------

test('different layers: relative depth (position ÷ last position) on x, the layer in the hover, titled so', () => {
  const r = otherArch();
  assert.equal(depthMode(r), 'relative');
  const fig = depthCurves(r, light)!;
  assert.equal(fig.data.length, 6);
  const ax = fig.layout.xaxis as Spec;
  assert.equal(ax.type, 'linear');
  assert.match(ax.title.text, /^relative depth \(layer position ÷ last position; the models’ layers differ\)$/);
  // A: 12 layers at i / 11; B: LayerRef indices 10…40 are positions 0…3, at j / 3
  assert.deepEqual(
    T(fig.data[0]).x,
    Array.from({ length: 12 }, (_, i) => i / 11),
  );
  assert.deepEqual(T(fig.data[3]).x, [0, 1 / 3, 2 / 3, 1]);
  assert.deepEqual(T(fig.data[3]).y, [4, 5, 6, 7]);
  assert.equal(T(fig.data[3]).hovertext[1], '<b>block1</b><br>B: small.onnx<br>layer 2 of 4<br>ID (TwoNN): 5');
  assert.match(
    T(fig.data[0]).hovertext[11],
    /^<b>classifier\.head\.final_projection\.linear<\/b><br>A: model\.onnx<br>layer 12 of 12<br>/,
  );
  // a gap stays a gap: B's last layer has no avg 2
  const ms = multiScaleChart(r, light)!;
  const bAvg2 = ms.data.find((t) => t.legendgroup === 'compare' && t.name === 'avg 2')!;
  assert.deepEqual(T(bAvg2).y, [0.6, 0.6, 0.6, null]);
  // selectivity: B's three layers' units at their relative depth
  const sel = selectivityChart(r, light)!;
  assert.deepEqual(T(sel.data[2]).x, [0, 0, 0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3]);
  assert.equal((sel.layout.xaxis as Spec).type, 'linear');
  // summary: lines over relative depth (bars of two models would not line up); n/a marks where B is signed
  const sum = summaryChart(r, light)!;
  assert.deepEqual(
    sum.data.map((t) => t.type),
    ['scatter', 'scatter', 'scatter', 'scatter'],
  );
  assert.deepEqual(T(sum.data[3]).y, [0, 1 / 16, 2 / 16, null]);
  const marks = (sum.layout.annotations as Spec[]).filter((a) => a.x === 1);
  assert.deepEqual(
    marks.map((a) => [a.text, a.yref]),
    [
      ['n/a', 'y'],
      ['n/a', 'y2'],
    ],
  );
  // the captions say which model is which and why x is relative depth
  const note = REPORT_SECTIONS.find((s) => s.key === 'depth')!.note(r);
  assert.match(note, /A: model\.onnx, B: small\.onnx \(B dashed/);
  assert.match(note, /x is relative depth/);
});

test('different layers: the compared model gets a second table with the same columns (panel, report, CSV, CLI)', () => {
  const r = otherArch();
  assert.equal(compareTable(r), 'separate');
  assert.equal(overviewColumns(r), OVERVIEW_COLUMNS);
  assert.equal(overviewColumns(r, 'compare'), OVERVIEW_COLUMNS);
  const rows = overviewRows(r, 'compare');
  assert.deepEqual(
    rows.map((x) => x.cells.label.text),
    OTHER_LABELS,
  );
  assert.deepEqual(
    rows.map((x) => x.cells.index.sort),
    [10, 20, 30, 40],
  );
  assert.deepEqual(
    rows.map((x) => x.cells.id.text),
    ['4.00', '5.00', '6.00', '7.00'],
  );
  assert.deepEqual(
    rows.map((x) => x.cells.dead.text),
    ['0 / 16', '1 / 16', '2 / 16', '—'],
  );
  assert.deepEqual(rows[3].cells.selectivity, { text: '—', sort: null });
  // the model's own table is unchanged
  assert.deepEqual(overviewRows(r), overviewRows(loadSample()));
  assert.equal(comparedResult(r)!.model.name, 'small.onnx');
  // CSV: layers.csv as for one model, layers-compared.csv for B
  assert.equal(layersCsv(r), layersCsv(loadSample()));
  const csv = layersCsv(r, 'compare').trim().split('\n');
  assert.equal(csv.length, 5);
  assert.equal(csv[2], `block1,Relu,16×8×8,200,5,0.6,${0.2 + 0.1},0.4,1`);
  const dir = tempDir('replens-views-compare-');
  const files = writeResultFiles(r, dir).map((f) => path.basename(f));
  assert.ok(files.includes('layers-compared.csv'));
  assert.equal(fs.readFileSync(path.join(dir, 'layers-compared.csv'), 'utf8'), layersCsv(r, 'compare'));
  const same = tempDir('replens-views-compare-');
  assert.ok(!writeResultFiles(sameArch(), same).some((f) => f.endsWith('layers-compared.csv')));
  // the terminal: the model's table, then B's under its name
  const out = formatTable(r);
  assert.match(out, /^model\.onnx\n/);
  assert.match(out, /\n\nsmall\.onnx \(compared\)\nLayer +Op/);
  assert.match(out, /\nblock1 +Relu/);
  // the report: two tables, each sortable (data-numeric on the headers)
  const html = renderReport(r, { plotlyJs: '', reportJs: '', nonce: 'n', theme: 'light' });
  const second = /<table id="compare-table"[^]*?<\/table>/.exec(html)![0];
  assert.equal((second.match(/<tr data-tensor=/g) ?? []).length, 4);
  assert.match(second, /data-col="id" data-numeric="true"/);
  assert.match(html, /small\.onnx \(compared model\)/);
});

test('themes: both models stay apart in dark too (dash and markers, not colour alone)', () => {
  const r = sameArch();
  for (const theme of [DEFAULT_LIGHT, DEFAULT_DARK]) {
    const fig = depthCurves(r, theme)!;
    const style = (t: Trace) => `${T(t).line.dash ?? 'solid'} ${T(t).marker.symbol ?? 'circle'}`;
    for (let i = 0; i < 3; i++) assert.notEqual(style(fig.data[i]), style(fig.data[i + 3]));
  }
});

test('the summary: dead channels as a share of the layer, n/a layers marked, the count in the hover', () => {
  const r: AnalysisResult = loadSample();
  const s = r.analyses.summary!.perLayer;
  s[11].sparsityNotApplicable = 'signed values (min -3): not a ReLU-like layer';
  const fig = summaryChart(r, light)!;
  close(
    T(fig.data[1]).y,
    s.map((l, i) => (i === 11 ? null : l.deadChannels / l.channels)),
  );
  assert.equal(T(fig.data[0]).y[11], null);
  assert.equal(T(fig.data[1]).hovertext[9], '<b>features.relu3</b><br>dead channels: 14 of 128 (10.9&#37;)');
  const y2 = fig.layout.yaxis2 as Spec;
  assert.equal(y2.tickformat, '.0%');
  // the largest share (14 of 128) sets the range, not a count
  assert.ok(Math.abs(y2.range[1] - (14 / 128) * 1.1) < 1e-12);
  const marks = (fig.layout.annotations as Spec[]).map((a) => [a.x, a.yref, a.text]);
  const last = T(fig.data[0]).x[11];
  assert.deepEqual(marks, [
    [last, 'y', 'n/a'],
    [last, 'y2', 'n/a'],
  ]);
  assert.match(REPORT_SECTIONS.find((x) => x.key === 'summary')!.note(r), /share of the layer’s channels/);
});
