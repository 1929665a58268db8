// Code lenses and hovers over PyTorch layer definitions: each `self.conv1 = nn.Conv2d(…)` (and Sequential /
// OrderedDict / ModuleList entries, add_module calls) whose module path matches a layer of the model chosen in the
// status bar shows that layer's key numbers; clicking reveals the layer in the model's panel. Parsing (lezer, no
// Python needed) is cached per document version; imported workspace files are parsed too, to resolve nested modules.
// provideCodeLenses only places the lenses; resolveCodeLens computes their text (VS Code resolves visible ones).
// Each analysed layer shows on one definition only, and each line has at most one lens (python/match.ts).
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  allModuleDefinitions,
  importedModules,
  parsePython,
  type ModuleDef,
  type ParsedPython,
} from './python/modules';
import { layerName, planLenses, type LayerMatch } from './python/match';
import { LENS_VALUES, lensText } from '../../webview/views/registry';
import type { ResultRegistry, StoredAnalysis } from './results';

class LayerLens extends vscode.CodeLens {
  constructor(
    range: vscode.Range,
    readonly modelPath: string,
    /** The definitions starting on this line that show layers (more than one: `self.a = self.b = nn.ReLU()`). */
    readonly defs: ModuleDef[],
    readonly matches: LayerMatch[],
    /** Other definitions start on the line too. */
    readonly shared: boolean,
  ) {
    super(range);
  }
}

