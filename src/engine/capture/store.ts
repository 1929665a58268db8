// Captured activations held for analyses within a memory budget. Rows stay in memory until the budget is
// reached; beyond it each tensor's rows spill to a .npy file and are read back in chunks. Asking to hold more
// than the budget in memory at once is an E_MEMORY_BUDGET error naming the sizes.
// Spill folders are named after the owning process (replens-spill-<pid>-XXXXXX): a run killed outright (SIGKILL, a
// crash) cannot remove its own, so each new store removes those whose owner process is gone.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ReplensError } from '../errors';
import { NpyWriter, parseNpyHeader } from '../npy';
import { safeStem } from './npydir';
import type { RowSource } from '../metrics/knn';

interface Entry {
  rowShape: number[];
  rowSize: number;
  rows: number;
  chunks: Float32Array[];
  bytesInMemory: number;
  spill: NpyWriter | null;
  /** Read handle on the spill file, opened by the first source() and closed with the entry. */
  readFd?: number;
}

export class ActivationStore {
  private entries = new Map<string, Entry>();
  private memoryBytes = 0;
  private spillDir: string | null = null;
  private spillCount = 0;

  private budget: number;

  constructor(
    budgetBytes: number,
    private readonly spillRoot = os.tmpdir(),
  ) {
    if (!(budgetBytes > 0)) throw new ReplensError('E_ARGUMENT', `memory budget must be positive, got ${budgetBytes}`);
    this.budget = budgetBytes;
    removeStaleSpills(spillRoot);
  }

  get budgetBytes(): number {
    return this.budget;
  }

  /**
   * Lowers the in-memory budget and spills the largest tensors until what is held fits: an analysis that needs
   * working memory of its own (RRA's graphs, once k is known) makes room before it starts.
   */
  shrinkTo(budgetBytes: number): void {
    if (!(budgetBytes > 0) || budgetBytes >= this.budget) return;
    this.budget = budgetBytes;
    this.spillLargest(0);
  }

