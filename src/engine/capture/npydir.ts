// Writes captured tensors as float32 C-order .npy files, one per tensor, appended batch by batch, with
// index.json mapping each tensor name to its file. Tensor names contain '/', ':' and worse; file names are made safe.
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { NpyWriter } from '../npy';
import { fileError } from '../npy';
import { ReplensError } from '../errors';
import type { CapturedBatch, CapturePlan } from './capture';

/** A portable file stem for a tensor name: [A-Za-z0-9._-] only, no leading dot, at most 120 characters. */
export function safeStem(name: string): string {
  let s = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').replace(/_+$/, '');
  if (!s) s = 'tensor';
  if (s.length > 120) s = s.slice(0, 100) + '_' + createHash('sha256').update(name).digest('hex').slice(0, 12);
  // Names reserved on Windows.
  if (/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(s)) s = '_' + s;
  return s;
}

/** File names for tensors, unique even when two names sanitise to the same stem. */
export function tensorFileNames(tensors: string[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const t of tensors) {
    let stem = safeStem(t);
    if (used.has(stem.toLowerCase())) stem = `${stem}-${createHash('sha256').update(t).digest('hex').slice(0, 8)}`;
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

  constructor(readonly dir: string, private readonly plan: CapturePlan, private readonly meta: { model: string; dataset: string }) {
    try { fs.mkdirSync(dir, { recursive: true }); } catch (e) { throw fileError(dir, e); }
    this.files = tensorFileNames(plan.outputs.map((o) => o.tensor));
  }

  write(b: CapturedBatch): void {
    for (const o of this.plan.outputs) {
      const v = b.values.get(o.tensor)!;
      let w = this.writers.get(o.tensor);
      if (!w) {
        w = new NpyWriter(path.join(this.dir, this.files.get(o.tensor)!), 'float32', v.dims.slice(1));
        this.writers.set(o.tensor, w);
      }
      if (v.dims[0] !== b.count) throw new ReplensError('E_RUNTIME', `tensor '${o.tensor}' has ${v.dims[0]} rows for a batch of ${b.count}; its first axis is not the batch`);
      w.append(v.data, b.count);
    }
    if (b.labels) {
      if (!this.labels) this.labels = new NpyWriter(path.join(this.dir, 'labels.npy'), 'int64', []);
      this.labels.append(BigInt64Array.from(b.labels, (l) => BigInt(l)), b.count);
    }
    this.samples += b.count;
  }

  /** Finalises every file (also after a cancel: the batches written so far stay readable). */
  close(complete: boolean): NpyDirManifest {
    const tensors: NpyDirManifest['tensors'] = {};
    for (const o of this.plan.outputs) {
      const w = this.writers.get(o.tensor);
      w?.close();
      tensors[o.tensor] = { file: this.files.get(o.tensor)!, shape: w ? [w.rowCount, ...w.rowShape] : [], applied: o.applied, dtype: 'float32' };
    }
    this.labels?.close();
    const index: Record<string, string> = {};
    for (const [t, f] of this.files) if (this.writers.has(t)) index[t] = f;
    const manifest: NpyDirManifest = {
      version: 1, model: this.meta.model, input: this.plan.input, samples: this.samples, complete,
      reduce: this.plan.reduce.kind === 'avgpool' || this.plan.reduce.kind === 'maxpool' ? `${this.plan.reduce.kind}:${this.plan.reduce.k}` : this.plan.reduce.kind,
      tensors, labels: this.labels ? 'labels.npy' : null, dataset: this.meta.dataset,
    };
    writeJsonAtomic(path.join(this.dir, 'index.json'), index);
    writeJsonAtomic(path.join(this.dir, 'manifest.json'), manifest);
    return manifest;
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
    fs.renameSync(tmp, file);
  } catch (e) { throw fileError(file, e); }
}
