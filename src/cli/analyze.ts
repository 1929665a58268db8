// `replens analyze`: runs the analyses, writes DIR/result.json, DIR/report.html and CSV files, prints a compact
// per-layer table.
import * as path from 'path';
import { ReplensError } from '../engine/errors';
import { analyze, ANALYSES, type AnalysisName, type AnalyzeOptions } from '../engine/analyses/analyze';
import { overviewRows, writeResultFiles } from '../engine/analyses/export';
import { SessionPool } from '../engine/runtime/session';
import type { AnalysisResult } from '../shared/result';
import type { RuntimeSettings } from '../shared/messages';
import { writeReport } from '../report/write';
import { printable } from '../shared/printable';

export interface AnalyzeArgs extends Omit<AnalyzeOptions, 'analyses'> {
  analyses?: string;
  out: string;
  runtime: RuntimeSettings;
  quiet?: boolean;
}

export async function runAnalyzeCommand(a: AnalyzeArgs): Promise<AnalysisResult> {
  const names = (a.analyses ?? 'summary,rra,similarity,selectivity').split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!(ANALYSES as readonly string[]).includes(n)) throw new ReplensError('E_ARGUMENT', `unknown analysis '${n}' (${ANALYSES.join(', ')})`);
  const pool = new SessionPool({ executionProvider: a.runtime.executionProvider, intraOpThreads: a.runtime.intraOpThreads });
  try {
    const result = await analyze({ ...a, analyses: names as AnalysisName[] }, pool);
    writeResultFiles(result, a.out);
    // writeReport takes a file name: it fills the temporary file, which then replaces report.html.
    writeReport(result, path.join(a.out, 'report.html'));
    return result;
  } finally {
    await pool.dispose();
  }
}

/** The terminal table; names are shown with control characters escaped (widths measured on what is printed). */
export function formatTable(r: AnalysisResult): string {
  const { header } = overviewRows(r);
  const rows = overviewRows(r).rows.map((x) => x.map(printable));
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (x: string[]) => x.map((c, i) => (i >= 3 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}
