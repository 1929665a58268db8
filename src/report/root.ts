// The package root (the folder holding RepLens's package.json), found by walking up from this file: works from the
// sources (src/report/, run with tsx) and from the bundle (dist/).
import * as fs from 'fs';
import * as path from 'path';

export function packageRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}: cannot find the RepLens package root`);
    dir = up;
  }
}
