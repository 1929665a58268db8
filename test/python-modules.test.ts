import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { importedModules, moduleDefinitions, parsePython, type ModuleDef } from '../src/extension/python/modules';
import { layersFor, type ModelModule, type ResultLayer } from '../src/extension/python/match';
import { LENS_VALUES, lensText } from '../webview/views/registry';
import type { AnalysisResult } from '../src/shared/result';

const py = (lines: string[]) => lines.join('\n') + '\n';
const defs = (src: string, others: string[] = []) =>
  moduleDefinitions(
    parsePython(src),
    others.map((o) => parsePython(o)),
  );
/** [className, attr, paths] per definition. */
const summary = (ds: ModuleDef[]) => ds.map((d) => [d.className, d.attr, d.paths]);
/** 0-based column of the n-th occurrence of `needle` on line `line` of `src`. */
const col = (src: string, line: number, needle: string, nth = 0) => {
  const text = src.split('\n')[line];
  let at = -1;
  for (let i = 0; i <= nth; i++) at = text.indexOf(needle, at + 1);
  assert.ok(at >= 0, `${needle} on line ${line}`);
  return at;
};

test('shallow CNN example: every layer with its path and exact position', () => {
  const src = readFileSync(path.join(__dirname, '..', 'examples', 'models', 'shallow_cnn.py'), 'utf8');
  const ds = defs(src);
  assert.deepEqual(
    ds.map((d) => d.attr),
    ['conv1', 'relu1', 'conv2', 'relu2', 'pool1', 'conv3', 'relu3', 'conv4', 'relu4', 'pool2', 'flatten', 'fc'],
  );
  assert.deepEqual(
    ds.map((d) => d.paths),
    ds.map((d) => [d.attr]),
  );
  assert.deepEqual(
    ds.map((d) => d.ctor),
    [
      'nn.Conv2d',
      'nn.ReLU',
      'nn.Conv2d',
      'nn.ReLU',
      'nn.MaxPool2d',
      'nn.Conv2d',
      'nn.ReLU',
      'nn.Conv2d',
      'nn.ReLU',
      'nn.MaxPool2d',
      'nn.Flatten',
      'nn.Linear',
    ],
  );
  const lines = src.split('\n');
  const conv1Line = lines.findIndex((l) => l.includes('self.conv1 = nn.Conv2d(1, 64, 3, padding=1)'));
  assert.ok(conv1Line > 0);
  const c = ds[0];
  assert.deepEqual(
    [c.className, c.line, c.character, c.endLine, c.endCharacter],
    ['ShallowCNN', conv1Line, 8, conv1Line, 8 + 'self.conv1 = nn.Conv2d(1, 64, 3, padding=1)'.length],
  );
  assert.equal(ds[11].line, conv1Line + 11);
});

test('module classes: nn.Module, torch.nn.Module, imported Module, subclasses; other classes ignored', () => {
  const src = py([
    'import torch',
    'from torch.nn import Module, Conv2d',
    'class A(torch.nn.Module):',
    '    def __init__(self):',
    '        self.a = Conv2d(1, 2, 3)',
    'class B(Module):',
    '    def __init__(self):',
    '        self.b = torch.nn.ReLU()',
    'class C(A):',
    '    def __init__(self):',
    '        super().__init__()',
    '        self.c = nn.ReLU()',
    'class Plain:',
    '    def __init__(self):',
    '        self.p = nn.ReLU()',
    'class D(Module2):',
    '    def __init__(self):',
    '        self.d = nn.ReLU()',
  ]);
  // A is only a base of C, so its definitions live under C's (root) prefix.
  assert.deepEqual(summary(defs(src)), [
    ['A', 'a', ['a']],
    ['B', 'b', ['b']],
    ['C', 'c', ['c']],
  ]);
  // Module not imported from torch is not a module class
  assert.deepEqual(defs(py(['class M(Module):', '    def __init__(self):', '        self.x = nn.ReLU()'])), []);
});

