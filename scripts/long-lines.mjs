#!/usr/bin/env node
// Lines longer than the formatter's width in the .ts/.js sources: what prettier leaves long after formatting
// (comments, long string and template literals, long names it cannot break). Run it after `npm run format`; it exits 1
// if any line is over, so "no line longer than printWidth" can be enforced next to `npm run format:check`.
//
//   node scripts/long-lines.mjs [PATH...]   (default: every file git knows or would track, under the working dir)
//
// The width is prettier's own printWidth for each file (.prettierrc.json, overrides included) and widths are measured
// the way prettier measures them (wide characters count 2, tabs count tabWidth). Files prettier ignores
// (.prettierignore, .gitignore) are skipped.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as prettier from 'prettier';

const ts = createRequire(import.meta.url)('typescript');

const EXTENSIONS = /\.(ts|mts|cts|js|mjs|cjs)$/;
const roots = process.argv.slice(2);

function candidates() {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z', '--', ...roots], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return out.split('\0').filter((f) => EXTENSIONS.test(f) && fs.existsSync(f));
}

// What makes the line long, from TypeScript's parse of the file: a comment, a string (template literals with their
// substitutions included) or a regex — the one without which the line would fit, else the one covering most of it —,
// or `code` when the line holds none of them (prettier would have broken it: the file is not formatted yet).
function classifier(file, text, width) {
  const scriptKind = /\.[mc]?ts$/.test(file) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, scriptKind);
  const K = ts.SyntaxKind;
  const STRINGS = new Set([K.StringLiteral, K.NoSubstitutionTemplateLiteral, K.TemplateExpression, K.JsxText]);
  const isJsDoc = (k) => k >= K.FirstJSDocNode && k <= K.LastJSDocNode;
  return (start, end) => {
    const cover = { comment: 0, string: 0, regex: 0 };
    const add = (kind, from, to) => (cover[kind] += Math.max(0, Math.min(to, end) - Math.max(from, start)));
    const visit = (node) => {
      for (const child of node.getChildren(sf)) {
        if (child.end <= start || child.pos >= end) continue;
        const trivia = [ts.getTrailingCommentRanges(text, child.pos), ts.getLeadingCommentRanges(text, child.pos)];
        for (const c of trivia.flat()) if (c) add('comment', c.pos, c.end);
        if (isJsDoc(child.kind)) add('comment', child.pos, child.end);
        else if (STRINGS.has(child.kind)) add('string', child.getStart(sf), child.end);
        else if (child.kind === K.RegularExpressionLiteral) add('regex', child.getStart(sf), child.end);
        else if (child.kind >= K.FirstNode) visit(child);
      }
    };
    visit(sf);
    const kinds = Object.entries(cover)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const alone = kinds.find(([, n]) => end - start - n <= width);
    return (alone ?? kinds[0] ?? ['code'])[0];
  };
}

const found = [];
let files = 0;
for (const file of candidates()) {
  const info = await prettier.getFileInfo(file, { ignorePath: ['.gitignore', '.prettierignore'] });
  if (info.ignored || !info.inferredParser) continue;
  const options = (await prettier.resolveConfig(file)) ?? {};
  const width = options.printWidth ?? 80;
  const tab = ' '.repeat(options.tabWidth ?? 2);
  const measure = (s) => prettier.util.getStringWidth(s.replace(/\t/g, tab));
  files++;
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  let classify = null;
  let offset = 0;
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const n = measure(line);
    if (n > width) {
      classify ??= classifier(file, text, width);
      found.push({ file, line: i + 1, n, width, kind: classify(offset, offset + line.length) });
    }
    offset += raw.length + 1;
  });
}

for (const f of found) console.log(`${f.file}:${f.line}: ${f.n} > ${f.width} (${f.kind})`);
if (found.length) {
  const kinds = {};
  for (const f of found) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
  const byKind = Object.entries(kinds)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  const inFiles = new Set(found.map((f) => f.file)).size;
  console.error(`long-lines: ${found.length} lines over the width in ${inFiles} of ${files} files (${byKind})`);
  process.exit(1);
}
console.error(`long-lines: no line over the width in ${files} files`);
