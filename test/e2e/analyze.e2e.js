// RepLens end-to-end test of the analysis experience, driven through the real VS Code UI (code-server + chromium).
// Started by test/e2e/run.sh after inspect.e2e.js, in the same workspace.
//
// User story: right-click shallow_cnn.onnx -> "Analyze Model…" -> accept the analyses -> pick the workspace's
// replens.json dataset -> 200 samples -> the "RepLens: shallow_cnn.onnx" panel fills in: the layer table (one row
// per analysed layer, with ID and NNCS) and plotly charts on the Layers and RRA tabs; screenshots in the dark and the
// light theme. Then shallow_cnn.py shows code lenses with the numbers above the layer definitions. Finally a run on
// the larger model.onnx is cancelled from the panel once its first RRA layers are in (run.sh holds that run there
// until the cancel arrives): the panel says "cancelled" and keeps those layers.
'use strict';
const path = require('path');
const {
  log,
  sleep,
  shot,
  check,
  failures,
  setPhase,
  runCommand,
  closeAllEditors,
  clearNotifications,
  viaExplorer,
  webview,
  waitForTab,
  launch,
  openWorkbench,
  finish,
  start,
} = require('./lib');

const CS_URL = process.env.CS_URL || 'http://127.0.0.1:8080';
const WS_DIR = process.env.WS_DIR;
const ANALYZE = /^\s*(RepLens:\s*)?Analyze Model…\s*$/;
/**
 * The longest the workbench's event loop may stall while a run streams into a loaded panel: its updates take at most
 * ~0.3 s here, idle gaps on the loaded CI machine reach ~0.5 s, and the freezes this guards against were 3.1–11.4 s.
 */
const STALL_LIMIT_MS = 1500;
if (!WS_DIR) {
  console.error('WS_DIR is not set (run test/e2e/run.sh)');
  process.exit(2);
}

/** Waits for the quick input titled `re` (polling every 250 ms, `tries` times); returns the title. */
async function waitTitle(page, re, tries = 60) {
  const input = page.locator('.quick-input-widget input');
  const title = page.locator('.quick-input-widget .quick-input-title');
  for (let i = 0; i < tries; i++) {
    const t = await title.innerText().catch(() => '');
    if ((await input.isVisible().catch(() => false)) && re.test(t)) return t;
    await sleep(250);
  }
  throw new Error(`no picker titled ${re}; visible title: "${await title.innerText().catch(() => '')}"`);
}

/**
 * Answers the pickers of Analyze Model…: analyses (as pre-selected), the dataset (the highlighted item: the last
 * used, else the first), the samples, the layers (as pre-selected; a comparison has no layer picker) and the confirm
 * item, once its time estimate is in.
 */
async function answerPickers(page, samples) {
  const input = page.locator('.quick-input-widget input');
  // The first picker comes after the model check (the worker reads the model and probes its shapes): up to 60 s.
  await waitTitle(page, /analyses to run/, 240);
  await shot(page, 'a01-analyses-picker');
  await page.keyboard.press('Enter');
  await waitTitle(page, /dataset/);
  await page.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 10000 });
  await shot(page, 'a02-dataset-picker');
  await page.keyboard.press('Enter');
  await waitTitle(page, /samples/);
  await input.fill(String(samples));
  await page.keyboard.press('Enter');
  if (/layers to analyse/.test(await waitTitle(page, /layers to analyse|RepLens: run /))) {
    await page.keyboard.press('Enter');
    await waitTitle(page, /RepLens: run /);
  }
  await confirmEstimate(page);
  await page.keyboard.press('Enter');
}

/** Waits for the confirm item's time estimate (up to 60 s) and returns the Run row's text. */
async function confirmEstimate(page) {
  const run = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Run' }).first();
  let text = '';
  for (let i = 0; i < 240; i++) {
    text = (await run.innerText().catch(() => '')).replace(/\s+/g, ' ');
    if (text && !/estimating/.test(text)) break;
    await sleep(250);
  }
  log('confirm:', text);
  return text;
}

/**
 * Issue 15, "check before the work" and "let the researcher choose": after a first run of shallow_cnn.onnx, with a
 * 5-channel .npy and the bundled epoch checkpoints added to the workspace, Analyze Model… shows each dataset's
 * samples, shape, labels and fit (✓, or ✗ with the reason) in a stable order with the last used marked; refuses the
 * misfit; bounds the samples box by the dataset; offers the model's layers (the 7 default taps pre-selected) and
 * noise-SVD's checkpoints, images and σ; and ends on a confirm item whose estimate comes from the last run.
 * It backs out at the confirm item: nothing runs.
 */