test('definitions: annotated and chained assignments; non-module assignments skipped', () => {
  const src = py([
    'import math',
    'import torch.nn.functional as F',
    'class Cfg:',
    '    pass',
    'def make_head():',
    '    return 1',
    'class Net(nn.Module):',
    '    def __init__(self, x):',
    '        super().__init__()',
    '        self.n = 3',
    '        self.training_flag = True',
    '        self.scale = x * 2',
    '        self.buf = torch.zeros(3)',
    '        self.t = torch.tensor([1.0])',
    '        self.w = nn.Parameter(torch.ones(3))',
    '        self.s = math.sqrt(2)',
    '        self.f = F.relu(x)',
    '        self.cfg = Cfg()',
    '        self.head = make_head()',
    '        self.down = None',
    '        self.x: nn.Module = nn.Conv2d(1, 2, 3)',
    '        self.a = self.b = nn.ReLU()',
    '        if x:',
    '            self.extra = nn.Dropout(0.5)',
    '        self.act = mish()',
    '    def forward(self, x):',
    '        y = nn.ReLU()(x)',
    '        return y',
    'class mish(nn.Module):',
    '    pass',
  ]);
  const ds = defs(src);
  assert.deepEqual(
    ds.map((d) => [d.attr, d.ctor, d.paths, d.line, d.character]),
    [
      ['x', 'nn.Conv2d', ['x'], 20, 8],
      ['a', 'nn.ReLU', ['a'], 21, 8],
      ['b', 'nn.ReLU', ['b'], 21, 17],
      ['extra', 'nn.Dropout', ['extra'], 23, 12],
      ['act', 'mish', ['act'], 24, 8],
    ],
  );
});

const RESNET = py([
  'import torch.nn as nn',
  '',
  'class BasicBlock(nn.Module):',
  '    def __init__(self, cin, cout):',
  '        super().__init__()',
  '        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)',
  '        self.relu = nn.ReLU()',
  '',
  'class ResNet(nn.Module):',
  '    def __init__(self):',
  '        super().__init__()',
  '        self.stem = nn.Sequential(nn.Conv2d(1, 64, 3), nn.Sequential(nn.BatchNorm2d(64), nn.ReLU()))',
  '        self.layer1 = nn.Sequential(BasicBlock(64, 64),',
  '                                    BasicBlock(64, 64))',
  '        self.block = BasicBlock(64, 64)',
  '        self.fc = nn.Linear(64, 10)',
]);

test('ResNet-like: blocks in a Sequential get one path per instance; nested Sequentials recurse', () => {
  const ds = defs(RESNET);
  assert.deepEqual(summary(ds), [
    ['BasicBlock', 'conv1', ['layer1.0.conv1', 'layer1.1.conv1', 'block.conv1']],
    ['BasicBlock', 'relu', ['layer1.0.relu', 'layer1.1.relu', 'block.relu']],
    ['ResNet', 'stem', ['stem']],
    ['ResNet', '0', ['stem.0']],
    ['ResNet', '1', ['stem.1']],
    ['ResNet', '0', ['stem.1.0']],
    ['ResNet', '1', ['stem.1.1']],
    ['ResNet', 'layer1', ['layer1']],
    ['ResNet', '0', ['layer1.0']],
    ['ResNet', '1', ['layer1.1']],
    ['ResNet', 'block', ['block']],
    ['ResNet', 'fc', ['fc']],
  ]);
  const second = ds[9];
  assert.deepEqual(
    [second.ctor, second.line, second.character, second.endLine, second.endCharacter],
    ['BasicBlock', 13, 36, 13, 54],
  );
  const seq = ds[7];
  assert.deepEqual([seq.line, seq.character, seq.endLine, seq.endCharacter], [12, 8, 13, 55]);
});

test('Sequential(OrderedDict(...)) uses the keys; a dict literal is not a Sequential argument', () => {
  const src = py([
    'import collections',
    'from collections import OrderedDict',
    'class Net(nn.Module):',
    '    def __init__(self):',
    '        self.features = nn.Sequential(OrderedDict([',
    "            ('conv', nn.Conv2d(1, 8, 3)),",
    '            ("relu", nn.ReLU()),',
    '        ]))',
    "        self.head = torch.nn.Sequential(collections.OrderedDict([('fc', nn.Linear(8, 2))]))",
    "        self.bad = nn.Sequential({'x': nn.ReLU()})",
  ]);
  const ds = defs(src);
  assert.deepEqual(
    ds.map((d) => [d.attr, d.ctor, d.paths, d.line, d.character]),
    [
      ['features', 'nn.Sequential', ['features'], 4, 8],
      ['conv', 'nn.Conv2d', ['features.conv'], 5, 21],
      ['relu', 'nn.ReLU', ['features.relu'], 6, 21],
      ['head', 'torch.nn.Sequential', ['head'], 8, 8],
      ['fc', 'nn.Linear', ['head.fc'], 8, col(src, 8, 'nn.Linear')],
      ['bad', 'nn.Sequential', ['bad'], 9, 8],
    ],
  );
});

