// The Analysis panel's header in a real browser: the document the extension serves (analysisHtml, same CSP), the
// built bundle (dist/webview/analysis.js), a stub acquireVsCodeApi, and the sample result. Checks what a user sees at
// a narrow and a wide panel: the title row on one line (issue 15: its five buttons wrapped at half width), one
// progress bar and one Cancel during a run, the run pickers (stored runs, the overlay), the Export menu, and the
// webview state a restored panel starts from. Skips when playwright-core or chromium is not available.
// Screenshots go to test-out/ (analysis-header-*.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { analysisHtml } from '../src/extension/analysisHtml';
import { makeNonce } from '../src/extension/inspectHtml';
import type { AnalysisRuns, HostToAnalysisView, RunSummary } from '../src/shared/messages';
import type { AnalysisResult } from '../src/shared/result';
import { overlayRuns } from '../src/shared/overlay';
import { runLabel } from '../webview/analysis/state';
import { browserUnavailable, launchChromium } from './helpers/browser';
import { DARK, LIGHT, styleAttr } from './helpers/vscode-theme';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'test-out');
const SAMPLE = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'report', 'sample-result.json'), 'utf8'),
) as AnalysisResult;
const MODEL = SAMPLE.model.path;
const SKIP = browserUnavailable();
if (SKIP) console.log(`# webview-analysis-browser: SKIPPED: ${SKIP}`);
const opts = { skip: SKIP || undefined, timeout: 60000 } as const;

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
    Math.max(newest(path.join(ROOT, 'webview')), newest(path.join(ROOT, 'src', 'shared'))) >
      fs.statSync(bundle).mtimeMs;
  if (stale) execFileSync(process.execPath, ['esbuild.js'], { cwd: ROOT, stdio: 'inherit' });
}

const MIME: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

/** Serves the panel at /panel?theme=dark|light and, like localResourceRoots, only dist/webview and media. */
function serve(): Promise<{ origin: string; server: http.Server; notFound: string[] }> {
  const notFound: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/panel') {
      const origin = `http://${req.headers.host}`;
      const dark = url.searchParams.get('theme') !== 'light';
      const html = analysisHtml({
        cspSource: origin,
        nonce: makeNonce(),
        plotlyUri: `${origin}/dist/webview/plotly.min.js`,
        scriptUri: `${origin}/dist/webview/analysis.js`,
        styleUri: `${origin}/media/analysis.css`,
        modelPath: MODEL,
      })
        .replace('<html lang="en">', `<html lang="en" style='${styleAttr(dark ? DARK : LIGHT)}'>`)
        .replace(
          '<body data-state="idle">',
          `<body data-state="idle" class="${dark ? 'vscode-dark' : 'vscode-light'}">`,
        );
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
      return;
    }
    const file = path.resolve(ROOT, decodeURIComponent(url.pathname).replace(/^\/+/, ''));
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
    server.listen(0, '127.0.0.1', () =>
      resolve({ origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, notFound }),
    ),
  );
}

const STUB = (state: unknown) => `(() => {
  const w = window;
  w.__posted = [];
  w.__state = ${JSON.stringify(state ?? null)} ?? undefined;
  w.__csp = [];
  w.acquireVsCodeApi = () => ({
    postMessage: (m) => { w.__posted.push(JSON.parse(JSON.stringify(m))); },
    getState: () => w.__state,
    setState: (s) => { w.__state = JSON.parse(JSON.stringify(s)); return s; },
  });
  document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
})();`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- playwright-core is loaded at run time, untyped
type Any = any;
let browser: Any = null;
let srv: Awaited<ReturnType<typeof serve>> | null = null;
const problems: string[] = [];

