// The Analysis panel's layer table for a comparison, in a real browser: the document the extension serves
// (analysisHtml, same CSP), the built bundles (dist/webview), a stub acquireVsCodeApi, and results posted as the host
// posts them. Same layers: each view column with its "(B)" twin and a key naming B; different architectures: a
// second table (#compare-table) with the compared model's layers; a later single-model result removes both.
// Skips when playwright-core or chromium is not available. Screenshots go to test-out/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { analysisHtml } from '../src/extension/analysisHtml';
import { makeNonce } from '../src/extension/inspectHtml';
import { overviewColumns } from '../webview/views/registry';
import { browserUnavailable, launchChromium } from './helpers/browser';
import { OTHER_LABELS, loadSample, otherArch, sameArch } from './helpers/compare-fixtures';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'test-out');
const SKIP = browserUnavailable();
if (SKIP) console.log(`# webview-analysis-compare: SKIPPED: ${SKIP}`);
const opts = { skip: SKIP || undefined, timeout: 90000 } as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- playwright-core is loaded at run time, untyped
type Any = any;
let browser: Any = null;
let server: http.Server | null = null;
let origin = '';
const errors: string[] = [];

/** Serves the panel document at /panel?theme=… and, like localResourceRoots, only dist/webview and media. */
function serve(): Promise<void> {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end(); // the browser asks; a webview does not
      return;
    }
    if (url.pathname === '/panel') {
      const o = `http://${req.headers.host}`;
      const dark = url.searchParams.get('theme') === 'dark';
      const html = analysisHtml({
        cspSource: o,
        nonce: makeNonce(),
        plotlyUri: `${o}/dist/webview/plotly.min.js`,
        scriptUri: `${o}/dist/webview/analysis.js`,
        styleUri: `${o}/media/analysis.css`,
        modelPath: '/models/model.onnx',
      }).replace(
        '<body data-state="idle">',
        `<body class="${dark ? 'vscode-dark' : 'vscode-light'}" data-state="idle">`,
      );
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    const file = path.resolve(ROOT, decodeURIComponent(url.pathname).replace(/^\/+/, ''));
    const ok = [path.join(ROOT, 'dist', 'webview') + path.sep, path.join(ROOT, 'media') + path.sep].some((r) =>
      file.startsWith(r),
    );
    if (!ok || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.css') ? 'text/css' : 'text/javascript' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) =>
    server!.listen(0, '127.0.0.1', () => {
      origin = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

const STUB = `(() => {
  window.__posted = [];
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__posted.push(m),
    getState: () => undefined,
    setState: () => {},
  });
})();`;

async function openPanel(theme: 'light' | 'dark'): Promise<Any> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e: Error) => errors.push(String(e.message)));
  page.on('console', (m: Any) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.addInitScript({ content: STUB });
  await page.goto(`${origin}/panel?theme=${theme}`);
  await page.waitForFunction(() => (window as Any).__posted.some((m: Any) => m.type === 'ready'), null, {
    timeout: 20000,
  });
  return page;
}

/** Posts a finished result as the host does and waits for the Layers tab to be drawn. */
async function show(page: Any, result: unknown): Promise<void> {
  await page.evaluate(() => document.body.removeAttribute('data-rendered'));
  await page.evaluate(
    (r: unknown) => window.postMessage({ v: 1, type: 'result', result: r, state: 'complete' }, '*'),
    result,
  );
  await page.waitForFunction(() => document.body.dataset.rendered === 'layers', null, { timeout: 20000 });
}

before(async () => {
  if (SKIP) return;
  const bundle = path.join(ROOT, 'dist', 'webview', 'analysis.js');
  const src = path.join(ROOT, 'webview', 'analysis', 'main.ts');
  if (!fs.existsSync(bundle) || fs.statSync(src).mtimeMs > fs.statSync(bundle).mtimeMs)
    execFileSync(process.execPath, ['esbuild.js'], { cwd: ROOT, stdio: 'inherit' });
  await serve();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('the panel table: (B) columns for the same layers, a second table for another architecture', opts, async () => {
  fs.mkdirSync(OUT, { recursive: true });
  for (const theme of ['light', 'dark'] as const) {
    const page = await openPanel(theme);
    const same = sameArch();
    await show(page, same);
    const heads = await page.locator('#layer-table thead th').allTextContents();
    assert.deepEqual(heads, [
      ...overviewColumns(same).map((c) => c.label),
      'Selectivity dist.',
      'Selectivity dist. (B)',
    ]);
    assert.match(await page.locator('#table-models').innerText(), /“\(B\)” columns: seed1\/model\.onnx/);
    assert.equal(await page.locator('#layer-table tbody tr').count(), 12);
    assert.equal(await page.locator('#layer-table tbody tr:first-child td.col-spark svg').count(), 2);
    // sorting by a (B) column: largest first, the layer B lacks last
    await page.locator('#layer-table thead th.col-id-b').click();
    const ids = await page.locator('#layer-table tbody td.col-id-b').allTextContents();
    assert.equal(ids.at(-1), '—');
    const nums = ids.slice(0, -1).map(Number);
    assert.deepEqual(
      nums,
      [...nums].sort((a, b) => b - a),
    );
    await page.screenshot({ path: path.join(OUT, `analysis-compare-same-${theme}.png`) });

    await show(page, otherArch());
    assert.equal(await page.locator('#table-models').count(), 0);
    assert.equal(await page.locator('#layer-table thead th').count(), 11);
    assert.match(await page.locator('#compare-table-title').innerText(), /^small\.onnx \(compared model/);
    assert.deepEqual(await page.locator('#compare-table tbody td.col-label').allTextContents(), OTHER_LABELS);
    // the sort (ID, largest first, kept from above) applies to both tables
    await page.locator('#compare-table thead th.col-id').click();
    assert.deepEqual(
      await page.locator('#compare-table tbody td.col-label').allTextContents(),
      [...OTHER_LABELS].reverse(),
    );
    await page.screenshot({ path: path.join(OUT, `analysis-compare-other-${theme}.png`), fullPage: true });

    await show(page, loadSample());
    assert.equal(await page.locator('#compare-table').count(), 0);
    assert.equal(await page.locator('#layer-table thead th').count(), 11, '10 columns and one sparkline');
    await page.close();
  }
  assert.deepEqual(errors, []);
});
