// The Inspect panel's webview in a real browser: the document the extension serves (inspectHtml, same CSP), the
// built bundles (dist/webview), a stub acquireVsCodeApi standing in for VS Code, and a real Inspect result of a small
// model. Skips when playwright-core or chromium is not available (see the skip message).
//
//   REPLENS_PLAYWRIGHT  folder of playwright-core (default: .e2e-cache/tools/node_modules/playwright-core, made by
//                       test/e2e/setup.sh)
//   CHROMIUM            browser binary (default /usr/bin/chromium)
// Screenshots go to test-out/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { GraphBuilder, float } from '../src/engine/onnx/builder';
import { saveModel } from '../src/engine/onnx/model';
import { SessionPool } from '../src/engine/runtime/session';
import { inspectModel } from '../src/engine/inspect';
import type { HostToWebview, InspectResult } from '../src/shared/messages';
import { inspectHtml, makeNonce } from '../src/extension/inspectHtml';
import { cellText } from '../webview/inspect/table';
import { browserUnavailable, launchChromium } from './helpers/browser';
import { DARK, LIGHT, styleAttr } from './helpers/vscode-theme';
import { tempDir } from './helpers/tmp';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'test-out');

const step = (m: string) => {
  if (process.env.REPLENS_TEST_DEBUG) console.log(`# ${m}`);
};
const SKIP = browserUnavailable();
if (SKIP) console.log(`# webview-browser: SKIPPED: ${SKIP}`);

// ---- a small torch-style CNN and its real Inspect result ---------------------------------------------------------

function smallCnn(): ReturnType<GraphBuilder['build']> {
  const b = new GraphBuilder('small-cnn', 13, 3);
  const x = b.input('input', ['N', 3, 16, 16]);
  b.randomInit('conv1.weight', [8, 3, 3, 3]);
  b.randomInit('conv1.bias', [8]);
  for (const p of ['scale', 'bias', 'mean', 'var']) b.randomInit(`bn1.${p}`, [8], 0.2, 1);
  b.randomInit('layer1.0.conv1.weight', [8, 8, 3, 3]);
  b.randomInit('layer1.0.conv2.weight', [8, 8, 3, 3]);
  b.randomInit('fc.weight', [10, 8]);
  b.randomInit('fc.bias', [10]);
  const c1 = b.node(
    'Conv',
    [x, 'conv1.weight', 'conv1.bias'],
    { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] },
    { name: '/conv1/Conv' },
  );
  const bn = b.node(
    'BatchNormalization',
    [c1, 'bn1.scale', 'bn1.bias', 'bn1.mean', 'bn1.var'],
    { epsilon: float(1e-5) },
    { name: '/bn1/BatchNormalization' },
  );
  const r = b.node('Relu', [bn], {}, { name: '/relu/Relu' });
  const a = b.node(
    'Conv',
    [r, 'layer1.0.conv1.weight'],
    { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
    { name: '/layer1/layer1.0/conv1/Conv' },
  );
  const ar = b.node('Relu', [a], {}, { name: '/layer1/layer1.0/relu/Relu' });
  const c = b.node(
    'Conv',
    [ar, 'layer1.0.conv2.weight'],
    { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
    { name: '/layer1/layer1.0/conv2/Conv' },
  );
  const add = b.node('Add', [c, r], {}, { name: '/layer1/layer1.0/Add' });
  const r2 = b.node('Relu', [add], {}, { name: '/layer1/layer1.0/relu_1/Relu' });
  const gp = b.node('GlobalAveragePool', [r2], {}, { name: '/avgpool/GlobalAveragePool' });
  const fl = b.node('Flatten', [gp], { axis: 1 }, { name: '/Flatten' });
  b.node('Gemm', [fl, 'fc.weight', 'fc.bias'], { transB: 1 }, { name: '/fc/Gemm', outputs: ['logits'] });
  b.output('logits', ['N', 10]);
  return b.build();
}

// ---- build, serve, browse ----------------------------------------------------------------------------------------

/** Builds dist/ when the webview bundle is missing or older than its sources. */
function ensureBuilt(): void {
  const bundle = path.join(ROOT, 'dist', 'webview', 'inspect.js');
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
    Math.max(newest(path.join(ROOT, 'webview')), fs.statSync(path.join(ROOT, 'src', 'shared', 'messages.ts')).mtimeMs) >
      fs.statSync(bundle).mtimeMs;
  if (stale) execFileSync(process.execPath, ['esbuild.js'], { cwd: ROOT, stdio: 'inherit' });
}

const MIME: Record<string, string> = {
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** Serves the panel document at /panel?theme=dark|light and, like localResourceRoots, only dist/webview and media. */
function serve(): Promise<{ origin: string; server: http.Server; notFound: string[] }> {
  const notFound: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    } // the browser asks; a webview does not
    if (url.pathname === '/panel') {
      const origin = `http://${req.headers.host}`;
      const dark = url.searchParams.get('theme') !== 'light';
      let html = inspectHtml({
        cspSource: origin,
        nonce: makeNonce(),
        plotlyUri: `${origin}/dist/webview/plotly.min.js`,
        scriptUri: `${origin}/dist/webview/inspect.js`,
        styleUri: `${origin}/media/inspect.css`,
        modelPath: '/models/small-cnn.onnx',
      });
      // What VS Code's webview host adds: theme variables on <html>, the theme kind as the body's class.
      html = html
        .replace('<html lang="en">', `<html lang="en" style='${styleAttr(dark ? DARK : LIGHT)}'>`)
        .replace(
          '<body>',
          `<body class="${dark ? 'vscode-dark' : 'vscode-light'}" ` +
            `data-vscode-theme-kind="${dark ? 'vscode-dark' : 'vscode-light'}">`,
        );
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
      return;
    }
    const rel = decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = path.resolve(ROOT, rel);
    const allowed = [path.join(ROOT, 'dist', 'webview') + path.sep, path.join(ROOT, 'media') + path.sep].some((r) =>
      file.startsWith(r),
    );
    if (!allowed || !fs.existsSync(file)) {
      notFound.push(url.pathname);
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      resolve({ origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, notFound });
    }),
  );
}