async function openPanel(theme: 'dark' | 'light', width: number, state?: unknown): Promise<Any> {
  const page = await browser.newPage({ viewport: { width, height: 700 } });
  page.on('console', (m: Any) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e: Error) => problems.push(`pageerror: ${e.message}`));
  await page.addInitScript({ content: STUB(state) });
  await page.goto(`${srv!.origin}/panel?theme=${theme}`);
  await page.waitForFunction(() => (window as Any).__posted.some((m: Any) => m.type === 'ready'), null, {
    timeout: 20000,
  });
  return page;
}
async function closePage(page: Any): Promise<void> {
  problems.push(...(await page.evaluate(() => (window as Any).__csp)).map((c: string) => `csp: ${c}`));
  await page.close();
}
const post = (page: Any, msg: HostToAnalysisView) => page.evaluate((m: unknown) => window.postMessage(m, '*'), msg);
const posted = (page: Any): Promise<Any[]> => page.evaluate(() => (window as Any).__posted);
const shot = async (page: Any, name: string) => {
  fs.mkdirSync(OUT, { recursive: true });
  await page.screenshot({
    path: path.join(OUT, name),
    clip: { x: 0, y: 0, width: page.viewportSize().width, height: 200 },
  });
};

// Two runs of the sample model (the older one cancelled, with a cached analysis) and one of another model.
const summary = (id: string, when: string, over: Partial<RunSummary> = {}): RunSummary => ({
  id,
  modelPath: MODEL,
  when,
  state: 'complete',
  analyses: SAMPLE.settings.analyses,
  samples: SAMPLE.dataset.samples,
  dataset: SAMPLE.dataset.description,
  datasetIdentity: SAMPLE.dataset.identity,
  cached: [],
  ...over,
});
const NEW = summary('run-new', new Date(2026, 11, 3, 19, 30, 5).toISOString());
const OLD = summary('run-old', new Date(2026, 11, 3, 18, 2, 11).toISOString(), {
  state: 'cancelled',
  samples: 200,
  cached: ['rra'],
});
const OTHER = summary('run-other', new Date(2026, 11, 2, 9, 0, 0).toISOString(), {
  modelPath: '/home/ana/shallow-cnn/runs/bn/model_bn.onnx',
});
const RUNS: AnalysisRuns = { own: [NEW, OLD], others: [OTHER], shown: NEW.id, overlay: null };
const RUN_INFO = {
  modelPath: MODEL,
  dataset: SAMPLE.dataset.description,
  analyses: SAMPLE.settings.analyses,
  samples: 1000,
};

/** The title row's children: whether they sit on one line, and whether anything in the header sticks out. */
async function titleRow(
  page: Any,
): Promise<{ lines: number; overflow: boolean; height: number; visible: string[]; wide: string[] }> {
  return page.evaluate(() => {
    const row = document.querySelector('.title-row') as HTMLElement;
    const items = Array.from(row.querySelectorAll('h1, #status, .actions > vscode-button')).filter(
      (e) => (e as HTMLElement).offsetParent !== null,
    ) as HTMLElement[];
    const tops = new Set(items.map((e) => Math.round(e.getBoundingClientRect().top / 8)));
    const right = Math.max(...items.map((e) => e.getBoundingClientRect().right));
    const header = document.getElementById('header')!;
    const wide = Array.from(header.querySelectorAll('*'))
      .filter((e) => (e as HTMLElement).offsetParent !== null && e.getBoundingClientRect().right > innerWidth)
      .map((e) => `${e.tagName.toLowerCase()}#${e.id}`);
    return {
      lines: tops.size,
      overflow: header.scrollWidth > header.clientWidth || right > innerWidth || wide.length > 0,
      height: row.getBoundingClientRect().height,
      visible: items.map((e) => e.id || e.tagName.toLowerCase()),
      wide,
    };
  });
}

before(async () => {
  if (SKIP) return;
  ensureBuilt();
  srv = await serve();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  srv?.server.close();
});

