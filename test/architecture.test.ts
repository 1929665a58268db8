import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(path.join(dir, d.name)) : [path.join(dir, d.name)]));
}

test('src/engine never imports vscode (it must run in the CLI and in worker threads)', () => {
  const offenders = files(path.join(__dirname, '..', 'src', 'engine'))
    .filter((f) => /\.(ts|js)$/.test(f))
    .filter((f) => /from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)|import\(\s*['"]vscode['"]\s*\)/.test(fs.readFileSync(f, 'utf8')));
  assert.deepEqual(offenders, []);
});

test('the worker, the CLI and the shared protocol do not import vscode either', () => {
  for (const dir of ['worker', 'cli', 'shared']) {
    for (const f of files(path.join(__dirname, '..', 'src', dir))) {
      assert.ok(!/from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)/.test(fs.readFileSync(f, 'utf8')), f);
    }
  }
});

test('the built bundles keep onnxruntime-node and vscode external', () => {
  const dist = path.join(__dirname, '..', 'dist');
  for (const f of ['extension.js', 'worker.js', 'cli.js']) assert.ok(fs.existsSync(path.join(dist, f)), `dist/${f} (npm run build)`);
  assert.match(fs.readFileSync(path.join(dist, 'worker.js'), 'utf8'), /require\("onnxruntime-node"\)/);
  assert.ok(!/require\("vscode"\)/.test(fs.readFileSync(path.join(dist, 'worker.js'), 'utf8')));
});
