// Whole-model gradients against PyTorch: models exported at opsets 11, 13 and 17 (residual blocks, BatchNorm
// folded and kept, depthwise/dilated/asymmetric convs, pools with padding and ceil mode, Concat, HardSwish, Clip,
// ConvTranspose, Pad, Slice, Split, GELU…) with float64 autograd references, finite-difference-checked by
// test/fixtures/grad/make_grad_fixtures.py. Every case goes through `replens grad` (the CLI contract) in-process;
// one case per objective also through the built CLI binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { runGradCommand } from '../src/cli/grad';
import { readNpy } from '../src/engine/npy';
import { safeStem } from '../src/engine/capture/npydir';
import { tempDir } from './helpers/tmp';

const DIR = path.join(__dirname, 'fixtures', 'grad');
const manifest = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as { cases: Case[] };
const CLI = path.join(__dirname, '..', 'dist', 'cli.js');

interface Case {
  id: string;
  model: string;
  opset: number;
  input_name: string;
  input: string;
  output: string;
  objective: { kind: 'channel_sum'; tensor: string; channel: number } | { kind: 'mse'; target: string };
  wrt?: string[];
  expected: Record<string, string>;
  op_types: string[];
}

const tmp = tempDir('replens-grad-');
const f32 = (file: string) => Float64Array.from(readNpy(file).data as Float32Array);

/** max |a − b| / max |b| */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-30);
}

for (const c of manifest.cases) {
  test(`PyTorch reference: ${c.id} (opset ${c.opset}; ${c.op_types.join(', ')})`, async () => {
    const runtime = { executionProvider: 'cpu' as const };
    const input = path.join(DIR, c.input);
    if (c.objective.kind === 'channel_sum') {
      const out = path.join(tmp, `${c.id}.npy`);
      const r = (await runGradCommand({
        model: path.join(DIR, c.model),
        input,
        tensor: c.objective.tensor,
        channel: String(c.objective.channel),
        out,
        runtime,
      })) as { objective: number };
      assert.ok(Number.isFinite(r.objective));
      const got = readNpy(out);
      const want = readNpy(path.join(DIR, c.expected.input));
      assert.deepEqual(got.shape, want.shape);
      const e = relErr(f32(out), f32(path.join(DIR, c.expected.input)));
      assert.ok(e <= 2e-5, `${c.id}: d/d input differs from PyTorch by ${e.toExponential(2)} of the largest entry`);
    } else {
      const outDir = path.join(tmp, c.id);
      await runGradCommand({
        model: path.join(DIR, c.model),
        input,
        mseTarget: path.join(DIR, c.objective.target),
        wrt: c.wrt!.join(','),
        outDir,
        runtime,
      });
      for (const w of c.wrt!) {
        const got = path.join(outDir, `${safeStem(w)}.npy`);
        const want = path.join(DIR, c.expected[w]);
        assert.deepEqual(readNpy(got).shape, readNpy(want).shape, `${c.id}: shape of d/d ${w}`);
        const e = relErr(f32(got), f32(want));
        assert.ok(e <= 2e-5, `${c.id}: d/d ${w} differs from PyTorch by ${e.toExponential(2)} of the largest entry`);
      }
    }
  });
}

test('the CLI binary writes both contracts; bad requests exit non-zero with one line', () => {
  const c1 = manifest.cases.find((c) => c.objective.kind === 'channel_sum' && c.model.startsWith('resnet_op13'))!;
  const c2 = manifest.cases.find((c) => c.objective.kind === 'mse' && c.model.startsWith('shallow_bn_op17'))!;
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  const out = path.join(tmp, 'cli-g.npy');
  const obj = c1.objective as { tensor: string; channel: number };
  const r1 = run(
    'grad',
    path.join(DIR, c1.model),
    '--input',
    path.join(DIR, c1.input),
    '--tensor',
    obj.tensor,
    '--channel',
    String(obj.channel),
    '--out',
    out,
  );
  assert.equal(r1.status, 0, r1.stderr);
  assert.ok(relErr(f32(out), f32(path.join(DIR, c1.expected.input))) <= 2e-5);
  assert.equal(JSON.parse(r1.stdout).kind, 'channel');
  const dir = path.join(tmp, 'cli-mse');
  const r2 = run(
    'grad',
    path.join(DIR, c2.model),
    '--input',
    path.join(DIR, c2.input),
    '--mse-target',
    path.join(DIR, (c2.objective as { target: string }).target),
    '--wrt',
    c2.wrt!.join(','),
    '--out-dir',
    dir,
  );
  assert.equal(r2.status, 0, r2.stderr);
  for (const w of c2.wrt!)
    assert.ok(relErr(f32(path.join(dir, `${safeStem(w)}.npy`)), f32(path.join(DIR, c2.expected[w]))) <= 2e-5, w);
  const bad = (args: string[], re: RegExp, status = 2) => {
    const r = run(...args);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  };
  const m = path.join(DIR, c1.model),
    x = path.join(DIR, c1.input);
  bad(
    ['grad', m, '--input', x, '--tensor', obj.tensor, '--channel', '999', '--out', out],
    /channel 999 is out of range/,
  );
  bad(['grad', m, '--input', x, '--tensor', 'nope', '--channel', '0', '--out', out], /nope/, 1); // E_UNKNOWN_TENSOR
  bad(['grad', m, '--input', x, '--mse-target', x, '--wrt', 'fc.weight', '--out-dir', dir], /--mse-target has shape/);
  bad(
    ['grad', m, '--input', x, '--mse-target', x, '--wrt', 'fc.wieght', '--out-dir', dir],
    /fc.wieght.*did you mean 'fc.weight'/,
    1,
  );
  bad(['grad', m, '--input', x], /either --tensor NAME --channel C/);
});
