// Shared helpers of the end-to-end tests (code-server + chromium through playwright-core): logging, screenshots,
// checks, console capture, the command palette, the Explorer context menu, webview frames and editor tabs.
'use strict';
const path = require('path');
const fs = require('fs');

const CACHE = process.env.REPLENS_E2E_CACHE || path.resolve(__dirname, '../../.e2e-cache');
const PW_DIR = process.env.PW_DIR || path.join(CACHE, 'tools/node_modules/playwright-core');
const SHOTS = process.env.SHOTS_DIR || path.join(CACHE, 'shots');
const DEBUG = process.env.REPLENS_E2E_DEBUG === '1';
fs.mkdirSync(SHOTS, { recursive: true });

const t0 = Date.now();
const log = (...a) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shots = [];
async function shot(page, name) {
  const p = path.join(SHOTS, name + '.png');
  try {
    await page.screenshot({ path: p });
    shots.push(p);
    log('screenshot', p);
  } catch (e) {
    log('screenshot failed', name, e.message);
  }
}
const failures = [];
let passed = 0;
function check(cond, msg) {
  if (cond) {
    passed++;
    log('ok  ', msg);
  } else {
    log('FAIL', msg);
    failures.push(msg);
  }
}

// ---- browser console ------------------------------------------------------------------------------------------------
// Webview documents are served from the workbench's webview "pre" folder (host page: pre/index.html, extension
// document: pre/fake.html) and load their resources through vscode-resource / vscode-cdn URLs. Errors whose source is
// one of those count against the extension; everything else is workbench noise and is only printed.
const consoleEvents = [];
let phase = 'load';
const setPhase = (p) => {
  phase = p;
}; // which step of the test a console message arrived in
function isWebviewUrl(u) {
  return /\/webview\/browser\/pre\/|vscode-resource|vscode-cdn|vscode-webview:/.test(u || '');
}
function attachConsole(page) {
  page.on('console', (m) => {
    const loc = m.location() || {};
    const ev = { phase, kind: m.type(), text: m.text(), url: loc.url || '', line: loc.lineNumber };
    if (DEBUG) log('console', ev.kind, ev.url, ev.text.slice(0, 300));
    if (m.type() === 'error' || m.type() === 'warning') consoleEvents.push(ev);
  });
  page.on('pageerror', (e) => {
    const stack = String((e && e.stack) || '');
    const ev = {
      phase,
      kind: 'pageerror',
      text: String((e && e.message) || e),
      url: (stack.match(/\((https?:[^)]+)\)|at (https?:\S+)/) || [])[1] || '',
      stack,
    };
    if (DEBUG) log('pageerror', ev.url, ev.text);
    consoleEvents.push(ev);
  });
}
// Known-benign messages from VS Code's own webview host page (not from the extension's document).
const WEBVIEW_HOST_NOISE = [
  /Unrecognized feature: '[^']+'/, // iframe `allow` attribute features chromium does not know
  /An iframe which has both allow-scripts and allow-same-origin/,
];
function webviewErrors() {
  return consoleEvents.filter(
    (e) =>
      (e.kind === 'error' || e.kind === 'pageerror') &&
      (isWebviewUrl(e.url) ||
        isWebviewUrl(e.stack) ||
        /Content Security Policy|Refused to (load|execute|apply)/.test(e.text)) &&
      !WEBVIEW_HOST_NOISE.some((r) => r.test(e.text)),
  );
}

// ---- workbench helpers ----------------------------------------------------------------------------------------------
async function runCommand(page, title, { tries = 15 } = {}) {
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  for (let i = 0; ; i++) {
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: 10000 });
    await input.fill('>' + title);
    try {
      await row.waitFor({ timeout: 3000 });
      break;
    } catch (e) {
      await page.keyboard.press('Escape');
      if (i >= tries) throw new Error(`command "${title}" not found in the palette`, { cause: e });
      await sleep(1000);
    }
  }
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
}

async function closeAllEditors(page) {
  await runCommand(page, 'View: Close All Editors');
  await page
    .locator('.editor-group-container .tabs-container .tab')
    .first()
    .waitFor({ state: 'detached', timeout: 10000 })
    .catch(() => {});
}

async function clearNotifications(page) {
  await runCommand(page, 'Notifications: Clear All Notifications').catch(() => {});
  await page
    .locator('.notification-toast')
    .first()
    .waitFor({ state: 'detached', timeout: 5000 })
    .catch(() => {});
}

