// `replens analyze`: runs the analyses, writes DIR/result.json, DIR/report.html and CSV files, prints a compact
// per-layer table.
import * as fs from 'fs';
import * as path from 'path';
import { ReplensError } from '../engine/errors';
import { analyze, ANALYSES, type AnalysisName, type AnalyzeOptions } from '../engine/analyses/analyze';
import { writeAtomic } from '../engine/analyses/cache';
import { SessionPool } from '../engine/runtime/session';
import type { AnalysisResult, LayerMatrix } from '../shared/result';
import type { RuntimeSettings } from '../shared/messages';
import { writeReport } from '../../webview/report/write';

export interface AnalyzeArgs extends Omit<AnalyzeOptions, 'analyses'> {
  analyses?: string;
  out: string;
  runtime: RuntimeSettings;
  quiet?: boolean;
}

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

/** One row per layer: the overview of the report, for the terminal and layers.csv. */
export function overviewRows(r: AnalysisResult): { header: string[]; rows: string[][] } {
  const header = ['layer', 'op', 'shape', 'params', 'ID (TwoNN)', 'NNCS', 'selectivity', 'sparsity', 'dead'];
  const rows = r.layers.map((l) => {
    const rra = r.analyses.rra?.perLayer.find((x) => x.tensor === l.tensor);
    const sel = r.analyses.selectivity?.perLayer.find((x) => x.tensor === l.tensor);
    const sum = r.analyses.summary?.perLayer.find((x) => x.tensor === l.tensor);
    return [l.label, l.op, l.shape.join('×'), String(l.params), fmt(rra?.id?.twonn, 2), fmt(rra?.nncs), fmt(sel?.mean), sum ? `${(100 * sum.sparsity).toFixed(1)}%` : '—', sum ? `${sum.deadChannels}/${sum.channels}` : '—'];
  });
  return { header, rows };
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function matrixCsv(m: LayerMatrix, label: (t: string) => string): string {
  const lines = [['', ...m.cols.map(label)].map(csvCell).join(',')];
  m.rows.forEach((r, i) => lines.push([label(r), ...m.values[i].map((v) => (v === null ? '' : String(v)))].map(csvCell).join(',')));
  return lines.join('\n') + '\n';
}

export async function runAnalyzeCommand(a: AnalyzeArgs): Promise<AnalysisResult> {
  const names = (a.analyses ?? 'summary,rra,similarity,selectivity').split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!(ANALYSES as readonly string[]).includes(n)) throw new ReplensError('E_ARGUMENT', `unknown analysis '${n}' (${ANALYSES.join(', ')})`);
  const pool = new SessionPool({ executionProvider: a.runtime.executionProvider, intraOpThreads: a.runtime.intraOpThreads });
  try {
    const result = await analyze({ ...a, analyses: names as AnalysisName[] }, pool);
    fs.mkdirSync(a.out, { recursive: true });
    writeAtomic(path.join(a.out, 'result.json'), JSON.stringify(result, null, 1) + '\n');
    const { header, rows } = overviewRows(result);
    writeAtomic(path.join(a.out, 'layers.csv'), [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
    const label = (t: string) => result.layers.find((l) => l.tensor === t)?.label ?? result.compare?.layers.find((l) => l.tensor === t)?.label ?? t;
    const mats: [string, LayerMatrix | undefined][] = [
      ['nnls', result.analyses.rra?.nnls], ['nnls-between-models', result.analyses.rra?.interModel],
      ['cka', result.analyses.similarity?.cka], ['svcca', result.analyses.similarity?.svcca], ['pwcca', result.analyses.similarity?.pwcca],
      ['cka-between-models', result.analyses.similarity?.compare?.cka], ['svcca-between-models', result.analyses.similarity?.compare?.svcca], ['pwcca-between-models', result.analyses.similarity?.compare?.pwcca],
    ];
    for (const [name, m] of mats) if (m) writeAtomic(path.join(a.out, `${name}.csv`), matrixCsv(m, label));
    writeReport(result, path.join(a.out, 'report.html'));
    return result;
  } finally {
    await pool.dispose();
  }
}

/** The terminal table. */
export function formatTable(r: AnalysisResult): string {
  const { header, rows } = overviewRows(r);
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (x: string[]) => x.map((c, i) => (i >= 3 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}
