// Trains the ARS paper's shallow CNN (seed 000 §3: conv 64-64-maxpool-128-128-maxpool, ReLU, linear classifier),
// with and without BatchNorm, on the full Fashion-MNIST training set with RepLens's own ONNX-Runtime training
// engine, and writes examples/models/{shallow_cnn,shallow_cnn_bn}.onnx, their per-epoch checkpoints' test
// accuracy, and examples/models/models.json (data, epochs, seed, accuracy, time). No Python.
//   node --import tsx scripts/train_shallow.ts [--epochs 3] [--only bn|plain] [--limit N]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { readIdx, idxValues } from '../src/engine/data/idx';
import { SessionPool } from '../src/engine/runtime/session';
import { buildNet, initState, shallowCnn } from '../src/engine/autodiff/netbuilder';
import { train, type TrainData } from '../src/engine/autodiff/train';
import { saveModel } from '../src/engine/onnx/model';

const DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const MEAN = 0.286,
  STD = 0.353; // the bundled example's preprocessing (examples/fashion-mnist/replens.json)
const OUT = path.join(__dirname, '..', 'examples', 'models');

function load(split: 'train' | 't10k', limit?: number): TrainData {
  const images = readIdx(path.join(DIR, `${split}-images-idx3-ubyte.gz`));
  const labelsIdx = readIdx(path.join(DIR, `${split}-labels-idx1-ubyte.gz`));
  const n = Math.min(limit ?? images.shape[0], images.shape[0]);
  const px = idxValues(images, 0, n * 784);
  const x = new Float32Array(n * 784);
  const f = Math.fround;
  for (let i = 0; i < x.length; i++) x[i] = f(f(f(px[i]) / 255) - f(MEAN)) / f(STD);
  const labels = Int32Array.from(idxValues(labelsIdx, 0, n) as ArrayLike<number>);
  return { x, labels, n };
}

/** One model's entry in examples/models/models.json. */
interface ModelCard {
  file: string;
  architecture: string;
  data: string;
  training: {
    engine: string;
    epochs: number;
    batchSize: number;
    optimizer: string;
    seed: number;
    seconds: number;
    machine: string;
  };
  testAccuracy: number;
  testLoss: number;
  history: {
    epoch: number;
    trainLoss: number;
    trainAccuracy: number;
    testLoss: number;
    testAccuracy: number;
    seconds: number;
  }[];
}

