// The similarity analysis names SVCCA/PWCCA failures (issue 13): a layer that cannot be factored makes its cells
// null and the notes say which layer and why; the guard's record and warning are in the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivationStore } from '../src/engine/capture/store';
import { runSimilarity } from '../src/engine/analyses/similarity';
import type { LayerRef } from '../src/shared/result';

test('runSimilarity: a constant layer → null SVCCA/PWCCA cells, noted; capped layers recorded and warned', async () => {
  const n = 60,
    store = new ActivationStore(1 << 26);
  let s = 7;
  const rnd = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const layers: LayerRef[] = [];
  const add = (tensor: string, C: number, f: (i: number, c: number) => number) => {
    const d = new Float32Array(n * C);
    for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) d[i * C + c] = f(i, c);
    store.append(tensor, d, n, [C]);
    layers.push({ tensor, label: tensor, op: 'Relu', shape: [C], params: 0, index: layers.length });
  };
  add('a', 12, () => rnd());
  add('flat', 8, () => 1); // no variance: CCA undefined
  add('b', 10, (i, c) => (c < 3 ? i / n : rnd()));
  const notes: string[] = [];
  try {
    const r = await runSimilarity(store, layers, { notes });
    assert.equal(r.svcca.values[0][1], null);
    assert.equal(r.pwcca.values[1][2], null);
    assert.equal(typeof r.svcca.values[0][2], 'number');
    assert.ok(r.ccaFailures?.some((f) => f.row === 'flat' && f.col === '*' && /no variance/.test(f.reason)));
    assert.ok(
      notes.some((m) => /SVCCA\/PWCCA undefined \(null\) for layer flat: .*no variance/.test(m)),
      notes.join('\n'),
    );
    // n = 60: at most 6 directions; 'a' (12 random units) is capped.
    assert.equal(r.cca?.maxDims, 6);
    const a = r.cca.perLayer.find((d) => d.tensor === 'a')!;
    assert.equal(a.svccaDims, 6);
    assert.equal(a.pwccaDims, 6);
    assert.equal(a.capped, true);
    assert.ok(notes.some((m) => /capped to 6/.test(m)));
  } finally {
    store.dispose();
  }
});
