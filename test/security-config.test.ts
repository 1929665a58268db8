// replens.json discovery stays inside the data's project: it climbs from the data's own root (the dataset folder of
// an image folder, the folder of a file) to the first folder holding .git or package.json, or to the stop the
// extension passes (the workspace folder), and no higher; data in no project sees only its own root. Which file
// was used is logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configFor, dataRoot, discoveryLimit } from '../src/engine/data/config';
import { openDatasetFromJob } from '../src/engine/capture/source';
import { writeNpy } from '../src/engine/npy';
import { parseHostToWorker } from '../src/shared/messages';
import { tempDir } from './helpers/tmp';

function tmpDir(): string {
  return fs.realpathSync(tempDir('replens-cfg-'));
}
function put(file: string, content: unknown = {}): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}
/** 2 grayscale 4×4 images as .npy. */
function images(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeNpy(file, { shape: [2, 4, 4], data: new Uint8Array(32).map((_, i) => i) });
  return file;
}
/** Whether a folder above the temp folder is itself a project root (then "no project" cannot be tested here). */
const tmpInProject = discoveryLimit(os.tmpdir()) !== path.resolve(os.tmpdir());

test("the data's own root: the dataset folder of an image folder, the folder of a file or of a missing path", () => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'images', 'cat'), { recursive: true });
  assert.equal(dataRoot(path.join(dir, 'images')), path.join(dir, 'images'));
  assert.equal(dataRoot(images(path.join(dir, 'd', 'x.npy'))), path.join(dir, 'd'));
  assert.equal(dataRoot(path.join(dir, 'nope', 'x.npy')), path.join(dir, 'nope'));
});

test('a replens.json 3 folders above the data is not used if a .git, a package.json or the stop lies between', () => {
  for (const between of ['.git', 'package.json', 'stop'] as const) {
    const top = tmpDir();
    put(path.join(top, 'replens.json'), { preprocess: { resize: 3 } });
    const data = images(path.join(top, 'a', 'b', 'data', 'x.npy'));
    if (between === '.git') fs.mkdirSync(path.join(top, 'a', '.git'));
    if (between === 'package.json') put(path.join(top, 'a', 'b', 'package.json'));
    const stopAt = between === 'stop' ? path.join(top, 'a') : undefined;
    const lines: string[] = [];
    assert.equal(configFor(undefined, data, { stopAt, log: (l) => lines.push(l) }), null, between);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^config: none \(no replens\.json in /, between);
    // the same tree with the file inside the project is found
    const inside = put(path.join(top, 'a', 'replens.json'));
    if (between !== 'package.json') assert.equal(configFor(undefined, data, { stopAt }), inside, between);
  }
});

test('a .git file (a worktree or submodule) ends the climb too', () => {
  const top = tmpDir();
  put(path.join(top, 'replens.json'));
  put(path.join(top, 'repo', '.git'), 'gitdir: ../.git/worktrees/repo\n');
  assert.equal(configFor(undefined, images(path.join(top, 'repo', 'data', 'x.npy'))), null);
});

test('data in no project sees only its own root', { skip: tmpInProject && 'the temp folder lies in a project' }, () => {
  const top = tmpDir();
  put(path.join(top, 'replens.json'));
  const data = images(path.join(top, 'data', 'x.npy'));
  assert.equal(configFor(undefined, data), null);
  const next = put(path.join(top, 'data', 'replens.json'));
  assert.equal(configFor(undefined, data), next);
});