for (const width of [420, 500, 600, 1280])
  test(
    `at ${width} px the header's title row is one line, in both themes, with a result and during a run`,
    opts,
    async () => {
      for (const theme of ['light', 'dark'] as const) {
        const page = await openPanel(theme, width);
        await post(page, { v: 1, type: 'run', run: RUN_INFO });
        await post(page, { v: 1, type: 'runs', runs: RUNS });
        await post(page, { v: 1, type: 'result', result: SAMPLE, state: 'complete' });
        await page.waitForFunction(() => document.body.dataset.done === 'complete');
        const done = await titleRow(page);
        assert.equal(done.lines, 1, `${theme} ${width}: ${JSON.stringify(done)}`);
        assert.equal(done.overflow, false, `${theme} ${width}: ${JSON.stringify(done)}`);
        assert.deepEqual(done.visible, ['model-name', 'status', 'rerun-button', 'export-button', 'show-log-button']);
        assert.ok(done.height < 40, `one line is under 40 px high (${done.height})`);
        await shot(page, `analysis-header-${width}-${theme}.png`);
        // A new run: progress once (one bar), one Cancel, the pickers disabled.
        await post(page, { v: 1, type: 'run', run: RUN_INFO });
        await post(page, { v: 1, type: 'runs', runs: { ...RUNS, shown: null } });
        await post(page, {
          v: 1,
          type: 'progress',
          progress: { stage: 'capturing activations', done: 3, total: 16, etaSeconds: 12 },
        });
        await page.waitForFunction(() => document.getElementById('progress-text')!.textContent?.includes('3/16'));
        const running = await titleRow(page);
        assert.equal(running.lines, 1, `${theme} ${width} running: ${JSON.stringify(running)}`);
        assert.equal(running.overflow, false);
        const ui = await page.evaluate(() => ({
          cancels: Array.from(document.querySelectorAll('vscode-button, button')).filter(
            (b) => (b as HTMLElement).offsetParent !== null && /cancel/i.test(b.textContent ?? ''),
          ).length,
          bars: Array.from(document.querySelectorAll('vscode-progress-bar')).filter(
            (b) => (b as HTMLElement).offsetParent !== null,
          ).length,
          progressTexts: Array.from(document.querySelectorAll('body *')).filter(
            (e) =>
              e.children.length === 0 && (e as HTMLElement).offsetParent !== null && /3\/16/.test(e.textContent ?? ''),
          ).length,
          pickers: [
            (document.getElementById('run-picker') as HTMLSelectElement).disabled,
            (document.getElementById('overlay-picker') as HTMLSelectElement).disabled,
          ],
          shown: (document.getElementById('run-picker') as HTMLSelectElement).selectedOptions[0]?.textContent,
        }));
        assert.deepEqual(ui, {
          cancels: 1,
          bars: 1,
          progressTexts: 1,
          pickers: [true, true],
          shown: 'this run (running…)',
        });
        await shot(page, `analysis-header-${width}-${theme}-running.png`);
        await closePage(page);
      }
    },
  );

test(
  'the run picker lists the stored runs and shows the picked one; the overlay picker overlays another',
  opts,
  async () => {
    const page = await openPanel('dark', 900);
    await post(page, { v: 1, type: 'run', run: RUN_INFO });
    await post(page, { v: 1, type: 'runs', runs: RUNS });
    await post(page, { v: 1, type: 'result', result: SAMPLE, state: 'complete' });
    await page.waitForFunction(() => document.body.dataset.done === 'complete');
    const options = await page
      .locator('#run-picker option')
      .evaluateAll((os: HTMLOptionElement[]) => os.map((o) => [o.value, o.textContent, o.selected]));
    assert.deepEqual(options, [
      ['run-new', runLabel(NEW), true],
      ['run-old', runLabel(OLD), false],
    ]);
    assert.equal(
      runLabel(OLD),
      `2026-12-03 18:02:11 · ${SAMPLE.settings.analyses.join(', ')} · 200 samples · ` +
        `data ${SAMPLE.dataset.description} · cancelled · 1 of 5 cached`,
    );
    // The overlay picker: none, this model's other run, the other model's run (named with its model).
    const overlay = await page
      .locator('#overlay-picker option')
      .evaluateAll((os: HTMLOptionElement[]) => os.map((o) => [o.value, (o.parentElement as HTMLElement).tagName]));
    assert.deepEqual(overlay, [
      ['', 'SELECT'],
      ['run-old', 'OPTGROUP'],
      ['run-other', 'OPTGROUP'],
    ]);
    assert.match(await page.locator('#overlay-picker option[value="run-other"]').innerText(), /^model_bn\.onnx · /);
    await page.locator('#run-picker').selectOption('run-old');
    await page.locator('#overlay-picker').selectOption('run-other');
    await page.locator('#overlay-picker').selectOption('');
    const sent = (await posted(page)).filter((m) => m.type !== 'ready');
    assert.deepEqual(sent, [
      { v: 1, type: 'showRun', id: 'run-old' },
      { v: 1, type: 'overlay', id: 'run-other' },
      { v: 1, type: 'overlay', id: null },
    ]);
    // The host answers an overlay with the overlaid document: the table gets the other run's "(B)" columns (the
    // same layers), no Compare tab (an overlay has no between-model matrices); the state names both runs.
    const b = { ...SAMPLE, model: { ...SAMPLE.model, path: OTHER.modelPath, name: 'model_bn.onnx' } };
    await post(page, { v: 1, type: 'runs', runs: { ...RUNS, overlay: OTHER.id } });
    await post(page, { v: 1, type: 'result', result: overlayRuns(SAMPLE, b), state: 'complete' });
    await page.locator('#layer-table th.col-id-b').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('vscode-tab-header[data-tab="compare"]').count(), 0);
    assert.equal(await page.locator('#overlay-picker').inputValue(), 'run-other');
    const state = await page.evaluate(() => (window as Any).__state);
    assert.deepEqual([state.runs.shown, state.runs.overlay], ['run-new', 'run-other']);
    await shot(page, 'analysis-header-overlay-dark.png');
    await closePage(page);
  },
);

