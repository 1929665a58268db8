// Issue 12, items 2, 3 and 7: runs that cannot be stopped, a probe that ignores the memory budget, telemetry.
// Each case is a reproduction from the abuse run. None waits on a timer to pass: a loop that never ends never
// finishes before any limit, and the Ctrl-C test waits for the process to report that it is inside the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { onnx, make, type ModelProto, type NodeProto } from '../src/engine/onnx/proto';
import { makeValueInfo, type Dim } from '../src/engine/onnx/graph';
import { saveModel } from '../src/engine/onnx/model';
import { writeNpy } from '../src/engine/npy';
import { SessionPool } from '../src/engine/runtime/session';
import { tensorShapes } from '../src/engine/runtime/shapes';
import { refuseEndlessLoops } from '../src/engine/runtime/loops';
import { probeRuns } from '../src/engine/runtime/probe';
import { inspectModel } from '../src/engine/inspect';
import { ReplensError } from '../src/engine/errors';

const A = onnx.AttributeProto.AttributeType,
  D = onnx.TensorProto.DataType;
const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const FIX = path.join(__dirname, 'fixtures', 'onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-probe-'));
const pool = new SessionPool({ executionProvider: 'cpu' });

type Cond = 'pass-through' | 'constant-true' | 'iter>=0' | 'iter<3';

/**
 * x → Loop(trip count, initial condition, x) → Relu → y. The body passes x through and computes its condition as
 * told: `pass-through` and `constant-true` never end (provably), `iter>=0` never ends (not provably), `iter<3` ends.
 */
function loopModel(o: {
  cond: Cond;
  trips?: number | 'absent';
  shape: Dim[];
  declareLoopOutput?: boolean;
  nestInIf?: boolean;
}): ModelProto {
  const bodyNodes: NodeProto[] = [make.node({ opType: 'Identity', input: ['v'], output: ['v2'], name: 'pass' })];
  const bodyInits = [];
  if (o.cond === 'pass-through')
    bodyNodes.push(make.node({ opType: 'Identity', input: ['c'], output: ['c2'], name: 'keep' }));
  if (o.cond === 'constant-true')
    bodyNodes.push(
      make.node({
        opType: 'Constant',
        input: [],
        output: ['c2'],
        name: 'yes',
        attribute: [
          make.attribute({
            name: 'value',
            type: A.TENSOR,
            t: make.tensor({ dataType: D.BOOL, dims: [], int32Data: [1] }),
          }),
        ],
      }),
    );
  if (o.cond === 'iter>=0') {
    bodyInits.push(make.tensor({ name: 'zero', dataType: D.INT64, dims: [], int64Data: [0] }));
    bodyNodes.push(make.node({ opType: 'GreaterOrEqual', input: ['i', 'zero'], output: ['c2'], name: 'ge' }));
  }
  if (o.cond === 'iter<3') {
    bodyInits.push(make.tensor({ name: 'three', dataType: D.INT64, dims: [], int64Data: [3] }));
    bodyNodes.push(make.node({ opType: 'Less', input: ['i', 'three'], output: ['c2'], name: 'lt' }));
  }
  const body = make.graph({
    name: 'body',
    node: bodyNodes,
    initializer: bodyInits,
    input: [
      makeValueInfo('i', { elemType: D.INT64, shape: [] }),
      makeValueInfo('c', { elemType: D.BOOL, shape: [] }),
      makeValueInfo('v', { elemType: D.FLOAT, shape: o.shape }),
    ],
    output: [
      makeValueInfo('c2', { elemType: D.BOOL, shape: [] }),
      makeValueInfo('v2', { elemType: D.FLOAT, shape: o.shape }),
    ],
  });
  const inits = [make.tensor({ name: 'true', dataType: D.BOOL, dims: [], int32Data: [1] })];
  const trips = o.trips ?? 'absent';
  if (trips !== 'absent') inits.push(make.tensor({ name: 'M', dataType: D.INT64, dims: [], int64Data: [trips] }));
  let loop = make.node({
    opType: 'Loop',
    input: [trips === 'absent' ? '' : 'M', 'true', 'x'],
    output: ['lv'],
    name: 'loop',
    attribute: [make.attribute({ name: 'body', type: A.GRAPH, g: body })],
  });
  if (o.nestInIf) {
    // The same Loop inside both branches of an If: a subgraph must be checked too.
    const branch = (name: string) =>
      make.graph({
        name,
        node: [make.node({ ...loop, output: [`${name}_out`] })],
        output: [makeValueInfo(`${name}_out`, { elemType: D.FLOAT, shape: o.shape })],
      });
    loop = make.node({
      opType: 'If',
      input: ['true'],
      output: ['lv'],
      name: 'if',
      attribute: [
        make.attribute({ name: 'then_branch', type: A.GRAPH, g: branch('then') }),
        make.attribute({ name: 'else_branch', type: A.GRAPH, g: branch('else') }),
      ],
    });
  }
  return make.model({
    irVersion: 8,
    opsetImport: [make.opset('', 13)],
    producerName: 'replens-tests',
    graph: make.graph({
      name: 'loops',
      initializer: inits,
      input: [makeValueInfo('x', { elemType: D.FLOAT, shape: o.shape })],
      output: [makeValueInfo('y', { elemType: D.FLOAT, shape: o.shape })],
      valueInfo: o.declareLoopOutput ? [makeValueInfo('lv', { elemType: D.FLOAT, shape: o.shape })] : [],
      node: [loop, make.node({ opType: 'Relu', input: ['lv'], output: ['y'], name: 'relu' })],
    }),
  });
}