test('ModuleList and ModuleDict entries; comprehensions and starred entries are not indexed', () => {
  const src = py([
    'class Net(nn.Module):',
    '    def __init__(self, layers):',
    '        self.convs = nn.ModuleList([nn.Conv2d(1, 4, 3), nn.Conv2d(4, 4, 3)])',
    '        self.heads = nn.ModuleDict({\'cls\': nn.Linear(4, 10), "box": nn.Linear(4, 4), **more})',
    "        self.pairs = nn.ModuleDict([('a', nn.ReLU()), ('b', nn.GELU())])",
    '        self.many = nn.ModuleList([nn.ReLU() for _ in range(3)])',
    '        self.seq = nn.Sequential(nn.ReLU(), *layers, nn.Tanh())',
  ]);
  assert.deepEqual(
    defs(src).map((d) => [d.attr, d.paths[0], d.line, d.character]),
    [
      ['convs', 'convs', 2, 8],
      ['0', 'convs.0', 2, 36],
      ['1', 'convs.1', 2, 56],
      ['heads', 'heads', 3, 8],
      ['cls', 'heads.cls', 3, col(src, 3, 'nn.Linear')],
      ['box', 'heads.box', 3, col(src, 3, 'nn.Linear', 1)],
      ['pairs', 'pairs', 4, 8],
      ['a', 'pairs.a', 4, col(src, 4, 'nn.ReLU')],
      ['b', 'pairs.b', 4, col(src, 4, 'nn.GELU')],
      ['many', 'many', 5, 8],
      ['seq', 'seq', 6, 8],
      ['0', 'seq.0', 6, 33],
    ],
  );
});

test('add_module with a literal name (also on a submodule and as keywords); f-strings and variables skipped', () => {
  const src = py([
    'class Net(nn.Module):',
    '    def __init__(self, name):',
    '        self.body = nn.Sequential()',
    "        self.add_module('stem', nn.Conv2d(1, 8, 3))",
    '        self.body.add_module("act", nn.ReLU())',
    "        self.add_module(name='pool', module=nn.MaxPool2d(2))",
    '        for i in range(3):',
    "            self.add_module(f'block{i}', nn.ReLU())",
    '        self.add_module(name, nn.ReLU())',
  ]);
  assert.deepEqual(
    defs(src).map((d) => [d.attr, d.ctor, d.paths, d.line, d.character, d.endCharacter]),
    [
      ['body', 'nn.Sequential', ['body'], 2, 8, 35],
      ['stem', 'nn.Conv2d', ['stem'], 3, 32, 50],
      ['act', 'nn.ReLU', ['body.act'], 4, 36, 45],
      [
        'pool',
        'nn.MaxPool2d',
        ['pool'],
        5,
        col(src, 5, 'nn.MaxPool2d'),
        col(src, 5, 'nn.MaxPool2d') + 'nn.MaxPool2d(2)'.length,
      ],
    ],
  );
});

const BLOCKS = py([
  'from torch import nn',
  'class BasicBlock(nn.Module):',
  '    def __init__(self):',
  '        super().__init__()',
  '        self.conv1 = nn.Conv2d(8, 8, 3)',
  'class Base(nn.Module):',
  '    def __init__(self):',
  '        super().__init__()',
  '        self.stem = nn.Conv2d(1, 8, 3)',
]);
const MODEL = py([
  'import torch',
  'from .blocks import BasicBlock as BB, Base',
  'import models.blocks as mb',
  'class Net(Base):',
  '    def __init__(self):',
  '        super().__init__()',
  '        self.layer1 = nn.Sequential(BB(), mb.BasicBlock())',
  '        self.last = mb.BasicBlock()',
  'model = Net()',
]);

