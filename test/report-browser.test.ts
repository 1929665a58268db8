// The standalone HTML report in a real browser: the sample result (test/fixtures/report/sample-result.json) written
// with writeReport (plotly and dist/webview/report.js inlined), opened from file:// in headless chromium. No request
// may leave the file (every request other than the document itself is recorded and fails the test), no console
// errors or CSP violations. Skips when playwright-core or chromium is not available (see the skip message).
//
//   REPLENS_PLAYWRIGHT  folder of playwright-core (default: .e2e-cache/tools/node_modules/playwright-core)
//   CHROMIUM            browser binary (default /usr/bin/chromium)
// Screenshots (light and dark, whole page and per chart) go to a fresh temp folder, printed as "# report shots: …".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { AnalysisResult } from '../src/shared/result';
import { reportCharts } from '../webview/views/registry';
import { REPORT_THEMES } from '../webview/report/overview';
import { writeReport } from '../src/report/write';
import { browserUnavailable, launchChromium } from './helpers/browser';
import { tempDir } from './helpers/tmp';
import { OTHER_LABELS, otherArch, sameArch } from './helpers/compare-fixtures';

const ROOT = path.join(__dirname, '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'report', 'sample-result.json');

const SKIP = browserUnavailable();
if (SKIP) console.log(`# report-browser: SKIPPED: ${SKIP}`);
const opts = { skip: SKIP || undefined, timeout: 90000 } as const;

/** Builds dist/ when the report bundle is missing or older than its sources. */
function ensureBuilt(): void {
  const bundle = path.join(ROOT, 'dist', 'webview', 'report.js');
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
    Math.max(newest(path.join(ROOT, 'webview')), fs.statSync(path.join(ROOT, 'src', 'shared', 'result.ts')).mtimeMs) >
      fs.statSync(bundle).mtimeMs;
  if (stale) execFileSync(process.execPath, ['esbuild.js'], { cwd: ROOT, stdio: 'inherit' });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- playwright-core is loaded at run time, untyped
type Any = any;
let browser: Any = null;
let dir = '';
let result: AnalysisResult;
const events: { page: string; kind: string; text: string }[] = [];

/** Collects CSP violations in the page (read back by closePage). */
const CSP_PROBE = `(() => { window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber); }); })();`;

async function openReport(file: string, name: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Any> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, colorScheme });
  const url = pathToFileURL(file).href;
  page.on('console', (m: Any) => {
    if (m.type() === 'error' || m.type() === 'warning') events.push({ page: name, kind: m.type(), text: m.text() });
  });
  page.on('pageerror', (e: Error) =>
    events.push({ page: name, kind: 'pageerror', text: String(e.stack || e.message) }),
  );
  page.on('requestfailed', (r: Any) =>
    events.push({ page: name, kind: 'requestfailed', text: `${r.url()} ${r.failure()?.errorText}` }),
  );
  page.on('request', (r: Any) => {
    if (r.url() !== url && !r.url().startsWith('data:')) events.push({ page: name, kind: 'request', text: r.url() });
  });
  await page.addInitScript({ content: CSP_PROBE });
  await page.goto(url);
  try {
    await page.waitForFunction(
      () => ['light', 'dark'].includes(document.documentElement.dataset.rendered ?? ''),
      null,
      { timeout: 30000 },
    );
  } catch (e) {
    const seen = events
      .filter((x) => x.page === name)
      .map((x) => `[${x.kind}] ${x.text}`)
      .join('\n');
    throw new Error(`the report never finished drawing (${(e as Error).message.split('\n')[0]}); console:\n${seen}`, {
      cause: e,
    });
  }
  return page;
}

const cspViolations: string[] = [];
async function closePage(page: Any): Promise<void> {
  cspViolations.push(...(await page.evaluate(() => (window as Any).__csp)));
  await page.close();
}
const shot = (page: Any, name: string, fullPage = false) => page.screenshot({ path: path.join(dir, name), fullPage });

