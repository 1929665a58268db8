// Runs inside VS Code's extension host (see run.js): the same story as the code-server e2e test, through the API.
// Analyze examples/models/shallow_cnn.onnx on the bundled Fashion-MNIST images (options skip the pickers), then ask
// VS Code for the code lenses of shallow_cnn.py and check their text.
'use strict';
const assert = require('assert');
const path = require('path');
const vscode = require('vscode');

async function waitFor(what, f, ms = 240000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

exports.run = async function run() {
  const ws = vscode.workspace.workspaceFolders[0].uri.fsPath;
  const ext = vscode.extensions.getExtension('replens.replens');
  assert.ok(ext, 'the RepLens extension is loaded');
  await ext.activate();
  const model = vscode.Uri.file(path.join(ws, 'models', 'shallow_cnn.onnx'));
  const data = path.join(ws, 'fashion-mnist', 'data', 't10k-images-idx3-ubyte.gz');
  await vscode.commands.executeCommand('replens.analyzeModel', model, {
    data,
    configPath: path.join(ws, 'fashion-mnist', 'replens.json'),
    analyses: ['summary', 'rra', 'selectivity'],
    samples: 200,
  });
  const doc = await vscode.workspace.openTextDocument(path.join(ws, 'models', 'shallow_cnn.py'));
  await vscode.window.showTextDocument(doc);
  const lenses = await waitFor('code lenses on shallow_cnn.py', async () => {
    const l = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', doc.uri, 100);
    return l && l.filter((x) => x.command && /^RepLens: ID/.test(x.command.title)).length >= 7 ? l : null;
  });
  const relu1 = lenses.find((l) => doc.lineAt(l.range.start.line).text.includes('self.relu1'));
  assert.ok(relu1, 'a lens over self.relu1');
  assert.match(relu1.command.title, /^RepLens: ID \d+\.\d · NNCS 0\.\d\d · sel 0\.\d\d$/);
  assert.equal(relu1.command.command, 'replens.revealLayer');
};