test('imports across two parsed files, with `as` aliases and module aliases', () => {
  const model = parsePython(MODEL, 'models.model');
  const blocks = parsePython(BLOCKS, 'models.blocks');
  assert.deepEqual(importedModules(model), [
    { module: 'blocks', level: 1, names: ['BasicBlock', 'Base'] },
    { module: 'models.blocks', level: 0, names: [] },
  ]);
  assert.deepEqual(model.imports[1], {
    module: 'blocks',
    level: 1,
    names: ['BasicBlock', 'Base'],
    locals: ['BB', 'Base'],
  });
  assert.deepEqual(model.imports[2], { module: 'models.blocks', level: 0, names: [], locals: [], alias: 'mb' });
  // the model file: Net subclasses the imported Base, so it is a module class and the root
  assert.deepEqual(summary(moduleDefinitions(model, [blocks])), [
    ['Net', 'layer1', ['layer1']],
    ['Net', '0', ['layer1.0']],
    ['Net', '1', ['layer1.1']],
    ['Net', 'last', ['last']],
  ]);
  // without the imported file Net's base is unknown: no definitions
  assert.deepEqual(moduleDefinitions(model), []);
  // the blocks file, with the model file that imports it
  assert.deepEqual(summary(moduleDefinitions(blocks, [model])), [
    ['BasicBlock', 'conv1', ['layer1.0.conv1', 'layer1.1.conv1', 'last.conv1']],
    ['Base', 'stem', ['stem']],
  ]);
  // alone, its classes are roots
  assert.deepEqual(summary(moduleDefinitions(blocks)), [
    ['BasicBlock', 'conv1', ['conv1']],
    ['Base', 'stem', ['stem']],
  ]);
});

test('a truncated file still yields the definitions of its intact classes', () => {
  const full = py([
    'class Block(nn.Module):',
    '    def __init__(self):',
    '        self.conv = nn.Conv2d(1, 2, 3)',
    '        self.act = nn.ReLU()',
    '',
    'class Net(nn.Module):',
    '    def __init__(self):',
    '        self.block = Block()',
    '        self.fc = nn.Linear(2, 3)',
    '        self.head = nn.Sequential(nn.Linear(3, 3), nn.Re',
  ]);
  const cut = full.slice(0, full.length - 1);
  assert.deepEqual(summary(defs(cut)), [
    ['Block', 'conv', ['block.conv']],
    ['Block', 'act', ['block.act']],
    ['Net', 'block', ['block']],
    ['Net', 'fc', ['fc']],
    ['Net', 'head', ['head']],
    ['Net', '0', ['head.0']],
  ]);
  // cut inside a call in the first class: the second class is swallowed, the first keeps its intact lines
  const cut2 =
    full.slice(0, full.indexOf('nn.ReLU()') + 'nn.ReLU('.length) + '\n\n' + full.slice(full.indexOf('class Net'));
  const ds = defs(cut2);
  assert.deepEqual(ds.map((d) => [d.className, d.attr]).slice(0, 1), [['Block', 'conv']]);
  assert.deepEqual(ds[0].paths, ['conv']);
});

test('torchvision-style _make_layer: the attribute has its path, the blocks are unresolved', () => {
  const src = py([
    'class BasicBlock(nn.Module):',
    '    expansion = 1',
    '    def __init__(self, inplanes, planes, stride=1):',
    '        super().__init__()',
    '        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1)',
    'class ResNet(nn.Module):',
    '    def __init__(self, block, layers):',
    '        super().__init__()',
    '        self.conv1 = nn.Conv2d(3, 64, 7)',
    '        self.layer1 = self._make_layer(block, 64, layers[0])',
    '        self.helper = self.not_a_method()',
    '    def _make_layer(self, block, planes, blocks):',
    '        layers = [block(self.inplanes, planes)]',
    '        for _ in range(1, blocks):',
    '            layers.append(block(planes, planes))',
    '        return nn.Sequential(*layers)',
    'def resnet18():',
    '    return ResNet(BasicBlock, [2, 2, 2, 2])',
  ]);
  assert.deepEqual(
    defs(src).map((d) => [d.className, d.attr, d.ctor, d.paths]),
    [
      ['BasicBlock', 'conv1', 'nn.Conv2d', []],
      ['ResNet', 'conv1', 'nn.Conv2d', ['conv1']],
      ['ResNet', 'layer1', 'self._make_layer', ['layer1']],
    ],
  );
  // a block instantiated by name inside _make_layer is unresolved as well
  const named = src
    .replace('[block(self.inplanes, planes)]', '[BasicBlock(self.inplanes, planes)]')
    .replace('return ResNet(BasicBlock, [2, 2, 2, 2])', 'return ResNet(None, [2])');
  assert.deepEqual(defs(named)[0].paths, []);
});

