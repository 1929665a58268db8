// The Analysis panel's ⓘ and heatmaps in headless chromium (issue 15): the panel document the extension serves, VS
// Code's theme variables on <html> and a stand-in acquireVsCodeApi; the host's 'result' message is posted to it.
// Checks: an ⓘ on every column, the keyboard opens it with this result's settings and does not sort, a chart's ⓘ,
// the empty-tab text, every heatmap label drawn and cells printing their values; no CSP violation or console error.
// Screenshots (light, dark, high contrast) go to test-out/analysis-info/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import type { AnalysisResult } from '../src/shared/result';
import { analysisHtml } from '../src/extension/analysisHtml';
import { makeNonce } from '../src/extension/inspectHtml';
import { OVERVIEW_COLUMNS, SPARKLINES } from '../webview/views/registry';
import { browserUnavailable, launchChromium } from './helpers/browser';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'test-out', 'analysis-info');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'report', 'sample-result.json');
const SKIP = browserUnavailable();
const opts = { skip: SKIP || undefined, timeout: 120000 } as const;

// a subset of Light Modern / Dark Modern / Dark High Contrast, as the webview host sets them on <html>
const FONT = { '--vscode-font-family': 'system-ui, "Ubuntu", sans-serif', '--vscode-font-size': '13px' };
const THEMES: Record<'light' | 'dark' | 'hc', { cls: string; vars: Record<string, string> }> = {
  light: {
    cls: 'vscode-light',
    vars: {
      ...FONT,
      '--vscode-foreground': '#3b3b3b',
      '--vscode-editor-foreground': '#3b3b3b',
      '--vscode-editor-background': '#ffffff',
      '--vscode-descriptionForeground': '#717171',
      '--vscode-focusBorder': '#005fb8',
      '--vscode-textLink-foreground': '#005fb8',
      '--vscode-editorHoverWidget-background': '#f8f8f8',
      '--vscode-editorHoverWidget-border': '#c8c8c8',
      '--vscode-editorHoverWidget-foreground': '#3b3b3b',
      '--vscode-sideBar-background': '#f8f8f8',
      '--vscode-panel-background': '#ffffff',
      '--vscode-editorWidget-border': '#e5e5e5',
    },
  },
  dark: {
    cls: 'vscode-dark',
    vars: {
      ...FONT,
      '--vscode-foreground': '#cccccc',
      '--vscode-editor-foreground': '#cccccc',
      '--vscode-editor-background': '#1f1f1f',
      '--vscode-descriptionForeground': '#9d9d9d',
      '--vscode-focusBorder': '#0078d4',
      '--vscode-textLink-foreground': '#4daafc',
      '--vscode-editorHoverWidget-background': '#202020',
      '--vscode-editorHoverWidget-border': '#454545',
      '--vscode-editorHoverWidget-foreground': '#cccccc',
      '--vscode-sideBar-background': '#181818',
      '--vscode-panel-background': '#1f1f1f',
      '--vscode-editorWidget-border': '#454545',
    },
  },
  hc: {
    cls: 'vscode-high-contrast',
    vars: {
      ...FONT,
      '--vscode-foreground': '#ffffff',
      '--vscode-editor-foreground': '#ffffff',
      '--vscode-editor-background': '#000000',
      '--vscode-descriptionForeground': '#ffffff',
      '--vscode-focusBorder': '#f38518',
      '--vscode-textLink-foreground': '#21a6ff',
      '--vscode-editorHoverWidget-background': '#0c141f',
      '--vscode-editorHoverWidget-border': '#6fc3df',
      '--vscode-contrastBorder': '#6fc3df',
      '--vscode-sideBar-background': '#000000',
      '--vscode-panel-background': '#000000',
      '--vscode-editorWidget-border': '#6fc3df',
    },
  },
};

