// `replens analyze`: the flags become the same analyze job the editor sends (src/shared/analyses.ts's options
// table gives the flags, their help and the validation), run by the job runner like every command; then
// DIR/result.json, DIR/report.html and CSV files, and a compact per-layer table.
import * as path from 'path';
import { ReplensError } from '../engine/errors';
import { runJob, type JobContext } from '../engine/jobs';
import { compareTable, overviewRows, writeResultFiles, type TableModel } from '../report/files';
import {
  ANALYZE_OPTIONS,
  ANALYSIS_IDS,
  DEFAULT_ANALYSES,
  analyzeSettingsProblem,
  type AnalyzeOptionKey,
  type OptionSpec,
} from '../shared/analyses';
import type { AnalyzeJob, DatasetSource, RuntimeSettings } from '../shared/messages';
import type { AnalysisResult } from '../shared/result';
import { writeReport } from '../report/write';
import { printable } from '../shared/printable';

const rows = Object.entries(ANALYZE_OPTIONS) as [AnalyzeOptionKey, OptionSpec][];

/** parseArgs options for the analyze flags of the table (all strings but the on/off flags). */
export const ANALYZE_FLAGS = Object.fromEntries(
  rows.filter(([, s]) => s.flag).map(([, s]) => [s.flag!, { type: s.type === 'flag' ? 'boolean' : 'string' }] as const),
) as Record<string, { type: 'boolean' | 'string' }>;

/** The usage lines of the analyze options, from the table. */
export function analyzeOptionsUsage(): string {
  const line = (left: string, help: string) => `${left.padEnd(28)}${help}`;
  const lines = rows.filter(([, s]) => s.flag).map(([, s]) => line(`  --${s.flag}${s.arg ? ` ${s.arg}` : ''}`, s.help));
  lines.push(line('  --out DIR', 'where result.json, report.html and the CSV files go (default replens-report)'));
  const head = `analyze options (--analyses ${ANALYSIS_IDS.join(',')}; default ${DEFAULT_ANALYSES.join(',')}):`;
  return `${head}\n${lines.join('\n')}\n`;
}

function fail(message: string): never {
  throw new ReplensError('E_ARGUMENT', message);
}

const list = (v: string) =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** One flag's text as the option's value (checked against the table afterwards, naming the flag). */
function valueOf(s: OptionSpec, v: string | boolean, dataFlags: Record<string, unknown>, main: boolean): unknown {
  switch (s.type) {
    case 'flag':
      return v === true;
    case 'string':
      return String(v);
    case 'strings':
      return list(String(v));
    case 'int': {
      const n = Number(v);
      if (!/^\s*-?\d+\s*$/.test(String(v)) || (s.min !== undefined && n < s.min))
        fail(`--${s.flag} must be an integer ≥ ${s.min ?? '-∞'}, got '${String(v)}'`);
      return n;
    }
    case 'numbers':
      return list(String(v)).map((x) => {
        const n = Number(x);
        if (!Number.isFinite(n) || (s.min !== undefined && n < s.min))
          fail(`--${s.flag} must be numbers ≥ ${s.min ?? '-∞'}, got '${x}'`);
        return n;
      });
    case 'dataset': {
      // --format, --labels and --limit describe --data; --skip-unreadable applies to every dataset of the run.
      const d: DatasetSource = { path: String(v) };
      if (main) {
        if (dataFlags.format !== undefined) d.format = dataFlags.format as DatasetSource['format'];
        if (dataFlags.labels !== undefined) d.labels = dataFlags.labels as string;
        if (dataFlags.limit !== undefined)
          d.limit = valueOf(
            { flag: 'limit', type: 'int', min: 1, help: '' },
            dataFlags.limit as string,
            {},
            false,
          ) as number;
      }
      if (dataFlags['skip-unreadable']) d.skipUnreadable = true;
      return d;
    }
  }
}

/** The analyze job for MODEL and the parsed flags. */
export function analyzeJobFromFlags(
  model: string,
  values: Record<string, unknown>,
  runtime: RuntimeSettings,
): AnalyzeJob {
  if (values.data === undefined) fail('analyze needs --data PATH (IDX, .npy, .npz or an image folder)');
  const analyses = values.analyses === undefined ? DEFAULT_ANALYSES : list(values.analyses as string);
  const job: Record<string, unknown> = { kind: 'analyze', modelPath: model, analyses, runtime };
  for (const [key, s] of rows) {
    const v = s.flag ? values[s.flag] : undefined;
    if (v === undefined || v === false) continue;
    job[key] = valueOf(s, v as string | boolean, values, key === 'data');
  }
  const problem = analyzeSettingsProblem(job);
  if (problem) fail(problem);
  return job as unknown as AnalyzeJob;
}

/** Runs the job and writes DIR/result.json, DIR/report.html and the CSV files. */
export async function runAnalyzeCommand(job: AnalyzeJob, out: string, ctx: JobContext): Promise<AnalysisResult> {
  const res = await runJob(job, ctx);
  if (res.kind !== 'analyze') throw new ReplensError('E_INTERNAL', `analyze returned a ${res.kind} result`);
  writeResultFiles(res.result, out);
  // writeReport takes a file name: it fills the temporary file, which then replaces report.html.
  writeReport(res.result, path.join(out, 'report.html'));
  return res.result;
}

/**
 * The terminal table; names are shown with control characters escaped (widths measured on what is printed). With the
 * compared model's per-model analyses: its "(B)" columns (same layers) or its own table after the model's.
 */
export function formatTable(r: AnalysisResult): string {
  const table = (which: TableModel) => {
    const { header, rows } = overviewRows(r, 'text', which);
    const body = rows.map((x) => x.map(printable));
    const w = header.map((h, i) => Math.max(h.length, ...body.map((x) => x[i].length)));
    const line = (x: string[]) =>
      x
        .map((c, i) => (i >= 3 ? c.padStart(w[i]) : c.padEnd(w[i])))
        .join('  ')
        .trimEnd();
    return [line(header), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
  };
  const mode = compareTable(r);
  if (mode === 'none') return table('model');
  const b = printable(r.compare!.name);
  if (mode === 'paired') return `(B) = ${b}\n${table('model')}`;
  return `${printable(r.model.name)}\n${table('model')}\n\n${b} (compared)\n${table('compare')}`;
}
