// Spill folders of killed runs: a new ActivationStore removes the folders of dead RepLens processes and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { ActivationStore, processAlive } from '../src/engine/capture/store';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-spilltest-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.equal(r.status, 0);
  assert.equal(processAlive(r.pid), false);
  return r.pid;
}

function folder(name: string): string {
  const d = path.join(root, name);
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'layer-0.npy'), 'x');
  return d;
}

test('a new store removes the spill folders of dead processes; live owners, other names and links are kept', () => {
  const dead = deadPid();
  const stale = folder(`replens-spill-${dead}-aB3dE9`);
  const keep = [
    folder(`replens-spill-${process.ppid}-liveAA`), // a live process (the test runner's parent)
    folder(`replens-spill-${process.pid}-ownBBB`), // this process: another store of it may be using the folder
    folder('replens-spill-x1Y2z3'), // the old naming without a pid: its owner is unknown
    folder(`replens-spill-${dead}-short`), // not what mkdtemp makes (five characters)
    folder(`other-spill-${dead}-aB3dE9`),
  ];
  const target = folder('target');
  const link = path.join(root, `replens-spill-${dead}-LinkZZ`);
  fs.symlinkSync(target, link);
  const file = path.join(root, `replens-spill-${dead}-FileZZ`);
  fs.writeFileSync(file, 'not a folder');

  const store = new ActivationStore(1024, root);
  store.dispose();
  assert.equal(fs.existsSync(stale), false);
  for (const d of keep) assert.ok(fs.existsSync(path.join(d, 'layer-0.npy')), d);
  assert.ok(fs.lstatSync(link).isSymbolicLink() && fs.existsSync(path.join(target, 'layer-0.npy')));
  assert.ok(fs.statSync(file).isFile());
});

test('spill folders are named after the process; a SIGKILLed run leaves one that the next store removes', async () => {
  // This process's store: the folder carries its pid and goes with dispose().
  const own = new ActivationStore(64, root);
  own.append('t', new Float32Array(100), 10, [10]);
  const mine = fs
    .readdirSync(root)
    .filter((n) => n.startsWith(`replens-spill-${process.pid}-`) && n !== `replens-spill-${process.pid}-ownBBB`);
  assert.equal(mine.length, 1);
  own.dispose();
  assert.equal(fs.existsSync(path.join(root, mine[0])), false);

  // A child spills, says so, and is killed outright: its folder stays until a store of a live process looks.
  const storeTs = JSON.stringify(path.join(__dirname, '..', 'src', 'engine', 'capture', 'store.ts'));
  const code = `
    const { ActivationStore } = require(${storeTs});
    const s = new ActivationStore(64, ${JSON.stringify(root)});
    s.append('t', new Float32Array(100), 10, [10]);
    process.stdout.write('spilled\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('spilled')) resolve();
    });
    child.on('exit', (c) => reject(new Error(`the child ended (${c}) before spilling`)));
  });
  const left = path.join(
    root,
    fs.readdirSync(root).find((n) => n.startsWith(`replens-spill-${child.pid}-`))!,
  );
  assert.ok(fs.readdirSync(left).some((f) => f.endsWith('.npy')));
  // Alive: kept.
  new ActivationStore(64, root).dispose();
  assert.ok(fs.existsSync(left));
  child.kill('SIGKILL');
  await exited;
  new ActivationStore(64, root).dispose();
  assert.equal(fs.existsSync(left), false);
});