before(async () => {
  if (SKIP) return;
  ensureBuilt();
  result = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
  dir = tempDir('replens-report-');
  console.log(`# report shots: ${dir}`);
  writeReport(result, path.join(dir, 'report-light.html'), { theme: 'light' });
  writeReport(result, path.join(dir, 'report-auto.html'), { theme: 'auto' });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

/** Per chart: the figure's traces by type, and what plotly drew (SVG present, traces in the DOM by layer). */
async function drawn(
  page: Any,
  id: string,
): Promise<{ svg: number; data: number; scatter: number; bar: number; box: number; heatmap: number }> {
  // a string, not a function: tsx would wrap the inner helper with its __name(), which the page does not have
  return page.evaluate(`(() => {
    const el = document.getElementById(${JSON.stringify(`chart-${id}`)});
    const n = (sel) => el.querySelectorAll(sel).length;
    return {
      svg: n('svg.main-svg'), data: el.data ? el.data.length : -1,
      scatter: n('.scatterlayer .trace'), bar: n('.barlayer .trace'), box: n('.boxlayer .trace'),
      heatmap: n('.heatmaplayer .hm'),
    };
  })()`);
}

test('the report draws every chart with the expected traces, header and table, and loads nothing', opts, async () => {
  const page = await openReport(path.join(dir, 'report-light.html'), 'light');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.rendered), 'light');
  const charts = reportCharts(result, REPORT_THEMES.light);
  assert.equal(charts.length, 14);
  assert.equal(await page.locator('.chart').count(), charts.length);
  for (const c of charts) {
    const d = await drawn(page, c.id);
    const count = (type: string) => c.figure.data.filter((t) => t.type === type).length;
    assert.ok(d.svg >= 1, `${c.id}: no svg`);
    assert.deepEqual(
      d,
      {
        svg: d.svg,
        data: c.figure.data.length,
        scatter: count('scatter'),
        bar: count('bar'),
        box: count('box'),
        heatmap: count('heatmap'),
      },
      c.id,
    );
  }
  // spot checks: the noise-SVD chart over three panels, the heatmap axes carry the layer labels
  assert.equal((await drawn(page, 'noise-svd')).scatter, 48);
  // top to bottom on screen (the DOM order follows the reversed axis)
  const ticks = await page.locator('#chart-nnls .yaxislayer-above .ytick text').evaluateAll((ts: SVGTextElement[]) =>
    ts
      .map((t) => [t.getBoundingClientRect().top, (t.textContent ?? '').trim()] as [number, string])
      .sort((a, b) => a[0] - b[0])
      .map((x) => x[1]),
  );
  assert.equal(ticks.length, 12);
  assert.deepEqual(ticks.slice(0, 2), ['features.conv1', 'features.bn1']);
  assert.equal(ticks[11], 'classifier.h…tion.linear');
  // header and table
  assert.equal((await page.locator('#model-name').innerText()).trim(), 'model.onnx');
  assert.match(await page.locator('#model-meta').innerText(), /CIFAR-10 test split/);
  assert.equal(await page.locator('#notes li').count(), 3);
  assert.equal(await page.locator('#overview-table tbody tr').count(), 12);
  assert.equal(await page.locator('#overview-table thead th').count(), 10);
  await shot(page, 'report-light-top.png');
  await shot(page, 'report-light-full.png', true);
  for (const id of ['depth', 'multiscale', 'nnls', 'pwcca', 'compare-cka', 'selectivity', 'noise-svd', 'summary']) {
    await page.locator(`#chart-${id}`).screenshot({ path: path.join(dir, `chart-${id}-light.png`) });
  }
  await closePage(page);
});

test('hovering a heatmap cell shows both full layer names and the value at 3 significant digits', opts, async () => {
  const page = await openReport(path.join(dir, 'report-light.html'), 'hover');
  await page.locator('#chart-nnls').scrollIntoViewIfNeeded();
  const box = await page.locator('#chart-nnls .nsewdrag').first().boundingBox();
  const n = result.layers.length;
  const [i, j] = [11, 4]; // row classifier.head.final_projection.linear, column features.conv2
  await page.mouse.move(box.x + ((j + 0.5) * box.width) / n, box.y + ((i + 0.5) * box.height) / n);
  await page.locator('#chart-nnls .hoverlayer .hovertext').first().waitFor({ timeout: 5000 });
  const hover = await page.locator('#chart-nnls .hoverlayer .hovertext').first().textContent();
  assert.equal(result.analyses.rra!.nnls.values[i][j], 0.0371052);
  assert.equal(hover, 'classifier.head.final_projection.linear ↔ features.conv2: 0.0371');
  await page.locator('#chart-nnls').screenshot({ path: path.join(dir, 'chart-nnls-hover-light.png') });
  await closePage(page);
});