/**
 * Stands in for VS Code: acquireVsCodeApi records posted messages and keeps the state; CSP violations are recorded.
 * Plain JavaScript source (a TypeScript function would carry the test transpiler's helpers into the page).
 */
function vscodeStub(initialState: unknown): string {
  return `(() => {
    const w = window;
    w.__posted = [];
    w.__state = ${JSON.stringify(initialState ?? null)} ?? undefined;
    w.__csp = [];
    let acquired = false;
    w.acquireVsCodeApi = () => {
      if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
      acquired = true;
      return {
        postMessage: (m) => { w.__posted.push(JSON.parse(JSON.stringify(m))); },
        getState: () => w.__state,
        setState: (s) => { w.__state = JSON.parse(JSON.stringify(s)); return s; },
      };
    };
    document.addEventListener('securitypolicyviolation', (e) => {
      w.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber);
    });
  })();`;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- playwright-core is loaded at run time, untyped
type Any = any;
let browser: Any = null;
let srv: Awaited<ReturnType<typeof serve>> | null = null;
let result: InspectResult;
const events: { page: string; kind: string; text: string }[] = [];

async function openPanel(theme: 'dark' | 'light', state: unknown = undefined, name: string = theme): Promise<Any> {
  step(`open ${name}`);
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('console', (m: Any) => {
    if (m.type() === 'error' || m.type() === 'warning') events.push({ page: name, kind: m.type(), text: m.text() });
  });
  page.on('pageerror', (e: Error) =>
    events.push({ page: name, kind: 'pageerror', text: String(e.stack || e.message) }),
  );
  page.on('requestfailed', (r: Any) =>
    events.push({ page: name, kind: 'requestfailed', text: `${r.url()} ${r.failure()?.errorText}` }),
  );
  await page.addInitScript({ content: vscodeStub(state) });
  await page.goto(`${srv!.origin}/panel?theme=${theme}`);
  try {
    await page.waitForFunction(() => (window as Any).__posted.some((m: Any) => m.type === 'ready'), null, {
      timeout: 20000,
    });
  } catch (e) {
    const seen = events
      .filter((x) => x.page === name)
      .map((x) => `[${x.kind}] ${x.text}`)
      .join('\n');
    throw new Error(`the panel never posted 'ready' (${(e as Error).message.split('\n')[0]}); console:\n${seen}`, {
      cause: e,
    });
  }
  return page;
}

const cspViolations: string[] = [];
/** Closes a page after collecting its CSP violation reports. */
async function closePage(page: Any): Promise<void> {
  cspViolations.push(...(await page.evaluate(() => (window as Any).__csp)));
  await page.close();
}
const postToPanel = (page: Any, msg: unknown) => page.evaluate((m: unknown) => window.postMessage(m, '*'), msg);
const text = (page: Any, sel: string) => page.locator(sel).innerText();
const shot = async (page: Any, name: string) => {
  fs.mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, name) });
};

