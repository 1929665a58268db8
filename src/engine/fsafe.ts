// Reading untrusted files safely: only regular files are read (a FIFO, a device such as /dev/zero, a socket or a
// folder is refused by type before a byte is read, so nothing can block or stream forever), and sizes are checked
// against a limit before anything is allocated. Files are opened non-blocking and checked with fstat on the open
// descriptor, so a path swapped for a FIFO between a check and the open cannot block either.
import * as fs from 'fs';
import { ReplensError, type ErrorCode } from './errors';

/** A one-line error for a failed file operation, by its errno code. */
export function fileError(file: string, e: unknown): ReplensError {
  if (e instanceof ReplensError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new ReplensError('E_NOT_FOUND', `${file}: no such file`);
  if (code === 'EISDIR') return new ReplensError('E_IO', `${file} is a folder, not a file`);
  if (code === 'EACCES') return new ReplensError('E_IO', `${file}: permission denied`);
  if (code === 'ELOOP') return new ReplensError('E_IO', `${file}: too many levels of symbolic links`);
  return new ReplensError('E_IO', `${file}: ${(e as Error)?.message ?? e}`);
}

/** Largest file read whole into memory when the caller gives no limit (V8's largest Buffer is about 4 GiB). */
export const DEFAULT_MAX_READ_BYTES = 2 ** 31;

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. It does not exist on Windows,
// where FIFOs are not files.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

export interface ReadOptions {
  /** Refuse files larger than this many bytes (default DEFAULT_MAX_READ_BYTES). */
  maxBytes?: number;
  /** What the file is, for messages ('model', 'image', 'labels file'); default 'file'. */
  what?: string;
  /** Error code for a file that is not regular or too large (default E_IO). */
  code?: ErrorCode;
}

export function describeKind(st: fs.Stats): string {
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} bytes`;
}

function notRegular(file: string, st: fs.Stats, o: ReadOptions): ReplensError {
  return new ReplensError(
    o.code ?? 'E_IO',
    `${file} is ${describeKind(st)}, not a regular file; refused (RepLens reads only regular files)`,
  );
}

function tooLarge(file: string, size: number, max: number, o: ReadOptions): ReplensError {
  return new ReplensError(
    o.code ?? 'E_IO',
    `${file} is ${formatBytes(size)}, over the ${formatBytes(max)} ` +
      `limit for ${o.what ?? 'a file'} read into memory; refused`,
  );
}

/** Stats `file` (following symlinks) and refuses anything but a regular file. */
export function statRegular(file: string, o: ReadOptions = {}): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw fileError(file, e);
  }
  if (!st.isFile()) throw notRegular(file, st, o);
  return st;
}

/** Whether `file` is a regular file (following symlinks); false for anything missing or of another type. */
export function isRegularFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** A regular file opened for positioned reads; `size` is its size when opened. */
export interface RegularFile {
  fd: number;
  size: number;
  close(): void;
}

/**
 * Opens `file` for reading, refusing anything but a regular file (checked on the descriptor) and sizes over `maxBytes`.
 */
export function openRegular(file: string, o: ReadOptions = {}): RegularFile {
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (e) {
    throw fileError(file, e);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notRegular(file, st, o);
    const max = o.maxBytes ?? Number.POSITIVE_INFINITY;
    if (st.size > max) throw tooLarge(file, st.size, max, o);
    let closed = false;
    return {
      fd,
      size: st.size,
      close: () => {
        if (!closed) {
          closed = true;
          fs.closeSync(fd);
        }
      },
    };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Reads `length` bytes at `position` of an open file; a file that ends early is an error naming it. */
export function readRange(f: RegularFile, file: string, position: number, length: number, o: ReadOptions = {}): Buffer {
  if (position < 0 || length < 0 || position + length > f.size) {
    throw new ReplensError(
      o.code ?? 'E_IO',
      `${file}: bytes [${position}, ${position + length}) lie beyond its end (${f.size} bytes)`,
    );
  }
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = fs.readSync(f.fd, buf, done, length - done, position + done);
    } catch (e) {
      throw fileError(file, e);
    }
    if (n === 0)
      throw new ReplensError(
        o.code ?? 'E_IO',
        `${file} ended after ${position + done} bytes while reading (it shrank while being read)`,
      );
    done += n;
  }
  return buf;
}

/** Reads a whole regular file, refusing other types and sizes over `maxBytes` before allocating. */
export function readRegularFileSync(file: string, o: ReadOptions = {}): Buffer {
  const f = openRegular(file, { ...o, maxBytes: o.maxBytes ?? DEFAULT_MAX_READ_BYTES });
  try {
    return readRange(f, file, 0, f.size, o);
  } finally {
    f.close();
  }
}

/** The asynchronous form of readRegularFileSync, for readers that overlap reads with work (image folders). */
export async function readRegularFile(file: string, o: ReadOptions = {}): Promise<Buffer> {
  const max = o.maxBytes ?? DEFAULT_MAX_READ_BYTES;
  let h: fs.promises.FileHandle;
  try {
    h = await fs.promises.open(file, OPEN_FLAGS);
  } catch (e) {
    throw fileError(file, e);
  }
  try {
    const st = await h.stat();
    if (!st.isFile()) throw notRegular(file, st, o);
    if (st.size > max) throw tooLarge(file, st.size, max, o);
    const buf = Buffer.allocUnsafe(st.size);
    let done = 0;
    while (done < st.size) {
      let n: number;
      try {
        ({ bytesRead: n } = await h.read(buf, done, st.size - done, done));
      } catch (e) {
        throw fileError(file, e);
      }
      if (n === 0)
        throw new ReplensError(
          o.code ?? 'E_IO',
          `${file} ended after ${done} bytes while reading (it shrank while being read)`,
        );
      done += n;
    }
    return buf;
  } finally {
    await h.close();
  }
}

/** The first `n` bytes of a regular file (fewer when it is shorter), for telling formats apart by magic bytes. */
export function readHead(file: string, n: number, o: ReadOptions = {}): Buffer {
  const f = openRegular(file, { ...o, maxBytes: Number.POSITIVE_INFINITY });
  try {
    return readRange(f, file, 0, Math.min(n, f.size), o);
  } finally {
    f.close();
  }
}