function codeOf(e: unknown): string {
  return e instanceof ReplensError ? e.code : `not a ReplensError: ${String(e)}`;
}

test('a Loop with no trip count whose condition stays true is refused before any run, naming the node', async () => {
  for (const cond of ['pass-through', 'constant-true'] as const) {
    for (const trips of ['absent', 2 ** 62] as const) {
      const m = loopModel({ cond, trips, shape: ['N', 1, 4, 4] });
      assert.throws(
        () => refuseEndlessLoops(m),
        (e) => codeOf(e) === 'E_UNSUPPORTED_OP' && /Loop node 'loop' never ends/.test((e as Error).message),
        `${cond}, trips ${trips}`,
      );
      await assert.rejects(
        tensorShapes(m, pool, `loop-${cond}-${trips}`, { inputShapes: { x: [1, 1, 4, 4] } }),
        /never ends/,
      );
    }
  }
  // Inside an If branch: the path names the If.
  assert.throws(
    () => refuseEndlessLoops(loopModel({ cond: 'pass-through', shape: [1, 1, 4, 4], nestInIf: true })),
    /Loop node 'if\/loop' never ends/,
  );
});

test('loops that end are not refused and run: a constant trip count, or a condition that turns false', async () => {
  for (const o of [
    { cond: 'pass-through' as const, trips: 5 },
    { cond: 'iter<3' as const, trips: 'absent' as const },
  ]) {
    const m = loopModel({ ...o, shape: ['N', 1, 'H', 'W'] });
    refuseEndlessLoops(m);
    const shapes = await tensorShapes(m, pool, `loop-ok-${o.cond}`, { inputShapes: { x: [1, 1, 5, 7] } });
    assert.deepEqual(shapes.get('lv'), ['N', 1, 5, 7]);
  }
});

