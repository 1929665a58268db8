// torchvision-style ImageFolder: root/<class>/<images>. Classes are the sub-folders sorted by name (their index is
// the label, as torchvision's find_classes gives it); images are found as torchvision's make_dataset walks
// (each class folder recursively, folders in sorted path order, files sorted). Hidden (dot) folders and files are
// skipped — they are editor/OS debris (.ipynb_checkpoints, ._x.png), never classes or images. Entries named like
// images that are not regular files (a FIFO named a.png, a link to /dev/zero) are skipped with a note naming them:
// opening one could block forever or stream without end, and the reader refuses them by type as well.
// Images are decoded a batch at a time; only the file list is held. Header sizes are checked before decoding.
// A class folder without a single image is an error, as torchvision's ImageFolder raises FileNotFoundError. An image
// that cannot be read or decoded is an error naming it, unless `skipUnreadable`: then it is left out of the batch
// and reported to `onSkip` (open.ts drops it, and its label, from the run).
import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { ReplensError } from '../errors';
import { fileError, formatBytes, readRegularFile } from '../fsafe';
import { checkBudget, DEFAULT_DATA_BUDGET_BYTES, type RawSample, type SampleSource } from './source';
import { DEFLATE_MAX_RATIO } from './zip';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export interface ImageFolderIndex {
  classes: string[];
  /** Absolute image paths in dataset order. */
  files: string[];
  labels: Int32Array;
  /** Files that are not .png/.jpg/.jpeg (or hidden), or not regular files, not counted as samples. */
  skipped: number;
  /** Entries named like images that are not regular files (FIFOs, devices, sockets, links to them): never opened. */
  irregular: string[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function isDir(p: string, d: fs.Dirent): boolean {
  if (d.isDirectory()) return true;
  if (!d.isSymbolicLink()) return false;
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Whether an image-named entry is a regular file (links followed). A dangling link counts: reading it says so. */
function isImageFile(p: string, d: fs.Dirent): boolean {
  if (d.isFile()) return true;
  if (!d.isSymbolicLink()) return false;
  try {
    return fs.statSync(p).isFile();
  } catch {
    return true;
  }
}

function listDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw fileError(dir, e);
  }
}

export function scanImageFolder(root: string): ImageFolderIndex {
  const top = listDir(root);
  const classes = top
    .filter((d) => !d.name.startsWith('.') && isDir(path.join(root, d.name), d))
    .map((d) => d.name)
    .sort(byName);
  let skipped = top.filter((d) => !isDir(path.join(root, d.name), d)).length;
  if (!classes.length) {
    throw new ReplensError(
      'E_DATASET',
      `${root} has no class folders; an ImageFolder is <root>/<class>/<image>.png|jpg`,
    );
  }
  const files: string[] = [],
    labels: number[] = [],
    irregular: string[] = [],
    empty: string[] = [];
  classes.forEach((cls, label) => {
    // (folder, its image files) for the class folder and every folder below it; symlink loops are cut by realpath.
    const dirs: [string, string[]][] = [];
    const seen = new Set<string>();
    const walk = (dir: string) => {
      let real: string;
      try {
        real = fs.realpathSync(dir);
      } catch (e) {
        throw fileError(dir, e);
      }
      if (seen.has(real)) return;
      seen.add(real);
      const images: string[] = [];
      for (const d of listDir(dir)) {
        const p = path.join(dir, d.name);
        if (d.name.startsWith('.')) {
          if (!d.isDirectory()) skipped++;
          continue;
        }
        if (isDir(p, d)) walk(p);
        else if (!IMAGE_EXTENSIONS.includes(path.extname(d.name).toLowerCase())) skipped++;
        else if (isImageFile(p, d)) images.push(d.name);
        else {
          skipped++;
          irregular.push(p);
        }
      }
      dirs.push([dir, images.sort(byName)]);
    };
    walk(path.join(root, cls));
    dirs.sort((a, b) => byName(a[0], b[0]));
    for (const [dir, names] of dirs)
      for (const n of names) {
        files.push(path.join(dir, n));
        labels.push(label);
      }
    if (!dirs.some(([, names]) => names.length)) empty.push(cls);
  });
  if (empty.length) {
    const names = empty.map((c) => `"${c}"`).join(', ');
    throw new ReplensError(
      'E_DATASET',
      `${root}: found no valid image for the class folder${empty.length > 1 ? 's' : ''} ` +
        `${names} (supported extensions: ${IMAGE_EXTENSIONS.join(', ')}); remove ` +
        `${empty.length > 1 ? 'them' : 'it'} or add images`,
    );
  }
  return { classes, files, labels: Int32Array.from(labels), skipped, irregular };
}

const imageError = (file: string, reason: string) => new ReplensError('E_IMAGE', `cannot decode ${file}: ${reason}`);

/** PIL's decompression-bomb limit (2 × Image.MAX_IMAGE_PIXELS): torchvision's loader refuses larger images too. */
export const MAX_IMAGE_PIXELS = 2 * 89_478_485;

interface ImageHeader {
  kind: 'PNG' | 'JPEG';
  width: number;
  height: number;
  /** Bytes the decoder and our copy need, about. */
  workBytes: number;
  /** Bytes of pixel data the header implies before compression (PNG: the filtered scanlines), or 0 when unknown. */
  rawBytes: number;
}

// Samples per pixel by PNG colour type.
const PNG_SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Size from a PNG's IHDR; null when it has none that makes sense (pngjs then says what is wrong). */
function pngHeader(b: Buffer): ImageHeader | null {
  if (b.length < 33 || b.readUInt32BE(8) !== 13 || b.toString('latin1', 12, 16) !== 'IHDR') return null;
  const width = b.readUInt32BE(16),
    height = b.readUInt32BE(20),
    depth = b[24],
    samples = PNG_SAMPLES[b[25]];
  if (!samples || ![1, 2, 4, 8, 16].includes(depth)) return null;
  const px = width * height,
    wide = depth === 16 ? 2 : 1;
  const rawBytes = height * (1 + Math.ceil((width * depth * samples) / 8));
  // pngjs: inflated scanlines, the unfiltered copy and an RGBA bitmap; then our copy (float32 for 16-bit).
  return {
    kind: 'PNG',
    width,
    height,
    rawBytes,
    workBytes: 2 * rawBytes + px * 4 * wide + px * 4 * (wide === 2 ? 4 : 1),
  };
}

/** Size from a JPEG's frame header (SOFn), found by walking the marker segments; null when there is none. */
function jpegHeader(b: Buffer): ImageHeader | null {
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return null;
    const m = b[p + 1];
    if (m === 0xff) {
      p++;
      continue;
    } // fill byte
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) {
      p += 2;
      continue;
    } // markers without a length
    if (m === 0xd9 || m === 0xda) return null; // image end or scan data before any frame header
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (p + 10 > b.length) return null;
      const height = b.readUInt16BE(p + 5),
        width = b.readUInt16BE(p + 7),
        comps = b[p + 9];
      // jpeg-js: 16-bit coefficients per component (rounded up to whole blocks) and the RGB output. rawBytes 0: a
      // progressive JPEG's end-of-band runs let a tiny file declare a large frame, so the file size bounds nothing.
      return { kind: 'JPEG', width, height, rawBytes: 0, workBytes: width * height * (4 * Math.max(1, comps) + 3) };
    }
    p += 2 + b.readUInt16BE(p + 2);
  }
  return null;
}

