import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  allModuleDefinitions,
  importedModules,
  moduleDefinitions,
  parsePython,
  type ModuleDef,
} from '../src/extension/python/modules';
import {
  assignLayers,
  layerName,
  layersFor,
  planLenses,
  type ModelModule,
  type ResultLayer,
} from '../src/extension/python/match';
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

test('layersFor: exact labels with repeats, in index order, over several paths; inner layers as blocks', () => {
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
      // Was left out before; now a 'block' candidate: a layer inside the module (`layer1.0.relu.x`) that no
      // definition of its own shows is shown by the nearest definition containing it (assignLayers decides).
      ['layer1.0.relu', '/layer1.0.relu.x/out', 'block'],
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
  // conv1 alone could show relu1 (its only candidate) ...
  assert.deepEqual(
    layersFor(def(['conv1']), layers, modules).map((m) => [m.path, m.layer.label, m.via]),
    [['conv1', 'relu1', 'next']],
  );
  // ... but the lens no longer shows it when `self.relu1` is defined too: this test used to stop at the line above,
  // so conv1 and relu1 showed the same numbers; now relu1's exact definition takes it and conv1 shows nothing.
  assert.deepEqual(
    assignLayers([def(['conv1'], 'conv1'), def(['relu1'], 'relu1')], layers, modules).map((ms) =>
      ms.map((m) => [m.layer.label, m.via]),
    ),
    [[], [['relu1', 'exact']]],
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

// ---------------------------------------------------------------- lenses: one per analysed layer
// The sources below are realistic model files; the node lists and analysed layers are what the engine gives for
// them (src/engine/analyses/prepare.ts): the default layers are labelled with their block (a top-level module, or
// a numbered child of a top-level container), layers picked by op with their node's module (a functional op of the
// root module has module '', so its label is '' and repeats ' (2)' …); torch.onnx's eval export folds BatchNorm
// into the conv, so a BN module has no node. The expectations are written by hand from the rule in match.ts.

/** The model's nodes, by ONNX node index: their module path, or null for a node of the root module (the engine
 *  lists modules only for nodes with a non-empty module path). */
const nodes = (...paths: (string | null)[]): ModelModule[] =>
  paths.flatMap((module, index) => (module === null ? [] : [{ module, index }]));
/** What the lenses of a file show: per lens, [the code of its line (comments cut), the attributes of the
 *  definitions that show layers, 'layer via' per layer]; checks that no layer appears on two lenses. */
const lenses = (
  src: string,
  ds: ModuleDef[],
  layers: ResultLayer[],
  modules: ModelModule[],
  context: ModuleDef[] = [],
) => {
  const plans = planLenses(ds, context, layers, modules);
  const tensors = plans.flatMap((p) => p.matches.map((m) => m.layer.tensor));
  assert.equal(new Set(tensors).size, tensors.length, 'a layer on two lenses');
  return plans.map((p) => [
    src.split('\n')[p.line].split('#')[0].trim(),
    p.defs.map((d) => d.attr),
    p.matches.map((m) => `${layerName(m.layer)} ${m.via}`),
  ]);
};

test('lenses, shallow CNN example (conv/ReLU pairs as attributes): on the ReLUs, none on the convs', () => {
  const src = readFileSync(path.join(__dirname, '..', 'examples', 'models', 'shallow_cnn.py'), 'utf8');
  const modules = nodes(
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
  );
  const layers = [
    L('relu1', 1),
    L('relu2', 3),
    L('pool1', 4),
    L('relu3', 6),
    L('relu4', 8),
    L('pool2', 9),
    L('fc', 11),
  ];
  // Before, each conv also showed its ReLU's numbers ('next') and flatten showed fc's: 12 lenses for 7 layers.
  assert.deepEqual(lenses(src, defs(src), layers, modules), [
    ['self.relu1 = nn.ReLU()', ['relu1'], ['relu1 exact']],
    ['self.relu2 = nn.ReLU()', ['relu2'], ['relu2 exact']],
    ['self.pool1 = nn.MaxPool2d(2)', ['pool1'], ['pool1 exact']],
    ['self.relu3 = nn.ReLU()', ['relu3'], ['relu3 exact']],
    ['self.relu4 = nn.ReLU()', ['relu4'], ['relu4 exact']],
    ['self.pool2 = nn.MaxPool2d(2)', ['pool2'], ['pool2 exact']],
    ['self.fc = nn.Linear(128 * 7 * 7, num_classes)', ['fc'], ['fc exact']],
  ]);
});

const FUNCTIONAL = py([
  'import torch',
  'import torch.nn as nn',
  'import torch.nn.functional as F',
  'class Net(nn.Module):',
  '    def __init__(self):',
  '        super().__init__()',
  '        self.conv1 = nn.Conv2d(1, 32, 3, 1)',
  '        self.conv2 = nn.Conv2d(32, 64, 3, 1)',
  '        self.pool = nn.MaxPool2d(2)',
  '        self.fc1 = nn.Linear(9216, 128)',
  '        self.fc2 = nn.Linear(128, 10)',
  '    def forward(self, x):',
  '        x = F.relu(self.conv1(x))',
  '        x = self.pool(F.relu(self.conv2(x)))',
  '        x = torch.flatten(x, 1)',
  '        x = F.relu(self.fc1(x))',
  '        return self.fc2(x)',
]);

test('lenses, F.relu in forward: each conv / linear keeps its ReLU (no definition of its own), once', () => {
  // conv1 /Relu conv2 /Relu_1 pool /Flatten fc1 /Relu_2 fc2
  const modules = nodes('conv1', null, 'conv2', null, 'pool', null, 'fc1', null, 'fc2');
  const layers = [
    L('', 1, '/Relu_output_0'),
    L(' (2)', 3, '/Relu_1_output_0'),
    L('pool', 4),
    L(' (3)', 7, '/Relu_2_output_0'),
    L('fc2', 8),
  ];
  assert.deepEqual(lenses(FUNCTIONAL, defs(FUNCTIONAL), layers, modules), [
    ['self.conv1 = nn.Conv2d(1, 32, 3, 1)', ['conv1'], ['/Relu_output_0 next']],
    ['self.conv2 = nn.Conv2d(32, 64, 3, 1)', ['conv2'], ['/Relu_1_output_0 next']],
    ['self.pool = nn.MaxPool2d(2)', ['pool'], ['pool exact']],
    ['self.fc1 = nn.Linear(9216, 128)', ['fc1'], ['/Relu_2_output_0 next']],
    ['self.fc2 = nn.Linear(128, 10)', ['fc2'], ['fc2 exact']],
  ]);
  // With a BatchNorm exported as its own node (a training-mode export), the module right before the ReLU is the
  // BN: the nearest preceding module shows it, the conv does not show it a second time.
  const bn = FUNCTIONAL.replace(
    '        self.conv2 = nn.Conv2d(32, 64, 3, 1)\n',
    '        self.bn1 = nn.BatchNorm2d(32)\n        self.conv2 = nn.Conv2d(32, 64, 3, 1)\n',
  ).replace('F.relu(self.conv1(x))', 'F.relu(self.bn1(self.conv1(x)))');
  assert.deepEqual(lenses(bn, defs(bn), [L('', 2, '/Relu_output_0')], nodes('conv1', 'bn1', null, 'conv2')), [
    ['self.bn1 = nn.BatchNorm2d(32)', ['bn1'], ['/Relu_output_0 next']],
  ]);
});

test('lenses, nn.Sequential blocks: entries and whole blocks by their own definition, none on what precedes', () => {
  const src = py([
    'from collections import OrderedDict',
    'import torch.nn as nn',
    'class VGGish(nn.Module):',
    '    def __init__(self):',
    '        super().__init__()',
    '        self.features = nn.Sequential(',
    '            nn.Conv2d(3, 64, 3, padding=1),',
    '            nn.ReLU(inplace=True),',
    '            nn.MaxPool2d(2),',
    '            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(inplace=True),',
    '        )',
    '        self.pool = nn.AdaptiveAvgPool2d(1)',
    '        self.flatten = nn.Flatten()',
    '        self.classifier = nn.Sequential(OrderedDict([',
    "            ('fc', nn.Linear(128, 10)),",
    '        ]))',
    '    def forward(self, x):',
    '        return self.classifier(self.flatten(self.pool(self.features(x))))',
  ]);
  const modules = nodes(
    'features.0',
    'features.1',
    'features.2',
    'features.3',
    'features.4',
    'pool',
    'flatten',
    'classifier.fc',
  );
  // `features` has numbered children, so its blocks are its entries; `classifier`'s child is named, so the
  // classifier is the block.
  const layers = [L('features.1', 1), L('features.2', 2), L('features.4', 4), L('pool', 5), L('classifier', 7)];
  // Before: the two convs and flatten showed the next layer's numbers and `('fc', …)` the classifier's.
  assert.deepEqual(lenses(src, defs(src), layers, modules), [
    ['nn.ReLU(inplace=True),', ['1'], ['features.1 exact']],
    ['nn.MaxPool2d(2),', ['2'], ['features.2 exact']],
    // a conv and its ReLU on one line: one lens, naming its layer
    ['nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(inplace=True),', ['4'], ['features.4 exact']],
    ['self.pool = nn.AdaptiveAvgPool2d(1)', ['pool'], ['pool exact']],
    ['self.classifier = nn.Sequential(OrderedDict([', ['classifier'], ['classifier exact']],
  ]);
  const shared = planLenses(defs(src), [], layers, modules).map((p) => p.shared);
  assert.deepEqual(shared, [false, false, true, false, false]);
});

const TV_RESNET = py([
  'import torch',
  'import torch.nn as nn',
  'class BasicBlock(nn.Module):',
  '    expansion = 1',
  '    def __init__(self, inplanes, planes, stride=1, downsample=None):',
  '        super().__init__()',
  '        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)',
  '        self.bn1 = nn.BatchNorm2d(planes)',
  '        self.relu = nn.ReLU(inplace=True)',
  '        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)',
  '        self.bn2 = nn.BatchNorm2d(planes)',
  '        self.downsample = downsample',
  '    def forward(self, x):',
  '        identity = x',
  '        out = self.relu(self.bn1(self.conv1(x)))',
  '        out = self.bn2(self.conv2(out))',
  '        if self.downsample is not None:',
  '            identity = self.downsample(x)',
  '        out += identity',
  '        return self.relu(out)',
  'class ResNet(nn.Module):',
  '    def __init__(self, block, layers, num_classes=10):',
  '        super().__init__()',
  '        self.inplanes = 64',
  '        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)',
  '        self.bn1 = nn.BatchNorm2d(64)',
  '        self.relu = nn.ReLU(inplace=True)',
  '        self.maxpool = nn.MaxPool2d(3, 2, 1)',
  '        self.layer1 = self._make_layer(block, 64, layers[0])',
  '        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)',
  '        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))',
  '        self.fc = nn.Linear(512 * block.expansion, num_classes)',
  '    def _make_layer(self, block, planes, blocks, stride=1):',
  '        downsample = None',
  '        if stride != 1 or self.inplanes != planes:',
  '            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False))',
  '        layers = [block(self.inplanes, planes, stride, downsample)]',
  '        self.inplanes = planes',
  '        for _ in range(1, blocks):',
  '            layers.append(block(planes, planes))',
  '        return nn.Sequential(*layers)',
  '    def forward(self, x):',
  '        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))',
  '        x = self.layer2(self.layer1(x))',
  '        return self.fc(torch.flatten(self.avgpool(x), 1))',
  'def resnet18():',
  '    return ResNet(BasicBlock, [2, 2])',
]);
// BN folded: conv1 relu maxpool, then per block conv1 relu conv2 [downsample.0] Add relu, avgpool, /Flatten, fc
const TV_NODES = nodes(
  ...['conv1', 'relu', 'maxpool'],
  ...['layer1.0.conv1', 'layer1.0.relu', 'layer1.0.conv2', 'layer1.0', 'layer1.0.relu'],
  ...['layer1.1.conv1', 'layer1.1.relu', 'layer1.1.conv2', 'layer1.1', 'layer1.1.relu'],
  ...['layer2.0.conv1', 'layer2.0.relu', 'layer2.0.conv2', 'layer2.0.downsample.0', 'layer2.0', 'layer2.0.relu'],
  ...['layer2.1.conv1', 'layer2.1.relu', 'layer2.1.conv2', 'layer2.1', 'layer2.1.relu'],
  ...['avgpool', null, 'fc'],
);

test('lenses, torchvision-style ResNet (_make_layer): blocks on `self.layerN`, block ReLUs on the block class', () => {
  const ds = defs(TV_RESNET);
  // the blocks are built in a loop: BasicBlock's definitions are unresolved
  assert.deepEqual(
    ds.filter((d) => d.className === 'BasicBlock').map((d) => d.paths),
    [[], [], [], [], []],
  );
  assert.deepEqual(TV_NODES.at(-1), { module: 'fc', index: 26 }, '27 nodes, /Flatten (25) without a module');
  const blocks = [
    L('relu', 1),
    L('maxpool', 2),
    L('layer1.0', 7),
    L('layer1.1', 12),
    L('layer2.0', 18),
    L('layer2.1', 23),
    L('avgpool', 24),
    L('fc', 26),
  ];
  // Before, BasicBlock's `self.relu` (matched by name) and ResNet's conv1 ('next') both showed the stem ReLU's
  // numbers too, and the blocks showed nowhere.
  assert.deepEqual(lenses(TV_RESNET, ds, blocks, TV_NODES), [
    ['self.relu = nn.ReLU(inplace=True)', ['relu'], ['relu exact']],
    ['self.maxpool = nn.MaxPool2d(3, 2, 1)', ['maxpool'], ['maxpool exact']],
    ['self.layer1 = self._make_layer(block, 64, layers[0])', ['layer1'], ['layer1.0 block', 'layer1.1 block']],
    [
      'self.layer2 = self._make_layer(block, 128, layers[1], stride=2)',
      ['layer2'],
      ['layer2.0 block', 'layer2.1 block'],
    ],
    ['self.avgpool = nn.AdaptiveAvgPool2d((1, 1))', ['avgpool'], ['avgpool exact']],
    ['self.fc = nn.Linear(512 * block.expansion, num_classes)', ['fc'], ['fc exact']],
  ]);
  assert.equal(lenses(TV_RESNET, ds, blocks, TV_NODES)[0][0], TV_RESNET.split('\n')[26].trim(), "ResNet's relu");
  // The ReLUs picked by op: the stem's on ResNet.relu, the blocks' on BasicBlock.relu (matched by name, which
  // beats the enclosing `self.layerN`), each once.
  const relus = [
    L('relu', 1),
    L('layer1.0.relu', 4),
    L('layer1.0.relu (2)', 7),
    L('layer1.1.relu', 9),
    L('layer1.1.relu (2)', 12),
    L('layer2.0.relu', 14),
    L('layer2.0.relu (2)', 18),
  ];
  const got = lenses(TV_RESNET, ds, relus, TV_NODES);
  assert.deepEqual(got, [
    [
      'self.relu = nn.ReLU(inplace=True)',
      ['relu'],
      [
        'layer1.0.relu suffix',
        'layer1.0.relu (2) suffix',
        'layer1.1.relu suffix',
        'layer1.1.relu (2) suffix',
        'layer2.0.relu suffix',
        'layer2.0.relu (2) suffix',
      ],
    ],
    ['self.relu = nn.ReLU(inplace=True)', ['relu'], ['relu exact']],
  ]);
  const plans = planLenses(ds, [], relus, TV_NODES);
  assert.deepEqual(
    plans.map((p) => p.defs[0].className),
    ['BasicBlock', 'ResNet'],
  );
});

const BLOCK_FILE = py([
  'import torch.nn as nn',
  'class BasicBlock(nn.Module):',
  '    def __init__(self, planes):',
  '        super().__init__()',
  '        self.conv1 = nn.Conv2d(planes, planes, 3, padding=1)',
  '        self.relu = nn.ReLU()',
  '        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1)',
  '    def forward(self, x):',
  '        out = self.conv2(self.relu(self.conv1(x)))',
  '        return self.relu(out + x)',
]);
const NET_FILE = py([
  'import torch.nn as nn',
  'from .blocks import BasicBlock',
  'class Net(nn.Module):',
  '    def __init__(self):',
  '        super().__init__()',
  '        self.stem = nn.Sequential(nn.Conv2d(1, 64, 3), nn.ReLU())',
  '        self.layer1 = nn.Sequential(BasicBlock(64),',
  '                                    BasicBlock(64))',
  '        self.fc = nn.Linear(64, 10)',
]);

test('lenses, residual blocks in a Sequential, across files: each block on its own entry, none inside', () => {
  const net = parsePython(NET_FILE, 'models.net');
  const blocks = parsePython(BLOCK_FILE, 'models.blocks');
  // stem.0 stem.1, per block conv1 relu conv2 Add relu, the root's ReduceMean, fc
  const modules = nodes(
    ...['stem.0', 'stem.1'],
    ...['layer1.0.conv1', 'layer1.0.relu', 'layer1.0.conv2', 'layer1.0', 'layer1.0.relu'],
    ...['layer1.1.conv1', 'layer1.1.relu', 'layer1.1.conv2', 'layer1.1', 'layer1.1.relu'],
    ...[null, 'fc'],
  );
  const layers = [L('stem.1', 1), L('layer1.0', 6), L('layer1.1', 11), L('fc', 13)];
  const forNet = allModuleDefinitions(net, [blocks]);
  const forBlocks = allModuleDefinitions(blocks, [net]);
  assert.deepEqual(
    forBlocks.main.map((d) => d.paths[0]),
    ['layer1.0.conv1', 'layer1.0.relu', 'layer1.0.conv2'],
  );
  // the same definitions as moduleDefinitions, the other file's after
  assert.deepEqual(forNet.main, moduleDefinitions(net, [blocks]));
  assert.deepEqual(forNet.others, moduleDefinitions(blocks, [net]));
  // Lines with several definitions get one lens (stem, its conv and its ReLU; layer1 and its first block).
  // Before: stem.0 showed stem.1's numbers too.
  assert.deepEqual(lenses(NET_FILE, forNet.main, layers, modules, forNet.others), [
    ['self.stem = nn.Sequential(nn.Conv2d(1, 64, 3), nn.ReLU())', ['1'], ['stem.1 exact']],
    ['self.layer1 = nn.Sequential(BasicBlock(64),', ['0'], ['layer1.0 exact']],
    ['BasicBlock(64))', ['1'], ['layer1.1 exact']],
    ['self.fc = nn.Linear(64, 10)', ['fc'], ['fc exact']],
  ]);
  assert.deepEqual(
    planLenses(forNet.main, forNet.others, layers, modules).map((p) => p.shared),
    [true, true, false, false],
  );
  // The block file: its conv2 and ReLU lie within reach before each block's output ('next'), which the entries
  // in net.py show, so no lens here ...
  assert.deepEqual(lenses(BLOCK_FILE, forBlocks.main, layers, modules, forBlocks.others), []);
  // ... which takes the other file's definitions: without them the blocks would show here again, on conv2 (2 nodes
  // before each block's output, nearer than relu's first node, 3 before; before this change, on both).
  assert.deepEqual(lenses(BLOCK_FILE, forBlocks.main, layers, modules), [
    ['self.conv2 = nn.Conv2d(planes, planes, 3, padding=1)', ['conv2'], ['layer1.0 next', 'layer1.1 next']],
  ]);
});

test('lenses: one per line, with every layer of the definitions starting on it', () => {
  const src = py([
    'class Net(nn.Module):',
    '    def __init__(self):',
    '        super().__init__()',
    '        self.a = self.b = nn.ReLU()',
    '        self.head = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))',
  ]);
  const layers = [L('a', 0), L('b', 1), L('head.1', 3), L('head.2', 4)];
  const modules = nodes('a', 'b', 'head.0', 'head.1', 'head.2');
  assert.deepEqual(lenses(src, defs(src), layers, modules), [
    ['self.a = self.b = nn.ReLU()', ['a', 'b'], ['a exact', 'b exact']],
    [
      'self.head = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))',
      ['1', '2'],
      ['head.1 exact', 'head.2 exact'],
    ],
  ]);
  // a definition's exact layers come before those it shows otherwise; a root layer is named by its tensor
  const mixed = planLenses([def(['x'], 'x')], [], [L('x.y', 1), L('x', 2)], nodes('x', 'x.y', 'x'));
  assert.deepEqual(
    mixed[0].matches.map((m) => [m.layer.label, m.via]),
    [
      ['x', 'exact'],
      ['x.y', 'block'],
    ],
  );
  assert.equal(layerName(L(' (2)', 5, '/Relu_1_output_0')), '/Relu_1_output_0');
  assert.equal(layerName(L('layer1.0.relu (2)', 5)), 'layer1.0.relu (2)');
});
