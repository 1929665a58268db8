// Model-controlled strings (node, tensor and module names, op types, model and checkpoint names) are text wherever
// they are shown: escaped for plotly's mini-HTML in every chart, neutralised as formulas in CSV cells, and shown
// with control characters escaped in the terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayerInfo, ModelSummary } from '../src/engine/onnx/layers';
import type { AnalysisResult, LayerMatrix, LayerRef } from '../src/shared/result';
import * as charts from '../webview/charts/analysis';
import { reportCharts } from '../webview/views/registry';
import { paramChart, barLabels, hoverText } from '../webview/charts/params';
import { plotlyText, hoverLines } from '../webview/charts/text';
import { DEFAULT_LIGHT } from '../webview/charts/theme';
import { panelTabs } from '../webview/analysis/tabs';
import { renderReport } from '../src/report/report';
import { layersCsv } from '../src/report/files';
import { csvCell, matrixCsv } from '../src/shared/csv';
import { layerTable } from '../src/cli/cli';
import { formatTable } from '../src/cli/analyze';
import { printable } from '../src/shared/printable';
import { oneLine, ReplensError } from '../src/engine/errors';

const theme = DEFAULT_LIGHT;
/** Control characters a terminal acts on, and the bidi controls that reorder text. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

// ---- plotly --------------------------------------------------------------------------------------------------------

const NAMES = [
  '<b>bold</b>',
  '%{x}',
  '$x$',
  '<a href="https://e.x/">link</a>',
  '<span style="color:red">z</span>',
  'esc\x1b[31mred\x07\u202eevil',
  'br<br>line',
  'amp &lt; entity',
];

function layer(index: number, name: string, op: string, params: number, module: string | null = null): LayerInfo {
  return {
    name,
    op,
    domain: '',
    output: `${name}_out`,
    outputs: [`${name}_out`],
    inputs: [],
    shape: ['N', 4],
    params,
    module,
    index,
  };
}

/** A result with every analysis, whose names, labels and model names are all hostile. */
function hostile(noiseMode: 'depth' | 'epoch' | 'checkpoint'): AnalysisResult {
  // one label empty (the tensor name is shown) and one tensor the refs do not know (shown by its tensor name)
  const layers: LayerRef[] = NAMES.map((n, i) => ({
    tensor: `t${i}${n}`,
    label: i === 4 ? '' : n,
    op: `Op${n}`,
    shape: [4, 2, 2],
    params: i,
    index: i,
  }));
  const tensors = [...layers.map((l) => l.tensor), '<i>orphan</i>%{y}'];
  const other: LayerRef[] = [{ tensor: 'o0', label: '$other$<b>', op: 'Conv', shape: [4], params: 1, index: 0 }];
  const mat = (rows: string[], cols: string[]): LayerMatrix => ({
    rows,
    cols,
    values: rows.map((_, i) => cols.map((_, j) => (i === j ? 1 : 0.5))),
  });
  const sym = mat(tensors, tensors),
    cross = mat(tensors, ['o0']);
  const stat = (m: number) => ({ mean: m, std: 0.01 });
  const checkpoints = noiseMode === 'depth' ? ['<b>final</b>.onnx'] : ['<b>ck1</b>', '%{y}$2$'];
  return {
    schema: 'replens.result/2',
    createdAt: '2025-01-01T00:00:00Z',
    tool: { name: 'replens', version: '0' },
    model: { path: '/m/<b>m</b>.onnx', name: '<b>m</b>%{x}.onnx', sha256: '0'.repeat(64), opset: 17, params: 1 },
    compare: {
      path: '/m/c.onnx',
      name: '$c$<a href="x">c</a>',
      sha256: '1'.repeat(64),
      opset: 17,
      params: 1,
      layers: other,
    },
    dataset: { identity: 'd', description: '<b>data</b>', samples: 10, hasLabels: true },
    settings: {
      analyses: ['summary', 'rra', 'similarity', 'selectivity', 'noise-svd'],
      samples: 10,
      seed: 0,
      batchSize: 4,
    },
    layers,
    analyses: {
      summary: {
        perLayer: tensors.map((t) => ({ tensor: t, mean: 0.1, std: 1, sparsity: 0.5, channels: 4, deadChannels: 1 })),
      },
      rra: {
        k: 3,
        samples: 10,
        rule: 'r',
        poolings: ['avg2', '<b>p</b>%{x}'],
        nnls: sym,
        interModel: cross,
        perLayer: tensors.map((t) => ({
          tensor: t,
          id: { twonn: 3, ml: 3, dropped: 1 },
          nncs: 0.5,
          multiScale: { avg2: 0.6, '<b>p</b>%{x}': 0.7 },
        })),
      },
      similarity: {
        cka: sym,
        ckaDebiased: sym,
        svcca: sym,
        pwcca: sym,
        ckaMethod: '<b>gram</b>',
        compare: { cka: cross, svcca: cross, pwcca: cross },
      },
      selectivity: {
        perLayer: tensors.map((t) => ({
          tensor: t,
          mean: 0.3,
          median: 0.3,
          histogram: { edges: [0, 1], counts: [3] },
          perUnit: [0.1, 0.5],
        })),
      },
      'noise-svd': {
        settings: { sigmas: [0.1], groupSize: 4, seed: 0, centre: true, clip: null, images: 10 },
        series: checkpoints.flatMap((checkpoint, e) =>
          (['train', 'test'] as const).map((split) => ({
            checkpoint,
            epoch: noiseMode === 'epoch' ? e + 1 : null,
            split,
            layers: tensors.map((t) => ({
              tensor: t,
              features: 4,
              cells: [
                {
                  sigma: 0.1,
                  label: -1,
                  images: 10,
                  ev1: stat(0.5),
                  ev2: stat(0.2),
                  rest: stat(0.3),
                  s1: stat(2),
                  spectrum: [0.5],
                },
              ],
            })),
          })),
        ),
      },
    },
    timings: {},
    notes: ['<b>note</b>'],
    complete: true,
  };
}