async function pickersStory(page) {
  setPhase('pickers');
  // A 5-channel .npy (4 samples of 5×28×28 float32): a shape no preprocessing turns into the model's 1×28×28.
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 5, 28, 28), }";
  const pad = 64 - ((10 + header.length + 1) % 64);
  const head = Buffer.concat([
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]),
    Buffer.from([(header.length + pad + 1) & 0xff, (header.length + pad + 1) >> 8]),
    Buffer.from(header + ' '.repeat(pad) + '\n'),
  ]);
  require('fs').writeFileSync(path.join(WS_DIR, 'five.npy'), Buffer.concat([head, Buffer.alloc(4 * 5 * 28 * 28 * 4)]));
  const ckpt = path.join(WS_DIR, 'checkpoints');
  require('fs').mkdirSync(ckpt, { recursive: true });
  for (const e of [1, 2, 3]) {
    const f = `shallow_cnn-epoch-${e}.onnx`;
    require('fs').copyFileSync(path.join(__dirname, '../../examples/models/checkpoints', f), path.join(ckpt, f));
  }
  await closeAllEditors(page);
  await clearNotifications(page);
  await viaExplorer(page, 'shallow_cnn.onnx', null, ANALYZE);
  await waitTitle(page, /analyses to run/, 240);
  const noise = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Noise SVD' }).first();
  await noise.click();
  check((await noise.getAttribute('aria-checked')) === 'true', 'the analyses picker: Noise SVD selected by a click');
  await page.keyboard.press('Enter');
  await waitTitle(page, /dataset/);
  const rows = page.locator('.quick-input-list .monaco-list-row');
  let texts = [];
  for (let i = 0; i < 120; i++) {
    texts = (await rows.allInnerTexts().catch(() => [])).map((x) => x.replace(/\s+/g, ' ').trim());
    if (texts.length >= 3 && !texts.some((x) => /probing/.test(x))) break;
    await sleep(250);
  }
  for (const x of texts) log('   dataset row:', x);
  const idx = texts.find((x) => /t10k-images/.test(x)) || '';
  const five = texts.find((x) => /five\.npy/.test(x)) || '';
  check(
    /✓/.test(idx) && /1000 samples · 1×28×28 · 10 classes/.test(idx) && /fits the model input/.test(idx),
    `the dataset picker: the Fashion-MNIST IDX fits, with its samples, shape and classes ("${idx}")`,
  );
  check(/last used/.test(idx), 'the dataset picker marks the last used dataset');
  check(
    /✗/.test(five) && /4 samples · 5×28×28 · no labels/.test(five) && /5 channels cannot become 1/.test(five),
    `the dataset picker: five.npy does not fit, and says why ("${five}")`,
  );
  check(
    texts.indexOf(idx) < texts.indexOf(five),
    'the dataset picker keeps a stable order (replens.json datasets first)',
  );
  await shot(page, 'a12-dataset-picker-probed');
  // Choosing the misfit keeps the picker open with the reason.
  const input = page.locator('.quick-input-widget input');
  await input.fill('five');
  await page.keyboard.press('Enter');
  await sleep(500);
  const still = await waitTitle(page, /dataset/, 4).then(
    () => true,
    () => false,
  );
  const ph = (await input.getAttribute('placeholder').catch(() => '')) || '';
  check(still && /five\.npy: .*5 channels cannot become 1/.test(ph), `picking five.npy is refused ("${ph}")`);
  await input.fill('t10k');
  await page.keyboard.press('Enter');
  const samplesTitle = await waitTitle(page, /samples/);
  void samplesTitle;
  const prompt = (
    await page
      .locator('.quick-input-widget .quick-input-message')
      .innerText()
      .catch(() => '')
  ).trim();
  check(/holds 1000 samples/.test(prompt), `the samples box says what the dataset holds ("${prompt}")`);
  await input.fill('5000');
  await sleep(400);
  const refusal = (
    await page
      .locator('.quick-input-widget .quick-input-message')
      .innerText()
      .catch(() => '')
  ).trim();
  check(/holds 1000 samples; at most 1000/.test(refusal), `the samples box refuses 5000 ("${refusal}")`);
  await input.fill('200');
  await page.keyboard.press('Enter');
  await waitTitle(page, /layers to analyse/);
  const layerRows = await rows.count();
  // The list is virtual (only the rows in view exist): the count badge says how many are checked.
  const picked = Number(
    (
      await page
        .locator('.quick-input-widget .quick-input-count')
        .innerText()
        .catch(() => '')
    ).replace(/\D+/g, ''),
  );
  const layerTexts = (await rows.allInnerTexts().catch(() => [])).join(' | ');
  check(picked === 7, `the layer picker pre-selects the 7 default taps (${picked} of ${layerRows} rows)`);
  check(/Conv/.test(layerTexts), 'the layer picker offers Conv outputs');
  await shot(page, 'a13-layer-picker');
  await page.keyboard.press('Enter');
  await waitTitle(page, /noise-SVD checkpoints/);
  const ckptTexts = (await rows.allInnerTexts().catch(() => [])).join(' | ');
  check(
    [1, 2, 3].every((e) => ckptTexts.includes(`shallow_cnn-epoch-${e}.onnx`)),
    `noise-SVD offers the epoch checkpoints beside the model (${ckptTexts.replace(/\s+/g, ' ')})`,
  );
  await shot(page, 'a14-checkpoints-picker');
  await page.keyboard.press('Enter');
  await waitTitle(page, /images per class/);
  check((await input.inputValue()) === '10', 'noise-SVD images per class default to 10');
  await page.keyboard.press('Enter');
  await waitTitle(page, /noise-SVD σ/);
  check((await input.inputValue()) === '0.2,0.1,0.01', 'noise-SVD σ default to 0.2,0.1,0.01');
  await page.keyboard.press('Enter');
  await waitTitle(page, /RepLens: run /);
  const est = await confirmEstimate(page);
  check(
    /(≈ \d+ (s|min)|< 1 s), from this model's last run and a probe batch/.test(est) &&
      /capture 200 samples × 7 layers/.test(est) &&
      /noise-svd (\d+ (s|min)|< 1 s)/.test(est),
    `the confirm item estimates the time from the last run, noise-SVD (not in it) from a probe batch ("${est}")`,
  );
  await shot(page, 'a15-confirm-estimate');
  // Backing out at the confirm item runs nothing and remembers nothing: the next Analyze… starts as before.
  await page.keyboard.press('Escape');
  await sleep(500);
}

