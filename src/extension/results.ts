// The latest analysis of each model in this workspace (pure Node, no vscode): what the code lenses, hovers and the
// status bar read, and what a restored panel shows. Kept on disk under the extension's workspace storage, one JSON
// file per model, so lenses and panels come back after a reload without re-running anything.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { AnalysisRunState, ModuleIndex } from '../shared/messages';
import { upgradeResult, type AnalysisResult } from '../shared/result';
import { writeAtomic } from '../engine/fswrite';

export interface StoredAnalysis {
  modelPath: string;
  result: AnalysisResult;
  modules: ModuleIndex[];
  state: AnalysisRunState;
}

export class ResultRegistry {
  private readonly byModel = new Map<string, StoredAnalysis>();
  private readonly listeners = new Set<() => void>();

  /** `dir`: where to keep the results (null: memory only). Unreadable files are skipped and reported to `log`. */
  constructor(
    private readonly dir: string | null,
    log: (line: string) => void = () => undefined,
  ) {
    if (!dir || !fs.existsSync(dir)) return;
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json'))) {
      try {
        const s = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as StoredAnalysis;
        const result = upgradeResult(s?.result);
        if (!result || typeof s.modelPath !== 'string') throw new Error('not a stored analysis');
        s.result = result;
        this.byModel.set(path.resolve(s.modelPath), s);
      } catch (e) {
        log(`skipped the stored result ${f}: ${(e as Error).message}`);
      }
    }
  }

  get(modelPath: string): StoredAnalysis | undefined {
    return this.byModel.get(path.resolve(modelPath));
  }
  models(): string[] {
    return [...this.byModel.keys()].sort();
  }

  set(modelPath: string, result: AnalysisResult, modules: ModuleIndex[], state: AnalysisRunState): void {
    const key = path.resolve(modelPath);
    const s: StoredAnalysis = { modelPath: key, result, modules, state };
    this.byModel.set(key, s);
    if (this.dir) {
      fs.mkdirSync(this.dir, { recursive: true });
      writeAtomic(
        path.join(this.dir, `${crypto.createHash('sha256').update(key).digest('hex').slice(0, 24)}.json`),
        JSON.stringify(s),
      );
    }
    for (const l of this.listeners) l();
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }
}