before(async () => {
  if (SKIP) return;
  step('before');
  ensureBuilt();
  step('built');
  const dir = tempDir('replens-webview-');
  const modelPath = path.join(dir, 'small-cnn.onnx');
  saveModel(smallCnn(), modelPath);
  result = await inspectModel(modelPath, new SessionPool({ executionProvider: 'cpu' }));
  step('inspected');
  srv = await serve();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  srv?.server.close();
});

const opts = { skip: SKIP || undefined, timeout: 60000 } as const;

test(
  'the panel renders a real Inspect result: header, table rows and cells, one bar per layer with parameters',
  opts,
  async () => {
    const page = await openPanel('dark');
    assert.equal((await text(page, '#status')).trim(), 'loading…');
    assert.equal(await page.locator('#error-card').isVisible(), false);
    assert.deepEqual(await page.evaluate(() => (window as Any).__posted), [{ v: 1, type: 'ready' }]);

    await postToPanel(page, {
      v: 1,
      type: 'progress',
      progress: { stage: 'inspecting small-cnn.onnx', done: 0, total: 0, etaSeconds: null },
    });
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'inspecting small-cnn.onnx…');
    assert.equal(await page.locator('#progress').isVisible(), true);
    await shot(page, 'inspect-loading-dark.png');

    await postToPanel(page, { v: 1, type: 'inspect', result } satisfies HostToWebview);
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'ready');
    assert.equal(await page.locator('#progress').isVisible(), false);

    const layers = result.summary.layers;
    assert.equal(layers.length, 11);
    assert.equal((await text(page, '#layer-count')).trim(), '11');
    const rows = page.locator('#layers-table tbody tr.layer-row');
    assert.equal(await rows.count(), 11);
    assert.equal(await page.locator('#layers-table thead th').count(), 7);
    const cells = await page
      .locator('#layers-table')
      .evaluate((t: HTMLTableElement) =>
        Array.from(t.querySelectorAll('tbody tr.layer-row')).map((r) =>
          ['col-name', 'col-op', 'col-module', 'col-output', 'col-shape', 'col-params'].map(
            (c) => r.querySelector(`td.${c}`)?.textContent ?? null,
          ),
        ),
      );
    assert.deepEqual(
      cells,
      layers.map((l) => [l.name, l.op, cellText(l, 'module'), l.output, cellText(l, 'shape'), cellText(l, 'params')]),
    );
    // spot checks against what the model is
    assert.deepEqual(cells[0], ['/conv1/Conv', 'Conv', 'conv1', '/conv1/Conv_output_0', 'N×8×8×8', '224']);
    assert.deepEqual(cells[3].slice(0, 3), ['/layer1/layer1.0/conv1/Conv', 'Conv', 'layer1.0.conv1']);
    assert.deepEqual(cells[9], ['/Flatten', 'Flatten', '(root)', '/Flatten_output_0', 'N×8', '0']);
    assert.deepEqual(cells[10], ['/fc/Gemm', 'Gemm', 'fc', 'logits', 'N×10', '90']);

    // the chart: one bar per layer with parameters, labelled with the module paths
    const withParams = layers.filter((l) => l.params > 0);
    assert.equal(withParams.length, 5);
    await page.locator('#param-chart .bars .point path').first().waitFor({ state: 'attached', timeout: 15000 });
    assert.equal(await page.locator('#param-chart .bars .point path').count(), withParams.length);
    // tick labels top to bottom (graph order, first layer on top)
    const ticks = await page.locator('#param-chart .yaxislayer-above .ytick text').evaluateAll((ts: SVGTextElement[]) =>
      ts
        .map((t) => [t.getBoundingClientRect().top, (t.textContent ?? '').trim()] as [number, string])
        .sort((a, b) => a[0] - b[0])
        .map((x) => x[1]),
    );
    assert.deepEqual(ticks, ['conv1', 'bn1', 'layer1.0.conv1', 'layer1.0.conv2', 'fc']);

    // the header
    assert.equal((await text(page, '#model-name')).trim(), 'small-cnn.onnx');
    assert.equal((await text(page, '#opset')).trim(), '13');
    assert.equal((await text(page, '#producer')).trim(), 'replens-builder');
    assert.equal((await text(page, '#execution-provider')).trim(), 'CPU');
    assert.equal((await text(page, '#total-params')).trim(), '1,498');
    assert.match(await text(page, '#model-inputs'), /input\s*N×3×16×16\s*float32/);
    assert.match(await text(page, '#model-outputs'), /logits\s*N×10/);

    // the result is kept in the webview state
    const state = await page.evaluate(() => (window as Any).__state);
    assert.equal(state.last.type, 'inspect');
    assert.equal(state.modelPath, '/models/small-cnn.onnx');
    await shot(page, 'inspect-dark.png');

    // hover on a bar: name, op, params
    // plotly's drag layer sits above the bars: move the mouse to the bar's centre rather than hovering the element
    const box = await page.locator('#param-chart .bars .point path').nth(4).boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('#param-chart .hoverlayer .hovertext').first().waitFor({ timeout: 5000 });
    const hover = await page.locator('#param-chart .hoverlayer .hovertext').first().textContent();
    assert.match(hover, /\/fc\/Gemm.*op: Gemm.*module: fc.*params: 90/);
    await shot(page, 'inspect-dark-hover.png');
    // a click on a bar highlights its table row
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('#layers-table tr.layer-row.highlight').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('#layers-table tr.highlight td.col-name').textContent(), '/fc/Gemm');
    await closePage(page);
  },
);