/** Builds dist/ when the panel bundle is missing or older than its sources. */
function ensureBuilt(): void {
  const bundle = path.join(ROOT, 'dist', 'webview', 'analysis.js');
  const newest = (dir: string): number =>
    fs
      .readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((d) => d.isFile() && d.name.endsWith('.ts'))
      .reduce(
        (m, d) => Math.max(m, fs.statSync(path.join(d.parentPath ?? (d as { path: string }).path, d.name)).mtimeMs),
        0,
      );
  const stale =
    !fs.existsSync(bundle) ||
    !fs.existsSync(path.join(ROOT, 'dist', 'webview', 'plotly.min.js')) ||
    newest(path.join(ROOT, 'webview')) > fs.statSync(bundle).mtimeMs;
  if (stale) execFileSync(process.execPath, ['esbuild.js'], { cwd: ROOT, stdio: 'inherit' });
}

/** The panel document at /panel?theme=…; like localResourceRoots, only dist/webview and media. */
function serve(modelPath: string): Promise<{ origin: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/panel') {
      const origin = `http://${req.headers.host}`;
      const t = THEMES[(url.searchParams.get('theme') ?? 'dark') as keyof typeof THEMES];
      const style = Object.entries(t.vars)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ');
      const html = analysisHtml({
        cspSource: origin,
        nonce: makeNonce(),
        plotlyUri: `${origin}/dist/webview/plotly.min.js`,
        scriptUri: `${origin}/dist/webview/analysis.js`,
        styleUri: `${origin}/media/analysis.css`,
        modelPath,
      })
        .replace('<html lang="en">', `<html lang="en" style='${style}'>`)
        .replace('<body data-state="idle">', `<body data-state="idle" class="${t.cls}">`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    const file = path.resolve(ROOT, decodeURIComponent(url.pathname).replace(/^\/+/, ''));
    const allowed = [path.join(ROOT, 'dist', 'webview'), path.join(ROOT, 'media')].some((r) =>
      file.startsWith(r + path.sep),
    );
    if (!allowed || !fs.existsSync(file)) {
      res.writeHead(url.pathname === '/favicon.ico' ? 204 : 404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.css') ? 'text/css' : 'text/javascript' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }),
    ),
  );
}

const STUB = `(() => { const w = window; w.__posted = []; w.__csp = []; let st;
  w.acquireVsCodeApi = () => ({ postMessage: (m) => w.__posted.push(m), getState: () => st,
    setState: (s) => { st = JSON.parse(JSON.stringify(s)); } });
  document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
})();`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- playwright-core is loaded at run time, untyped
type Any = any;
let browser: Any = null;
let srv: Awaited<ReturnType<typeof serve>> | null = null;
let result: AnalysisResult;
const problems: string[] = [];

/** The panel in a theme with `r` posted as a complete result, drawn on the Layers tab. */
async function openPanel(theme: keyof typeof THEMES, r: AnalysisResult): Promise<Any> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('console', (m: Any) => m.type() === 'error' && problems.push(`${theme}: ${m.text()}`));
  page.on('pageerror', (e: Error) => problems.push(`${theme}: ${e.message}`));
  await page.addInitScript({ content: STUB });
  await page.goto(`${srv!.origin}/panel?theme=${theme}`);
  await page.waitForFunction(() => (window as Any).__posted.some((m: Any) => m.type === 'ready'), null, {
    timeout: 20000,
  });
  await page.evaluate(
    (res: Any) => window.postMessage({ v: 1, type: 'result', result: res, state: 'complete' }, '*'),
    r,
  );
  await page.waitForFunction(() => document.body.dataset.rendered === 'layers', null, { timeout: 30000 });
  return page;
}

async function closePage(page: Any): Promise<void> {
  problems.push(...((await page.evaluate(() => (window as Any).__csp)) as string[]).map((c) => `CSP: ${c}`));
  await page.close();
}

async function openTab(page: Any, id: string): Promise<void> {
  await page.locator(`vscode-tab-header[data-tab="${id}"]`).click();
  await page.waitForFunction((t: string) => document.body.dataset.rendered === t, id, { timeout: 30000 });
}

before(async () => {
  if (SKIP) return;
  ensureBuilt();
  fs.mkdirSync(OUT, { recursive: true });
  result = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as AnalysisResult;
  srv = await serve(result.model.path);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  srv?.server.close();
});