  get bytesInMemory(): number {
    return this.memoryBytes;
  }
  get spilled(): string[] {
    return [...this.entries].filter(([, e]) => e.spill).map(([t]) => t);
  }
  rows(tensor: string): number {
    return this.entry(tensor).rows;
  }
  rowShape(tensor: string): number[] {
    return this.entry(tensor).rowShape;
  }
  tensors(): string[] {
    return [...this.entries.keys()];
  }

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
      throw new ReplensError(
        'E_ARGUMENT',
        `tensor '${tensor}': rows of shape (${rowShape.join(',')}) appended to rows of shape (${e.rowShape.join(',')})`,
      );
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
    const candidates = [...this.entries]
      .filter(([, e]) => !e.spill)
      .sort((a, b) => b[1].bytesInMemory - a[1].bytesInMemory);
    for (const [tensor, e] of candidates) {
      if (this.memoryBytes + incoming <= this.budgetBytes) break;
      if (!this.spillDir) this.spillDir = fs.mkdtempSync(path.join(this.spillRoot, `${SPILL_PREFIX}${process.pid}-`));
      // In place (read while written), created exclusively; the counter keeps names apart when stems coincide.
      e.spill = new NpyWriter(
        path.join(this.spillDir, `${safeStem(tensor)}-${this.spillCount++}.npy`),
        'float32',
        e.rowShape,
        { inPlace: true },
      );
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
      throw new ReplensError(
        'E_MEMORY_BUDGET',
        `tensor '${tensor}' needs ${mb(bytes)} in memory (${e.rows} × ` +
          `${e.rowShape.join('×')} float32), over the ${mb(this.budgetBytes)} memory budget; ` +
          'raise replens.memoryBudgetMB / --memory-budget, use --reduce, or fewer samples',
      );
    }
    const out = new Float32Array(e.rows * e.rowSize);
    let off = 0;
    for (const c of this.chunks(tensor, Math.max(1, Math.floor((1 << 22) / Math.max(1, e.rowSize))))) {
      out.set(c.data, off);
      off += c.data.length;
    }
    return out;
  }

  /**
   * Rows in chunks of at most `rowsPerChunk`, from memory (views) or from the spill file — read into ONE buffer
   * reused for every chunk, so a chunk's data is valid only until the next iteration (copy what you keep).
   */
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
      const whole = new Float32Array(Math.min(rowsPerChunk, e.rows) * e.rowSize);
      for (let r = 0; r < e.rows; r += rowsPerChunk) {
        const n = Math.min(rowsPerChunk, e.rows - r);
        const buf = whole.subarray(0, n * e.rowSize);
        fs.readSync(
          fd,
          new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
          0,
          buf.byteLength,
          offset + r * e.rowSize * 4,
        );
        yield { start: r, rows: n, data: buf };
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * A tensor's rows for reading on demand (kNN tiles, single rows): views of the in-memory chunks where a block lies
   * in one chunk, else copies; positioned reads from the spill file. Nothing beyond the asked rows is held.
   */
  source(tensor: string): RowSource {
    const e = this.entry(tensor);
    const D = e.rowSize,
      n = e.rows;
    const check = (start: number, count: number) => {
      if (!(start >= 0 && count >= 0 && start + count <= n))
        throw new ReplensError('E_INTERNAL', `rows [${start}, ${start + count}) of '${tensor}' asked, it has ${n}`);
    };
    // The entry may spill while the source is in use (other tensors appended meanwhile): each read looks again.
    const slots = [new Float32Array(D), new Float32Array(D)];
    let offset = -1;
    const fromFile = (start: number, out: Float32Array) => {
      const file = e.spill!.file;
      const fd = (e.readFd ??= fs.openSync(file, 'r'));
      if (offset < 0) {
        const head = Buffer.alloc(4096);
        fs.readSync(fd, head, 0, head.length, 0);
        offset = parseNpyHeader(head, file).dataOffset;
      }
      fs.readSync(
        fd,
        new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
        0,
        out.byteLength,
        offset + start * D * 4,
      );
      return out;
    };
    let starts: number[] = [];
    const chunkOf = (r: number) => {
      // last chunk starting at or before r
      if (starts.length !== e.chunks.length) {
        starts = [];
        let at = 0;
        for (const c of e.chunks) {
          starts.push(at);
          at += c.length / D;
        }
      }
      let lo = 0,
        hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= r) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const block = (s: number, c: number, into?: Float32Array): Float32Array => {
      check(s, c);
      const target = () => (into && into.length >= c * D ? into.subarray(0, c * D) : new Float32Array(c * D));
      if (e.spill) return fromFile(s, target());
      const q = chunkOf(s),
        off = s - starts[q];
      if (off + c <= e.chunks[q].length / D) return e.chunks[q].subarray(off * D, (off + c) * D);
      const out = target();
      let filled = 0;
      for (let p = q; filled < c; p++) {
        const from = p === q ? off : 0;
        const take = Math.min(c - filled, e.chunks[p].length / D - from);
        out.set(e.chunks[p].subarray(from * D, (from + take) * D), filled * D);
        filled += take;
      }
      return out;
    };
    const row = (i: number, slot: 0 | 1) => {
      if (!e.spill) return block(i, 1);
      check(i, 1);
      return fromFile(i, slots[slot]);
    };
    return { rows: n, cols: D, block, row };
  }

  /** Forgets a tensor (and deletes its spill file): derived data such as pooled copies. */
  remove(tensor: string): void {
    const e = this.entries.get(tensor);
    if (!e) return;
    this.memoryBytes -= e.bytesInMemory;
    if (e.readFd !== undefined) fs.closeSync(e.readFd);
    e.spill?.abort();
    this.entries.delete(tensor);
  }

  dispose(): void {
    for (const e of this.entries.values()) {
      if (e.readFd !== undefined) fs.closeSync(e.readFd);
      e.spill?.abort();
    }
    this.entries.clear();
    this.memoryBytes = 0;
    if (this.spillDir) fs.rmSync(this.spillDir, { recursive: true, force: true });
    this.spillDir = null;
  }
}

const SPILL_PREFIX = 'replens-spill-';
/** What mkdtemp makes of `${SPILL_PREFIX}${pid}-`: six random characters. */
const SPILL_NAME = /^replens-spill-(\d+)-[A-Za-z0-9]{6}$/;

/** Whether a process with this id exists (signal 0 only checks; EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes spill folders under `root` left by RepLens processes that no longer run: only folders (not links) named
 * exactly as a store names them, owned by this user, whose pid is not alive. A live process's folder — this one's
 * included — is never touched; a reused pid only keeps a stale folder longer. Returns the folders removed.
 */
export function removeStaleSpills(root: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    const m = SPILL_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const dir = path.join(root, name);
    try {
      const st = fs.lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      /* gone meanwhile, or not ours to remove: a later store tries again */
    }
  }
  return removed;
}

function mb(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1048576).toFixed(1)} MB`;
}
