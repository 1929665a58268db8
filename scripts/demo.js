#!/usr/bin/env node
// `npm run demo`: the main job on the bundled real data and models, offline, on the CPU.
//  1. list the layers of the ARS paper's shallow CNN, trained on Fashion-MNIST by RepLens's own ONNX-Runtime
//     training engine (examples/models/shallow_cnn.onnx, see examples/models/README.md);
//  2. analyse it on 1,000 real Fashion-MNIST test images (IDX, gzip): activation summary, RRA (intrinsic
//     dimension, NNCS, NNLS, multi-scale), CKA/SVCCA/PWCCA, class selectivity, and the noise-perturbation SVD over
//     its three training epochs — and compare it with the BatchNorm variant on the same images;
//  3. write replens-report/report.html (open it in any browser; it works offline), result.json and CSV files.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const models = path.join(root, 'examples', 'models');
const data = path.join(root, 'examples', 'fashion-mnist', 'data', 't10k-images-idx3-ubyte.gz');
const out = path.join(root, 'replens-report');
const cli = path.join(root, 'dist', 'cli.js');
const rel = (p) => path.relative(root, p);

function run(args) {
  console.log(`\n$ replens ${args.map((a) => (/[\s,]/.test(a) ? `'${a}'` : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const model = path.join(models, 'shallow_cnn.onnx');
const checkpoints = [1, 2, 3].map((e) => path.join(models, 'checkpoints', `shallow_cnn-epoch-${e}.onnx`));
run(['layers', rel(model)]);
run([
  'analyze',
  rel(model),
  '--compare',
  rel(path.join(models, 'shallow_cnn_bn.onnx')),
  '--data',
  rel(data),
  '--analyses',
  'summary,rra,similarity,selectivity,noise-svd',
  '--checkpoints',
  checkpoints.map(rel).join(','),
  '--noise-images',
  '2',
  '--sigmas',
  '0.2,0.1,0.01',
  '--group-size',
  '32',
  '--out',
  rel(out),
  ...(process.env.REPLENS_DEMO_CACHE ? [] : ['--no-cache']),
]);
const report = path.join(out, 'report.html');
console.log(
  `\nOpen ${report} in a browser (self-contained, offline): per-layer table, ID/NNCS over depth, ` +
    'NNLS/CKA/SVCCA/PWCCA heatmaps, the comparison with the BatchNorm model, selectivity and the noise-SVD curves ' +
    'over epochs.',
);
if (!fs.existsSync(report)) process.exit(1);
