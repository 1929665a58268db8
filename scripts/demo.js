#!/usr/bin/env node
// `npm run demo`: the main job on the bundled real data and model, offline, on the CPU.
//  1. list the layers of a CNN trained on Fashion-MNIST (examples/fashion-mnist/model.onnx);
//  2. stream 1,000 real Fashion-MNIST test images (IDX, gzip) through it, capturing every ReLU output reduced to
//     per-channel means, plus the logits;
//  3. read the .npy files back and report what the layers show: accuracy from the logits, and per layer the
//     share of dead channels and how class-selective the channels are.
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

// Class selectivity per channel (Morcos et al. 2018): (μ_max − μ_−max) / (μ_max + μ_−max) over class-mean activations.
console.log('\nPer ReLU layer (channel means over 1,000 images; dead = never active):');
console.log('layer'.padEnd(42) + 'channels  dead  mean sel.  most selective channel');
for (const [tensor, file] of Object.entries(index)) {
  if (tensor === 'logits') continue;
  const a = readNpy(path.join(out, file));
  const [n, C] = a.shape;
  const sums = Array.from({ length: 10 }, () => new Float64Array(C));
  const counts = new Float64Array(10);
  let dead = 0;
  for (let c = 0; c < C; c++) { let any = false; for (let i = 0; i < n; i++) if (a.data[i * C + c] > 1e-6 || a.data[i * C + c] < -1e-6) { any = true; break; } if (!any) dead++; }
  for (let i = 0; i < n; i++) { counts[labels[i]]++; for (let c = 0; c < C; c++) sums[labels[i]][c] += a.data[i * C + c]; }
  let selSum = 0, best = { s: -Infinity, c: 0, k: 0 };
  for (let c = 0; c < C; c++) {
    const mu = sums.map((s, k) => s[c] / counts[k]);
    const k = mu.indexOf(Math.max(...mu));
    const rest = mu.filter((_, j) => j !== k).reduce((x, y) => x + y, 0) / 9;
    const s = mu[k] + rest > 0 ? (mu[k] - rest) / (mu[k] + rest) : 0;
    selSum += s;
    if (s > best.s) best = { s, c, k };
  }
  const name = tensor.replace(/_output_0$/, '');
  console.log(`${name.padEnd(42)}${String(C).padStart(8)}${String(dead).padStart(6)}${(selSum / C).toFixed(3).padStart(11)}  #${best.c} → ${classes[best.k]} (${best.s.toFixed(2)})`);
}
console.log(`\nFiles: ${rel(out)}/ (index.json maps tensor names to .npy files; manifest.json has shapes and settings)`);
