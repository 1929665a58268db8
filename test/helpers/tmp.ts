// Temporary folders for tests, removed when the test file's tests are done (tests left ~130 folders behind).
import { after } from 'node:test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const made: string[] = [];
after(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A new folder under the system temp folder (prefix as for fs.mkdtemp), removed after this file's tests. */
export function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}
