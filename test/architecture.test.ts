import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as os from 'os';
import * as path from 'path';
import ts from 'typescript';

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? files(path.join(dir, d.name)) : [path.join(dir, d.name)]));
}

test('src/engine never imports vscode (it must run in the CLI and in worker threads)', () => {
  const offenders = files(path.join(__dirname, '..', 'src', 'engine'))
    .filter((f) => /\.(ts|js)$/.test(f))
    .filter((f) =>
      /from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)|import\(\s*['"]vscode['"]\s*\)/.test(
        fs.readFileSync(f, 'utf8'),
      ),
    );
  assert.deepEqual(offenders, []);
});

test('the worker, the CLI and the shared protocol do not import vscode either', () => {
  for (const dir of ['worker', 'cli', 'shared']) {
    for (const f of files(path.join(__dirname, '..', 'src', dir))) {
      assert.ok(!/from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)/.test(fs.readFileSync(f, 'utf8')), f);
    }
  }
});

test('the built bundles keep onnxruntime-node and vscode external', () => {
  const dist = path.join(__dirname, '..', 'dist');
  for (const f of ['extension.js', 'worker.js', 'cli.js'])
    assert.ok(fs.existsSync(path.join(dist, f)), `dist/${f} (npm run build)`);
  assert.match(fs.readFileSync(path.join(dist, 'worker.js'), 'utf8'), /require\("onnxruntime-node"\)/);
  assert.ok(!/require\("vscode"\)/.test(fs.readFileSync(path.join(dist, 'worker.js'), 'utf8')));
});

