// Headless Debian chromium driven by playwright-core (installed by test/e2e/setup.sh into .e2e-cache), shared by the
// browser tests. Env: REPLENS_PLAYWRIGHT (a playwright-core folder), CHROMIUM (the browser binary).
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
export const PW_DIR =
  process.env.REPLENS_PLAYWRIGHT || path.join(ROOT, '.e2e-cache', 'tools', 'node_modules', 'playwright-core');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Why the browser tests cannot run here, or false. */
export function browserUnavailable(): string | false {
  if (!fs.existsSync(path.join(PW_DIR, 'package.json'))) {
    return (
      `playwright-core not found at ${PW_DIR}: ` +
      'run test/e2e/setup.sh, or set REPLENS_PLAYWRIGHT to a playwright-core folder'
    );
  }
  if (!fs.existsSync(CHROMIUM)) return `no browser at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM`;
  return false;
}

/** Launches headless chromium with the flags that keep it offline and quiet. */
export async function launchChromium(): Promise<unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a folder known only at run time (PW_DIR)
  const { chromium } = require(PW_DIR);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}
