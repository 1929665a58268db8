// The ⓘ texts (webview/views/info.ts): an entry for every layer-table column and every chart a view can produce, the
// settings read from the result, README anchors that exist, and the empty-tab text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { AnalysisResult } from '../src/shared/result';
import {
  OVERVIEW_COLUMNS,
  PANEL_TABS,
  SPARKLINES,
  overviewColumns,
  reportCharts,
  tabCharts,
  tableSparklines,
} from '../webview/views/registry';
import { sameArch } from './helpers/compare-fixtures';
import { DEFAULT_LIGHT } from '../webview/charts/theme';
import {
  CHART_INFO,
  COLUMN_INFO,
  INFO_ANCHORS,
  README_URL,
  SPARKLINE_INFO,
  chartInfo,
  columnInfo,
  emptyTabText,
  sparklineInfo,
} from '../webview/views/info';

const ROOT = path.join(__dirname, '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'report', 'sample-result.json');
const load = (): AnalysisResult => JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as AnalysisResult;

/** Results that between them make every chart the views can draw: the fixture (every analysis, a comparison,
 * debiased CKA), its noise SVD over several checkpoints, and one without labels. */
function variants(): AnalysisResult[] {
  const full = load();
  const epochs = load();
  const ns = epochs.analyses['noise-svd']!;
  ns.series = [0, 1, 2].flatMap((e) => ns.series.map((s) => ({ ...s, checkpoint: `ep${e}.onnx`, epoch: e })));
  const unlabelled = load();
  unlabelled.dataset.hasLabels = false;
  delete unlabelled.dataset.classNames;
  return [full, epochs, unlabelled];
}

test('every layer-table column and every chart any view produces has an ⓘ entry, and no entry is stale', () => {
  const columns = OVERVIEW_COLUMNS.map((c) => c.key);
  for (const k of columns) assert.ok(COLUMN_INFO[k], `column ${k} has an entry`);
  for (const sp of SPARKLINES) assert.ok(SPARKLINE_INFO[sp.label], `sparkline column ${sp.label} has an entry`);
  assert.deepEqual(
    Object.keys(SPARKLINE_INFO),
    SPARKLINES.map((sp) => sp.label),
  );
  const charts = new Set<string>();
  for (const r of variants()) {
    for (const c of reportCharts(r, DEFAULT_LIGHT)) charts.add(c.id);
    for (const t of PANEL_TABS) for (const c of tabCharts(r, DEFAULT_LIGHT, t.id)) charts.add(c.id);
  }
  assert.ok(charts.size >= 14, `the variants draw every kind of chart (${[...charts].join(', ')})`);
  for (const id of charts) assert.ok(CHART_INFO[id], `chart ${id} has an entry`);
  assert.deepEqual(Object.keys(COLUMN_INFO).sort(), [...columns].sort(), 'no entry for a column that does not exist');
  assert.deepEqual(Object.keys(CHART_INFO).sort(), [...charts].sort(), 'no entry for a chart that does not exist');
  for (const [k, e] of [...Object.entries(COLUMN_INFO), ...Object.entries(CHART_INFO)]) {
    assert.ok(e.definition.length > 40 && /[.)]$/.test(e.definition), `${k}: a definition sentence`);
    assert.ok(e.range.length > 3, `${k}: a range`);
  }
  // the numbers say which way is better
  for (const k of ['nncs', 'selectivity', 'sparsity', 'dead'])
    assert.match(COLUMN_INFO[k].range, /(higher|lower) =/, `${k}: direction`);
  assert.match(COLUMN_INFO.nncs.range, /^0–1, higher = classes better separated among the k nearest neighbours/);
});

