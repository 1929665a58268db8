import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { contentSecurityPolicy, inspectHtml, LAYER_COLUMNS, makeNonce } from '../src/extension/inspectHtml';
import { COLUMN_KEYS } from '../webview/inspect/table';

const opts = {
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  nonce: 'n0nce+/=',
  plotlyUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/plotly.min.js',
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/inspect.js',
  styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/inspect.css',
  modelPath: '/work/models/res"net<1>.onnx',
};

test('strict CSP: nothing by default, scripts only with the nonce, styles and fonts from the webview origin', () => {
  assert.equal(
    contentSecurityPolicy('https://x.test', 'abc'),
    "default-src 'none'; img-src https://x.test data:; style-src https://x.test 'unsafe-inline'; " +
      "script-src 'nonce-abc'; font-src https://x.test;",
  );
  const html = inspectHtml(opts);
  const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(meta, 'CSP meta tag');
  assert.equal(meta[1], contentSecurityPolicy(opts.cspSource, opts.nonce));
  assert.ok(!/unsafe-eval/.test(html));
  // the CSP comes before any script or stylesheet
  assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<link'));
  assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<script'));
});

test('exactly two scripts, both external and both carrying the nonce: plotly first, then the panel', () => {
  const html = inspectHtml(opts);
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 2);
  assert.deepEqual(
    scripts.map((m) => /src="([^"]+)"/.exec(m[1])![1]),
    [opts.plotlyUri, opts.scriptUri],
  );
  for (const m of scripts) {
    assert.match(m[1], /nonce="n0nce\+\/="/);
    assert.equal(m[2].trim(), '', 'no inline script body');
  }
  assert.ok(!/\son[a-z]+=/i.test(html), 'no inline event handlers');
  assert.match(html, new RegExp(`<link rel="stylesheet" href="${opts.styleUri.replace(/[.+]/g, '\\$&')}">`));
});

test('the DOM contract the end-to-end test relies on is in the document from the start', () => {
  const html = inspectHtml(opts);
  assert.match(html, /<span id="status"[^>]*>loading…<\/span>/);
  assert.match(html, /<span id="layer-count"[^>]*>0<\/span>/);
  assert.match(html, /<table id="layers-table">\s*<thead><tr>[\s\S]*<\/tr><\/thead>\s*<tbody><\/tbody>\s*<\/table>/);
  assert.match(html, /<div id="param-chart"[^>]*><\/div>/);
  assert.match(html, /<section id="error-card"[^>]*hidden>/);
  for (const c of ['name', 'op', 'output', 'shape', 'params', 'module'])
    assert.match(html, new RegExp(`<th [^>]*class="col-${c}`));
  // header cells and the webview's row cells use the same keys in the same order
  assert.deepEqual(
    LAYER_COLUMNS.map((c) => c.key),
    [...COLUMN_KEYS],
  );
});

test('the model path is escaped wherever it appears', () => {
  const html = inspectHtml(opts);
  assert.ok(!html.includes('res"net<1>'));
  assert.match(
    html,
    /<h1 id="model-name" title="\/work\/models\/res&quot;net&lt;1&gt;\.onnx">res&quot;net&lt;1&gt;\.onnx<\/h1>/,
  );
  assert.match(html, /<meta name="replens-model" content="\/work\/models\/res&quot;net&lt;1&gt;\.onnx">/);
  assert.match(html, /<title>RepLens: res&quot;net&lt;1&gt;\.onnx<\/title>/);
});

test('a fresh nonce per render', () => {
  const a = makeNonce(),
    b = makeNonce();
  assert.notEqual(a, b);
  assert.match(a, /^[A-Za-z0-9+/]{24}$/);
});

test('the pure parts of the extension (HTML, controller, settings) do not import vscode', () => {
  for (const f of ['inspectHtml.ts', 'inspectController.ts', 'settings.ts']) {
    const src = fs.readFileSync(path.join(__dirname, '..', 'src', 'extension', f), 'utf8');
    assert.ok(!/from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)/.test(src), f);
  }
  // and the webview and chart code never reaches into Node or vscode
  const webviewFiles = ['inspect/main.ts', 'inspect/table.ts', 'charts/params.ts', 'charts/theme.ts', 'format.ts'];
  for (const f of webviewFiles) {
    const src = fs.readFileSync(path.join(__dirname, '..', 'webview', f), 'utf8');
    assert.ok(!/from\s+['"](vscode|fs|path|crypto|onnxruntime-node)['"]/.test(src), f);
    for (const m of src.matchAll(/^import (?!type)[^'"]*['"]([^'"]+)['"]/gm)) {
      assert.ok(!/src\/engine\//.test(m[1]), `${f} imports engine code at run time: ${m[1]}`);
    }
  }
});
