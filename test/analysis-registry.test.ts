// Issue 14: one shape for every analysis. The spec table (src/shared/analyses.ts), the engine modules
// (registry.ts), the CLI flags and usage, the job validation, the editor's picker and package.json's enum agree;
// a stored result of the previous schema is upgraded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import {
  ANALYSIS_IDS,
  ANALYSIS_SPECS,
  ANALYZE_OPTIONS,
  COMMON_OPTIONS,
  DEFAULT_ANALYSES,
  analyzeSettingsProblem,
} from '../src/shared/analyses';
import { ENGINE_ANALYSES } from '../src/engine/analyses/registry';
import { ANALYZE_FLAGS, analyzeJobFromFlags, analyzeOptionsUsage } from '../src/cli/analyze';
import { parseHostToWorker } from '../src/shared/messages';
import { RESULT_SCHEMA, upgradeResult } from '../src/shared/result';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));

test("package.json's replens.analyses enum and default are the spec table's ids and defaults", () => {
  const setting = pkg.contributes.configuration.properties['replens.analyses'];
  assert.deepEqual([...setting.items.enum].sort(), [...ANALYSIS_IDS].sort());
  assert.deepEqual([...setting.default].sort(), [...DEFAULT_ANALYSES].sort());
});

test('every spec has an engine module with the same id, and every id is its own key', () => {
  for (const id of ANALYSIS_IDS) {
    assert.equal(ANALYSIS_SPECS[id].id, id);
    assert.equal(ENGINE_ANALYSES[id].id, id);
    assert.ok(ANALYSIS_SPECS[id].title && ANALYSIS_SPECS[id].explain && ANALYSIS_SPECS[id].cost, id);
    for (const k of ANALYSIS_SPECS[id].options) assert.ok(k in ANALYZE_OPTIONS, `${id} lists option ${k}`);
  }
  assert.deepEqual(Object.keys(ENGINE_ANALYSES).sort(), [...ANALYSIS_IDS].sort());
  // An option belongs to one analysis at most; the others are common.
  const owned = ANALYSIS_IDS.flatMap((id) => ANALYSIS_SPECS[id].options);
  assert.equal(new Set(owned).size, owned.length);
  assert.ok(COMMON_OPTIONS.includes('samples') && !COMMON_OPTIONS.includes('k'));
});

test('the CLI: one flag per option of the table, in the usage, parsed into the job the editor sends', () => {
  const usage = analyzeOptionsUsage();
  for (const s of Object.values(ANALYZE_OPTIONS)) {
    if (!s.flag) continue;
    assert.ok(s.flag in ANALYZE_FLAGS, s.flag);
    assert.match(usage, new RegExp(`--${s.flag}\\b`));
  }
  const job = analyzeJobFromFlags(
    'm.onnx',
    {
      data: 'x.npy',
      labels: 'y.npy',
      limit: '30',
      analyses: 'rra,noise-svd',
      compare: 'b.onnx',
      'compare-data': 'x2.npy',
      'skip-unreadable': true,
      layers: 'layer1.0, fc',
      samples: '100',
      seed: '0',
      k: '7',
      sigmas: '0.2,0.05',
      'group-size': '8',
      checkpoints: 'e1.onnx,e2.onnx',
      'no-cache': true,
    },
    { executionProvider: 'cpu' },
  );
  assert.deepEqual(job, {
    kind: 'analyze',
    modelPath: 'm.onnx',
    analyses: ['rra', 'noise-svd'],
    runtime: { executionProvider: 'cpu' },
    data: { path: 'x.npy', labels: 'y.npy', limit: 30, skipUnreadable: true },
    compare: 'b.onnx',
    compareData: { path: 'x2.npy', skipUnreadable: true },
    layers: ['layer1.0', 'fc'],
    samples: 100,
    seed: 0,
    k: 7,
    sigmas: [0.2, 0.05],
    groupSize: 8,
    checkpoints: ['e1.onnx', 'e2.onnx'],
    noCache: true,
  });
  // The job the CLI builds passes the worker's protocol check unchanged.
  assert.doesNotThrow(() => parseHostToWorker({ v: 1, type: 'run', id: 1, job }));
  assert.deepEqual(analyzeJobFromFlags('m.onnx', { data: 'x.npy' }, {}).analyses, DEFAULT_ANALYSES);
});

test('bad analyze settings are one line naming the flag (CLI) or the field (job)', () => {
  const flags = (v: Record<string, unknown>) => () => analyzeJobFromFlags('m.onnx', { data: 'x.npy', ...v }, {});
  assert.throws(flags({ samples: '0' }), /^ReplensError: --samples must be an integer ≥ 1, got '0'$/);
  assert.throws(flags({ 'group-size': '1' }), /--group-size must be an integer ≥ 2/);
  assert.throws(flags({ sigmas: '0.1,-2' }), /--sigmas must be numbers ≥ 0, got '-2'/);
  assert.throws(
    flags({ analyses: 'rra,ars2' }),
    /unknown analysis 'ars2' \(summary, selectivity, rra, similarity, noise-svd\)/,
  );
  assert.throws(flags({ 'compare-data': 'x2.npy' }), /--compare-data needs --compare/);
  assert.throws(() => analyzeJobFromFlags('m.onnx', {}, {}), /analyze needs --data PATH/);
  const job = { kind: 'analyze', modelPath: '/m.onnx', data: { path: '/d' }, analyses: ['summary'] };
  const problem = (extra: Record<string, unknown>) => analyzeSettingsProblem({ ...job, ...extra }, (k) => `'${k}'`);
  assert.equal(problem({}), null);
  assert.equal(problem({ k: 2.5 }), "'k' must be an integer ≥ 1, got 2.5");
  assert.equal(problem({ trainData: { path: 7 } }), "'trainData' must be a dataset with a path");
  assert.equal(
    problem({ data: { path: '/d', format: 'csv' } }),
    "'data': format must be idx, npy, npz or imagefolder, got 'csv'",
  );
  assert.throws(
    () => parseHostToWorker({ v: 1, type: 'run', id: 1, job: { ...job, sigmas: [] } }),
    /'sigmas' must be a list of numbers/,
  );
});

test('a replens.result/1 document is upgraded: noiseSvd becomes noise-svd; other documents are refused', () => {
  const v1 = {
    schema: 'replens.result/1',
    analyses: { summary: { perLayer: [] }, noiseSvd: { settings: {}, series: [] } },
  };
  const up = upgradeResult(v1)!;
  assert.equal(up.schema, RESULT_SCHEMA);
  assert.deepEqual(Object.keys(up.analyses).sort(), ['noise-svd', 'summary']);
  const v2 = { ...v1, schema: RESULT_SCHEMA };
  assert.equal(upgradeResult(v2), v2, 'a current document is returned as it is');
  assert.equal(upgradeResult({ schema: 'other/1', analyses: {} }), null);
  assert.equal(upgradeResult(null), null);
});