test(
  'a header click sorts the table (numbers largest first, again reverses; nulls last), aria-sort follows',
  opts,
  async () => {
    const page = await openReport(path.join(dir, 'report-light.html'), 'sort');
    const col = (key: string) => page.locator(`#overview-table tbody td.col-${key}`).allTextContents();
    const labels = () => col('label');
    const depth = result.layers.map((l) => l.label);
    assert.deepEqual(await labels(), depth);
    const byNncs = [...result.analyses.rra!.perLayer]
      .sort((a, b) => b.nncs! - a.nncs!)
      .map((l) => result.layers.find((x) => x.tensor === l.tensor)!.label);
    await page.locator('#overview-table thead th.col-nncs').click();
    assert.deepEqual(await labels(), byNncs);
    assert.equal(await page.locator('#overview-table thead th.col-nncs').getAttribute('aria-sort'), 'descending');
    await page.locator('#overview-table thead th.col-nncs').click();
    assert.deepEqual(await labels(), [...byNncs].reverse());
    assert.equal(await page.locator('#overview-table thead th.col-nncs').getAttribute('aria-sort'), 'ascending');
    // params: largest first, ties in depth order
    await page.locator('#overview-table thead th.col-params').click();
    assert.deepEqual((await labels()).slice(0, 3), ['classifier.fc1', 'features.conv3', 'features.conv2']);
    assert.equal(await page.locator('#overview-table thead th.col-nncs').getAttribute('aria-sort'), 'none');
    // text column A→Z by keyboard
    await page.locator('#overview-table thead th.col-op').focus();
    await page.keyboard.press('Enter');
    assert.deepEqual((await col('op')).slice(0, 3), ['BatchNormalization', 'BatchNormalization', 'Conv']);
    // back to depth order (a click beside the narrow header's ⓘ, which opens its popover instead)
    await page.locator('#overview-table thead th.col-index').click({ position: { x: 4, y: 4 } });
    assert.deepEqual(await labels(), depth);
    await closePage(page);
  },
);

test('the theme toggle re-renders every chart in the dark theme and back', opts, async () => {
  const page = await openReport(path.join(dir, 'report-light.html'), 'theme');
  const bgs = () =>
    page.evaluate(() =>
      Array.from(document.querySelectorAll('.chart')).map((el) => (el as Any)._fullLayout.paper_bgcolor),
    );
  const n = reportCharts(result, REPORT_THEMES.light).length;
  assert.deepEqual(await bgs(), new Array(n).fill(REPORT_THEMES.light.background));
  assert.equal((await page.locator('#theme-toggle').innerText()).trim(), 'Dark theme');
  await page.locator('#theme-toggle').click();
  await page.waitForFunction(() => document.documentElement.dataset.rendered === 'dark', null, { timeout: 15000 });
  assert.deepEqual(await bgs(), new Array(n).fill(REPORT_THEMES.dark.background));
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(31, 31, 31)');
  assert.equal((await page.locator('#theme-toggle').innerText()).trim(), 'Light theme');
  // the charts still have their traces after the re-render
  assert.equal((await drawn(page, 'noise-svd')).scatter, 48);
  assert.equal((await drawn(page, 'cka')).heatmap, 1);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'report-dark-top.png');
  await shot(page, 'report-dark-full.png', true);
  for (const id of ['depth', 'multiscale', 'nnls', 'pwcca', 'compare-cka', 'selectivity', 'noise-svd', 'summary']) {
    await page.locator(`#chart-${id}`).screenshot({ path: path.join(dir, `chart-${id}-dark.png`) });
  }
  await page.locator('#theme-toggle').click();
  await page.waitForFunction(() => document.documentElement.dataset.rendered === 'light', null, { timeout: 15000 });
  assert.deepEqual(await bgs(), new Array(n).fill(REPORT_THEMES.light.background));
  await closePage(page);
});

test("theme 'auto' follows the system colour scheme", opts, async () => {
  const page = await openReport(path.join(dir, 'report-auto.html'), 'auto', 'dark');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.rendered), 'dark');
  assert.equal(
    await page.evaluate(() => (document.getElementById('chart-depth') as Any)._fullLayout.paper_bgcolor),
    REPORT_THEMES.dark.background,
  );
  await closePage(page);
});

test('a result with only some analyses (one layer) renders just those charts', opts, async () => {
  const r: AnalysisResult = JSON.parse(JSON.stringify(result));
  r.layers = r.layers.slice(0, 1);
  r.analyses = { summary: { perLayer: r.analyses.summary!.perLayer.slice(0, 1) } };
  delete r.compare;
  r.notes = [];
  const file = path.join(dir, 'report-partial.html');
  writeReport(r, file, { theme: 'dark' });
  const page = await openReport(file, 'partial');
  assert.deepEqual(await page.locator('.chart').evaluateAll((els: HTMLElement[]) => els.map((e) => e.id)), [
    'chart-summary',
  ]);
  assert.equal((await drawn(page, 'summary')).bar, 2);
  assert.match(
    await page.locator('#not-computed').innerText(),
    /Not in this result: Selectivity, RRA, Similarity, Noise SVD\./,
  );
  await shot(page, 'report-partial-dark.png');
  await closePage(page);
});

