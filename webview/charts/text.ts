// Text for plotly. Plotly draws tick labels, hover text, legend names, titles and annotations through its own
// mini-HTML (svg_text_utils): `<b>`, `<br>`, `<a href>` and `<span style>` become live markup, `&…;` entities are
// decoded, `$…$` is typeset as TeX when MathJax is on the page, and hover/text templates substitute `%{…}`. Every
// string a model or a result file controls (node, tensor and module names, op types, model and checkpoint names)
// goes through plotlyText before plotly sees it; markup is only ever added around escaped text (hoverLines).
import { printable } from '../../src/shared/printable';
import { formatCount } from '../format';

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', $: '&#36;', '%': '&#37;' };

/**
 * `s` as literal plotly text: markup, entity, TeX and template characters escaped, control characters shown as
 * escapes.
 */
export function plotlyText(s: string): string {
  return printable(s).replace(/[&<>$%]/g, (c) => ENTITY[c]);
}

/** Hover text: the title in bold, then one line each; all of it text, escaped. */
export function hoverLines(title: string, lines: readonly string[]): string {
  return [`<b>${plotlyText(title)}</b>`, ...lines.map(plotlyText)].join('<br>');
}

/** Characters plotly draws for escaped text (an entity is one), for margin estimates. */
export function drawnLength(s: string): number {
  return s.replace(/&(#\d+|[a-z]+);/g, '_').length;
}

/**
 * A number as hover text: 3 significant digits ("0.626", "18.4", "0.000123", "123,000"), a whole number in full as a
 * count ("1,024"), "n/a" for a missing or non-finite value. Every hover line of the analysis charts uses it.
 */
export function sig3(v: number | null | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'n/a';
  if (Number.isInteger(v)) return formatCount(v);
  const r = Number(v.toPrecision(3));
  return Math.abs(r) >= 1000 ? formatCount(r) : String(r);
}

/** The same 3 significant digits as a d3 format, for hover text plotly writes itself (box statistics). */
export const SIG3_FORMAT = '.3~g';
