// The result document as files: result.json and CSV (the per-layer overview and each layer × layer matrix). The CLI
// writes them next to the report; the editor panel's Export writes the same files.
import * as path from 'path';
import { ensureDir, writeAtomic } from '../engine/fswrite';
import type { AnalysisResult } from '../shared/result';
import { csvCell } from '../shared/csv';
import {
  compareTable,
  overviewColumns,
  overviewRows as overviewTable,
  viewCsvs,
  type TableModel,
} from '../../webview/views/registry';

export { compareTable, type TableModel };

/**
 * One row per layer: the layer table of the panel and the report (webview/views/registry.ts), for the terminal
 * (display text) and layers.csv (numbers unrounded: the sort keys of numeric columns). `which`: the model's table
 * (with the compared model's "(B)" columns when both have the same layers) or the compared model's own.
 */
export function overviewRows(
  r: AnalysisResult,
  as: 'text' | 'csv' = 'text',
  which: TableModel = 'model',
): { header: string[]; rows: string[][] } {
  const cols = overviewColumns(r, which).filter((c) => c.key !== 'index');
  const header = cols.map((c) => c.label);
  const rows = overviewTable(r, which).map((row) =>
    cols.map((c) => {
      const cell = row.cells[c.key];
      return as === 'csv' && c.numeric ? (cell.sort === null ? '' : String(cell.sort)) : cell.text;
    }),
  );
  return { header, rows };
}

/** layers.csv (the model's table), or with 'compare' layers-compared.csv (the compared model's own table). */
export function layersCsv(result: AnalysisResult, which: TableModel = 'model'): string {
  const { header, rows } = overviewRows(result, 'csv', which);
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/** Every layer × layer matrix of the result as CSV, by file stem (nnls, cka, …, *-between-models). */
export function matrixCsvs(result: AnalysisResult): { name: string; csv: string }[] {
  return viewCsvs(result);
}

/**
 * DIR/result.json, DIR/layers.csv (and layers-compared.csv for two architectures) and DIR/<matrix>.csv (atomic
 * writes: symlinks there are replaced, not followed);
 * returns the files written.
 */
export function writeResultFiles(result: AnalysisResult, dir: string): string[] {
  ensureDir(dir);
  const files = [path.join(dir, 'result.json'), path.join(dir, 'layers.csv')];
  writeAtomic(files[0], JSON.stringify(result, null, 1) + '\n');
  writeAtomic(files[1], layersCsv(result));
  // different architectures: the compared model's layers are a table of their own
  if (compareTable(result) === 'separate') {
    const f = path.join(dir, 'layers-compared.csv');
    writeAtomic(f, layersCsv(result, 'compare'));
    files.push(f);
  }
  for (const { name, csv } of matrixCsvs(result)) {
    const f = path.join(dir, `${name}.csv`);
    writeAtomic(f, csv);
    files.push(f);
  }
  return files;
}
