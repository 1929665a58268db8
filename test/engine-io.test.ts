import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { NpyWriter, encodeNpy, parseNpy, readNpy } from '../src/engine/npy';
import { ActivationStore } from '../src/engine/capture/store';
import { safeStem, tensorFileNames } from '../src/engine/capture/npydir';
import { ReplensError, closest } from '../src/engine/errors';
import { tempDir } from './helpers/tmp';

const tmp = tempDir('replens-io-');

test('npy: header and data as numpy writes them (hand-built bytes), and round trips', () => {
  // numpy.save of np.arange(6, dtype='<f4').reshape(2,3): magic, v1.0, header len 118, dict padded to 128 bytes.
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const header = Buffer.alloc(128, 0x20);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(header);
  header.writeUInt16LE(118, 8);
  header.write(dict, 10, 'latin1');
  header[127] = 0x0a;
  const bytes = Buffer.concat([header, Buffer.from(new Float32Array([0, 1, 2, 3, 4, 5]).buffer)]);
  const a = parseNpy(bytes);
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual([...a.data], [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Buffer.from(encodeNpy({ shape: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) })), bytes);
  // Fortran order is transposed to C order: F-ordered [[0,1,2],[3,4,5]] is stored 0,3,1,4,2,5.
  const f = Buffer.from(bytes);
  f.write("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), } ", 10, 'latin1');
  f.set(new Uint8Array(new Float32Array([0, 3, 1, 4, 2, 5]).buffer), 128);
  assert.deepEqual([...parseNpy(f).data], [0, 1, 2, 3, 4, 5]);
  assert.throws(() => parseNpy(bytes.subarray(0, 140), 'x.npy'), /x\.npy is truncated/);
  assert.throws(() => parseNpy(Buffer.from('hello world'), 'y.npy'), /y\.npy is not a \.npy file/);
});

test('NpyWriter streams rows and patches the row count, even past 5 digits', () => {
  const file = path.join(tmp, 'stream.npy');
  const w = new NpyWriter(file, 'float32', [3]);
  for (let i = 0; i < 40000; i++) w.append(new Float32Array([i, i + 0.5, -i]), 1);
  w.close();
  const a = readNpy(file);
  assert.deepEqual(a.shape, [40000, 3]);
  assert.equal(a.data[3 * 39999 + 1], 39999.5);
  assert.equal((fs.statSync(file).size - 40000 * 12) % 64, 0, 'data starts on a 64-byte boundary');
});

test('ActivationStore spills past its budget, reads back exactly, refuses to materialise more than the budget', () => {
  const store = new ActivationStore(1024, tmp);
  const rows = 50,
    rowShape = [4, 3];
  const all = Float32Array.from({ length: rows * 12 }, (_, i) => Math.sin(i));
  for (let r = 0; r < rows; r += 5) store.append('a', all.subarray(r * 12, (r + 5) * 12), 5, rowShape);
  store.append('b', new Float32Array(24).fill(7), 2, rowShape);
  assert.ok(store.bytesInMemory <= 1024);
  assert.deepEqual(store.spilled, ['a']);
  // Spilled chunks share one read buffer: copy each during the iteration.
  const chunks = Array.from(store.chunks('a', 7), (c) => ({ ...c, data: c.data.slice() }));
  const shared = [...store.chunks('a', 7)];
  assert.equal(shared[0].data.buffer, shared[7].data.buffer, 'one buffer for every chunk read from the file');
  assert.equal(chunks.length, 8);
  assert.deepEqual(Float32Array.from(chunks.flatMap((c) => [...c.data])), all);
  assert.deepEqual([...store.materialize('b')], new Array(24).fill(7));
  assert.throws(
    () => store.materialize('a'),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_MEMORY_BUDGET' &&
      /'a' needs 2.3 KB in memory \(50 × 4×3 float32\), over the 1.0 KB memory budget/.test(e.message),
  );
  store.dispose();
});

test('ActivationStore.source: blocks and rows across chunk edges, from memory (views) and from the spill file', () => {
  const rows = 23,
    rowShape = [3];
  const all = Float32Array.from({ length: rows * 3 }, (_, i) => i * 0.5 - 7);
  for (const budget of [1 << 20, 64]) {
    const store = new ActivationStore(budget, tmp);
    for (let r = 0; r < rows; r += 4)
      store.append('x', all.subarray(r * 3, Math.min(rows, r + 4) * 3), Math.min(4, rows - r), rowShape);
    assert.equal(store.spilled.length, budget === 64 ? 1 : 0);
    const src = store.source('x');
    assert.equal(src.rows, rows);
    assert.equal(src.cols, 3);
    for (const [s, c] of [
      [0, 23],
      [0, 4],
      [1, 2],
      [3, 6],
      [4, 4],
      [19, 4],
      [22, 1],
      [5, 0],
    ]) {
      assert.deepEqual([...src.block(s, c)], [...all.subarray(s * 3, (s + c) * 3)], `block ${s}+${c} budget ${budget}`);
    }
    const r7 = src.row(7, 0),
      r20 = src.row(20, 1);
    assert.deepEqual([...r7], [...all.subarray(21, 24)]);
    assert.deepEqual([...r20], [...all.subarray(60, 63)]);
    if (budget > 64)
      assert.equal(src.block(4, 4).buffer, src.row(5, 0).buffer, 'in-memory rows inside a chunk are views');
    assert.throws(() => src.block(20, 4), /rows \[20, 24\) of 'x' asked, it has 23/);
    // Spilled while the source is in use (another tensor pushes it out): reads follow it to the file.
    const big = Math.ceil(budget / 12);
    store.append('tmp', new Float32Array(big * 3), big, rowShape);
    assert.ok(store.spilled.includes('x'));
    assert.deepEqual([...src.block(3, 6)], [...all.subarray(9, 27)]);
    assert.deepEqual([...src.row(22, 1)], [...all.subarray(66, 69)]);
    store.remove('tmp');
    assert.deepEqual(store.tensors(), ['x']);
    store.dispose();
  }
});

test('tensor names become safe, unique file names', () => {
  assert.equal(safeStem('/layer1/layer1.0/conv1/Conv_output_0'), 'layer1_layer1.0_conv1_Conv_output_0');
  assert.equal(safeStem('onnx::Conv_12:0'), 'onnx_Conv_12_0');
  assert.equal(safeStem('../../etc/passwd'), 'etc_passwd');
  assert.equal(safeStem('CON'), '_CON');
  const names = tensorFileNames(['a/b', 'a:b', 'A_b']);
  assert.equal(new Set([...names.values()].map((n) => n.toLowerCase())).size, 3);
  for (const n of names.values()) assert.match(n, /^[A-Za-z0-9._-]+\.npy$/);
});

test('suggestions rank substring and near matches first', () => {
  assert.deepEqual(closest('conv1', ['/layer1/conv1/Conv_output_0', 'relu', 'conv2'], 2), [
    '/layer1/conv1/Conv_output_0',
    'conv2',
  ]);
});