// The module specifiers a file imports, read from its syntax tree: `import … from`, `import '…'`, `export … from`,
// `import(…)`, `require(…)` and `import('…')` types; typeOnly when nothing of it reaches the bundle (`import type`,
// `export type`, type positions).
function importsOf(file: string): { spec: string; typeOnly: boolean }[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: { spec: string; typeOnly: boolean }[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      out.push({ spec: n.moduleSpecifier.text, typeOnly: !!n.importClause?.isTypeOnly });
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      out.push({ spec: n.moduleSpecifier.text, typeOnly: n.isTypeOnly });
    } else if (
      ts.isImportEqualsDeclaration(n) &&
      ts.isExternalModuleReference(n.moduleReference) &&
      ts.isStringLiteral(n.moduleReference.expression)
    ) {
      out.push({ spec: n.moduleReference.expression.text, typeOnly: n.isTypeOnly });
    } else if (
      ts.isCallExpression(n) &&
      (n.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(n.expression) && n.expression.text === 'require'))
    ) {
      const a = n.arguments[0];
      // a computed specifier cannot be checked: refused outright
      out.push({ spec: a && ts.isStringLiteralLike(a) ? a.text : `<computed ${n.getText(sf)}>`, typeOnly: false });
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      out.push({ spec: n.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const ROOT = path.join(__dirname, '..');
const NODE_ONLY_PACKAGES = new Set(['vscode', 'onnxruntime-node']);
const isNodeBuiltin = (spec: string) =>
  spec.startsWith('node:') || builtinModules.includes(spec) || builtinModules.includes(spec.split('/')[0]);

/**
 * Why `spec`, imported by `file`, has no place in code that runs in a browser (a webview or the report page), or
 * null when it may: no Node built-in, no vscode or native addon, and of this repository only webview/ and
 * src/shared/ (src/engine, src/extension, src/report, src/cli, src/worker are Node code).
 */
function browserViolation(file: string, spec: string, typeOnly: boolean): string | null {
  if (spec.startsWith('<computed')) return 'a computed import';
  if (isNodeBuiltin(spec)) return 'a Node built-in';
  if (NODE_ONLY_PACKAGES.has(spec)) return 'a Node-only package';
  if (!spec.startsWith('.')) return null; // a browser package (plotly, @vscode-elements)
  const target = path
    .relative(ROOT, path.resolve(path.dirname(file), spec))
    .split(path.sep)
    .join('/');
  if (target.startsWith('webview/') || target.startsWith('src/shared/')) return null;
  // Types the webview still takes from the engine (erased by esbuild, so no engine code is bundled); they belong in
  // src/shared/. Nothing is added here: move a type to src/shared/ instead.
  if (typeOnly && target === 'src/engine/onnx/layers') return null;
  return `${target}, outside webview/ and src/shared/`;
}

test('webview/ is browser code: no Node built-ins, vscode or src/ but src/shared/ (src/report/: Node side)', () => {
  const offenders: string[] = [];
  for (const f of files(path.join(ROOT, 'webview')).filter((f) => /\.(ts|js|mjs|cjs)$/.test(f))) {
    for (const { spec, typeOnly } of importsOf(f)) {
      const why = browserViolation(f, spec, typeOnly);
      if (why) offenders.push(`${path.relative(ROOT, f)} imports '${spec}': ${why}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('src/shared/ is browser-safe too (webviews bundle it): no Node built-ins, no vscode, no engine code', () => {
  const offenders: string[] = [];
  for (const f of files(path.join(ROOT, 'src', 'shared')).filter((f) => /\.(ts|js|mjs|cjs)$/.test(f))) {
    for (const { spec, typeOnly } of importsOf(f)) {
      const target = spec.startsWith('.')
        ? path
            .relative(ROOT, path.resolve(path.dirname(f), spec))
            .split(path.sep)
            .join('/')
        : spec;
      // messages.ts and result.ts describe engine values by their engine types (erased at build time)
      const why = isNodeBuiltin(spec)
        ? 'a Node built-in'
        : NODE_ONLY_PACKAGES.has(spec)
          ? 'a Node-only package'
          : spec.startsWith('.') && !target.startsWith('src/shared/') && !typeOnly
            ? `code from ${target}`
            : null;
      if (why) offenders.push(`${path.relative(ROOT, f)} imports '${spec}': ${why}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('the import scanner sees every form of import (so the two tests above can fail)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replens-arch-'));
  try {
    const f = path.join(ROOT, 'webview', 'probe.ts'); // named as if it were in webview/; the text is read from `dir`
    const src = path.join(dir, 'probe.ts');
    fs.writeFileSync(
      src,
      [
        "import * as fs from 'fs';",
        "import { join } from 'node:path';",
        "import type { Disposable } from 'vscode';",
        "import 'os';",
        "export { x } from 'crypto';",
        "const cp = require('child_process');",
        "const w = await import('worker_threads');",
        'const z = require(`zlib`);',
        "import { analyze } from '../src/engine/analyses/analyze';",
        "import type { AnalysisResult } from '../src/shared/result';",
        "import { formatEta } from '../src/shared/duration';",
        "import { drawChart } from './charts/analysis';",
        "import type { LayerInfo } from '../src/engine/onnx/layers';",
        "import { listLayers } from '../src/engine/onnx/layers';",
        "import { writeReport } from '../src/report/write';",
        "import type { AnalysisPanels } from '../src/extension/analysisPanel';",
        'const y = require(name);',
        "// import * as os from 'os'; a comment is not an import",
        'const s = "require(\'fs\')";',
      ].join('\n'),
    );
    const found = importsOf(src).map(({ spec, typeOnly }) => [spec, browserViolation(f, spec, typeOnly) !== null]);
    assert.deepEqual(found, [
      ['fs', true],
      ['node:path', true],
      ['vscode', true],
      ['os', true],
      ['crypto', true],
      ['child_process', true],
      ['worker_threads', true],
      ['zlib', true],
      ['../src/engine/analyses/analyze', true],
      ['../src/shared/result', false],
      ['../src/shared/duration', false],
      ['./charts/analysis', false],
      ['../src/engine/onnx/layers', false],
      ['../src/engine/onnx/layers', true],
      ['../src/report/write', true],
      ['../src/extension/analysisPanel', true],
      ['<computed require(name)>', true],
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