const OUR_MARKUP = /<br>|<\/?b>|<extra><\/extra>/g;

/** Every string of a figure plotly would draw: no markup but ours, no TeX, no template, no control character. */
function assertInert(fig: unknown, what: string): string[] {
  const seen: string[] = [];
  const walk = (v: unknown, key: string, at: string): void => {
    if (typeof v === 'string') {
      seen.push(v);
      // data for click handlers, never drawn: no hovertemplate may refer to it (checked below)
      if (key === 'customdata') return;
      if (key === 'hovertemplate') {
        assert.match(v, /^%\{(hovertext|text)\}<extra><\/extra>$/, `${what}: ${at}`);
        return;
      }
      // a heatmap's cell values: our constant template over the numbers z, never over text
      if (key === 'texttemplate') {
        assert.equal(v, '%{z:.2f}', `${what}: ${at}`);
        return;
      }
      const text = v.replace(OUR_MARKUP, '');
      assert.ok(!/[<>$]/.test(text), `${what}: ${at} = ${JSON.stringify(v)} has raw markup or TeX`);
      assert.ok(!text.includes('%{'), `${what}: ${at} = ${JSON.stringify(v)} has a template`);
      assert.ok(!CONTROL.test(v), `${what}: ${at} = ${JSON.stringify(v)} has a control character`);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, key, `${at}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k, `${at}.${k}`);
  };
  walk(fig, '', what);
  return seen;
}

test('plotlyText escapes markup, entities, TeX, templates; shows control chars; keeps distinct labels distinct', () => {
  assert.equal(plotlyText('<a href="x">y</a>'), '&lt;a href="x"&gt;y&lt;/a&gt;');
  assert.equal(plotlyText('<span style="color:red">z</span>'), '&lt;span style="color:red"&gt;z&lt;/span&gt;');
  assert.equal(plotlyText('a &amp; b'), 'a &amp;amp; b');
  assert.equal(plotlyText('$x$ %{x} 50%'), '&#36;x&#36; &#37;{x} 50&#37;');
  assert.equal(plotlyText('a\nb\x1b[31m\u202e'), 'a\\nb\\x1b[31m\\u202e');
  assert.equal(plotlyText('layer1.0.conv1 · Conv #3'), 'layer1.0.conv1 · Conv #3');
  assert.notEqual(plotlyText('&lt;'), plotlyText('<'));
  assert.equal(hoverLines('<b>', ['op: <i>']), '<b>&lt;b&gt;</b><br>op: &lt;i&gt;');
});

test('params chart: a node named <a href>/<span style>: escaped labels, hover; raw names only as click data', () => {
  const layers = [
    layer(0, '<a href="x">y</a>', 'Conv', 10),
    layer(1, '<span style="color:red">z</span>', 'Gemm', 20),
    layer(2, 'n', '<b>Op</b>', 5, '$m$%{y}'),
  ];
  const summary: ModelSummary = {
    inputs: [],
    outputs: [],
    opset: 17,
    irVersion: 8,
    producer: '<b>p</b>',
    totalParams: 35,
    layers,
  };
  const fig = paramChart(summary, theme);
  const t = fig.data[0];
  assert.deepEqual(t.y, [
    '&lt;a href="x"&gt;y&lt;/a&gt;',
    '&lt;span style="color:red"&gt;z&lt;/span&gt;',
    '&#36;m&#36;&#37;{y}',
  ]);
  assert.deepEqual(barLabels(layers), t.y);
  assert.equal(t.hovertext[0], '<b>&lt;a href="x"&gt;y&lt;/a&gt;</b><br>op: Conv<br>params: 10');
  assert.equal(
    hoverText(layers[2]),
    '<b>n</b><br>op: &lt;b&gt;Op&lt;/b&gt;<br>module: &#36;m&#36;&#37;{y}<br>params: 5',
  );
  assert.deepEqual(
    t.customdata,
    layers.map((l) => l.name),
  );
  assertInert(fig, 'paramChart');
  // duplicates made unique before escaping stay unique after
  const dup = barLabels([layer(0, '<x>', 'Conv', 1), layer(1, '<x>', 'Conv', 1), layer(2, '&lt;x&gt;', 'Conv', 1)]);
  assert.equal(new Set(dup).size, 3);
});

test('every chart builder fed hostile names draws no markup but its own, no TeX, no template, no control char', () => {
  const builders = Object.entries(charts).filter(
    ([name, f]) => typeof f === 'function' && /(Chart|Curves|Heatmaps)$/.test(name),
  ) as [string, (r: AnalysisResult, t: typeof theme) => unknown][];
  // depthCurves, multiScaleChart, similarityHeatmaps, compareHeatmaps, selectivityChart, noiseSvdChart, summaryChart
  assert.ok(builders.length >= 7, builders.map(([n]) => n).join());
  for (const mode of ['depth', 'epoch', 'checkpoint'] as const) {
    const r = hostile(mode);
    assert.equal(charts.noiseSvdMode(r), mode);
    const seen: string[] = [];
    for (const [name, build] of builders) {
      const out = build(r, theme);
      assert.ok(out && (!Array.isArray(out) || out.length > 0), `${name} (${mode}) drew nothing`);
      seen.push(...assertInert(out, `${name} (${mode})`));
    }
    const report = reportCharts(r, theme);
    assert.equal(new Set(report.map((c) => c.section)).size, 7, 'every report section is drawn');
    for (const c of report) assertInert(c.figure, `reportCharts ${c.id} (${mode})`);
    for (const { charts: cs } of panelTabs(r, theme))
      for (const c of cs) assertInert(c.figure, `panel ${c.id} (${mode})`);
    // the names did reach the charts, escaped
    const all = seen.join('\n');
    for (const s of [
      '&lt;b&gt;bold&lt;/b&gt;',
      '&#37;{x}',
      '&#36;x&#36;',
      '&lt;i&gt;orphan&lt;/i&gt;',
      '\\x1b[31m',
      '\\u202e',
    ])
      assert.ok(all.includes(s), `${s} (${mode})`);
    if (mode === 'checkpoint') assert.ok(all.includes('&lt;b&gt;ck1&lt;/b&gt;'));
  }
});

test('the report page has no live markup from names (header, table, sections; the data block escapes <)', () => {
  const html = renderReport(hostile('checkpoint'), { plotlyJs: '', reportJs: '', theme: 'light', nonce: 'n' });
  for (const raw of [
    '<b>bold',
    '<a href="https://e.x/">',
    '<span style="color:red">',
    '<i>orphan',
    '<b>m</b>',
    '<a href="x">c',
    '<b>note',
    '<b>data',
  ]) {
    assert.ok(!html.includes(raw), raw);
  }
  assert.ok(html.includes('&lt;b&gt;m&lt;/b&gt;%{x}.onnx'));
});

// ---- CSV -----------------------------------------------------------------------------------------------------------

test("CSV: text cells starting a formula get a leading '; numbers and numeric strings stay as they are", () => {
  assert.equal(csvCell('=1+1'), `"'=1+1"`);
  assert.equal(csvCell('+A1'), `"'+A1"`);
  assert.equal(csvCell('-cmd'), `"'-cmd"`);
  assert.equal(csvCell('@SUM(1)'), `"'@SUM(1)"`);
  assert.equal(csvCell('\tx'), `"'\tx"`);
  assert.equal(csvCell('\rx'), `"'\rx"`);
  assert.equal(csvCell('=HYPERLINK("http://e.x","y")'), `"'=HYPERLINK(""http://e.x"",""y"")"`);
  assert.equal(csvCell('-0.5'), '-0.5');
  assert.equal(csvCell('+1e-3'), '+1e-3');
  assert.equal(csvCell(-0.5), '-0.5');
  assert.equal(csvCell(-1.25e-7), '-1.25e-7');
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell('plain.name'), 'plain.name');
  assert.equal(csvCell('—'), '—');
});

test('CSV files: hostile labels are neutralised, matrix values round-trip as numbers', () => {
  const r = hostile('depth');
  r.layers[0].label = "=cmd|' /C calc'!A0";
  r.layers[1].label = '-2+3';
  r.layers[2].label = '@x';
  const rows = layersCsv(r).trim().split('\n');
  assert.ok(rows[1].startsWith(`"'=cmd|' /C calc'!A0",`), rows[1]);
  assert.ok(rows[2].startsWith(`"'-2+3",`), rows[2]);
  assert.ok(rows[3].startsWith(`"'@x",`), rows[3]);
  const m: LayerMatrix = { rows: ['a'], cols: ['b', 'c'], values: [[-0.5, null]] };
  assert.equal(
    matrixCsv(m, (t) => (t === 'a' ? '+row' : t)),
    `,b,c\n"'+row",-0.5,\n`,
  );
  const v = 0.1 + 0.2;
  assert.equal(
    Number(
      matrixCsv({ rows: ['a'], cols: ['a'], values: [[v]] }, (t) => t)
        .split('\n')[1]
        .split(',')[1],
    ),
    v,
  );
});

// ---- terminal ------------------------------------------------------------------------------------------------------

test('printable shows control characters and bidi controls as escapes, nothing else', () => {
  assert.equal(
    printable('a\x1b[2Jb\x07\b\r\n\t\x7f\x9b\u202a\u202e\u2066\u2069'),
    'a\\x1b[2Jb\\x07\\x08\\r\\n\\t\\x7f\\x9b\\u202a\\u202e\\u2066\\u2069',
  );
  assert.equal(printable('layer1.0/conv · σ=0.1 ×→ 日本 C:\\x'), 'layer1.0/conv · σ=0.1 ×→ 日本 C:\\x');
});

test('layerTable: names with ESC, CSI and bidi overrides print escaped, and the columns line up', () => {
  const layers = [
    layer(0, 'evil\x1b[2J\x1b]0;title\x07', 'Conv', 10, 'mod\u202eevil'),
    layer(1, 'plain', 'Relu\x9b31m', 0, null),
    layer(2, 'ret\rurn\bx', 'Gemm', 1234, 'fc'),
  ];
  const out = layerTable(layers);
  for (const l of out.split('\n')) assert.ok(!CONTROL.test(l), JSON.stringify(l));
  assert.ok(out.includes('evil\\x1b[2J\\x1b]0;title\\x07'));
  assert.ok(out.includes('mod\\u202eevil'));
  assert.ok(out.includes('Relu\\x9b31m'));
  const lines = out.split('\n');
  assert.equal(lines.length, 5);
  // every column starts where the header's does
  const starts = (l: string) => [...l.matchAll(/(?:^| {2})(\S)/g)].map((m) => m.index + (m.index ? 2 : 0));
  const head = starts(lines[0]);
  assert.deepEqual(starts(lines[1]), head);
  const col = (l: string, i: number) => l.slice(head[i], i + 1 < head.length ? head[i + 1] : undefined).trim();
  assert.equal(col(lines[2], 0), 'evil\\x1b[2J\\x1b]0;title\\x07');
  assert.equal(col(lines[2], 1), 'Conv');
  assert.equal(col(lines[3], 1), 'Relu\\x9b31m');
  assert.equal(col(lines[4], 0), 'ret\\rurn\\x08x');
  assert.equal(col(lines[4], 4), '1234');
  assert.equal(col(lines[2], 5), 'mod\\u202eevil');
});

test('formatTable (replens analyze) escapes names too, with columns measured on the escaped text', () => {
  const r = hostile('depth');
  const out = formatTable(r);
  for (const l of out.split('\n')) assert.ok(!CONTROL.test(l), JSON.stringify(l));
  assert.ok(out.includes('esc\\x1b[31mred\\x07\\u202eevil'));
  const lines = out.split('\n');
  const width = lines[1].split('  ')[0].length;
  // The panel's layer column: an empty label shows the tensor name.
  assert.equal(width, Math.max(...r.layers.map((l) => printable(l.label || l.tensor).length), 'Layer'.length));
});

test('error messages: one line, control characters escaped (they quote node names and paths)', () => {
  assert.equal(
    oneLine('tensor "a\x1b[31mb" not\n  found\tin \u202emodel'),
    'tensor "a\\x1b[31mb" not found in \\u202emodel',
  );
  assert.equal(
    new ReplensError('E_UNKNOWN_TENSOR', 'no tensor \x1b]8;;http://e.x\x07x').message,
    'no tensor \\x1b]8;;http://e.x\\x07x',
  );
  assert.equal(oneLine(oneLine('a\x1bb')), 'a\\x1bb');
});
