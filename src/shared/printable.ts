// Model-controlled text (node, tensor and module names, op types, producers, file names) shown to a person: control
// characters and bidi controls are written as escapes, so a name cannot move the cursor, recolour or clear a
// terminal (ESC, CSI, BEL, \r, \b, C1 controls) or reorder the text shown around it (Trojan Source overrides).

/** C0 controls, DEL, C1 controls, the bidi embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069). */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const SHORT: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escape(c: string): string {
  const n = c.charCodeAt(0);
  return SHORT[c] ?? (n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`);
}

/** `s` with every control and bidi control character shown as an escape (`\x1b`, `\u202e`); the rest unchanged. */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, escape);
}
