#!/usr/bin/env node
// `npm run demo`: the main job on the bundled real data and model, offline, on the CPU.
//  1. list the layers of a CNN trained on Fashion-MNIST (examples/fashion-mnist/model.onnx);
//  2. stream 1,000 real Fashion-MNIST test images (IDX, gzip) through it, capturing every ReLU output reduced to
//     per-channel means, plus the logits;
//  3. read the .npy files back and report what the layers show: accuracy from the logits, and per layer dead
//     channels, intrinsic dimension, nearest-neighbour class similarity and class selectivity (`replens metric`).
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const ex = path.join(root, 'examples', 'fashion-mnist');
const out = path.join(root, 'demo-out');
const cli = path.join(root, 'dist', 'cli.js');

function run(args) {
  console.log(`\n$ replens ${args.map((a) => (/[\s,]/.test(a) ? `'${a}'` : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const rel = (p) => path.relative(root, p);
run(['layers', rel(path.join(ex, 'model.onnx'))]);
fs.rmSync(out, { recursive: true, force: true });
run(['activations', rel(path.join(ex, 'model.onnx')), '--data', rel(path.join(ex, 'data', 't10k-images-idx3-ubyte.gz')),
  '--labels', rel(path.join(ex, 'data', 't10k-labels-idx1-ubyte.gz')), '--tensors', 'op:Relu,logits', '--reduce', 'mean', '--out-dir', rel(out)]);

// Read the results back (plain .npy parsing, as any consumer would).
function readNpy(file) {
  const b = fs.readFileSync(file);
  const hlen = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + hlen).toString('latin1');
  const shape = /'shape': \(([^)]*)\)/.exec(header)[1].split(',').filter((s) => s.trim()).map(Number);
  const descr = /'descr': '([^']+)'/.exec(header)[1];
  const body = b.subarray(10 + hlen);
  const copy = new Uint8Array(body.length); copy.set(body);
  const data = descr === '<i8' ? Array.from(new BigInt64Array(copy.buffer), Number) : new Float32Array(copy.buffer);
  return { shape, data };
}
const index = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8'));
const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
const labels = readNpy(path.join(out, manifest.labels)).data;
const card = JSON.parse(fs.readFileSync(path.join(ex, 'model-card.json'), 'utf8'));
const classes = card.class_names;

const logits = readNpy(path.join(out, index.logits));
let correct = 0;
for (let i = 0; i < logits.shape[0]; i++) {
  let best = 0;
  for (let c = 1; c < 10; c++) if (logits.data[i * 10 + c] > logits.data[i * 10 + best]) best = c;
  if (best === labels[i]) correct++;
}
console.log(`\nAccuracy on ${logits.shape[0]} bundled test images: ${(100 * correct / logits.shape[0]).toFixed(1)}% (model card, all 10,000: ${(100 * card.test_accuracy).toFixed(1)}%)`);

// What each layer learned, with the metric CLI on the captured channel means: intrinsic dimension (TwoNN),
// nearest-neighbour class similarity (NNCS, k = 10) and class selectivity (Morcos et al. 2018).
function metric(...args) {
  const r = spawnSync(process.execPath, [cli, 'metric', ...args], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) { process.stderr.write(r.stderr); process.exit(r.status ?? 1); }
  return JSON.parse(r.stdout);
}
const labelsFile = path.join(out, manifest.labels);
console.log('\nPer ReLU layer (channel means over 1,000 images), via `replens metric`:');
console.log('layer'.padEnd(34) + 'channels  dead  TwoNN ID  NNCS@10  selectivity  most selective channel');
for (const [tensor, file] of Object.entries(index)) {
  if (tensor === 'logits') continue;
  const f = path.join(out, file);
  const a = readNpy(f);
  const [n, C] = a.shape;
  let dead = 0;
  for (let c = 0; c < C; c++) { let any = false; for (let i = 0; i < n && !any; i++) any = a.data[i * C + c] !== 0; if (!any) dead++; }
  const id = metric('twonn', '--x', f);
  const nn = metric('nncs', '--x', f, '--labels', labelsFile, '--k', '10');
  const sel = metric('selectivity', '--acts', f, '--labels', labelsFile);
  let best = 0;
  for (let c = 1; c < C; c++) if (sel.per_unit[c] > sel.per_unit[best]) best = c;
  const name = tensor.replace(/_output_0$/, '');
  console.log(`${name.padEnd(34)}${String(C).padStart(8)}${String(dead).padStart(6)}${id.value.toFixed(1).padStart(10)}${nn.value.toFixed(3).padStart(9)}${sel.value.toFixed(3).padStart(13)}  #${best} → ${classes[sel.argmax_class[best]]} (${sel.per_unit[best].toFixed(2)})`);
}
console.log('\nDeeper layers: neighbours share the class more often (NNCS) and channels answer to fewer classes (selectivity).');
console.log(`\nFiles: ${rel(out)}/ (index.json maps tensor names to .npy files; manifest.json has shapes and settings)`);
