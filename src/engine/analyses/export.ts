// The result document as files: result.json and CSV (the per-layer overview and each layer × layer matrix). The CLI
// writes them next to the report; the editor panel's Export writes the same files.
import * as path from 'path';
import { ensureDir, writeAtomic } from '../fswrite';
import type { AnalysisResult, LayerMatrix } from '../../shared/result';

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

/** One row per layer: the overview of the report, for the terminal and layers.csv. */
export function overviewRows(r: AnalysisResult): { header: string[]; rows: string[][] } {
  const header = ['layer', 'op', 'shape', 'params', 'ID (TwoNN)', 'NNCS', 'selectivity', 'sparsity', 'dead'];
  const rows = r.layers.map((l) => {
    const rra = r.analyses.rra?.perLayer.find((x) => x.tensor === l.tensor);
    const sel = r.analyses.selectivity?.perLayer.find((x) => x.tensor === l.tensor);
    const sum = r.analyses.summary?.perLayer.find((x) => x.tensor === l.tensor);
    return [l.label, l.op, l.shape.join('×'), String(l.params), fmt(rra?.id?.twonn, 2), fmt(rra?.nncs), fmt(sel?.mean), sum && !sum.sparsityNotApplicable ? `${(100 * sum.sparsity).toFixed(1)}%` : '—', sum && !sum.sparsityNotApplicable ? `${sum.deadChannels}/${sum.channels}` : '—'];
  });
  return { header, rows };
}

/** A number as written by String() or toFixed(): data that a spreadsheet reads as a number, never as a formula. */
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
/** What starts a formula in a spreadsheet (OWASP, CSV injection): = + - @, tab, carriage return. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell. Numbers are written as they are. Text (names come from the model) that a spreadsheet would run as
 * a formula is neutralised as OWASP recommends: a leading ' and the cell quoted; text with a quote, comma or line
 * break is quoted, quotes doubled. A numeric string ("-0.5") is data and stays as it is.
 */
export function csvCell(v: string | number): string {
  if (typeof v === 'number') return String(v);
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  if (FORMULA_START.test(v) && !NUMBER.test(v)) return quote(`'${v}`);
  return /[",\n\r]/.test(v) ? quote(v) : v;
}

export function matrixCsv(m: LayerMatrix, label: (t: string) => string): string {
  const lines = [['', ...m.cols.map(label)].map(csvCell).join(',')];
  m.rows.forEach((r, i) => lines.push([label(r), ...m.values[i].map((v) => (v === null ? '' : v))].map(csvCell).join(',')));
  return lines.join('\n') + '\n';
}

/** layers.csv: the overview rows. */
export function layersCsv(result: AnalysisResult): string {
  const { header, rows } = overviewRows(result);
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/** Every layer × layer matrix of the result as CSV, by file stem (nnls, cka, …, *-between-models). */
export function matrixCsvs(result: AnalysisResult): { name: string; csv: string }[] {
  const label = (t: string) => result.layers.find((l) => l.tensor === t)?.label ?? result.compare?.layers.find((l) => l.tensor === t)?.label ?? t;
  const mats: [string, LayerMatrix | undefined][] = [
    ['nnls', result.analyses.rra?.nnls], ['nnls-between-models', result.analyses.rra?.interModel],
    ['cka', result.analyses.similarity?.cka], ['svcca', result.analyses.similarity?.svcca], ['pwcca', result.analyses.similarity?.pwcca],
    ['cka-between-models', result.analyses.similarity?.compare?.cka], ['svcca-between-models', result.analyses.similarity?.compare?.svcca], ['pwcca-between-models', result.analyses.similarity?.compare?.pwcca],
  ];
  return mats.filter(([, m]) => m && m.rows.length).map(([name, m]) => ({ name, csv: matrixCsv(m!, label) }));
}

/** DIR/result.json, DIR/layers.csv and DIR/<matrix>.csv (atomic writes: symlinks there are replaced, not followed); returns the files written. */
export function writeResultFiles(result: AnalysisResult, dir: string): string[] {
  ensureDir(dir);
  const files = [path.join(dir, 'result.json'), path.join(dir, 'layers.csv')];
  writeAtomic(files[0], JSON.stringify(result, null, 1) + '\n');
  writeAtomic(files[1], layersCsv(result));
  for (const { name, csv } of matrixCsvs(result)) { const f = path.join(dir, `${name}.csv`); writeAtomic(f, csv); files.push(f); }
  return files;
}