test('cycles and self-recursion terminate', () => {
  const src = py([
    'class A(nn.Module):',
    '    def __init__(self):',
    '        self.b = B()',
    'class B(nn.Module):',
    '    def __init__(self):',
    '        self.a = A()',
    'class Node(nn.Module):',
    '    def __init__(self, depth):',
    '        self.lin = nn.Linear(2, 2)',
    '        self.child = Node(depth - 1)',
    'class Loop(Loop):',
    '    def __init__(self):',
    '        self.x = nn.ReLU()',
  ]);
  assert.deepEqual(summary(defs(src)), [
    ['A', 'b', []],
    ['B', 'a', []],
    ['Node', 'lin', ['lin']],
    ['Node', 'child', ['child']],
  ]);
});

test('nn.Sequential subclass: super().__init__ arguments are its entries; classes inside functions are found', () => {
  const src = py([
    'def build():',
    '    import torch.nn as nn',
    '    class ConvBN(nn.Sequential):',
    '        def __init__(self, cin, cout):',
    '            super().__init__(nn.Conv2d(cin, cout, 3), nn.BatchNorm2d(cout))',
    '    class Net(nn.Module):',
    '        def __init__(self):',
    '            super(Net, self).__init__()',
    '            self.stem = ConvBN(1, 8)',
    '    return Net()',
  ]);
  assert.deepEqual(summary(defs(src)), [
    ['ConvBN', '0', ['stem.0']],
    ['ConvBN', '1', ['stem.1']],
    ['Net', 'stem', ['stem']],
  ]);
});

// ---------------------------------------------------------------- match

const def = (paths: string[], attr = 'x'): ModuleDef => ({
  className: 'C',
  attr,
  ctor: 'nn.Conv2d',
  paths,
  line: 0,
  character: 0,
  endLine: 0,
  endCharacter: 0,
});
const L = (label: string, index: number, tensor = `/${label}/out`): ResultLayer => ({ tensor, label, index });

test('layersFor: exact labels with repeats, in index order, over several paths; deduplicated', () => {
  const layers = [
    L('layer1.0.relu (2)', 9, 't9'),
    L('layer1.0.relu', 5, 't5'),
    L('layer1.1.relu', 14, 't14'),
    L('layer1.0.relu', 5, 't5'),
    L('layer1.0.relu.x', 6),
  ];
  const got = layersFor(def(['layer1.0.relu', 'layer1.1.relu'], 'relu'), layers);
  assert.deepEqual(
    got.map((m) => [m.path, m.layer.tensor, m.via]),
    [
      ['layer1.0.relu', 't5', 'exact'],
      ['layer1.0.relu', 't9', 'exact'],
      ['layer1.1.relu', 't14', 'exact'],
    ],
  );
});

test('layersFor: the next analysed layer when the module itself is not analysed, within reach', () => {
  const modules: ModelModule[] = [
    'conv1',
    'relu1',
    'conv2',
    'relu2',
    'pool1',
    'conv3',
    'relu3',
    'conv4',
    'relu4',
    'pool2',
    'flatten',
    'fc',
  ].map((module, index) => ({ module, index }));
  const layers = [L('relu1', 1), L('relu2', 3), L('fc', 11)];
  assert.deepEqual(
    layersFor(def(['conv1']), layers, modules).map((m) => [m.path, m.layer.label, m.via]),
    [['conv1', 'relu1', 'next']],
  );
  // conv3 (5): the next analysed layer is fc (11), too far
  assert.deepEqual(layersFor(def(['conv3']), layers, modules), []);
  // without the module list there is no 'next'
  assert.deepEqual(layersFor(def(['conv1']), layers), []);
  // unknown path
  assert.deepEqual(layersFor(def(['nope']), layers, modules), []);
  // within 3 nodes, but another parent module: not taken; 1 node on: taken
  const m2: ModelModule[] = [
    { module: 'a.conv', index: 0 },
    { module: 'a.bn', index: 1 },
    { module: 'b.relu', index: 2 },
    { module: 'a.relu', index: 3 },
  ];
  assert.deepEqual(layersFor(def(['a.conv']), [L('b.relu', 2)], m2), []);
  assert.deepEqual(
    layersFor(def(['a.conv']), [L('a.relu', 3)], m2).map((m) => m.via),
    ['next'],
  );
  assert.deepEqual(
    layersFor(def(['a.bn']), [L('b.relu', 2)], m2).map((m) => m.via),
    ['next'],
  );
});

