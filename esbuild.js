// Bundles the extension host, the analysis worker, the CLI, the benchmark (Node, CommonJS) and the webview
// (browser, IIFE). onnxruntime-node is a native addon: it stays external and ships in node_modules.
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  external: ['vscode', 'onnxruntime-node'],
  logLevel: 'warning',
};

const builds = [
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { ...node, entryPoints: ['src/worker/worker.ts'], outfile: 'dist/worker.js' },
  { ...node, entryPoints: ['src/cli/launch.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...node, entryPoints: ['bench/bench.ts'], outfile: 'dist/bench.js' },
  // the shape probe's child process (src/engine/runtime/probe.ts finds it beside the bundle that forks it)
  { ...node, entryPoints: ['src/engine/runtime/probe-child.ts'], outfile: 'dist/probe.js' },
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: !production,
    minify: true,
    entryPoints: ['webview/inspect/main.ts'],
    outfile: 'dist/webview/inspect.js',
    logLevel: 'warning',
  },
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: !production,
    minify: true,
    entryPoints: ['webview/analysis/main.ts'],
    outfile: 'dist/webview/analysis.js',
    logLevel: 'warning',
  },
  {
    // the standalone report's page script: inlined into the HTML by src/report/report.ts (no source map to load)
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: false,
    minify: true,
    entryPoints: ['webview/report/main.ts'],
    outfile: 'dist/webview/report.js',
    logLevel: 'warning',
  },
];

async function main() {
  fs.mkdirSync('dist/webview', { recursive: true });
  // plotly ships prebuilt; copied as a separate script so the webview bundle stays small and cacheable. The
  // cartesian bundle (scatter, bar, box, heatmap: every trace RepLens draws) is a third of the full one: the
  // webview parses it in 0.6 s instead of 1.8 s, and in code-server that parse blocks the editor (issue 15).
  fs.copyFileSync(require.resolve('plotly.js-cartesian-dist-min'), path.join('dist/webview', 'plotly.min.js'));
  if (watch) {
    for (const b of builds) (await esbuild.context(b)).watch();
    return;
  }
  await Promise.all(builds.map((b) => esbuild.build(b)));
  fs.chmodSync('dist/cli.js', 0o755);
}
main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
