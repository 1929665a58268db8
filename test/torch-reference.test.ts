// Activations captured by RepLens on the bundled Fashion-MNIST model vs. the same activations recorded from the
// PyTorch module with forward hooks (scripts/fixtures/make_fashion_ref.py): an independent implementation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { runJob } from '../src/engine/jobs';
import { readNpy } from '../src/engine/npy';
import { tempDir } from './helpers/tmp';

const REF = path.join(__dirname, 'fixtures', 'fashion-ref');

test('every captured tensor of the Fashion-MNIST CNN matches PyTorch forward hooks', async () => {
  const index = JSON.parse(fs.readFileSync(path.join(REF, 'index.json'), 'utf8'));
  const tensors = Object.keys(index.tensors);
  assert.ok(tensors.length >= 25, `${tensors.length} reference tensors`);
  const out = tempDir('replens-torchref-');
  const res = await runJob(
    {
      kind: 'activations',
      modelPath: path.join(REF, index.model),
      input: path.join(REF, index.input),
      tensors: [...tensors, 'logits'],
      reduce: 'none',
      outDir: out,
      runtime: { executionProvider: 'cpu' },
    },
    { signal: new AbortController().signal, progress: () => undefined, partial: () => undefined, log: () => undefined },
  );
  assert.equal(res.kind, 'activations');
  const written = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8'));
  let worst = 0;
  for (const t of tensors) {
    const want = readNpy(path.join(REF, index.tensors[t].file));
    const got = readNpy(path.join(out, written[t]));
    assert.deepEqual(got.shape, want.shape, t);
    for (let i = 0; i < want.data.length; i++) {
      const w = want.data[i] as number,
        g = got.data[i] as number;
      const err = Math.abs(g - w);
      worst = Math.max(worst, err);
      assert.ok(err <= 1e-4 + 1e-4 * Math.abs(w), `${t}[${i}]: ${g} vs torch ${w}`);
    }
  }
  const logits = readNpy(path.join(out, written.logits));
  const refLogits = readNpy(path.join(REF, index.logits ?? 'logits.npy'));
  for (let i = 0; i < refLogits.data.length; i++)
    assert.ok(Math.abs((logits.data[i] as number) - (refLogits.data[i] as number)) < 1e-4);
  assert.ok(worst < 1e-3);
});