test('a comparison with the compared model’s analyses: both models drawn, its table sortable', opts, async () => {
  for (const [name, r] of [
    ['same', sameArch()],
    ['other', otherArch()],
  ] as const) {
    const file = path.join(dir, `report-compare-${name}.html`);
    writeReport(r, file, { theme: 'light' });
    const page = await openReport(file, `compare-${name}`);
    for (const c of reportCharts(r, REPORT_THEMES.light).filter((c) =>
      ['depth', 'multiscale', 'selectivity', 'summary'].includes(c.id),
    )) {
      const d = await drawn(page, c.id);
      assert.equal(d.data, c.figure.data.length, `${name} ${c.id}`);
      assert.equal(d.scatter + d.bar + d.box, c.figure.data.length, `${name} ${c.id}: every trace drawn`);
      // the legend: one group title per model
      const legend = await page.locator(`#chart-${c.id} .legend text.legendtext`).allTextContents();
      assert.deepEqual(
        legend.filter((t: string) => /^[AB]: /.test(t)),
        ['A: model.onnx', `B: ${r.compare!.name}`],
        `${name} ${c.id}`,
      );
      await page.locator(`#chart-${c.id}`).screenshot({ path: path.join(dir, `chart-${c.id}-compare-${name}.png`) });
    }
    if (name === 'same') {
      assert.equal(await page.locator('#overview-table thead th').count(), 15);
      await page.locator('#overview-table thead th.col-id-b').click();
      const ids = (await page.locator('#overview-table tbody td.col-id-b').allTextContents()).slice(0, -1).map(Number);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => b - a),
      );
      assert.equal(await page.locator('#overview-table tbody tr:last-child td.col-id-b').textContent(), '—');
    } else {
      const labels = () => page.locator('#compare-table tbody td.col-label').allTextContents();
      assert.deepEqual(await labels(), OTHER_LABELS);
      await page.locator('#compare-table thead th.col-id').click();
      assert.deepEqual(await labels(), [...OTHER_LABELS].reverse(), 'ID largest first');
      assert.equal(await page.locator('#compare-table thead th.col-id').getAttribute('aria-sort'), 'descending');
      assert.equal(await page.locator('#overview-table thead th.col-id').getAttribute('aria-sort'), 'none');
    }
    await shot(page, `report-compare-${name}-full.png`, true);
    await closePage(page);
  }
});

test(
  "an ⓘ on every column and chart: the keyboard opens the definition with this result's settings",
  opts,
  async () => {
    const page = await openReport(path.join(dir, 'report-light.html'), 'info');
    const count = (sel: string) => page.locator(sel).count();
    assert.equal(
      await count('#overview-table thead th .info-button'),
      await count('#overview-table thead th[data-col]'),
    );
    assert.equal(
      (await count('.section .info-button')) - (await count('#overview-table .info-button')),
      14,
      'one a chart',
    );
    // the header's text is still the column's label (the glyph is CSS)
    assert.equal(
      await page.locator('#overview-table th.col-nncs').evaluate((th: Any) => th.textContent.trim()),
      'NNCS',
    );
    const button = page.locator('#overview-table th.col-nncs .info-button');
    assert.equal(await button.getAttribute('aria-label'), 'About NNCS');
    await button.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('info-popover')?.matches(':popover-open'));
    const text = await page.locator('#info-popover').innerText();
    assert.match(text, /^NNCS — nearest-neighbour class separation/);
    assert.match(text, /Range: 0–1, higher = classes better separated among the k nearest neighbours/);
    assert.match(text, /This result: k = 10 · 1,000 samples · 10 classes/);
    assert.equal(await button.getAttribute('aria-expanded'), 'true');
    assert.equal(await page.locator('#overview-table th.col-nncs').getAttribute('aria-sort'), 'none', 'no sort');
    assert.match(
      (await page.locator('#info-popover a').getAttribute('href')) ?? '',
      /README\.md#info-nncs$/,
      'the README link',
    );
    // Tab reaches the link inside the popover; Escape closes it
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Read more in the README');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.getElementById('info-popover')!.matches(':popover-open'));
    assert.equal(await button.getAttribute('aria-expanded'), 'false');
    // a chart's ⓘ (a click) shows that chart's text, and a second one switches to its own
    await page.locator('#sec-similarity figcaption .info-button').first().click();
    assert.match(await page.locator('#info-popover').innerText(), /^NNLS — nearest-neighbour layer similarity/);
    await page.locator('#sec-similarity figcaption .info-button').nth(1).click();
    await page.waitForFunction(() => document.getElementById('info-popover')?.matches(':popover-open'));
    assert.match(await page.locator('#info-popover').innerText(), /^Linear CKA\n[^]*CKA computed in feature form/);
    await shot(page, 'report-info.png');
    await closePage(page);
  },
);

test(
  'no console errors, page errors, CSP violations, failed requests or network requests in any page above',
  opts,
  async () => {
    const bad = events.filter((e) => e.kind !== 'warning' || /Content Security Policy|Refused to/.test(e.text));
    assert.deepEqual(bad, []);
    assert.deepEqual(cspViolations, []);
  },
);
