import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayerInfo } from '../src/engine/onnx/layers';
import { cellText, matchesFilter, nextSort, sortLayers } from '../webview/inspect/table';

function layer(
  index: number,
  name: string,
  op: string,
  params: number,
  module: string | null,
  shape: LayerInfo['shape'],
): LayerInfo {
  return {
    name,
    op,
    domain: '',
    output: `t${index}`,
    outputs: [`t${index}`],
    inputs: [],
    shape,
    params,
    module,
    index,
  };
}
const layers = [
  layer(0, '/conv1/Conv', 'Conv', 448, 'conv1', ['N', 16, 32, 32]),
  layer(1, '/relu/Relu', 'Relu', 0, 'relu', ['N', 16, 32, 32]),
  layer(2, 'Gemm_2', 'Gemm', 5130, null, ['N', 10]),
  layer(3, '/Flatten', 'Flatten', 0, '', null),
  layer(4, '/layer10/Conv', 'Conv', 448, 'layer10', ['N', 8, 2, 2]),
  layer(5, '/layer9/Conv', 'Conv', 12, 'layer9', ['N', 8, 2, 2]),
];

test('cell texts: counts with separators, shapes with ×, module "(root)" for the root, empty without a scope', () => {
  assert.equal(cellText(layers[0], 'shape'), 'N×16×32×32');
  assert.equal(cellText(layers[2], 'params'), '5,130');
  assert.equal(cellText(layers[2], 'module'), '');
  assert.equal(cellText(layers[3], 'module'), '(root)');
  assert.equal(cellText(layers[3], 'shape'), '?');
  assert.equal(cellText({ ...layers[0], domain: 'com.microsoft' }, 'op'), 'com.microsoft:Conv');
});

test('sorting: numbers, natural text order, ties in graph order, no-module rows last', () => {
  const idx = (ls: LayerInfo[]) => ls.map((l) => l.index);
  assert.deepEqual(idx(sortLayers(layers, null)), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(idx(sortLayers(layers, { col: 'params', dir: 'desc' })), [2, 0, 4, 5, 1, 3]);
  assert.deepEqual(idx(sortLayers(layers, { col: 'params', dir: 'asc' })), [1, 3, 5, 0, 4, 2]);
  assert.deepEqual(idx(sortLayers(layers, { col: 'module', dir: 'asc' })), [3, 0, 5, 4, 1, 2]);
  assert.deepEqual(idx(sortLayers(layers, { col: 'module', dir: 'desc' })), [1, 4, 5, 0, 3, 2]);
  assert.deepEqual(idx(sortLayers(layers, { col: 'shape', dir: 'desc' })), [0, 1, 4, 5, 2, 3]);
  assert.deepEqual(idx(sortLayers(layers, { col: 'op', dir: 'asc' })), [0, 4, 5, 3, 2, 1]);
});

test('header clicks cycle: numbers start descending, text ascending, the third click restores graph order', () => {
  assert.deepEqual(nextSort(null, 'params'), { col: 'params', dir: 'desc' });
  assert.deepEqual(nextSort({ col: 'params', dir: 'desc' }, 'params'), { col: 'params', dir: 'asc' });
  assert.equal(nextSort({ col: 'params', dir: 'asc' }, 'params'), null);
  assert.deepEqual(nextSort({ col: 'params', dir: 'asc' }, 'name'), { col: 'name', dir: 'asc' });
});

test('filter: every term must occur in name, op, module, output or shape (case-insensitive)', () => {
  const hits = (q: string) => layers.filter((l) => matchesFilter(l, q)).map((l) => l.index);
  assert.deepEqual(hits(''), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(hits('conv'), [0, 4, 5]);
  assert.deepEqual(hits('CONV layer'), [4, 5]);
  assert.deepEqual(hits('16×32'), [0, 1]);
  assert.deepEqual(hits('t2'), [2]);
  assert.deepEqual(hits('nothing-matches'), []);
});
