// The main job a new user runs (`npm run demo`) keeps working: bundled model, bundled real images, CLI end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as path from 'path';

test('npm run demo: layers, activations on 1,000 real images, per-layer metrics', () => {
  const root = path.join(__dirname, '..');
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'demo.js')], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /30 nodes, 152106 parameters/);
  assert.match(r.stdout, /wrote 8 tensors × 1000 samples/);
  // The exported model classifies the bundled images as PyTorch does (92.0 % on all 10,000; 94.0 % on these).
  assert.match(r.stdout, /Accuracy on 1000 bundled test images: 94\.0%/);
  const rows = r.stdout.slice(r.stdout.indexOf('Per ReLU layer')).split('\n').filter((l) => /^\/(stem|layer\d)\/\S+\/Relu\s/.test(l));
  assert.equal(rows.length, 7);
  const nncs = rows.map((l) => Number(l.trim().split(/\s+/)[4]));
  assert.ok(nncs[6] > nncs[0] + 0.3, `NNCS rises with depth: ${nncs}`);
});