function explorerRow(page, fileName) {
  const exact = new RegExp('^' + fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$');
  return page
    .locator('.explorer-folders-view .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exact }) })
    .first();
}

async function ensureExplorer(page) {
  const view = page.locator('.explorer-folders-view');
  if (!(await view.isVisible())) {
    log('explorer not visible; opening it');
    await runCommand(page, 'View: Show Explorer');
  }
  await view.waitFor({ state: 'visible', timeout: 30000 });
}

// The user story: Explorer -> right-click the file -> "Inspect Model" (shown with or without the "RepLens:" category).
// Menu contributions arrive once the extension host has scanned the extension, so the first right-clicks after load
// may show a menu without the entry: close it and retry.
async function viaExplorer(page, fileName, shotName, MENU_LABEL = /^\s*(RepLens:\s*)?Inspect Model\s*$/) {
  await ensureExplorer(page);
  const row = explorerRow(page, fileName);
  await row.waitFor({ state: 'visible', timeout: 60000 });
  const item = page
    .locator('.monaco-menu .action-item:not(.disabled)')
    .filter({ has: page.locator('.action-label', { hasText: MENU_LABEL }) })
    .first();
  for (let i = 0; ; i++) {
    await row.click({ button: 'right' });
    try {
      await item.waitFor({ state: 'visible', timeout: 3000 });
      break;
    } catch (e) {
      const labels = await page
        .locator('.monaco-menu .action-label')
        .allInnerTexts()
        .catch(() => []);
      log(
        `context menu of ${fileName} (try ${i + 1}) has no matching entry yet: [${labels.filter(Boolean).join(' | ')}]`,
      );
      await page.keyboard.press('Escape');
      if (i >= 20) {
        await shot(page, (shotName || 'context-menu-' + fileName) + '-no-entry');
        throw new Error(`explorer context menu of ${fileName} never showed ${MENU_LABEL}`, { cause: e });
      }
      await sleep(1500);
    }
  }
  log(`context menu entry: "${(await item.innerText()).trim().split('\n')[0]}"`);
  // A click that lands right after the menu appeared can be swallowed (the menu stays open): hover first, click, and
  // click again while the menu is still showing.
  const menu = page.locator('.monaco-menu').first();
  for (let i = 0; ; i++) {
    await item.hover();
    await sleep(200);
    if (shotName && i === 0) await shot(page, shotName);
    await item.click({ timeout: 5000 }).catch((e) => log('menu click:', e.message.split('\n')[0]));
    try {
      await menu.waitFor({ state: 'hidden', timeout: 2000 });
      break;
    } catch (e) {
      if (i >= 4) {
        const msg = `clicking ${MENU_LABEL} in the context menu of ${fileName} did not close the menu`;
        throw new Error(msg, { cause: e });
      }
      log('context menu still open after the click; clicking again');
    }
  }
}

// The webview of the visible panel: iframe.webview (VS Code's host page, class "ready" once loaded) ->
// iframe#active-frame (the extension's document). Hidden panels keep their iframes with visibility:hidden, so only the
// visible one counts.
function webview(page) {
  return page
    .locator('iframe.webview.ready')
    .filter({ visible: true })
    .first()
    .contentFrame()
    .locator('iframe#active-frame')
    .contentFrame();
}

async function waitForTab(page, title, timeout = 30000) {
  const tab = page.locator('.tabs-container .tab', { hasText: title }).first();
  try {
    await tab.waitFor({ state: 'visible', timeout });
  } catch (e) {
    const tabs = await page
      .locator('.tabs-container .tab')
      .allInnerTexts()
      .catch(() => []);
    throw new Error(
      `no editor tab "${title}" within ${timeout / 1000} s; tabs: [${tabs.map((t) => t.trim()).join(' | ')}]`,
      { cause: e },
    );
  }
  return tab;
}

function launch() {
  const { chromium } = require(PW_DIR);
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: process.env.REPLENS_E2E_HEADED !== '1',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--no-default-browser-check',
    ],
  });
}

/** A new page on the workspace in code-server, console captured, the Explorer showing. */
async function openWorkbench(browser, csUrl, wsDir, viewport) {
  const page = await browser.newPage({ viewport });
  attachConsole(page);
  const url = `${csUrl}/?folder=${encodeURIComponent(wsDir)}`;
  log('open', url);
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 90000 });
  log('workbench loaded');
  await ensureExplorer(page);
  return page;
}

/** The closing summary: console errors from the webviews fail the run; returns the exit code. */
function finish() {
  const wvErrors = webviewErrors();
  const noise = consoleEvents.filter((e) => !wvErrors.includes(e));
  if (noise.length) {
    log(`workbench console errors/warnings (not from the webview; ignored): ${noise.length}`);
    for (const e of noise.slice(0, 30))
      log(`   [${e.kind}] ${e.text.slice(0, 200).replace(/\s+/g, ' ')}${e.url ? '  @ ' + e.url.slice(0, 120) : ''}`);
  }
  for (const e of wvErrors)
    log(
      `   WEBVIEW (during ${e.phase}) [${e.kind}] ${e.text.slice(0, 300)}${e.url ? '  @ ' + e.url.slice(0, 160) : ''}`,
    );
  check(wvErrors.length === 0, `no console errors from the webview frames (${wvErrors.length})`);
  log('screenshots:');
  for (const s of shots) console.log('    ' + s);
  if (failures.length) {
    log(`FAILED: ${failures.length} check(s)`);
    for (const f of failures) console.log('    - ' + f);
  } else log('all checks passed');
  console.log(`e2e: ${passed} passed, ${failures.length} failed`);
  return failures.length ? 1 : 0;
}

/** Runs main() under a total timeout; SIGINT/SIGTERM leave after playwright-core closed chromium. */
function start(main, totalMs) {
  for (const sig of ['SIGINT', 'SIGTERM'])
    process.on(sig, () => {
      console.error(`${sig}: stopping`);
      setTimeout(() => process.exit(130), 2000);
    });
  const timer = setTimeout(() => {
    console.error(`timeout: the test ran longer than ${totalMs / 1000} s`);
    process.exit(3);
  }, totalMs);
  main().then(
    (rc) => {
      clearTimeout(timer);
      process.exit(rc);
    },
    (e) => {
      console.error('FAILED', e);
      process.exit(1);
    },
  );
}

module.exports = {
  log,
  sleep,
  shot,
  check,
  failures,
  attachConsole,
  setPhase,
  runCommand,
  closeAllEditors,
  clearNotifications,
  explorerRow,
  ensureExplorer,
  viaExplorer,
  webview,
  waitForTab,
  launch,
  openWorkbench,
  finish,
  start,
};
