// torchvision-style ImageFolder: root/<class>/<images>. Classes are the sub-folders sorted by name (their index is
// the label, as torchvision's find_classes gives it); images are found as torchvision's make_dataset walks
// (each class folder recursively, folders in sorted path order, files sorted). Hidden (dot) folders and files are
// skipped — they are editor/OS debris (.ipynb_checkpoints, ._x.png), never classes or images.
// Images are decoded a batch at a time; only the file list is held.
import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { ReplensError } from '../errors';
import { fileError } from '../npy';
import type { RawSample, SampleSource } from './source';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export interface ImageFolderIndex {
  classes: string[];
  /** Absolute image paths in dataset order. */
  files: string[];
  labels: Int32Array;
  /** Files that are not .png/.jpg/.jpeg (or hidden), not counted as samples. */
  skipped: number;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function isDir(p: string, d: fs.Dirent): boolean {
  if (d.isDirectory()) return true;
  if (!d.isSymbolicLink()) return false;
  try { return fs.statSync(p).isDirectory(); } catch { return false; }
}

function listDir(dir: string): fs.Dirent[] {
  try { return fs.readdirSync(dir, { withFileTypes: true }); } catch (e) { throw fileError(dir, e); }
}

export function scanImageFolder(root: string): ImageFolderIndex {
  const top = listDir(root);
  const classes = top.filter((d) => !d.name.startsWith('.') && isDir(path.join(root, d.name), d)).map((d) => d.name).sort(byName);
  let skipped = top.filter((d) => !isDir(path.join(root, d.name), d)).length;
  if (!classes.length) {
    throw new ReplensError('E_DATASET', `${root} has no class folders; an ImageFolder is <root>/<class>/<image>.png|jpg`);
  }
  const files: string[] = [], labels: number[] = [];
  classes.forEach((cls, label) => {
    // (folder, its image files) for the class folder and every folder below it; symlink loops are cut by realpath.
    const dirs: [string, string[]][] = [];
    const seen = new Set<string>();
    const walk = (dir: string) => {
      let real: string;
      try { real = fs.realpathSync(dir); } catch (e) { throw fileError(dir, e); }
      if (seen.has(real)) return;
      seen.add(real);
      const images: string[] = [];
      for (const d of listDir(dir)) {
        const p = path.join(dir, d.name);
        if (d.name.startsWith('.')) { if (!d.isDirectory()) skipped++; continue; }
        if (isDir(p, d)) walk(p);
        else if (IMAGE_EXTENSIONS.includes(path.extname(d.name).toLowerCase())) images.push(d.name);
        else skipped++;
      }
      dirs.push([dir, images.sort(byName)]);
    };
    walk(path.join(root, cls));
    dirs.sort((a, b) => byName(a[0], b[0]));
    for (const [dir, names] of dirs) for (const n of names) { files.push(path.join(dir, n)); labels.push(label); }
  });
  return { classes, files, labels: Int32Array.from(labels), skipped };
}

const imageError = (file: string, reason: string) => new ReplensError('E_IMAGE', `cannot decode ${file}: ${reason}`);

/**
 * Decodes a PNG or JPEG (told by its magic bytes) to interleaved pixels on a 0–255 scale, with the channels the
 * image has: 1 (gray, gray+alpha: alpha dropped), 3 (RGB, JPEG), 4 (RGBA, palette with transparency).
 * 8-bit and lower depths give integers; 16-bit is divided by 257 so it shares the 0–255 scale.
 */
export function decodeImage(buf: Uint8Array, file: string): RawSample {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47) return decodePng(b, file);
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return decodeJpeg(b, file);
  throw imageError(file, 'not a PNG or JPEG file');
}

function decodePng(b: Buffer, file: string): RawSample {
  let png: ReturnType<typeof PNG.sync.read>;
  // skipRescale keeps 16-bit samples whole; low depths are rescaled below.
  try { png = PNG.sync.read(b, { skipRescale: true }); } catch (e) {
    const msg = (e as Error).message;
    // pngjs's wording for running out of bytes.
    throw imageError(file, /read requests wait/.test(msg) ? 'truncated PNG (the file ends before the image data does)' : `invalid PNG (${msg})`);
  }
  const { width, height, depth } = png;
  const src = png.data as unknown as Uint8Array | Uint16Array;
  const channels = png.color ? (png.alpha ? 4 : 3) : 1;
  const palette = png.colorType === (3 as number);
  const n = width * height;
  const data = depth === 16 ? new Float32Array(n * channels) : new Uint8Array(n * channels);
  const k = depth === 16 ? 1 / 257 : palette || depth === 8 ? 1 : 255 / (2 ** depth - 1);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) data[i * channels + c] = src[i * 4 + c] * k;
  return { data, offset: 0, height, width, channels, planar: false, file };
}

function decodeJpeg(b: Buffer, file: string): RawSample {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(b, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 100, maxMemoryUsageInMB: 1024 });
  } catch (e) { throw imageError(file, (e as Error).message); }
  if (!img.width || !img.height) throw imageError(file, 'no image data');
  return { data: img.data, offset: 0, height: img.height, width: img.width, channels: 3, planar: false, file };
}

async function readBytes(file: string): Promise<Buffer> {
  try { return await fs.promises.readFile(file); } catch (e) { throw fileError(file, e); }
}

export async function readImage(file: string): Promise<RawSample> {
  return decodeImage(await readBytes(file), file);
}

/** Files read ahead of the one being decoded. */
const READ_AHEAD = 8;

export async function openImageFolderSource(root: string): Promise<SampleSource> {
  const idx = scanImageFolder(root);
  const first = idx.files.length ? await readImage(idx.files[0]) : null;
  const notes = [`${idx.classes.length} class${idx.classes.length === 1 ? '' : 'es'}`];
  if (idx.skipped) notes.push(`${idx.skipped} other file${idx.skipped === 1 ? '' : 's'} skipped`);
  return {
    format: 'imagefolder',
    length: idx.files.length,
    pixels: 'uint8',
    geometry: first ? { height: first.height, width: first.width, channels: first.channels, planar: false } : { height: 0, width: 0, channels: 3, planar: false },
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
        const p = readBytes(files[k]);
        p.catch(() => { /* surfaced when awaited; never an unhandled rejection if we stop early */ });
        pending.push(p);
      };
      for (let k = 0; k < READ_AHEAD; k++) prefetch(k);
      for (let i = 0; i < files.length; i++) {
        const buf = await pending[i];
        prefetch(i + READ_AHEAD);
        each(decodeImage(buf, files[i]), i);
      }
    },
  };
}