/**
 * Refuses an image by its header before a decoder allocates: no pixels (an image 0 wide or high would reach the
 * model as an empty tensor), more pixels than PIL accepts, more memory than the budget, or (PNG) more pixel data than
 * the file's deflate stream can hold at deflate's best ratio.
 */
function checkHeader(h: ImageHeader, fileBytes: number, file: string, maxBytes: number): void {
  const dims = `${h.width}×${h.height} pixels (width × height)`;
  if (h.width === 0 || h.height === 0)
    throw imageError(file, `the ${h.kind} header declares ${dims}; an image needs at least one pixel`);
  if (h.width * h.height > MAX_IMAGE_PIXELS)
    throw imageError(
      file,
      `the ${h.kind} header declares ${dims}, over the ` +
        `${MAX_IMAGE_PIXELS} pixel limit (PIL's decompression-bomb limit)`,
    );
  if (h.rawBytes > fileBytes * DEFLATE_MAX_RATIO + 1024) {
    throw imageError(
      file,
      `the ${h.kind} header declares ${dims} (${formatBytes(h.rawBytes)} of pixel ` +
        `data), more than its ${formatBytes(fileBytes)} can hold; the file is corrupt`,
    );
  }
  checkBudget(file, `decoding its ${dims}`, h.workBytes, maxBytes);
}

