// An in-memory batch (e.g. an .npy the user passes with --input) served through the Dataset contract.
import { createHash } from 'crypto';
import { throwIfAborted } from '../errors';
import type { Batch, Dataset } from './dataset';

export function arrayDataset(
  x: Float32Array,
  shape: number[],
  opts: { labels?: Int32Array | null; identity?: string; description?: string } = {},
): Dataset {
  const n = shape[0];
  const sampleShape = shape.slice(1);
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const identity =
    opts.identity ??
    createHash('sha256')
      .update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
      .update(JSON.stringify(shape))
      .digest('hex');
  return {
    identity,
    description: opts.description ?? `array (${shape.join('×')})`,
    length: n,
    sampleShape,
    hasLabels: !!opts.labels,
    async *batches(
      batchSize: number,
      o: { signal?: AbortSignal; start?: number; end?: number } = {},
    ): AsyncIterable<Batch> {
      const end = Math.min(o.end ?? n, n);
      for (let s = o.start ?? 0; s < end; s += batchSize) {
        throwIfAborted(o.signal);
        const e = Math.min(end, s + batchSize);
        yield {
          x: x.subarray(s * per, e * per),
          shape: [e - s, ...sampleShape],
          labels: opts.labels ? opts.labels.subarray(s, e) : null,
          start: s,
        };
      }
    },
  };
}