test('theme: the chart follows the body class and VS Code variables (light after dark)', opts, async () => {
  const page = await openPanel('dark', undefined, 'theme');
  await postToPanel(page, { v: 1, type: 'inspect', result });
  await page.waitForFunction(() => document.getElementById('status')!.textContent === 'ready');
  const bg = () => page.evaluate(() => (document.getElementById('param-chart') as Any)._fullLayout.paper_bgcolor);
  const bar = () => page.evaluate(() => (document.getElementById('param-chart') as Any).data[0].marker.color);
  await page.waitForFunction(() => (document.getElementById('param-chart') as Any)._fullLayout);
  assert.equal(await bg(), '#1f1f1f');
  assert.equal(await bar(), '#3794ff');
  // VS Code switches theme: new variables on <html>, new class on <body>
  await page.evaluate(
    ([style]: string[]) => {
      document.documentElement.setAttribute('style', style);
      document.body.className = 'vscode-light';
    },
    [styleAttr(LIGHT)],
  );
  await page.waitForFunction(
    () => (document.getElementById('param-chart') as Any)._fullLayout.paper_bgcolor === '#ffffff',
    null,
    { timeout: 5000 },
  );
  assert.equal(await bar(), '#1a85ff');
  await shot(page, 'inspect-light.png');
  await closePage(page);
});

test('sorting by a header click and filtering hide/reorder rows, and survive in the state', opts, async () => {
  const page = await openPanel('light', undefined, 'sort');
  await postToPanel(page, { v: 1, type: 'inspect', result });
  await page.waitForFunction(() => document.getElementById('status')!.textContent === 'ready');
  const names = () => page.locator('#layers-table tbody tr.layer-row:not([hidden]) td.col-name').allTextContents();
  await page.locator('#layers-table thead th.col-params').click();
  assert.deepEqual((await names()).slice(0, 3), [
    '/layer1/layer1.0/conv1/Conv',
    '/layer1/layer1.0/conv2/Conv',
    '/conv1/Conv',
  ]);
  assert.equal(await page.locator('#layers-table thead th.col-params').getAttribute('aria-sort'), 'descending');
  await page.locator('#filter').fill('layer1 conv');
  assert.deepEqual(await names(), ['/layer1/layer1.0/conv1/Conv', '/layer1/layer1.0/conv2/Conv']);
  assert.equal((await text(page, '#filter-count')).trim(), '2 of 11');
  // hidden rows stay in the table: #layer-count is the number of layers
  assert.equal(await page.locator('#layers-table tbody tr.layer-row').count(), 11);
  const state = await page.evaluate(() => (window as Any).__state);
  assert.deepEqual([state.sort, state.filter], [{ col: 'params', dir: 'desc' }, 'layer1 conv']);
  await shot(page, 'inspect-light-filtered.png');
  await closePage(page);
});

