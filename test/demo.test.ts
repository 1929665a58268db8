// The main job a new user runs (`npm run demo`) keeps working: bundled models, bundled real images, the CLI end to
// end, a report on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from './helpers/tmp';

test('npm run demo: layers, then analyze with every analysis and a comparison, report.html written', () => {
  const root = path.join(__dirname, '..');
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'demo.js')], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, REPLENS_CACHE_DIR: tempDir('demo-cache-') },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /13 nodes, 321738 parameters/);
  assert.match(r.stdout, /1000 samples of IDX t10k-images-idx3-ubyte\.gz/);
  const doc = JSON.parse(fs.readFileSync(path.join(root, 'replens-report', 'result.json'), 'utf8'));
  assert.equal(doc.complete, true);
  assert.deepEqual(Object.keys(doc.analyses).sort(), ['noise-svd', 'rra', 'selectivity', 'similarity', 'summary']);
  assert.equal(doc.compare.name, 'shallow_cnn_bn.onnx');
  assert.deepEqual(
    doc.analyses['noise-svd'].series.map((s: { epoch: number }) => s.epoch),
    [1, 2, 3],
  );
  // What the layers show on real data: class structure grows with depth (NNCS), the logits separate classes best.
  const nncs = doc.analyses.rra.perLayer.map((l: { nncs: number }) => l.nncs);
  assert.ok(nncs[nncs.length - 1] > nncs[0] + 0.1, `NNCS rises with depth: ${nncs}`);
  assert.ok(fs.statSync(path.join(root, 'replens-report', 'report.html')).size > 1e6, 'report with plotly inlined');
});
