// RepLens end-to-end test, driven through the real VS Code UI (code-server + chromium). Started by test/e2e/run.sh.
//
// User story: in the Explorer, right-click model.onnx -> "Inspect Model" -> a "RepLens: model.onnx" panel lists the
// layers (table + parameter chart). A corrupt .onnx gives an error card or an error notification, and the extension
// host survives it.
//
// Env: CS_URL (code-server base URL), WS_DIR (workspace folder with model.onnx + broken.onnx), SHOTS_DIR,
//      PW_DIR (playwright-core folder), CHROMIUM (default /usr/bin/chromium), REPLENS_E2E_HEADED=1, REPLENS_E2E_DEBUG=1
'use strict';
const {
  log,
  sleep,
  shot,
  check,
  failures,
  setPhase,
  closeAllEditors,
  clearNotifications,
  explorerRow,
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
const TOTAL_TIMEOUT_MS = 6 * 60 * 1000;
if (!WS_DIR) {
  console.error('WS_DIR is not set (run test/e2e/run.sh)');
  process.exit(2);
}
const inspectViaExplorer = (page, fileName, shotName) => viaExplorer(page, fileName, shotName);

// Waits until the panel reports ready (#status == "ready") or shows #error-card; returns which.
async function waitForPanel(page, timeout = 90000) {
  const wv = webview(page);
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    try {
      if (await wv.locator('#error-card').isVisible({ timeout: 500 })) return 'error';
      const status = wv.locator('#status');
      if ((await status.count()) && (await status.innerText({ timeout: 1000 })).trim().toLowerCase() === 'ready')
        return 'ready';
    } catch {
      /* frame not there yet / navigating */
    }
    await sleep(500);
  }
  return 'timeout';
}
async function assertLayerPanel(page, label) {
  const wv = webview(page);
  const state = await waitForPanel(page);
  if (state === 'error') {
    check(false, `${label}: panel shows #error-card: ${(await wv.locator('#error-card').innerText()).trim()}`);
    return null;
  }
  if (state !== 'ready') {
    const st = await wv
      .locator('#status')
      .innerText({ timeout: 2000 })
      .catch(() => '(no #status element / no webview)');
    log(`${label}: panel not ready after 90 s; #status = "${st.trim()}"`);
  }
  check(state === 'ready', `${label}: #status says "ready"`);
  if (state !== 'ready') return null;

  const rows = wv.locator('#layers-table tbody tr.layer-row');
  const n = await rows.count();
  const countText = (await wv.locator('#layer-count').innerText()).trim();
  check(n > 0, `${label}: #layers-table has ${n} tr.layer-row rows`);
  check(
    /^\d+$/.test(countText) && Number(countText) === n,
    `${label}: #layer-count "${countText}" equals the row count ${n}`,
  );

  const cellReport = await wv.locator('#layers-table').evaluate((t) => {
    const need = ['col-name', 'col-op', 'col-output', 'col-shape', 'col-params'];
    const bad = [];
    const rows = [...t.querySelectorAll('tbody tr.layer-row')];
    rows.forEach((r, i) => {
      const miss = need.filter((c) => !r.querySelector('td.' + c));
      if (miss.length) bad.push(`row ${i}: missing ${miss.join(',')}`);
    });
    const first = rows
      .slice(0, 3)
      .map((r) => need.map((c) => (r.querySelector('.' + c) || {}).textContent || '').join(' | '));
    return { bad, first };
  });
  check(
    cellReport.bad.length === 0,
    `${label}: every row has .col-name .col-op .col-output .col-shape .col-params` +
      (cellReport.bad.length ? ' — ' + cellReport.bad.slice(0, 5).join('; ') : ''),
  );
  for (const r of cellReport.first) log('   row:', r);

  const bars = wv.locator('#param-chart .bars path, #param-chart .point path');
  await bars
    .first()
    .waitFor({ state: 'attached', timeout: 15000 })
    .catch(() => {});
  const nBars = await bars.count();
  check(nBars >= 1, `${label}: #param-chart has ${nBars} rendered bar paths`);
  check(!(await wv.locator('#error-card').isVisible()), `${label}: no visible #error-card`);
  return n;
}

// ---- main -----------------------------------------------------------------------------------------------------------
async function main() {
  const browser = await launch();
  const page = await openWorkbench(browser, CS_URL, WS_DIR, { width: 1400, height: 900 });
  try {
    await explorerRow(page, 'model.onnx').waitFor({ state: 'visible', timeout: 60000 });
    await shot(page, '01-workbench');

    // 1. the user story
    setPhase('model.onnx');
    await inspectViaExplorer(page, 'model.onnx', '02-context-menu');
    await waitForTab(page, 'RepLens: model.onnx');
    check(true, 'panel "RepLens: model.onnx" opened');
    const n1 = await assertLayerPanel(page, 'model.onnx');
    await shot(page, '03-model-panel');
    if (n1 != null) {
      await webview(page)
        .locator('#param-chart')
        .scrollIntoViewIfNeeded({ timeout: 5000 })
        .catch(() => {});
      await shot(page, '03b-param-chart');
    }

    // 2. a corrupt file: error card in the panel or an error notification mentioning RepLens
    setPhase('broken.onnx');
    await closeAllEditors(page);
    await clearNotifications(page);
    await inspectViaExplorer(page, 'broken.onnx', null);
    const deadline = Date.now() + 60000;
    let how = null;
    while (!how && Date.now() < deadline) {
      const toast = page.locator('.notification-toast', { hasText: 'RepLens' }).first();
      if (await toast.isVisible().catch(() => false)) {
        how = 'notification: ' + (await toast.innerText()).replace(/\s+/g, ' ').trim();
        break;
      }
      try {
        const card = webview(page).locator('#error-card');
        if (await card.isVisible({ timeout: 500 })) {
          const text = (await card.innerText()).trim();
          if (text)
            how =
              'error card: ' +
              text
                .split('\n')
                .map((l) => l.trim())
                .filter(Boolean)
                .join(' / ');
        }
      } catch {
        /* no webview */
      }
      if (!how) await sleep(500);
    }
    check(!!how, `broken.onnx: reported (${how || 'neither #error-card nor a RepLens notification within 60 s'})`);
    await shot(page, '04-broken');

    // 3. the extension host survived: inspect the good model again
    setPhase('model.onnx again');
    await closeAllEditors(page);
    await clearNotifications(page);
    await inspectViaExplorer(page, 'model.onnx', null);
    await waitForTab(page, 'RepLens: model.onnx');
    const n2 = await assertLayerPanel(page, 'model.onnx again');
    if (n1 != null && n2 != null) check(n1 === n2, `same layer count after the corrupt file (${n1} / ${n2})`);
    await shot(page, '05-model-again');

    const crashed = page.locator('.notification-toast', { hasText: /Extension host .*(terminated|crashed)/i });
    check(!(await crashed.isVisible().catch(() => false)), 'no "extension host terminated" notification');
  } catch (e) {
    failures.push(String((e && e.message) || e).split('\n')[0]);
    log('ERROR', (e && e.stack) || e);
    await shot(page, '99-failure');
  } finally {
    await sleep(500); // let late console messages arrive
    await browser.close().catch(() => {});
  }

  return finish();
}

start(main, TOTAL_TIMEOUT_MS);