test(
  'Export is one button with a menu (HTML report, result.json, CSV files); Escape and a click outside close it',
  opts,
  async () => {
    const page = await openPanel('light', 500);
    await post(page, { v: 1, type: 'run', run: RUN_INFO });
    await post(page, { v: 1, type: 'result', result: SAMPLE, state: 'complete' });
    await page.waitForFunction(() => document.body.dataset.done === 'complete');
    assert.equal(await page.locator('#export-menu').isVisible(), false);
    await page.locator('#export-button').click();
    assert.equal(await page.locator('#export-menu').isVisible(), true);
    assert.equal(await page.locator('#export-button').getAttribute('aria-expanded'), 'true');
    assert.deepEqual(await page.locator('#export-menu button').allInnerTexts(), [
      'HTML report…',
      'result.json…',
      'CSV files…',
    ]);
    // the menu stays inside the panel at 500 px
    const box = await page.locator('#export-menu').boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 500, JSON.stringify(box));
    await shot(page, 'analysis-header-500-light-export-menu.png');
    await page.locator('#export-json').click();
    assert.equal(await page.locator('#export-menu').isVisible(), false);
    await page.locator('#export-button').click();
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#export-menu').isVisible(), false);
    await page.locator('#export-button').click();
    await page.locator('#run-meta').click();
    assert.equal(await page.locator('#export-menu').isVisible(), false);
    await page.locator('#show-log-button').click();
    await page.locator('#rerun-button').click();
    assert.deepEqual(
      (await posted(page)).filter((m) => m.type !== 'ready'),
      [
        { v: 1, type: 'export', format: 'json' },
        { v: 1, type: 'showLog' },
        { v: 1, type: 'rerun' },
      ],
    );
    await closePage(page);
  },
);

test(
  'a panel shown again starts from its state: the same run, overlay and pickers before the host answers',
  opts,
  async () => {
    const state = {
      v: 1,
      modelPath: MODEL,
      run: RUN_INFO,
      runs: { ...RUNS, shown: OLD.id },
      result: SAMPLE,
      state: 'cancelled',
    };
    const page = await openPanel('dark', 700, state);
    await page.waitForFunction(() => document.querySelectorAll('#layer-table tbody tr').length > 0);
    assert.equal(await page.locator('#run-picker').inputValue(), 'run-old');
    assert.match(await page.locator('#status').innerText(), /^cancelled/);
    await closePage(page);
  },
);

test('no console errors, page errors, CSP violations or missing files in the pages above', opts, () => {
  assert.deepEqual(problems, []);
  assert.deepEqual(srv!.notFound, []);
});