/** Waits for the panel body's data-done ('complete', 'cancelled', 'failed'); returns it or 'timeout'. */
async function waitDone(page, timeout) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    try {
      const done = await webview(page).locator('body').getAttribute('data-done', { timeout: 1000 });
      if (done) return done;
    } catch {
      /* frame not there yet */
    }
    await sleep(500);
  }
  return 'timeout';
}

async function tableReport(page) {
  return webview(page)
    .locator('#layer-table')
    .evaluate((t) => {
      const head = [...t.querySelectorAll('thead th')].map((th) => th.textContent.trim());
      const rows = [...t.querySelectorAll('tbody tr')].map((r) =>
        [...r.querySelectorAll('td')].map((td) => td.textContent.trim()),
      );
      return { head, rows, sparks: t.querySelectorAll('tbody svg.sparkline polyline').length };
    });
}

/** The panel header: how many lines its title row takes, the visible Cancel buttons, the run pickers' options. */
async function headerReport(page) {
  return webview(page)
    .locator('body')
    .evaluate(() => {
      const { document, innerWidth } = globalThis; // runs in the webview
      const visible = (e) => e.offsetParent !== null;
      const row = document.querySelector('.title-row');
      const items = [...row.querySelectorAll('h1, #status, .actions > vscode-button')].filter(visible);
      const header = document.getElementById('header');
      const options = (id) =>
        [...document.querySelectorAll(`#${id} option`)].map((o) => ({ value: o.value, text: o.textContent }));
      return {
        width: innerWidth,
        lines: new Set(items.map((e) => Math.round(e.getBoundingClientRect().top / 8))).size,
        overflow: header.scrollWidth > header.clientWidth,
        buttons: items.filter((e) => e.tagName !== 'H1' && e.id !== 'status').map((e) => e.id),
        cancels: [...document.querySelectorAll('vscode-button, button')].filter(
          (b) => visible(b) && /cancel/i.test(b.textContent),
        ).length,
        bars: [...document.querySelectorAll('vscode-progress-bar')].filter(visible).length,
        runs: options('run-picker'),
        shown: document.getElementById('run-picker').value,
        overlays: options('overlay-picker'),
      };
    });
}