test('an ⓘ on every column: the keyboard opens it with this result’s settings, without sorting', opts, async () => {
  for (const theme of ['light', 'dark', 'hc'] as const) {
    const page = await openPanel(theme, result);
    const heads = page.locator('#layer-table thead th');
    assert.equal(await heads.count(), OVERVIEW_COLUMNS.length + SPARKLINES.length);
    assert.equal(await page.locator('#layer-table thead th .info-button').count(), await heads.count());
    // the header text is the label alone (the e2e suite reads it): the glyph is CSS
    assert.equal(await page.locator('#layer-table th.col-id').evaluate((th: Any) => th.textContent.trim()), 'ID');
    const button = page.locator('#layer-table th.col-nncs .info-button');
    await button.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('info-popover')?.matches(':popover-open'));
    const text = await page.locator('#info-popover').innerText();
    assert.match(text, /Range: 0–1, higher = classes better separated among the k nearest neighbours/);
    assert.match(text, /This result: k = 10 · 1,000 samples · 10 classes/);
    assert.equal(await button.getAttribute('aria-expanded'), 'true');
    assert.equal(await page.locator('#info-popover').getAttribute('role'), 'dialog');
    assert.equal(await page.locator('#layer-table th.col-nncs').getAttribute('aria-sort'), 'none', 'not sorted');
    // readable: the popover's text and background differ (theme variables reach it)
    const colours = await page
      .locator('#info-popover')
      .evaluate((el: Any) => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]);
    assert.notEqual(colours[0], colours[1]);
    await page.screenshot({ path: path.join(OUT, `panel-${theme}-info.png`) });
    // its README link asks the host to open the bundled README at the section (no navigation in the webview)
    await page.locator('#info-popover .info-link').click();
    const asked = await page.evaluate(() => (window as Any).__posted.filter((m: Any) => m.type === 'readme'));
    assert.deepEqual(asked, [{ v: 1, type: 'readme', anchor: 'info-nncs' }]);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.getElementById('info-popover')!.matches(':popover-open'));
    assert.equal(await button.getAttribute('aria-expanded'), 'false');
    // a chart's ⓘ
    await openTab(page, 'similarity');
    await page.locator('#charts-similarity figure[data-chart="cka"] figcaption .info-button').click();
    assert.match(await page.locator('#info-popover').innerText(), /^Linear CKA\n[^]*CKA computed in feature form/);
    await page.keyboard.press('Escape');
    await closePage(page);
  }
});

test('heatmaps: every layer labelled, values printed in a 12-layer matrix; an empty tab says why', opts, async () => {
  const page = await openPanel('dark', result);
  await openTab(page, 'similarity');
  const plot = page.locator('#chart-cka');
  assert.equal(await plot.locator('.ytick').count(), result.layers.length, 'a label per row');
  assert.equal(await plot.locator('.xtick').count(), result.layers.length, 'a label per column');
  // plotly draws the cell texts (one per non-null cell) in the heatmap layer
  const cells = await plot.locator('.heatmaplayer text').allTextContents();
  assert.equal(cells.length, result.layers.length ** 2);
  assert.ok(
    cells.every((c: string) => /^\d\.\d\d$/.test(c)),
    cells.slice(0, 5).join(' '),
  );
  await page.screenshot({ path: path.join(OUT, 'panel-dark-similarity.png'), fullPage: true });
  await closePage(page);
  // a selectivity that produced nothing: the tab says why and what to do
  const r = JSON.parse(JSON.stringify(result)) as AnalysisResult;
  r.analyses.selectivity!.perLayer = [];
  r.notes.push(
    'selectivity left out for features.conv1: negative activations (the index is defined for non-negative ones)',
  );
  const empty = await openPanel('light', r);
  await openTab(empty, 'selectivity');
  const text = await empty.locator('#charts-selectivity').innerText();
  assert.match(
    text,
    /^Nothing to draw for this analysis in this result\. Why: selectivity left out for features\.conv1/,
  );
  assert.match(text, /needs class labels with at least 2 classes and ReLU-like layers/);
  await closePage(empty);
});

test('no CSP violation, console error or page error in the pages above', opts, () => {
  assert.deepEqual(problems, []);
});
