// Writes the standalone HTML report of a result (what `replens report` / `replens analyze --report` call): plotly
// and the page script come from dist/webview under the package root.
import * as fs from 'fs';
import * as path from 'path';
import type { AnalysisResult } from '../shared/result';
import { ensureDir, writeAtomic } from '../engine/fswrite';
import { readReportBundle, renderReport, type ReportTheme } from './report';
import { packageRoot } from './root';

export interface WriteReportOptions {
  theme?: ReportTheme;
  /** Where dist/ is; default: found by walking up from this file to package.json. */
  root?: string;
}

/** Renders `result` to `file` (folders created, written atomically); returns the number of bytes written. */
export function writeReport(result: AnalysisResult, file: string, o: WriteReportOptions = {}): number {
  const root = o.root ?? packageRoot(__dirname);
  const plotlyFile = path.join(root, 'dist', 'webview', 'plotly.min.js');
  if (!fs.existsSync(plotlyFile)) {
    throw new Error(
      `${plotlyFile} is missing: build it with \`npm run build\` ` +
        `(esbuild.js copies plotly.js-cartesian-dist-min) in ${root}`,
    );
  }
  const html = renderReport(result, {
    plotlyJs: fs.readFileSync(plotlyFile, 'utf8'),
    reportJs: readReportBundle(root),
    theme: o.theme ?? 'auto',
  });
  ensureDir(path.dirname(path.resolve(file)));
  // A temporary file renamed into place: a symlink planted at `file` is replaced, never written through.
  writeAtomic(file, html);
  return Buffer.byteLength(html);
}