export class LayerLensProvider implements vscode.CodeLensProvider, vscode.HoverProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly parsed = new Map<string, { version: number; defs: ModuleDef[]; context: ModuleDef[] }>();
  private readonly files = new Map<string, { mtime: number; parsed: ParsedPython }>();
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly registry: ResultRegistry,
    private readonly selected: () => string | null,
    private readonly log: (l: string) => void,
  ) {
    this.subs.push(registry.onDidChange(() => this.refresh()));
    this.subs.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('replens.codeLens')) this.refresh();
      }),
    );
    this.subs.push(vscode.workspace.onDidCloseTextDocument((d) => this.parsed.delete(d.uri.toString())));
  }

  refresh(): void {
    this.changed.fire();
  }

  private enabled(): boolean {
    return vscode.workspace.getConfiguration('replens').get<boolean>('codeLens.enabled', true);
  }

  private stored(): StoredAnalysis | null {
    const m = this.selected();
    return m ? (this.registry.get(m) ?? null) : null;
  }

  /** The document's module definitions (`defs`), with imports resolved in the workspace, and those of the files
   *  around it (`context`: imported and sibling files, whose definitions may show a layer instead); cached per
   *  version. */
  definitions(doc: vscode.TextDocument): { defs: ModuleDef[]; context: ModuleDef[] } {
    const key = doc.uri.toString();
    const hit = this.parsed.get(key);
    if (hit && hit.version === doc.version) return hit;
    const main = parsePython(doc.getText());
    const others: ParsedPython[] = [];
    if (doc.uri.scheme === 'file') {
      for (const imp of importedModules(main)) {
        // `from . import blocks` names modules, not classes: try each name as a file
        const targets = imp.module ? [imp.module] : imp.names.filter((n) => n !== '*');
        for (const t of targets) {
          const file = resolveImport(doc.uri.fsPath, t, imp.level);
          if (file) {
            const p = this.parseFile(file);
            if (p) others.push(p);
          }
        }
      }
    }
    // Sibling files too: a block file's classes are only placed under the model by the file that instantiates them
    // (models/net.py imports models/blocks.py), so looking at blocks.py alone would take BasicBlock for a root.
    if (doc.uri.scheme === 'file') {
      const dir = path.dirname(doc.uri.fsPath);
      let siblings: string[] = [];
      try {
        siblings = fs
          .readdirSync(dir)
          .filter((f) => f.endsWith('.py') && path.join(dir, f) !== doc.uri.fsPath)
          .slice(0, 50);
      } catch {
        /* unreadable folder */
      }
      for (const f of siblings) {
        const p = this.parseFile(path.join(dir, f));
        if (p && !others.includes(p) && p.classes.length) others.push(p);
      }
    }
    const all = allModuleDefinitions(main, others);
    const entry = { version: doc.version, defs: all.main, context: all.others };
    this.parsed.set(key, entry);
    return entry;
  }

  private parseFile(file: string): ParsedPython | null {
    try {
      const open = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
      if (open) return parsePython(open.getText());
      const mtime = fs.statSync(file).mtimeMs;
      const hit = this.files.get(file);
      if (hit && hit.mtime === mtime) return hit.parsed;
      const parsed = parsePython(fs.readFileSync(file, 'utf8'));
      this.files.set(file, { mtime, parsed });
      return parsed;
    } catch (e) {
      this.log(`code lens: could not read ${file}: ${(e as Error).message}`);
      return null;
    }
  }

  private lensesOf(doc: vscode.TextDocument): LayerLens[] {
    const s = this.stored();
    if (!s) return [];
    const layers = s.result.layers.map((l) => ({ tensor: l.tensor, label: l.label, index: l.index }));
    const modules = s.modules.length ? s.modules : (s.result.modules ?? []);
    const { defs, context } = this.definitions(doc);
    return planLenses(defs, context, layers, modules).map((p) => {
      // from the first definition on the line to the end of the one that ends last
      const start = Math.min(...p.defs.map((d) => d.character));
      const end = p.defs.reduce((a, d) =>
        d.endLine > a.endLine || (d.endLine === a.endLine && d.endCharacter > a.endCharacter) ? d : a,
      );
      const range = new vscode.Range(p.line, start, end.endLine, end.endCharacter);
      return new LayerLens(range, s.modelPath, p.defs, p.matches, p.shared);
    });
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!this.enabled()) return [];
    try {
      return this.lensesOf(doc);
    } catch (e) {
      this.log(`code lens: ${(e as Error).message}`);
      return [];
    }
  }

  resolveCodeLens(lens: vscode.CodeLens): vscode.CodeLens {
    if (!(lens instanceof LayerLens)) return lens;
    const s = this.registry.get(lens.modelPath);
    const first = lens.matches[0];
    // The numbers come from the analyses' views (webview/views/registry.ts): ID, NNCS, selectivity …
    const text = s ? lensText(s.result, first.layer.tensor) : '';
    // The layer's name when the line is not simply its module's definition: a conv showing its functional ReLU,
    // a block built elsewhere, or several definitions on one line.
    const where = first.via === 'exact' && !lens.shared ? '' : ` (${layerName(first.layer)})`;
    const more = lens.matches.length > 1 ? ` · ${lens.matches.length} layers` : '';
    lens.command = {
      title: `RepLens: ${text || 'analysed'}${where}${more}`,
      tooltip: `Show ${layerName(first.layer)} of ${path.basename(lens.modelPath)} in the RepLens panel`,
      command: 'replens.revealLayer',
      arguments: [lens.modelPath, first.layer.tensor],
    };
    return lens;
  }

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | null {
    if (!this.enabled()) return null;
    const s = this.stored();
    if (!s) return null;
    const lens = this.lensesOf(doc).find((l) => l.range.contains(pos) || l.range.start.line === pos.line);
    if (!lens) return null;
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = { enabledCommands: ['replens.revealLayer'] };
    md.appendMarkdown(`**RepLens** · ${path.basename(s.modelPath)} · ${s.result.dataset.samples} samples\n\n`);
    md.appendMarkdown(
      `| layer | ${LENS_VALUES.map((x) => x.label).join(' | ')} |\n|---|${LENS_VALUES.map(() => '---:').join('|')}|\n`,
    );
    for (const m of lens.matches.slice(0, 12)) {
      const cells = LENS_VALUES.map((x) => {
        const v = x.value(s.result, m.layer.tensor);
        return v === null ? '—' : x.hover(v);
      });
      const args = encodeURIComponent(JSON.stringify([s.modelPath, m.layer.tensor]));
      const name = layerName(m.layer).replace(/[|[\]]/g, ' ');
      md.appendMarkdown(`| [${name}](command:replens.revealLayer?${args}) | ${cells.join(' | ')} |\n`);
    }
    if (lens.matches.length > 12) md.appendMarkdown(`\n… and ${lens.matches.length - 12} more`);
    return new vscode.Hover(md, lens.range);
  }

  dispose(): void {
    for (const d of this.subs) d.dispose();
    this.changed.dispose();
  }
}

/** The workspace file a Python import names: relative to the importing file (level ≥ 1) or to a workspace folder. */
export function resolveImport(fromFile: string, module: string, level: number): string | null {
  const parts = module ? module.split('.') : [];
  const bases: string[] = [];
  if (level > 0) {
    let dir = path.dirname(fromFile);
    for (let i = 1; i < level; i++) dir = path.dirname(dir);
    bases.push(dir);
  } else {
    for (const f of vscode.workspace.workspaceFolders ?? []) bases.push(f.uri.fsPath);
    bases.push(path.dirname(fromFile));
  }
  for (const b of bases) {
    for (const cand of [path.join(b, ...parts) + '.py', path.join(b, ...parts, '__init__.py')]) {
      if (parts.length && fs.existsSync(cand)) return cand;
    }
  }
  return null;
}
