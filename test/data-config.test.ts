import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { ReplensError } from '../src/engine/errors';
import { findConfig, loadConfig, mergeConfig, validateConfig } from '../src/engine/data/config';
import { tempDir } from './helpers/tmp';

function tmpDir(): string {
  return tempDir('replens-cfg-');
}
function write(dir: string, obj: unknown): string {
  const f = path.join(dir, 'replens.json');
  fs.writeFileSync(f, typeof obj === 'string' ? obj : JSON.stringify(obj, null, 2));
  return f;
}
const configError = (message: string) => (e: unknown) =>
  e instanceof ReplensError && e.code === 'E_CONFIG' && e.message === message;

test('loadConfig validates and resolves dataset paths against the config folder', () => {
  const dir = tmpDir();
  const f = write(dir, {
    $schema: './schema.json',
    dataset: { path: 'data/x.npz', labels: '../y.npy', x: 'imgs', limit: 100, layout: 'NHWC' },
    preprocess: { resize: 32, scale: 0.5, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], channels: 3, layout: 'NCHW' },
    classNames: ['a', 'b'],
    batchSize: 16,
    memoryBudgetMB: 512,
    executionProvider: 'cpu',
  });
  assert.deepEqual(loadConfig(f), {
    dataset: {
      path: path.join(dir, 'data/x.npz'),
      labels: path.join(path.dirname(dir), 'y.npy'),
      x: 'imgs',
      limit: 100,
      layout: 'NHWC',
    },
    preprocess: { resize: 32, scale: 0.5, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], channels: 3, layout: 'NCHW' },
    classNames: ['a', 'b'],
    batchSize: 16,
    memoryBudgetMB: 512,
    executionProvider: 'cpu',
  });
});

test('unknown keys name the key and suggest the closest known one', () => {
  const dir = tmpDir();
  assert.throws(
    () => loadConfig(write(dir, { datset: { path: 'x' } })),
    configError(`${path.join(dir, 'replens.json')}: unknown key "datset"; did you mean "dataset"?`),
  );
  assert.throws(
    () => loadConfig(write(dir, { preprocess: { meen: [0] } })),
    configError(`${path.join(dir, 'replens.json')}: unknown key "preprocess.meen"; did you mean "preprocess.mean"?`),
  );
  assert.throws(
    () => validateConfig({ dataset: { path: 'x', lables: 'y' } }, 'settings'),
    configError('settings: unknown key "dataset.lables"; did you mean "dataset.labels"?'),
  );
  assert.throws(
    () => validateConfig({ batch_size: 3 }, 'settings'),
    configError('settings: unknown key "batch_size"; did you mean "batchSize"?'),
  );
  assert.throws(
    () => validateConfig({ zzzzzzzz: 1 }, 's'),
    configError(
      's: unknown key "zzzzzzzz"; ' +
        'known keys: dataset, preprocess, classNames, batchSize, memoryBudgetMB, executionProvider',
    ),
  );
});

test('wrong types name the key path', () => {
  const cases: [unknown, string][] = [
    [{ preprocess: { mean: '0.5' } }, 'preprocess.mean must be an array of numbers'],
    [{ preprocess: { mean: [0.5, 'x'] } }, 'preprocess.mean must be an array of numbers'],
    [{ preprocess: { std: [1, 0] } }, 'preprocess.std must hold positive numbers'],
    [{ preprocess: { resize: [28] } }, 'preprocess.resize must be a positive integer or [height, width]'],
    [{ preprocess: { channels: 2 } }, 'preprocess.channels must be 1 or 3'],
    [{ preprocess: { layout: 'CHW' } }, 'preprocess.layout must be one of "NCHW", "NHWC" (got "CHW")'],
    [
      { dataset: { path: 'x', format: 'png' } },
      'dataset.format must be one of "idx", "npy", "npz", "imagefolder" (got "png")',
    ],
    [{ dataset: { path: 'x', limit: 1.5 } }, 'dataset.limit must be a positive integer'],
    [{ dataset: { labels: 'y' } }, 'dataset.path is required when dataset is given'],
    [{ dataset: 'x.npz' }, 'dataset must be an object'],
    [{ classNames: ['a', 1] }, 'classNames must be an array of strings'],
    [{ batchSize: 0 }, 'batchSize must be a positive integer'],
    [{ executionProvider: 'gpu' }, 'executionProvider must be one of "auto", "cpu", "cuda" (got "gpu")'],
    [[1], 'the configuration must be an object'],
  ];
  for (const [obj, msg] of cases) assert.throws(() => validateConfig(obj, 'c'), configError(`c: ${msg}`), msg);
});

test('invalid JSON reports the line', () => {
  const dir = tmpDir();
  const f = write(dir, '{\n  "batchSize": 4,\n  "classNames": [,]\n}');
  assert.throws(
    () => loadConfig(f),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_CONFIG' &&
      e.message.startsWith(`${f}: invalid JSON at line 3, column 18 (`),
  );
  write(dir, '{\n  "batchSize": 4,\n}');
  assert.throws(
    () => loadConfig(f),
    (e: unknown) => e instanceof ReplensError && e.message.startsWith(`${f}: invalid JSON at line 3, column 1 (`),
  );
  assert.throws(
    () => loadConfig(path.join(dir, 'nope.json')),
    (e: unknown) => e instanceof ReplensError && e.code === 'E_NOT_FOUND',
  );
});

test('findConfig walks up from a folder; stops at stopAt', () => {
  const dir = tmpDir();
  const deep = path.join(dir, 'a', 'b', 'c');
  fs.mkdirSync(deep, { recursive: true });
  assert.equal(findConfig(deep, dir), null);
  const f = write(path.join(dir, 'a'), {});
  assert.equal(findConfig(deep), f);
  assert.equal(findConfig(path.join(dir, 'a')), f);
  assert.equal(findConfig(deep, path.join(dir, 'a', 'b')), null);
});

test('mergeConfig: overrides win key by key; a different dataset path replaces the dataset block', () => {
  const base = {
    dataset: { path: '/d/x.npz', y: 'labels', limit: 100 },
    preprocess: { mean: [0.5], std: [0.5], resize: 28 as const },
    batchSize: 64,
    executionProvider: 'auto' as const,
  };
  assert.deepEqual(
    mergeConfig(base, { batchSize: 8, preprocess: { resize: undefined, channels: 3 }, dataset: { limit: 10 } }),
    {
      dataset: { path: '/d/x.npz', y: 'labels', limit: 10 },
      preprocess: { mean: [0.5], std: [0.5], resize: 28, channels: 3 },
      batchSize: 8,
      executionProvider: 'auto',
    },
  );
  assert.deepEqual(mergeConfig(base, { dataset: { path: '/e/other.npy' } }).dataset, { path: '/e/other.npy' });
  assert.throws(
    () => mergeConfig({}, { dataset: { limit: 3 } }),
    configError('dataset.limit is set but no dataset.path is (in replens.json or the replens.dataset setting)'),
  );
  assert.deepEqual(mergeConfig(base, {}), base);
});