test('a loop that never ends on data (not provably) is stopped by the probe time limit and refused', async () => {
  const m = loopModel({ cond: 'iter>=0', shape: ['N', 1, 'H', 'W'] });
  refuseEndlessLoops(m); // not provable statically
  await assert.rejects(
    tensorShapes(m, pool, 'loop-spin', { inputShapes: { x: [1, 1, 4, 4] }, timeoutMs: 1500 }),
    (e) =>
      codeOf(e) === 'E_RUNTIME' &&
      /did not finish one run on zero inputs within 1.5 s/.test((e as Error).message) &&
      !/\n/.test((e as Error).message),
  );
  // The same through `replens layers`: one line, exit 1.
  const file = path.join(tmp, 'spin.onnx');
  saveModel(m, file);
  const r = spawnSync(process.execPath, [CLI, 'layers', file, '--input-shape', '1,1,4,4'], {
    encoding: 'utf8',
    env: { ...process.env, REPLENS_PROBE_TIMEOUT_S: '1' },
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^replens: shape probe: the model did not finish one run on zero inputs within 1 s/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('a cancelled probe stops at once and says cancelled', async () => {
  const m = loopModel({ cond: 'iter>=0', shape: ['N', 1, 'H', 'W'] });
  const ac = new AbortController();
  const p = tensorShapes(m, pool, 'loop-cancel', {
    inputShapes: { x: [1, 1, 4, 4] },
    signal: ac.signal,
    timeoutMs: 3_600_000,
  });
  setImmediate(() => ac.abort());
  await assert.rejects(p, (e) => codeOf(e) === 'E_CANCELLED');
});

test('shape probe vs memory budget: huge input shapes refused before allocating, a big run is stopped', async () => {
  const dyn = path.join(FIX, 'dynamic.onnx');
  // 1e10 elements: no typed array can hold it (it leaked 'Invalid typed array length').
  await assert.rejects(
    inspectModel(dyn, pool, { inputShapes: { x: [1, 3, 100000, 100000] } }),
    (e) => codeOf(e) === 'E_INPUT_SHAPE' && /has 3\.00e\+10 elements/.test((e as Error).message),
  );
  // The inputs alone are over the budget.
  await assert.rejects(
    inspectModel(dyn, pool, { inputShapes: { x: [1, 3, 3000, 3000] }, memoryBudgetMB: 64 }),
    (e) =>
      codeOf(e) === 'E_MEMORY_BUDGET' && /need 103\.0 MiB, over the 64\.0 MiB memory budget/.test((e as Error).message),
  );
  // The inputs fit (2 × 3 × 3000² float32 = 206 MiB) but the run does not (a 4-channel output, 275 MiB, besides).
  await assert.rejects(
    inspectModel(dyn, pool, { inputShapes: { x: [1, 3, 3000, 3000] }, memoryBudgetMB: 300 }),
    (e) => codeOf(e) === 'E_MEMORY_BUDGET' && /took more than the 300\.0 MiB memory budget/.test((e as Error).message),
  );
  // Within the budget it answers.
  const r = await inspectModel(dyn, pool, { inputShapes: { x: [1, 3, 64, 48] } });
  assert.deepEqual(
    r.summary.layers.map((l) => l.shape),
    [
      ['N', 4, 64, 48],
      ['N', 4, 64, 48],
    ],
  );
});

test('probeRuns reports onnxruntime failures as one line', async () => {
  const m = loopModel({ cond: 'iter<3', shape: ['N', 1, 'H', 'W'] });
  const bytes = onnx.ModelProto.encode(m).finish();
  // A rank-2 input for a rank-4 model: onnxruntime rejects it inside the child.
  await assert.rejects(
    probeRuns({ model: bytes, runs: [[{ name: 'x', elemType: D.FLOAT, dims: [2, 3] }]], fetches: ['y'] }),
    (e) =>
      codeOf(e) === 'E_RUNTIME' &&
      /^shape probe: onnxruntime failed: /.test((e as Error).message) &&
      !/\n/.test((e as Error).message),
  );
});

// The timeout only ends a broken run of this test (the child would spin forever); a passing run takes about a second.
test(
  'Ctrl-C: the first cancels, the second ends the process at once even while onnxruntime spins',
  { skip: process.platform === 'win32', timeout: 300_000 },
  async (t) => {
    // Shapes fully declared, so no probe runs: the capture itself spins inside onnxruntime, in the CLI's worker.
    const file = path.join(tmp, 'spin-fixed.onnx');
    saveModel(loopModel({ cond: 'iter>=0', shape: [1, 1, 4, 4], declareLoopOutput: true }), file);
    const x = path.join(tmp, 'x.npy');
    writeNpy(x, { shape: [1, 1, 4, 4], data: new Float32Array(16) });
    const child = spawn(
      process.execPath,
      [CLI, 'activations', file, '--input', x, '--tensors', 'y', '--out-dir', path.join(tmp, 'out')],
      {
        env: { ...process.env, REPLENS_VERBOSE: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    t.after(() => {
      child.kill('SIGKILL');
    });
    let stderr = '';
    let ended = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => {
        ended = true;
        resolve({ code, signal });
      }),
    );
    // Resolves when stderr matches; fails (instead of waiting forever) if the process ends first, or with what it
    // printed if the line has not come after 120 s (a run on a loaded machine once waited out the test's timeout).
    const waitFor = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${re} from the CLI within 120 s; stderr: ${stderr}`)),
          120_000,
        );
        const check = () => {
          if (re.test(stderr)) {
            clearTimeout(timer);
            child.stderr.off('data', onData);
            resolve();
          } else if (ended) {
            clearTimeout(timer);
            reject(new Error(`the CLI ended before printing ${re}: ${stderr}`));
          }
        };
        const onData = (d: Buffer) => {
          stderr += d.toString();
          check();
        };
        child.stderr.on('data', onData);
        child.on('exit', check);
        check();
      });
    // A session is created right before the run that never returns: the fixed batch's check (runtime/batch.ts) or,
    // for a model it does not run, the capture session (named after the model file).
    await waitFor(/session (batch check|spin-fixed\.onnx): .*created/);
    child.kill('SIGINT');
    await waitFor(/cancelling after the current batch/);
    child.kill('SIGINT');
    let late: ReturnType<typeof setTimeout> | undefined;
    const end = await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        late = setTimeout(
          () => reject(new Error(`the second Ctrl-C did not end the CLI in 120 s: ${stderr}`)),
          120_000,
        );
      }),
    ]).finally(() => clearTimeout(late));
    assert.deepEqual(end, { code: null, signal: 'SIGINT' }, stderr);
  },
);

/** The variables onnxruntime 1.30 reads to tell a CI run (strings of libonnxruntime), and the generic CI. */
const CI_VARIABLES = [
  'CI',
  'TF_BUILD',
  'GITHUB_ACTIONS',
  'GITLAB_CI',
  'CIRCLECI',
  'TRAVIS',
  'JENKINS_URL',
  'CODEBUILD_BUILD_ID',
  'BUILDKITE',
  'TEAMCITY_VERSION',
  'APPVEYOR',
  'BITBUCKET_BUILD_NUMBER',
  'SYSTEM_TEAMFOUNDATIONCOLLECTIONURI',
];

test('onnxruntime telemetry is off by default in the CLI (no files in the temp folder or HOME), on if allowed', () => {
  const run = (allow: boolean) => {
    const tmpdir = fs.mkdtempSync(path.join(tmp, 't-')),
      home = fs.mkdtempSync(path.join(tmp, 'h-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TMPDIR: tmpdir,
      HOME: home,
      REPLENS_ORT_TELEMETRY: allow ? '1' : '',
    };
    delete env.ORT_DISABLE_TELEMETRY;
    // onnxruntime records nothing where it detects a CI service (CI=true and these variables): both runs must look
    // like a user's, or the check that it is off would pass for the wrong reason.
    for (const v of CI_VARIABLES) delete env[v];
    // `dynamic.onnx` with a shape: both the CLI's worker and the probe's child process load onnxruntime.
    const r = spawnSync(process.execPath, [CLI, 'layers', path.join(FIX, 'dynamic.onnx'), '--input-shape', '1,3,8,8'], {
      encoding: 'utf8',
      env,
    });
    assert.equal(r.status, 0, r.stderr);
    return { temp: fs.readdirSync(tmpdir), home: fs.readdirSync(home, { recursive: true }).map(String) };
  };
  const off = run(false);
  assert.deepEqual(off, { temp: [], home: [] });
  // The check can fail: with telemetry allowed, onnxruntime writes its files.
  const on = run(true);
  assert.ok(
    on.temp.some((f) => /^mat-debug-\d+\.log$/.test(f)),
    JSON.stringify(on),
  );
  assert.ok(
    on.home.some((f) => /onnxruntime/.test(f)),
    JSON.stringify(on),
  );
});

test.after(async () => {
  await pool.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});
