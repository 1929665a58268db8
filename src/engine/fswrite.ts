// Writing output files safely. Every output is written to a temporary file in the target's folder and renamed over
// the target when complete: readers never see a half-written file, and a rename replaces whatever sits at the target
// (a symlink included) instead of writing through it, so a link planted in an output folder cannot redirect a write
// outside it. Temporary files are created exclusively (O_EXCL), which refuses an existing name even when it is a
// symlink, and are removed again when the write fails or is abandoned.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ReplensError } from './errors';
import { fileError } from './fsafe';

/** Creates `dir` and its parents unless it is a folder already (a symlink to a folder is fine: the user chose it). */
export function ensureDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ReplensError('E_IO', `${dir} exists and is not a folder`);
    if (code === 'ENOTDIR') throw new ReplensError('E_IO', `${dir}: part of the path is a file, not a folder`);
    if (code === 'ENOENT' && isSymlink(dir))
      throw new ReplensError('E_IO', `${dir} is a symbolic link to a folder that does not exist`);
    throw fileError(dir, e);
  }
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A hidden, unguessable name next to `file` (kept short: the target's name may already be near the 255-byte limit). */
function tempName(file: string): string {
  const base = path.basename(file).slice(0, 96);
  return path.join(path.dirname(file), `.${base}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
}

/**
 * A file being written. By default the bytes go to a temporary file that `commit()` renames over `file`; with
 * `inPlace` (scratch files in a private folder, read while still being written) they go to `file` itself, which must
 * not exist yet. Either way the file is created exclusively, and `discard()` removes it.
 */
export class OutputFile {
  /** Where the bytes are while writing. */
  readonly path: string;
  private fd: number | null;
  private done = false;

  constructor(
    readonly file: string,
    o: { inPlace?: boolean } = {},
  ) {
    for (let attempt = 0; ; attempt++) {
      const p = o.inPlace ? file : tempName(file);
      try {
        this.fd = fs.openSync(p, 'wx', 0o666);
        this.path = p;
        return;
      } catch (e) {
        // A random temporary name that exists is a collision (or something planted): take another.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || o.inPlace || attempt >= 4) throw fileError(file, e);
      }
    }
  }

  /** Writes all of `data` at `position` (default: the current end of what was written sequentially). */
  write(data: string | Uint8Array, position?: number): void {
    if (this.fd === null) throw new ReplensError('E_INTERNAL', `${this.file} was written after it was closed`);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    try {
      for (let off = 0; off < bytes.length;) {
        const n = fs.writeSync(this.fd, bytes, off, bytes.length - off, position === undefined ? null : position + off);
        off += n;
      }
    } catch (e) {
      throw fileError(this.file, e);
    }
  }

  /** Cuts the file to `length` bytes (after a failed write, so what remains is consistent); best effort. */
  truncate(length: number): void {
    try {
      if (this.fd !== null) fs.ftruncateSync(this.fd, length);
    } catch {
      /* the caller reports the write error */
    }
  }

  /** Closes the descriptor without finishing, for writers that fill the file by its path. */
  release(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    fs.closeSync(fd);
  }

  /** Closes the file and moves it to `file`; on failure the temporary file is removed and the error thrown. */
  commit(): void {
    if (this.done) return;
    try {
      this.release();
      if (this.path !== this.file) fs.renameSync(this.path, this.file);
      this.done = true;
    } catch (e) {
      this.discard();
      throw fileError(this.file, e);
    }
  }

  /** Closes and removes the file (never throws: it runs while another error or a cancel is under way). */
  discard(): void {
    if (this.done) return;
    this.done = true;
    try {
      this.release();
    } catch {
      /* already closed */
    }
    try {
      fs.rmSync(this.path, { force: true });
    } catch {
      /* nothing more to do */
    }
  }
}

/** Writes `file` atomically (folders created); a symlink at `file` is replaced, never followed. */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  writeAtomicVia(file, (out) => out.write(data));
}

/**
 * The same for writers that need the file itself: `fill` writes the bytes, through `out` or by the path `out.path`
 * (a regular file this process just created, e.g. for a renderer that takes a file name).
 */
export function writeAtomicVia(file: string, fill: (out: OutputFile) => void): void {
  ensureDir(path.dirname(path.resolve(file)));
  const out = new OutputFile(file);
  try {
    fill(out);
  } catch (e) {
    out.discard();
    throw e;
  }
  out.commit();
}
