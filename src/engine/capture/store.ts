// Captured activations held for analyses within a memory budget. Rows stay in memory until the budget is
// reached; beyond it each tensor's rows spill to a .npy file and are read back in chunks. Asking to hold more
// than the budget in memory at once is an E_MEMORY_BUDGET error naming the sizes.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ReplensError } from '../errors';
import { NpyWriter, parseNpyHeader } from '../npy';
import { safeStem } from './npydir';

interface Entry {
  rowShape: number[];
  rowSize: number;
  rows: number;
  chunks: Float32Array[];
  bytesInMemory: number;
  spill: NpyWriter | null;
}

export class ActivationStore {
  private entries = new Map<string, Entry>();
  private memoryBytes = 0;
  private spillDir: string | null = null;

  constructor(readonly budgetBytes: number, private readonly spillRoot = os.tmpdir()) {
    if (!(budgetBytes > 0)) throw new ReplensError('E_ARGUMENT', `memory budget must be positive, got ${budgetBytes}`);
  }

  get bytesInMemory(): number { return this.memoryBytes; }
  get spilled(): string[] { return [...this.entries].filter(([, e]) => e.spill).map(([t]) => t); }
  rows(tensor: string): number { return this.entry(tensor).rows; }
  rowShape(tensor: string): number[] { return this.entry(tensor).rowShape; }
  tensors(): string[] { return [...this.entries.keys()]; }

  private entry(tensor: string): Entry {
    const e = this.entries.get(tensor);
    if (!e) throw new ReplensError('E_UNKNOWN_TENSOR', `no captured values for tensor '${tensor}'`);
    return e;
  }

  append(tensor: string, data: Float32Array, rows: number, rowShape: number[]): void {
    let e = this.entries.get(tensor);
    const rowSize = rowShape.reduce((a, b) => a * b, 1);
    if (!e) {
      e = { rowShape: [...rowShape], rowSize, rows: 0, chunks: [], bytesInMemory: 0, spill: null };
      this.entries.set(tensor, e);
    } else if (e.rowSize !== rowSize) {
      throw new ReplensError('E_ARGUMENT', `tensor '${tensor}': rows of shape (${rowShape}) appended to rows of shape (${e.rowShape})`);
    }
    const copy = data.slice(0, rows * rowSize); // own the memory: ORT may reuse its output buffers
    if (!e.spill && this.memoryBytes + copy.byteLength > this.budgetBytes) this.spillLargest(copy.byteLength);
    if (e.spill) e.spill.append(copy, rows);
    else {
      e.chunks.push(copy);
      e.bytesInMemory += copy.byteLength;
      this.memoryBytes += copy.byteLength;
    }
    e.rows += rows;
  }

  /** Moves the largest in-memory tensors to disk until `incoming` more bytes fit the budget. */
  private spillLargest(incoming: number): void {
    const candidates = [...this.entries].filter(([, e]) => !e.spill).sort((a, b) => b[1].bytesInMemory - a[1].bytesInMemory);
    for (const [tensor, e] of candidates) {
      if (this.memoryBytes + incoming <= this.budgetBytes) break;
      if (!this.spillDir) this.spillDir = fs.mkdtempSync(path.join(this.spillRoot, 'replens-spill-'));
      e.spill = new NpyWriter(path.join(this.spillDir, `${safeStem(tensor)}-${this.entries.size}-${Date.now()}.npy`), 'float32', e.rowShape);
      for (const c of e.chunks) e.spill.append(c, c.length / e.rowSize);
      this.memoryBytes -= e.bytesInMemory;
      e.chunks = [];
      e.bytesInMemory = 0;
    }
  }

  /** All rows of a tensor as one array; fails when that exceeds the memory budget. */
  materialize(tensor: string): Float32Array {
    const e = this.entry(tensor);
    const bytes = e.rows * e.rowSize * 4;
    if (bytes > this.budgetBytes) {
      throw new ReplensError('E_MEMORY_BUDGET', `tensor '${tensor}' needs ${mb(bytes)} in memory (${e.rows} × ${e.rowShape.join('×')} float32), over the ${mb(this.budgetBytes)} memory budget; raise replens.memoryBudgetMB / --memory-budget, use --reduce, or fewer samples`);
    }
    const out = new Float32Array(e.rows * e.rowSize);
    let off = 0;
    for (const c of this.chunks(tensor, Math.max(1, Math.floor((1 << 22) / Math.max(1, e.rowSize))))) { out.set(c.data, off); off += c.data.length; }
    return out;
  }

  /** Rows in chunks of at most `rowsPerChunk`, from memory or from the spill file. */
  *chunks(tensor: string, rowsPerChunk: number): Generator<{ start: number; rows: number; data: Float32Array }> {
    const e = this.entry(tensor);
    if (!e.spill) {
      let start = 0;
      for (const c of e.chunks) {
        const rows = c.length / e.rowSize;
        for (let r = 0; r < rows; r += rowsPerChunk) {
          const n = Math.min(rowsPerChunk, rows - r);
          yield { start: start + r, rows: n, data: c.subarray(r * e.rowSize, (r + n) * e.rowSize) };
        }
        start += rows;
      }
      return;
    }
    const fd = fs.openSync(e.spill.file, 'r');
    try {
      const head = Buffer.alloc(4096);
      fs.readSync(fd, head, 0, head.length, 0);
      const offset = parseNpyHeader(head, e.spill.file).dataOffset;
      for (let r = 0; r < e.rows; r += rowsPerChunk) {
        const n = Math.min(rowsPerChunk, e.rows - r);
        const buf = new Float32Array(n * e.rowSize);
        fs.readSync(fd, new Uint8Array(buf.buffer), 0, buf.byteLength, offset + r * e.rowSize * 4);
        yield { start: r, rows: n, data: buf };
      }
    } finally { fs.closeSync(fd); }
  }

  dispose(): void {
    for (const e of this.entries.values()) e.spill?.close();
    this.entries.clear();
    this.memoryBytes = 0;
    if (this.spillDir) fs.rmSync(this.spillDir, { recursive: true, force: true });
    this.spillDir = null;
  }
}

function mb(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1048576).toFixed(1)} MB`;
}