/**
 * Decodes a PNG or JPEG (told by its magic bytes) to interleaved pixels on a 0–255 scale, with the channels the
 * image has: 1 (gray, gray+alpha: alpha dropped), 3 (RGB, JPEG), 4 (RGBA, palette with transparency).
 * 8-bit and lower depths give integers; 16-bit is divided by 257 so it shares the 0–255 scale.
 * The header's size is checked against `maxBytes` (the memory budget) before decoding.
 */
export function decodeImage(buf: Uint8Array, file: string, maxBytes = DEFAULT_DATA_BUDGET_BYTES): RawSample {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const png = b.length >= 8 && b.readUInt32BE(0) === 0x89504e47;
  const jpg = !png && b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
  if (!png && !jpg) throw imageError(file, 'not a PNG or JPEG file');
  const h = png ? pngHeader(b) : jpegHeader(b);
  if (h) checkHeader(h, b.length, file, maxBytes);
  return png ? decodePng(b, file) : decodeJpeg(b, file, maxBytes);
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

function decodePng(b: Buffer, file: string): RawSample {
  let png: ReturnType<typeof PNG.sync.read>;
  // skipRescale keeps 16-bit samples whole; low depths are rescaled below.
  try {
    png = PNG.sync.read(b, { skipRescale: true });
  } catch (e) {
    const msg = messageOf(e);
    // pngjs's wording for running out of bytes.
    throw imageError(
      file,
      /read requests wait/.test(msg)
        ? 'truncated PNG (the file ends before the image data does)'
        : `invalid PNG (${msg})`,
    );
  }
  const { width, height, depth } = png;
  if (!width || !height)
    throw imageError(file, `the PNG has ${width}×${height} pixels (width × height); an image needs at least one pixel`);
  const src = png.data as unknown as Uint8Array | Uint16Array;
  const channels = png.color ? (png.alpha ? 4 : 3) : 1;
  const palette = png.colorType === (3 as number);
  const n = width * height;
  if (src.length < n * 4)
    throw imageError(file, `invalid PNG (${src.length} decoded values for ${width}×${height} pixels)`);
  const data = depth === 16 ? new Float32Array(n * channels) : new Uint8Array(n * channels);
  const k = depth === 16 ? 1 / 257 : palette || depth === 8 ? 1 : 255 / (2 ** depth - 1);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) data[i * channels + c] = src[i * 4 + c] * k;
  return { data, offset: 0, height, width, channels, planar: false, file };
}

function decodeJpeg(b: Buffer, file: string, maxBytes: number): RawSample {
  let img: { width: number; height: number; data: Uint8Array };
  const maxMemoryUsageInMB = Math.max(1, Math.min(1024, Math.floor(maxBytes / 2 ** 20)));
  try {
    img = jpeg.decode(b, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 100, maxMemoryUsageInMB });
  } catch (e) {
    throw imageError(file, messageOf(e));
  }
  if (!img.width || !img.height) throw imageError(file, 'no image data');
  if (img.data.length < img.width * img.height * 3)
    throw imageError(file, `invalid JPEG (${img.data.length} decoded values for ${img.width}×${img.height} pixels)`);
  return { data: img.data, offset: 0, height: img.height, width: img.width, channels: 3, planar: false, file };
}

/** Largest image file read: the read-ahead holds READ_AHEAD + 1 files at once, which must fit the budget together. */
const maxImageFileBytes = (maxBytes: number) => Math.floor(maxBytes / (READ_AHEAD + 1));

/** An image file's bytes; only a regular file is opened (a FIFO named a.png is refused by type, never waited on). */
async function readBytes(file: string, maxBytes: number): Promise<Buffer> {
  return readRegularFile(file, { what: 'an image', code: 'E_IMAGE', maxBytes: maxImageFileBytes(maxBytes) });
}