test('one next to the data is used, and one at the project root above it; the log names it', () => {
  const proj = tmpDir();
  fs.mkdirSync(path.join(proj, '.git'));
  const root = put(path.join(proj, 'replens.json'));
  fs.mkdirSync(path.join(proj, 'images', 'cat'), { recursive: true });
  const file = images(path.join(proj, 'data', 'mnist', 'x.npy'));
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  assert.equal(configFor(undefined, file, { log }), root);
  assert.equal(configFor(undefined, path.join(proj, 'images'), { log }), root);
  assert.deepEqual(lines, [`config: ${root}`, `config: ${root}`]);
  const next = put(path.join(proj, 'data', 'mnist', 'replens.json'));
  assert.equal(configFor(undefined, file), next);
  const inFolder = put(path.join(proj, 'images', 'replens.json'));
  assert.equal(configFor(undefined, path.join(proj, 'images')), inFolder);
  // a given file is used as it is, and logged as given
  lines.length = 0;
  assert.equal(configFor(root, file, { log }), root);
  assert.deepEqual(lines, [`config: ${root} (given)`]);
});

test("the extension's stop (the workspace folder) is honoured: the climb reaches it, and never passes it", () => {
  const parent = tmpDir();
  const ws = path.join(parent, 'ws');
  put(path.join(parent, 'replens.json'), { preprocess: { resize: 3 } });
  const data = images(path.join(ws, 'a', 'b', 'x.npy'));
  assert.equal(configFor(undefined, data, { stopAt: ws }), null);
  const wsConfig = put(path.join(ws, 'replens.json'));
  assert.equal(configFor(undefined, data, { stopAt: ws }), wsConfig);
  // a project root below the workspace folder ends the climb first
  put(path.join(ws, 'a', 'package.json'));
  assert.equal(configFor(undefined, data, { stopAt: ws }), null);
  // a stop that is not above the data does not widen the search
  assert.equal(discoveryLimit(dataRoot(data), path.join(parent, 'elsewhere')), path.join(ws, 'a'));
});

test('jobs: config found is applied + logged; a stray one above the project is not; configRoot honoured', async () => {
  const parent = tmpDir();
  put(path.join(parent, 'replens.json'), { preprocess: { resize: 3 } });
  const proj = path.join(parent, 'proj');
  put(path.join(proj, 'package.json'));
  const data = images(path.join(proj, 'data', 'x.npy'));
  const lines: string[] = [];
  const stray = await openDatasetFromJob({ data: { path: data } }, null, (l) => lines.push(l));
  assert.deepEqual(stray.sampleShape, [1, 4, 4], 'the replens.json above the project must not resize');
  assert.deepEqual(lines, [`config: none (no replens.json in ${path.join(proj, 'data')} up to ${proj})`]);

  const mine = put(path.join(proj, 'data', 'replens.json'), { preprocess: { resize: 2 } });
  lines.length = 0;
  const ds = await openDatasetFromJob({ data: { path: data } }, null, (l) => lines.push(l));
  assert.deepEqual(ds.sampleShape, [1, 2, 2]);
  assert.deepEqual(lines, [`config: ${mine}`]);

  // the extension's stop: the workspace folder above the data (no project markers in between)
  const ws = path.join(parent, 'ws');
  const wsData = images(path.join(ws, 'sets', 'one', 'x.npy'));
  const wsConfig = put(path.join(ws, 'replens.json'), { preprocess: { resize: 1 } });
  lines.length = 0;
  const viaRoot = await openDatasetFromJob({ data: { path: wsData }, configRoot: ws }, null, (l) => lines.push(l));
  assert.deepEqual(viaRoot.sampleShape, [1, 1, 1]);
  assert.deepEqual(lines, [`config: ${wsConfig}`]);
});

test('the job messages carry configRoot as an optional string', () => {
  const run = (job: Record<string, unknown>) => parseHostToWorker({ v: 1, type: 'run', id: 1, job });
  const analyze = { kind: 'analyze', modelPath: '/m.onnx', data: { path: '/d' }, analyses: ['summary'] };
  const acts = {
    kind: 'activations',
    modelPath: '/m.onnx',
    data: { path: '/d' },
    tensors: ['t'],
    reduce: 'none',
    outDir: '/o',
  };
  for (const job of [analyze, acts]) {
    assert.doesNotThrow(() => run(job));
    assert.doesNotThrow(() => run({ ...job, configRoot: '/ws' }));
    assert.throws(() => run({ ...job, configRoot: 7 }), /'configRoot' must be a string/);
  }
});
