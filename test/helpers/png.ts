// PNG chunks assembled by hand, for PNG files pngjs cannot or will not write (palette, low bit depths, a zero width).
import * as zlib from 'zlib';

/** One chunk: length, type, data and the CRC-32 of type + data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4),
    crc = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  crc.writeUInt32BE(zlib.crc32(td));
  return Buffer.concat([len, td, crc]);
}