test('the settings line is read from the result (k, samples, classes, poolings, CKA form, CCA cap, σ)', () => {
  const r = load();
  assert.equal(columnInfo('nncs', r)!.settings, 'k = 10 · 1,000 samples · 10 classes');
  assert.equal(columnInfo('id', r)!.settings, '1,000 samples');
  assert.equal(
    chartInfo('multiscale', r)!.settings,
    'poolings: avg 2, max 2, avg 4, max 4, avg global, max global · k = 10 · 1,000 samples · 10 classes',
  );
  assert.equal(chartInfo('cka', r)!.settings, 'CKA computed in feature form · 1,000 samples');
  assert.equal(
    chartInfo('compare-cka', r)!.settings,
    'CKA computed in feature form · 1,000 samples · columns: seed1/model.onnx',
  );
  assert.equal(
    chartInfo('noise-svd', r)!.settings,
    'σ = 0.1, 0.5 (pixel units) · 16 noisy copies per image · 200 images · centred (PCA of the noise cloud) · ' +
      'clipped to [0, 1] · 3 checkpoints · seed 0',
  );
  // another run's numbers change the text
  r.analyses.rra!.k = 7;
  r.analyses.rra!.samples = 300;
  r.analyses.similarity!.ckaMethod = 'minibatch 500';
  r.analyses.similarity!.cca = { rule: 'r', maxDims: 30, limit: 30, samples: 300, perLayer: [] };
  r.dataset.hasLabels = false;
  delete r.dataset.classNames;
  assert.equal(
    columnInfo('nncs', r)!.settings,
    'k = 7 · 300 samples · no labels: NNCS and selectivity need a labelled dataset (or --labels)',
  );
  assert.equal(chartInfo('cka', r)!.settings, 'CKA computed in minibatch 500 form · 1,000 samples');
  assert.equal(
    chartInfo('svcca', r)!.settings,
    'at most 30 directions per layer (⌊n/10⌋ of 300 samples) · units: conv channels by spatial mean',
  );
  r.analyses.similarity!.cca.maxDims = null;
  assert.match(chartInfo('pwcca', r)!.settings, /^no cap on kept directions · 300 samples · /);
  assert.equal(columnInfo('no-such-column', r), null);
  assert.equal(chartInfo('no-such-chart', r), null);
});

test('every ⓘ links to a README section that exists, in the repository named by package.json', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  for (const a of INFO_ANCHORS) assert.ok(readme.includes(`<a id="${a}"></a>`), `README has <a id="${a}">`);
  const r = load();
  assert.equal(columnInfo('nncs', r)!.href, `${README_URL}#info-nncs`);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { repository: { url: string } };
  assert.ok(README_URL.startsWith(pkg.repository.url.replace(/\.git$/, '')), `${README_URL} is in the repository`);
});

test('an empty tab says why (the result’s notes) and what to do', () => {
  const r = load();
  r.notes = ['selectivity skipped: it needs labels with at least 2 classes', 'NNCS skipped: the dataset has no labels'];
  const s = emptyTabText('selectivity', r, false);
  assert.match(s, /^Nothing to draw for this analysis in this result\. /);
  assert.match(s, /Why: selectivity skipped: it needs labels with at least 2 classes\./);
  assert.doesNotMatch(s, /NNCS skipped/, 'only the notes about this tab');
  assert.match(s, /needs class labels/);
  assert.match(emptyTabText('rra', r, false), /Why: NNCS skipped: the dataset has no labels\./);
  assert.equal(emptyTabText('selectivity', r, true), 'Computing… the charts appear as the analysis streams in.');
});

test("a comparison's (B) columns and sparklines explain the same number for the compared model", () => {
  const r = sameArch();
  const cols = overviewColumns(r, 'model').filter((c) => c.key.endsWith('-b'));
  assert.ok(cols.length >= 3, 'the paired table has (B) columns');
  for (const c of cols) {
    const t = columnInfo(c.key, r);
    assert.ok(t, `${c.key} has an ⓘ`);
    assert.equal(t.definition, columnInfo(c.key.slice(0, -2), r)!.definition);
    assert.match(t.title, /compared model \(B\)$/);
  }
  for (const sp of tableSparklines(r, 'model').filter((s) => s.label.endsWith(' (B)')))
    assert.match(sparklineInfo(sp.label, r)!.title, /compared model/);
  assert.equal(columnInfo('no-such-b', r), null);
});
