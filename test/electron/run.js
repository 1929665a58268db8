// `npm run test:electron`: the integration suite in a real VS Code downloaded by @vscode/test-electron (for
// contributors whose machines can download VS Code; CI here runs the code-server suite, `npm run test:e2e`).
// Opens a copy of examples/ as the workspace, with the built extension in development mode.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { runTests } = require('@vscode/test-electron');

async function main() {
  const root = path.resolve(__dirname, '..', '..');
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-electron-'));
  fs.cpSync(path.join(root, 'examples'), ws, { recursive: true });
  try {
    await runTests({
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(__dirname, 'suite.js'),
      launchArgs: [ws, '--disable-extensions', '--disable-workspace-trust'],
      version: process.env.VSCODE_VERSION || 'stable',
    });
  } catch (e) {
    console.error(`test:electron failed: ${e && e.message ? e.message : e}`);
    console.error('It needs to download VS Code (network); offline, run `npm run test:e2e` (code-server) instead.');
    process.exit(1);
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
}
main();