test('layersFor: unresolved definitions match labels by attribute suffix', () => {
  const layers = [
    L('layer1.0.conv1', 3),
    L('layer2.1.conv1 (2)', 20),
    L('conv1', 0),
    L('xconv1', 1),
    L('layer1.0.conv10', 4),
  ];
  assert.deepEqual(
    layersFor(def([], 'conv1'), layers).map((m) => [m.path, m.layer.index, m.via]),
    [
      ['conv1', 0, 'suffix'],
      ['layer1.0.conv1', 3, 'suffix'],
      ['layer2.1.conv1', 20, 'suffix'],
    ],
  );
  assert.deepEqual(layersFor(def([], 'fc'), layers), []);
});

test('lensText: the lens numbers of the views for a layer, in lens order; missing and NaN values left out', () => {
  const layer = (tensor: string) => ({ tensor, label: tensor, op: 'Relu', shape: [4], params: 0, index: 0 });
  const r = {
    layers: [layer('a'), layer('b'), layer('c')],
    analyses: {
      rra: {
        perLayer: [
          { tensor: 'a', id: { twonn: 11.234, ml: null, dropped: 0 }, nncs: 0.8312 },
          { tensor: 'b', id: null, nncs: 0.5 },
          { tensor: 'c', id: { twonn: Number.NaN }, nncs: null },
        ],
      },
      selectivity: {
        perLayer: [
          { tensor: 'a', mean: 0.409 },
          { tensor: 'c', mean: Number.NaN },
        ],
      },
      summary: { perLayer: [{ tensor: 'a', sparsity: 0.5 }] },
    },
  } as unknown as AnalysisResult;
  assert.equal(lensText(r, 'a'), 'ID 11.2 · NNCS 0.83 · sel 0.41', 'sparsity is in the hover only');
  assert.equal(lensText(r, 'b'), 'NNCS 0.50');
  assert.equal(lensText(r, 'c'), '');
  assert.deepEqual(
    LENS_VALUES.map((v) => v.label),
    ['ID', 'NNCS', 'selectivity', 'sparsity'],
  );
});

test('imports: `from . import module`, star imports, stdlib/torch imports not offered', () => {
  const main = parsePython(
    py([
      'import os, torch.nn as nn',
      'import torchvision',
      'from . import blocks',
      'from ..common.layers import *',
      'class Net(nn.Module):',
      '    def __init__(self):',
      '        self.a = blocks.BasicBlock()',
      '        self.b = Stem()',
      '        self.c = torchvision.models.resnet18()',
    ]),
    'pkg.model',
  );
  assert.deepEqual(importedModules(main), [
    { module: '', level: 1, names: ['blocks'] },
    { module: 'blocks', level: 1, names: [] },
    { module: 'common.layers', level: 2, names: ['*'] },
  ]);
  const stem = parsePython(
    py(['class Stem(nn.Module):', '    def __init__(self):', '        self.conv = nn.Conv2d(1, 2, 3)']),
    'common.layers',
  );
  const blocks = parsePython(BLOCKS, 'pkg.blocks');
  assert.deepEqual(summary(moduleDefinitions(main, [blocks, stem])), [
    ['Net', 'a', ['a']],
    ['Net', 'b', ['b']],
    ['Net', 'c', ['c']],
  ]);
  assert.deepEqual(summary(moduleDefinitions(stem, [main, blocks])), [['Stem', 'conv', ['b.conv']]]);
  assert.deepEqual(summary(moduleDefinitions(blocks, [main, stem])), [
    ['BasicBlock', 'conv1', ['a.conv1']],
    ['Base', 'stem', ['stem']],
  ]);
});
