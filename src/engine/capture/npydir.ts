// Writes captured tensors as float32 C-order .npy files, one per tensor, appended batch by batch, with
// index.json mapping each tensor name to its file. Tensor names contain '/', ':' and worse; file names are made safe,
// and never take the name of one of the folder's fixed files (a tensor called `labels` must not overwrite the labels).
// Every file is written atomically (fswrite.ts): a symlink planted in the folder is replaced, never written through.
import * as path from 'path';
import { createHash } from 'crypto';
import { NpyWriter } from '../npy';
import { ensureDir, writeAtomic } from '../fswrite';
import { ReplensError } from '../errors';
import type { CapturedBatch, CapturePlan } from './capture';

/** A portable file stem for a tensor name: [A-Za-z0-9._-] only, no leading dot, at most 120 characters. */
export function safeStem(name: string): string {
  let s = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .replace(/_+$/, '');
  if (!s) s = 'tensor';
  if (s.length > 120) s = s.slice(0, 100) + '_' + createHash('sha256').update(name).digest('hex').slice(0, 12);
  // Names reserved on Windows.
  if (/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(s)) s = '_' + s;
  return s;
}

/** The fixed files of an activations folder; no tensor file takes their stems. */
export const LABELS_FILE = 'labels.npy';
export const INDEX_FILE = 'index.json';
export const MANIFEST_FILE = 'manifest.json';
const FIXED_STEMS = [LABELS_FILE, INDEX_FILE, MANIFEST_FILE].map((f) => f.replace(/\.[a-z]+$/, ''));

/**
 * File names for tensors, unique even when two names sanitise to the same stem, and never one of `reserved` stems.
 * Compared case-insensitively: macOS and Windows folders are.
 */
export function tensorFileNames(tensors: string[], reserved: readonly string[] = []): Map<string, string> {
  const used = new Set(reserved.map((r) => r.toLowerCase()));
  const out = new Map<string, string>();
  for (const t of tensors) {
    const base = safeStem(t);
    let stem = base;
    // A suffix from the name's hash; a further collision (a tensor literally named like that) hashes again.
    for (let k = 1; used.has(stem.toLowerCase()); k++)
      stem = `${base}-${createHash('sha256')
        .update(k === 1 ? t : `${k}:${t}`)
        .digest('hex')
        .slice(0, 8)}`;
    used.add(stem.toLowerCase());
    out.set(t, `${stem}.npy`);
  }
  return out;
}

export interface NpyDirManifest {
  version: 1;
  model: string;
  input: string;
  samples: number;
  complete: boolean;
  reduce: string;
  tensors: Record<string, { file: string; shape: number[]; applied: string; dtype: 'float32' }>;
  labels: string | null;
  dataset: string;
}

export class NpyDirSink {
  private writers = new Map<string, NpyWriter>();
  private labels: NpyWriter | null = null;
  private samples = 0;
  readonly files: Map<string, string>;

  constructor(
    readonly dir: string,
    private readonly plan: CapturePlan,
    private readonly meta: { model: string; dataset: string },
  ) {
    ensureDir(dir);
    this.files = tensorFileNames(
      plan.outputs.map((o) => o.tensor),
      FIXED_STEMS,
    );
  }

  write(b: CapturedBatch): void {
    // Checked before anything is appended, so the files never disagree on how many rows they hold.
    for (const o of this.plan.outputs) {
      const rows = b.values.get(o.tensor)!.dims[0];
      if (rows !== b.count)
        throw new ReplensError(
          'E_RUNTIME',
          `tensor '${o.tensor}' has ${rows} rows for a batch of ${b.count}; its first axis is not the batch`,
        );
    }
    for (const o of this.plan.outputs) {
      const v = b.values.get(o.tensor)!;
      let w = this.writers.get(o.tensor);
      if (!w) {
        w = new NpyWriter(path.join(this.dir, this.files.get(o.tensor)!), 'float32', v.dims.slice(1));
        this.writers.set(o.tensor, w);
      }
      w.append(v.data, b.count);
    }
    if (b.labels) {
      if (!this.labels) this.labels = new NpyWriter(path.join(this.dir, LABELS_FILE), 'int64', []);
      this.labels.append(
        BigInt64Array.from(b.labels, (l) => BigInt(l)),
        b.count,
      );
    }
    this.samples += b.count;
  }

  /**
   * Finalises every file (also after a cancel or an error: the batches written so far stay readable). When a file
   * cannot be finished, the unfinished ones are dropped (no temporary file is left) and the error thrown.
   */
  close(complete: boolean): NpyDirManifest {
    const writers = [...this.writers.values(), ...(this.labels ? [this.labels] : [])];
    try {
      for (const w of writers) w.close();
    } catch (e) {
      for (const w of writers) w.abort();
      throw e;
    }
    const tensors: NpyDirManifest['tensors'] = {};
    for (const o of this.plan.outputs) {
      const w = this.writers.get(o.tensor);
      tensors[o.tensor] = {
        file: this.files.get(o.tensor)!,
        shape: w ? [w.rowCount, ...w.rowShape] : [],
        applied: o.applied,
        dtype: 'float32',
      };
    }
    const index: Record<string, string> = {};
    for (const [t, f] of this.files) if (this.writers.has(t)) index[t] = f;
    const manifest: NpyDirManifest = {
      version: 1,
      model: this.meta.model,
      input: this.plan.input,
      samples: this.samples,
      complete,
      reduce:
        this.plan.reduce.kind === 'avgpool' || this.plan.reduce.kind === 'maxpool'
          ? `${this.plan.reduce.kind}:${this.plan.reduce.k}`
          : this.plan.reduce.kind,
      tensors,
      labels: this.labels ? LABELS_FILE : null,
      dataset: this.meta.dataset,
    };
    const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
    writeAtomic(path.join(this.dir, INDEX_FILE), json(index));
    writeAtomic(path.join(this.dir, MANIFEST_FILE), json(manifest));
    return manifest;
  }
}