/** Polls the header until `ok(report)`; the last report either way. */
async function waitHeader(page, ok, timeout) {
  const deadline = Date.now() + timeout;
  let h = null;
  while (Date.now() < deadline) {
    h = await headerReport(page).catch(() => null);
    if (h && ok(h)) return h;
    await sleep(500);
  }
  return h;
}

async function selectTab(page, title) {
  const tab = webview(page).locator('vscode-tab-header', { hasText: title }).first();
  await tab.click();
  await sleep(300);
}

/** Switches between the light and the dark theme (code-server starts in Light Modern). */
async function toggleTheme(page) {
  await runCommand(page, 'Preferences: Toggle between Light/Dark Themes');
  await sleep(1500);
}

async function main() {
  const browser = await launch();
  const page = await openWorkbench(browser, CS_URL, WS_DIR, { width: 1500, height: 950 });
  try {
    // 1. Analyze the shallow CNN from the Explorer
    setPhase('analyze shallow_cnn.onnx');
    await viaExplorer(page, 'shallow_cnn.onnx', 'a00-context-menu', ANALYZE);
    await answerPickers(page, 200);
    // The workbench's own event loop while the panel opens and the run streams into it (issue 15: plotly drawing in
    // the webview froze the editor for 3–11 s): a 50 ms timer in the workbench page records every gap over 250 ms
    // with when it began. The panel's one-time load (parsing plotly, in code-server on the editor's thread) is
    // reported; what follows, the run's updates, is checked.
    await page.evaluate(() => {
      const w = globalThis;
      w.__stall = { last: performance.now(), gaps: [] };
      w.__stallTimer = setInterval(() => {
        const now = performance.now();
        if (now - w.__stall.last > 250) w.__stall.gaps.push([w.__stall.last, now - w.__stall.last]);
        w.__stall.last = now;
      }, 50);
    });
    await waitForTab(page, 'RepLens: shallow_cnn.onnx', 60000);
    check(true, 'panel "RepLens: shallow_cnn.onnx" opened');
    await webview(page)
      .locator('body[data-loaded]')
      .waitFor({ timeout: 60000 })
      .catch(() => {});
    const loadedAt = await page.evaluate(() => performance.now());
    const notification = page.locator('.notification-toast', { hasText: 'RepLens: shallow_cnn.onnx' }).first();
    if (await notification.isVisible().catch(() => false)) {
      log('progress notification:', (await notification.innerText()).replace(/\s+/g, ' '));
      await shot(page, 'a03-running');
    }
    const done = await waitDone(page, 240000);
    check(done === 'complete', `shallow_cnn.onnx: the run ends complete (${done})`);
    const gaps = await page.evaluate(() => {
      clearInterval(globalThis.__stallTimer);
      return globalThis.__stall.gaps;
    });
    // A gap that began before the panel had loaded belongs to the load.
    const loadMs = Math.round(Math.max(0, ...gaps.filter(([at]) => at < loadedAt).map(([, ms]) => ms)));
    const stallMs = Math.round(Math.max(0, ...gaps.filter(([at]) => at >= loadedAt).map(([, ms]) => ms)));
    log(
      `workbench gaps over 250 ms: ${gaps.map(([at, ms]) => `${Math.round(ms)} ms at ${Math.round(at)}`).join(', ')}`,
    );
    log(`the panel's load stalled the workbench ${loadMs} ms (loaded at ${Math.round(loadedAt)})`);
    check(
      stallMs < STALL_LIMIT_MS,
      `the editor never stalls ${STALL_LIMIT_MS} ms during the run (longest ${stallMs} ms)`,
    );
    const t = await tableReport(page);
    log('table head:', t.head.join(' | '));
    for (const r of t.rows.slice(0, 3)) log('   row:', r.join(' | '));
    check(t.rows.length === 7, `the layer table has the 7 default taps (${t.rows.length})`);
    const idCol = t.head.indexOf('ID'),
      nncsCol = t.head.indexOf('NNCS');
    check(idCol > 0 && t.rows.every((r) => Number(r[idCol]) > 0), 'every row has an intrinsic dimension > 0');
    check(
      nncsCol > 0 && t.rows.every((r) => Number(r[nncsCol]) > 0 && Number(r[nncsCol]) <= 1),
      'every row has NNCS in (0, 1]',
    );
    check(t.sparks >= 5, `selectivity sparklines drawn (${t.sparks})`);
    const layersCharts = await webview(page).locator('#charts-layers .chart .main-svg').count();
    check(layersCharts >= 1, `the Layers tab has a rendered plotly chart (${layersCharts})`);
    await shot(page, 'a04-panel-light');
    await selectTab(page, 'RRA');
    await webview(page)
      .locator('#charts-rra .chart .main-svg')
      .first()
      .waitFor({ timeout: 20000 })
      .catch(() => {});
    const rraCharts = await webview(page).locator('#charts-rra .chart .main-svg').count();
    check(
      rraCharts >= 3,
      `the RRA tab draws depth curves, multi-scale NNCS and the NNLS heatmap (${rraCharts} charts)`,
    );
    const heat = await webview(page).locator('#charts-rra .heatmaplayer, #charts-rra .hm').count();
    check(heat >= 1, `the NNLS heatmap is drawn (${heat})`);
    await shot(page, 'a05-rra-light');
    await toggleTheme(page);
    const dark = await webview(page).locator('body').getAttribute('class');
    check(/vscode-dark/.test(dark || ''), `the panel follows the dark theme (body class "${dark}")`);
    await shot(page, 'a06-rra-dark');
    await selectTab(page, 'Layers');
    await sleep(800);
    await shot(page, 'a07-layers-dark');
    await selectTab(page, 'Similarity');
    await sleep(1200);
    await shot(page, 'a07b-similarity-dark');
    await toggleTheme(page);
    const status = page.locator('.statusbar-item', { hasText: 'RepLens: shallow_cnn.onnx' }).first();
    check(await status.isVisible().catch(() => false), 'the status bar names the model the lenses show');

    // 1b. The header at about 600 px (issue 15: its five buttons wrapped at half width), light and dark
    setPhase('header');
    const full = await headerReport(page);
    const viewport = page.viewportSize();
    await page.setViewportSize({ width: viewport.width - (full.width - 600), height: viewport.height });
    await sleep(1000);
    const narrow = await headerReport(page);
    log('header at', narrow.width, 'px:', JSON.stringify({ lines: narrow.lines, buttons: narrow.buttons }));
    check(
      Math.abs(narrow.width - 600) <= 40 && narrow.lines === 1 && !narrow.overflow,
      `the header's title row is one line at ${narrow.width} px (${narrow.lines} lines: ${narrow.buttons.join(', ')})`,
    );
    await shot(page, 'a04b-header-600-light');
    await toggleTheme(page);
    await shot(page, 'a04c-header-600-dark');
    await toggleTheme(page);
    await page.setViewportSize(viewport);
    await sleep(800);

    // 1c. Runs are kept (issue 15): Re-run is a second run; the Run picker shows either; another run overlays
    setPhase('runs');
    await webview(page).locator('#rerun-button').click();
    // The new run is in the picker once it is stored (while it runs, the picker's first entry is 'this run').
    const two = await waitHeader(page, (h) => h.runs.length >= 2 && !!h.shown && h.runs[0].value === h.shown, 240000);
    log('runs:', two && two.runs.map((r) => r.text).join(' || '));
    check(two && two.runs.length === 2, `after Re-run the Run picker lists 2 runs (${two && two.runs.length})`);
    check(
      two && /cached/.test(two.runs[0].text),
      `the re-run is labelled as served from the cache ("${two && two.runs[0].text}")`,
    );
    const older = two.runs[1].value;
    await webview(page).locator('#run-picker').selectOption(older);
    const picked = await waitHeader(page, (h) => h.shown === older, 20000);
    check(picked && picked.shown === older, 'picking the older run shows it');
    const overlayWith = picked.overlays.find((o) => o.value && o.value !== older);
    check(!!overlayWith, `the other run can be overlaid (${picked.overlays.map((o) => o.text).join(' || ')})`);
    await selectTab(page, 'Layers'); // the (B) columns are on the Layers tab (an earlier step left another open)
    await webview(page).locator('#overlay-picker').selectOption(overlayWith.value);
    // An overlay draws the other run in the per-layer charts and the table's "(B)" columns (same layers); it has no
    // between-model matrices, hence no Compare tab.
    const bColumn = webview(page).locator('#layer-table th.col-id-b');
    const overlaid = await bColumn.waitFor({ timeout: 20000 }).then(
      () => true,
      () => false,
    );
    const notes = await webview(page)
      .locator('#notes')
      .innerText()
      .catch(() => '');
    check(
      overlaid && /Overlaid run:/.test(notes),
      `Compare with run: the table's ID (B) column and the overlay's note (${overlaid})`,
    );
    await shot(page, 'a04d-overlay');
    await webview(page).locator('#overlay-picker').selectOption('');
    const removed = await bColumn.waitFor({ state: 'detached', timeout: 20000 }).then(
      () => true,
      () => false,
    );
    check(removed, 'removing the overlay removes the (B) columns');
    await selectTab(page, 'Layers');

    // 2. Code lenses on the PyTorch definition
    setPhase('code lenses');
    await runCommand(page, 'Go to File');
    await page.locator('.quick-input-widget input').fill('shallow_cnn.py');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'shallow_cnn.py' })
      .first()
      .waitFor({ timeout: 10000 });
    await page.keyboard.press('Enter');
    await waitForTab(page, 'shallow_cnn.py', 30000);
    const lens = page.locator('.codelens-decoration a, .codelens-decoration span', { hasText: 'RepLens' });
    await lens
      .first()
      .waitFor({ timeout: 30000 })
      .catch(() => {});
    // Bring __init__ (lines 29–40) into view: at this viewport self.fc's lens is below the fold otherwise.
    await runCommand(page, 'Go to Line/Column...').catch((e) => log('go to line:', e.message.split('\n')[0]));
    await page.keyboard.type('36');
    await page.keyboard.press('Enter');
    // Lenses are provided, then resolved (their text), then drawn: on a loaded machine that takes a while, so read
    // them once all 7 read "RepLens: …" (or after 30 s, and the checks below say what was seen).
    let lensTexts = [];
    for (let t = 0; t < 60; t++) {
      await sleep(500);
      lensTexts = (await lens.allInnerTexts().catch(() => [])).map((x) => x.trim());
      if (lensTexts.length >= 7 && lensTexts.every((x) => /^RepLens: \S/.test(x))) break;
    }
    log('lenses:', lensTexts.join(' || '));
    check(lensTexts.length >= 7, `code lenses over the layer definitions (${lensTexts.length})`);
    check(
      lensTexts.some((x) => /^RepLens: ID \d+\.\d · NNCS 0\.\d\d( · sel 0\.\d\d)?$/.test(x)),
      'a lens reads "RepLens: ID x.x · NNCS 0.xx …" for an analysed layer',
    );
    // One lens per analysed layer (issue 15): conv1 no longer repeats relu1's numbers above self.relu1's own lens.
    check(
      new Set(lensTexts).size === lensTexts.length,
      `each layer's numbers appear on one lens only (${lensTexts.length} lenses)`,
    );
    await shot(page, 'a08-code-lenses');
    // The hover over a definition: a compact table of the layer's numbers.
    await page
      .locator('.view-line', { hasText: 'self.relu2 = nn.ReLU()' })
      .first()
      .locator('span', { hasText: 'relu2' })
      .first()
      .hover();
    const hover = page.locator('.monaco-hover-content', { hasText: 'RepLens' }).first();
    await hover.waitFor({ timeout: 10000 }).catch(() => {});
    const hoverText = (await hover.innerText().catch(() => '')).replace(/\s+/g, ' ');
    log('hover:', hoverText);
    check(
      /shallow_cnn\.onnx/.test(hoverText) && /relu2/.test(hoverText) && /NNCS/.test(hoverText),
      'hovering self.relu2 shows its row of numbers',
    );
    await shot(page, 'a08b-hover');
    await page.keyboard.press('Escape');
    // Clicking a lens reveals the layer in the panel.
    await lens
      .filter({ hasText: /^RepLens: ID/ })
      .first()
      .click()
      .catch((e) => log('lens click:', e.message.split('\n')[0]));
    await sleep(1500);
    const revealed = await webview(page)
      .locator('#layer-table tr.revealed')
      .count()
      .catch(() => 0);
    check(revealed === 1, `clicking a lens highlights its layer in the panel (${revealed})`);
    await shot(page, 'a09-lens-revealed');

    // 2b. The pickers of issue 15 (probed datasets, layers, noise-SVD settings, the estimate); backs out at the end.
    await pickersStory(page);

    // 3. Cancel a run midway: the finished layers stay
    setPhase('cancel');
    await closeAllEditors(page);
    await clearNotifications(page);
    await viaExplorer(page, 'model.onnx', null, ANALYZE);
    await answerPickers(page, 1000);
    await waitForTab(page, 'RepLens: model.onnx', 60000);
    let kept = 0;
    for (let i = 0; i < 480 && kept < 1; i++) {
      const r = await tableReport(page).catch(() => null);
      if (r) {
        const c = r.head.indexOf('ID');
        kept = c > 0 ? r.rows.filter((row) => Number(row[c]) > 0).length : 0;
      }
      if (kept < 1) await sleep(250);
    }
    check(kept >= 1, `model.onnx: the first RRA layers stream in before the run ends (${kept})`);
    // Progress shows once during a run, with one Cancel: in the panel; no notification repeats them (issue 15).
    const during = await headerReport(page);
    const toasts = await page.locator('.notification-toast', { hasText: 'RepLens: model.onnx' }).count();
    log('during the run:', JSON.stringify({ cancels: during.cancels, bars: during.bars, toasts }));
    check(
      during.cancels === 1 && during.bars === 1 && toasts === 0 && during.lines === 1,
      `one progress bar and one Cancel during the run, no progress notification (${during.cancels} Cancel, ` +
        `${during.bars} bars, ${toasts} notifications, title ${during.lines} line)`,
    );
    await shot(page, 'a09b-running-one-cancel');
    await webview(page).locator('#cancel-button').click();
    const cancelled = await waitDone(page, 60000);
    check(cancelled === 'cancelled', `Cancel in the panel stops the run (${cancelled})`);
    const after = await tableReport(page);
    const c = after.head.indexOf('ID');
    const left = after.rows.filter((row) => Number(row[c]) > 0).length;
    check(
      left >= kept && left < after.rows.length,
      `the finished layers stay after the cancel (${left} of ${after.rows.length})`,
    );
    const statusText = (await webview(page).locator('#status').innerText()).trim();
    check(/cancelled/.test(statusText), `#status says "${statusText}"`);
    await shot(page, 'a10-cancelled');
    // 3b. A broken model is reported when the command starts, before any picker (issue 15)
    setPhase('broken');
    await closeAllEditors(page);
    await clearNotifications(page);
    await viaExplorer(page, 'broken.onnx', null, ANALYZE);
    const toast = page.locator('.notification-toast', { hasText: /broken\.onnx cannot be analysed/ }).first();
    const reported = await toast.waitFor({ timeout: 60000 }).then(
      () => true,
      () => false,
    );
    const picker = await page
      .locator('.quick-input-widget input')
      .isVisible()
      .catch(() => false);
    check(reported && !picker, `Analyze on broken.onnx: an error before any picker (${reported}, picker ${picker})`);
    await shot(page, 'a10b-broken');
    await clearNotifications(page);
    // 4. Compare With…: the second model from a picker, the between-model heatmaps on the Compare tab
    setPhase('compare');
    await closeAllEditors(page);
    await clearNotifications(page);
    await viaExplorer(page, 'shallow_cnn.onnx', null, /^\s*(RepLens:\s*)?Compare With…\s*$/);
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 60000 });
    await input.fill('model.onnx');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'model.onnx' })
      .first()
      .waitFor({ timeout: 10000 });
    await page.keyboard.press('Enter');
    await answerPickers(page, 200);
    await waitForTab(page, 'RepLens: shallow_cnn.onnx', 60000);
    const cmpDone = await waitDone(page, 240000);
    check(cmpDone === 'complete', `compare run ends complete (${cmpDone})`);
    await selectTab(page, 'Compare');
    // the panel draws one chart per frame: wait for the fourth (a loaded machine draws slowly), not the first
    await webview(page)
      .locator('#charts-compare .chart .main-svg')
      .nth(3)
      .waitFor({ timeout: 30000 })
      .catch(() => {});
    const cmpCharts = await webview(page).locator('#charts-compare .chart .main-svg').count();
    check(cmpCharts >= 4, `the Compare tab draws inter-model NNLS, CKA, SVCCA, PWCCA (${cmpCharts} charts)`);
    const meta = (await webview(page).locator('#run-meta').innerText()).trim();
    check(/compared with model\.onnx/.test(meta), `the run line names the second model ("${meta}")`);
    await shot(page, 'a11-compare');
    // Compare With… is a run of its own: the single-model runs before it stay in the Run picker (issue 15).
    const cmpRuns = await waitHeader(page, (h) => h.runs.length >= 3, 10000);
    log('runs:', cmpRuns && cmpRuns.runs.map((r) => r.text).join(' || '));
    const single = cmpRuns && cmpRuns.runs.find((r) => !/ vs /.test(r.text));
    check(
      cmpRuns && / vs model\.onnx/.test(cmpRuns.runs[0].text) && !!single,
      `the comparison is the newest run and the single-model runs stay (${cmpRuns && cmpRuns.runs.length} runs)`,
    );
    if (single) {
      const compareTab = webview(page).locator('vscode-tab-header[data-tab="compare"]');
      await webview(page).locator('#run-picker').selectOption(single.value);
      const back = await compareTab.waitFor({ state: 'detached', timeout: 20000 }).then(
        () => true,
        () => false,
      );
      const meta2 = (await webview(page).locator('#run-meta').innerText()).trim();
      check(back && !/compared with/.test(meta2), `picking a single-model run shows it again ("${meta2}")`);
      await shot(page, 'a12-single-run-again');

      // 5. After a window reload the panel shows what it showed: the same run, the same overlay (issue 15)
      setPhase('reload');
      const cmpRun = cmpRuns.runs[0].value;
      await webview(page).locator('#overlay-picker').selectOption(cmpRun);
      // the overlaid comparison's own model (the same layers): the table's (B) columns
      await webview(page)
        .locator('#layer-table th.col-id-b')
        .waitFor({ timeout: 20000 })
        .catch(() => {});
      const live = await headerReport(page);
      const liveMeta = (await webview(page).locator('#run-meta').innerText()).trim();
      const liveOverlay = await webview(page).locator('#overlay-picker').inputValue();
      await sleep(1000); // the webview saves its state (the shown run and the overlay) as it changes
      await runCommand(page, 'Developer: Reload Window');
      await sleep(3000);
      await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 90000 });
      await waitForTab(page, 'RepLens: shallow_cnn.onnx', 60000);
      const restored = await waitHeader(page, (h) => h.runs.length === live.runs.length && !!h.shown, 90000);
      const restoredMeta = await webview(page)
        .locator('#run-meta')
        .innerText()
        .then((t) => t.trim())
        .catch(() => '');
      const restoredOverlay = await webview(page)
        .locator('#overlay-picker')
        .inputValue()
        .catch(() => '');
      log('restored:', JSON.stringify({ shown: restored && restored.shown, restoredOverlay, restoredMeta }));
      check(
        restored && restored.shown === live.shown && restoredOverlay === liveOverlay && restoredMeta === liveMeta,
        `the restored panel shows the same run and overlay ("${restoredMeta}")`,
      );
      await shot(page, 'a13-restored');
    }

    // 6. Each number explains itself (issue 15): the NNCS column's ⓘ (last: the README it opens stays open)
    setPhase('info');
    await selectTab(page, 'Layers');
    await webview(page).locator('#layer-table th.col-nncs .info-button').click();
    const infoLink = webview(page).locator('#info-popover .info-link');
    const popped = await infoLink.waitFor({ timeout: 10000 }).then(
      () => true,
      () => false,
    );
    const infoText = popped ? await webview(page).locator('#info-popover').innerText() : '';
    check(
      popped && /Range:/.test(infoText) && /This result:[^]*k = \d+/.test(infoText),
      `the NNCS ⓘ says its range and this result's k ("${infoText.replace(/\s+/g, ' ').slice(0, 160)}")`,
    );
    await shot(page, 'a04e-info-popover');
    if (popped) {
      // its README link: the README shipped in the extension opens beside the panel, at the section's heading
      await infoLink.click();
      const readmeTab = await waitForTab(page, 'readme.md', 20000).then(
        () => true,
        () => false,
      );
      const line = await page
        .locator('.editor-instance .view-line', { hasText: 'id="info-nncs"' })
        .count()
        .catch(() => 0);
      check(
        readmeTab && line > 0,
        `the ⓘ's link opens the README at the NNCS section (tab ${readmeTab}, line ${line})`,
      );
      await shot(page, 'a04f-readme-section');
      await sleep(500);
    } else await page.keyboard.press('Escape');

    const crashed = page.locator('.notification-toast', { hasText: /Extension host .*(terminated|crashed)/i });
    check(!(await crashed.isVisible().catch(() => false)), 'no "extension host terminated" notification');
  } catch (e) {
    failures.push(String((e && e.message) || e).split('\n')[0]);
    log('ERROR', (e && e.stack) || e);
    await shot(page, 'a99-failure');
  } finally {
    await sleep(500);
    await browser.close().catch(() => {});
  }
  return finish();
}

start(main, 9 * 60 * 1000);