test('a hidden panel shown again re-renders from its state before the host answers', opts, async () => {
  const state = {
    v: 1,
    modelPath: '/models/small-cnn.onnx',
    last: { v: 1, type: 'inspect', result },
    sort: null,
    filter: '',
  };
  const page = await openPanel('dark', state, 'restore');
  await page.waitForFunction(() => document.getElementById('status')!.textContent === 'ready', null, { timeout: 5000 });
  assert.equal(await page.locator('#layers-table tbody tr.layer-row').count(), 11);
  assert.equal(await page.locator('#param-chart .bars .point path').count(), 5);
  await closePage(page);
});

test(
  'errors: the error card shows the one-line message and code; Retry and Show Log post to the host',
  opts,
  async () => {
    const page = await openPanel('dark', undefined, 'error');
    await postToPanel(page, { v: 1, type: 'inspect', result });
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'ready');
    const message = 'broken.onnx is not an ONNX model (protobuf decoding failed: index out of range)';
    await postToPanel(page, { v: 1, type: 'error', error: { code: 'E_NOT_ONNX', message } });
    await page.locator('#error-card').waitFor({ state: 'visible', timeout: 5000 });
    const card = await text(page, '#error-card');
    assert.ok(card.includes(message), card);
    assert.ok(card.includes('E_NOT_ONNX'), card);
    assert.equal((await text(page, '#status')).trim(), 'error');
    assert.equal(await page.locator('#results').isVisible(), false);
    await shot(page, 'inspect-error-dark.png');

    await page.locator('#show-log-button').click();
    await page.locator('#retry-button').click();
    const posted = await page.evaluate(() => (window as Any).__posted);
    assert.deepEqual(
      posted.map((m: Any) => m.type),
      ['ready', 'showLog', 'retry'],
    );
    assert.equal(await page.locator('#error-card').isVisible(), false);
    assert.equal(await page.locator('#progress').isVisible(), true);

    // a malformed message is ignored (warned about), the panel keeps working
    await postToPanel(page, { v: 1, type: 'explode' });
    await postToPanel(page, { v: 2, type: 'inspect', result });
    await postToPanel(page, { v: 1, type: 'inspect', result });
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'ready');
    const warnings = events.filter((e) => e.page === 'error' && e.kind === 'warning').map((e) => e.text);
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0], /unknown type 'explode'/);
    await closePage(page);
  },
);

test('light theme error card', opts, async () => {
  const page = await openPanel('light', undefined, 'error-light');
  await postToPanel(page, {
    v: 1,
    type: 'error',
    error: { code: 'E_WORKER', message: 'the analysis worker crashed: out of memory; it restarts on the next run' },
  });
  await page.locator('#error-card').waitFor({ state: 'visible', timeout: 5000 });
  await shot(page, 'inspect-error-light.png');
  await closePage(page);
});

const EXAMPLE = path.join(ROOT, 'examples', 'fashion-mnist', 'model.onnx');
test(
  'the example model (a torch-exported ResNet) renders completely',
  { ...opts, skip: SKIP || (!fs.existsSync(EXAMPLE) && 'examples/fashion-mnist/model.onnx is missing') || undefined },
  async () => {
    const example = await inspectModel(EXAMPLE, new SessionPool({ executionProvider: 'cpu' }));
    for (const theme of ['dark', 'light'] as const) {
      const page = await openPanel(theme, undefined, `example-${theme}`);
      await postToPanel(page, { v: 1, type: 'inspect', result: example });
      await page.waitForFunction(() => document.getElementById('status')!.textContent === 'ready');
      assert.equal(await page.locator('#layers-table tbody tr.layer-row').count(), example.summary.layers.length);
      await page.locator('#param-chart .bars .point path').first().waitFor({ state: 'attached' });
      assert.equal(
        await page.locator('#param-chart .bars .point path').count(),
        example.summary.layers.filter((l) => l.params > 0).length,
      );
      await shot(page, `example-${theme}.png`);
      await page.screenshot({ path: path.join(OUT, `example-${theme}-full.png`), fullPage: true });
      await closePage(page);
    }
  },
);

test('no CSP violations, console errors, page errors or failed requests in any of the pages above', opts, async () => {
  const page = await openPanel('dark', undefined, 'csp');
  await postToPanel(page, { v: 1, type: 'inspect', result });
  await page.waitForFunction(() => document.getElementById('status')!.textContent === 'ready');
  await closePage(page);
  const bad = events.filter((e) => e.kind !== 'warning' || /Content Security Policy|Refused to/.test(e.text));
  assert.deepEqual(bad, []);
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(srv!.notFound, []);
});