export async function readImage(file: string, maxBytes = DEFAULT_DATA_BUDGET_BYTES): Promise<RawSample> {
  return decodeImage(await readBytes(file, maxBytes), file, maxBytes);
}

/** Files read ahead of the one being decoded. */
const READ_AHEAD = 8;

/** "3 other files skipped (k/a.png is not a regular file)", naming up to three such entries relative to the root. */
function skippedNote(root: string, idx: ImageFolderIndex): string {
  const head = `${idx.skipped} other file${idx.skipped === 1 ? '' : 's'} skipped`;
  const n = idx.irregular.length;
  if (!n) return head;
  const names =
    idx.irregular
      .slice(0, 3)
      .map((p) => path.relative(root, p))
      .join(', ') + (n > 3 ? ` and ${n - 3} more` : '');
  return `${head} (${names} ${n === 1 ? 'is not a regular file' : 'are not regular files'})`;
}

export interface ImageFolderOptions {
  maxBytes?: number;
  /** Leave out images that cannot be read or decoded (each reported to onSkip) instead of failing. */
  skipUnreadable?: boolean;
  onSkip?: (file: string, reason: string) => void;
}

/** An image that cannot be read (gone, no permission) or decoded; a budget refusal or a cancel is not one. */
const unreadable = (e: unknown): e is ReplensError =>
  e instanceof ReplensError && ['E_IMAGE', 'E_IO', 'E_NOT_FOUND'].includes(e.code);

/** The geometry comes from the first image; with skipUnreadable, from the first one that decodes. */
async function firstImage(idx: ImageFolderIndex, o: ImageFolderOptions, maxBytes: number): Promise<RawSample | null> {
  for (const f of idx.files) {
    try {
      return await readImage(f, maxBytes);
    } catch (e) {
      if (!o.skipUnreadable || !unreadable(e)) throw e;
    }
  }
  return null;
}

export async function openImageFolderSource(root: string, opts: ImageFolderOptions = {}): Promise<SampleSource> {
  const maxBytes = opts.maxBytes ?? DEFAULT_DATA_BUDGET_BYTES;
  const idx = scanImageFolder(root);
  const first = await firstImage(idx, opts, maxBytes);
  if (!first && idx.files.length)
    throw new ReplensError('E_DATASET', `${root}: none of its ${idx.files.length} images can be read`);
  const notes = [`${idx.classes.length} class${idx.classes.length === 1 ? '' : 'es'}`];
  if (idx.skipped) notes.push(skippedNote(root, idx));
  return {
    format: 'imagefolder',
    length: idx.files.length,
    pixels: 'uint8',
    geometry: first
      ? { height: first.height, width: first.width, channels: first.channels, planar: false }
      : { height: 0, width: 0, channels: 3, planar: false },
    uniform: false,
    defaultChannels: 3,
    labels: idx.labels,
    classNames: idx.classes,
    files: idx.files,
    settings: {},
    title: `ImageFolder ${path.basename(root)}`,
    notes,
    async read(start, count, each) {
      const files = idx.files.slice(start, start + count);
      const pending: Promise<Buffer>[] = [];
      const prefetch = (k: number) => {
        if (k >= files.length) return;
        const p = readBytes(files[k], maxBytes);
        p.catch(() => {
          /* surfaced when awaited; never an unhandled rejection if we stop early */
        });
        pending.push(p);
      };
      for (let k = 0; k < READ_AHEAD; k++) prefetch(k);
      for (let i = 0; i < files.length; i++) {
        let sample: RawSample;
        try {
          const buf = await pending[i];
          prefetch(i + READ_AHEAD);
          sample = decodeImage(buf, files[i], maxBytes);
        } catch (e) {
          // Only a bad image is skipped: a memory-budget refusal or a cancel still ends the run.
          if (!opts.skipUnreadable || !unreadable(e)) throw e;
          if (pending.length <= i + READ_AHEAD) prefetch(i + READ_AHEAD);
          opts.onSkip?.(files[i], e.message);
          continue;
        }
        each(sample, i);
      }
    },
  };
}