/** examples/models/README.md from the model cards. */
function writeReadme(cards: Record<string, ModelCard>): void {
  const lines = [
    "# Example models: the ARS paper's shallow CNN on Fashion-MNIST",
    '',
    "Trained with RepLens's own training engine (forward + backward as one ONNX Runtime graph, " +
      '`src/engine/autodiff/`),',
    'on the CPU, by `node --import tsx scripts/train_shallow.ts` (no Python). Regenerate with the same command; ' +
      'the seed',
    "makes the initial weights and the shuffling reproducible (onnxruntime's multi-threaded reductions may still " +
      'differ',
    'in the last bits between machines).',
    '',
    '| model | architecture | test accuracy | epochs | batch | optimizer | seed | training time |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of Object.values(cards)) {
    const t = c.training;
    const time = `${Math.round(t.seconds / 60)} min (${t.machine}, ${t.engine})`;
    const cells = [
      `\`${c.file}\``,
      c.architecture,
      `${(100 * c.testAccuracy).toFixed(2)} %`,
      t.epochs,
      t.batchSize,
      t.optimizer,
      t.seed,
      time,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push(
    '',
    'Data: ' + Object.values(cards)[0]?.data,
    '',
    'Per-epoch history (train loss/accuracy, test loss/accuracy): `models.json`. `checkpoints/` holds the plain model',
    'after each epoch (`shallow_cnn-epoch-3.onnx` is `shallow_cnn.onnx`), for the noise-perturbation SVD over training',
    'that `npm run demo` draws. The training times include evaluating the 10,000 test images after each epoch and were',
    'measured on a shared 2-core machine.',
    '',
    'Input: `input` float32 (N, 1, 28, 28); output: `logits` (N, 10), classes in Fashion-MNIST order ' +
      '(T-shirt/top, Trouser,',
    'Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot). Node names follow PyTorch module paths ' +
      '(`/conv1/Conv`),',
    'so `replens layers` shows `conv1`, `bn1`, …',
    '',
  );
  fs.writeFileSync(path.join(OUT, 'README.md'), lines.join('\n'));
}

async function main() {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string' },
      only: { type: 'string' },
      limit: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  const epochs = Number(values.epochs ?? 3),
    seed = Number(values.seed ?? 2026);
  const trainData = load('train', values.limit ? Number(values.limit) : undefined),
    test = load('t10k');
  const pool = new SessionPool({ executionProvider: 'cpu' });
  fs.mkdirSync(OUT, { recursive: true });
  const cardFile = path.join(OUT, 'models.json');
  const cards: Record<string, ModelCard> = fs.existsSync(cardFile)
    ? (JSON.parse(fs.readFileSync(cardFile, 'utf8')) as Record<string, ModelCard>)
    : {};
  for (const bn of [false, true]) {
    if (values.only && values.only !== (bn ? 'bn' : 'plain')) continue;
    const spec = shallowCnn({ batchNorm: bn });
    const state = initState(spec, seed);
    const t0 = Date.now();
    const ckDir = fs.mkdtempSync(path.join(os.tmpdir(), `${spec.name}-`));
    const nParams = [...state.params.values()].reduce((a, p) => a + p.data.length, 0);
    console.log(`${spec.name}: ${nParams} parameters, ${trainData.n} training images, ${epochs} epochs`);
    const res = await train(
      spec,
      state,
      trainData,
      {
        epochs,
        batchSize: 64,
        loss: 'cross-entropy',
        seed,
        optimizer: { kind: 'adam', lr: 1e-3 },
        schedule: { kind: 'cosine', minLr: 1e-5 },
        evalData: test,
        checkpointDir: ckDir,
        onEpoch: (e) =>
          console.log(
            `  epoch ${e.epoch}: train loss ${e.loss.toFixed(4)}, ` +
              `train acc ${(100 * e.trainAccuracy!).toFixed(2)} %, test loss ${e.evalLoss!.toFixed(4)}, ` +
              `test acc ${(100 * e.evalAccuracy!).toFixed(2)} %, ` +
              `${e.seconds.toFixed(0)} s (${e.imagesPerSecond.toFixed(0)} images/s)`,
          ),
        onProgress: (p) => {
          if (p.done % 100 === 0) process.stderr.write(`\r  step ${p.done}/${p.total}`);
        },
      },
      pool,
    );
    process.stderr.write('\n');
    const seconds = (Date.now() - t0) / 1000;
    const file = path.join(OUT, `${spec.name}.onnx`);
    saveModel(buildNet(spec, state, { mode: 'eval' }).model, file);
    const last = res.history[res.history.length - 1];
    cards[spec.name] = {
      file: path.basename(file),
      architecture: bn
        ? 'conv3×3(64)-BN-ReLU, conv3×3(64)-BN-ReLU, maxpool2, conv3×3(128)-BN-ReLU, conv3×3(128)-BN-ReLU, ' +
          'maxpool2, flatten, linear(10); convs without bias, padding 1'
        : 'conv3×3(64)-ReLU, conv3×3(64)-ReLU, maxpool2, conv3×3(128)-ReLU, conv3×3(128)-ReLU, ' +
          'maxpool2, flatten, linear(10); padding 1',
      data:
        `Fashion-MNIST (Debian dataset-fashion-mnist): ${trainData.n} training images, ` +
        `evaluated on the 10,000 test images; input (x/255 − ${MEAN})/${STD}, 1×28×28`,
      training: {
        engine: 'RepLens ONNX-Runtime training (src/engine/autodiff), CPU',
        epochs,
        batchSize: 64,
        optimizer: 'Adam lr 1e-3, cosine to 1e-5',
        seed,
        seconds: Math.round(seconds),
        machine: `${os.cpus().length} cores`,
      },
      // evalData is given, so every epoch has its test loss and accuracy
      testAccuracy: last.evalAccuracy!,
      testLoss: last.evalLoss!,
      history: res.history.map((h) => ({
        epoch: h.epoch,
        trainLoss: +h.loss.toFixed(5),
        trainAccuracy: +h.trainAccuracy!.toFixed(5),
        testLoss: +h.evalLoss!.toFixed(5),
        testAccuracy: h.evalAccuracy!,
        seconds: Math.round(h.seconds),
      })),
    };
    fs.writeFileSync(cardFile, JSON.stringify(cards, null, 2) + '\n');
    writeReadme(cards);
    if (!bn) {
      const ckOut = path.join(OUT, 'checkpoints');
      fs.mkdirSync(ckOut, { recursive: true });
      for (let e = 1; e <= epochs; e++)
        fs.copyFileSync(path.join(ckDir, `epoch-${e}.onnx`), path.join(ckOut, `${spec.name}-epoch-${e}.onnx`));
    }
    console.log(
      `  wrote ${file}: test accuracy ${(100 * last.evalAccuracy!).toFixed(2)} % after ${seconds.toFixed(0)} s ` +
        `(checkpoints in ${ckDir})`,
    );
  }
  await pool.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
