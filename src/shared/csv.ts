// CSV cells and layer × layer matrices as CSV (browser-safe: the views build their files, the exporters write them).
import type { LayerMatrix } from './result';

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
  m.rows.forEach((r, i) =>
    lines.push([label(r), ...m.values[i].map((v) => (v === null ? '' : v))].map(csvCell).join(',')),
  );
  return lines.join('\n') + '\n';
}
