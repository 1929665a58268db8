// Comparing two models needs the same samples in the same order (inter-model NNLS, CKA and CCA pair rows). When the
// second model reads its own dataset (`--compare-data`, e.g. another normalisation or input size), this check
// compares the two streams sample by sample:
//  * same input shape and both pixel mappings known: the images themselves, mapped back to pixel units (so two
//    normalisations of one image agree), through 4 fixed pseudo-random projections in float64;
//  * else the labels, when both have them;
//  * else nothing can be checked, and the result says so.
import { ReplensError } from '../errors';
import type { Batch, Dataset } from '../data/dataset';

const PROJECTIONS = 4;

/** Weight of flat position t in projection p: a fixed hash in [−1, 1). */
function weight(p: number, t: number): number {
  let h = (Math.imul(t + 1, 0x9e3779b1) ^ Math.imul(p + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  h = (h ^ (h >>> 12)) >>> 0;
  return h / 2 ** 31 - 1;
}

export type OrderCheck = 'images' | 'labels' | 'none';

export function orderCheckKind(a: Dataset, b: Dataset): OrderCheck {
  const sameShape = a.sampleShape.join('x') === b.sampleShape.join('x');
  if (sameShape && a.pixelSpace && b.pixelSpace) return 'images';
  if (a.hasLabels && b.hasLabels) return 'labels';
  return 'none';
}

/** Records the signatures of the first stream, then checks the second against them, batch by batch. */
export class SampleOrder {
  readonly kind: OrderCheck;
  private sig: number[] = [];
  private mag: number[] = [];
  private labels: number[] = [];
  private checked = 0;
  private readonly weights: Float64Array;
  private readonly size: number;

  constructor(
    private readonly a: Dataset,
    private readonly b: Dataset,
    private readonly names = ['--data', '--compare-data'],
  ) {
    this.kind = orderCheckKind(a, b);
    this.size = a.sampleShape.reduce((x, y) => x * y, 1);
    this.weights = new Float64Array(this.kind === 'images' ? PROJECTIONS * this.size : 0);
    for (let p = 0; p < this.weights.length / Math.max(1, this.size); p++)
      for (let t = 0; t < this.size; t++) this.weights[p * this.size + t] = weight(p, t);
  }

  /** Projections of each sample in pixel units and their magnitudes Σ|w·v| (the rounding scale). */
  private signatures(ds: Dataset, b: Batch): { s: number[]; m: number[] } {
    const px = ds.pixelSpace!;
    const C = px.mean.length,
      size = this.size;
    const s: number[] = [],
      m: number[] = [];
    for (let i = 0; i < b.shape[0]; i++) {
      const o = i * size;
      for (let p = 0; p < PROJECTIONS; p++) {
        let acc = 0,
          mag = 0;
        for (let t = 0; t < size; t++) {
          // channel of flat position t: NCHW → t / (H·W); NHWC → t mod C
          const c = C === 1 ? 0 : px.layout === 'NCHW' ? Math.floor(t / (size / C)) : t % C;
          const v = (b.x[o + t] * px.std[c] + px.mean[c]) * this.weights[p * size + t];
          acc += v;
          mag += Math.abs(v);
        }
        s.push(acc);
        m.push(mag);
      }
    }
    return { s, m };
  }

  record(b: Batch): void {
    if (this.kind === 'images') {
      const { s, m } = this.signatures(this.a, b);
      this.sig.push(...s);
      this.mag.push(...m);
    }
    if (this.kind === 'labels' && b.labels) this.labels.push(...b.labels);
  }

  /** Throws E_DATASET naming the first sample that differs. */
  check(b: Batch): void {
    const [na, nb] = this.names;
    const fail = (i: number, what: string) => {
      throw new ReplensError(
        'E_DATASET',
        `${na} and ${nb} do not hold the same samples in the same order: ` +
          `sample ${i} ${what}; the comparison pairs samples by position`,
      );
    };
    if (this.kind === 'images') {
      const { s } = this.signatures(this.b, b);
      for (let i = 0; i < b.shape[0]; i++) {
        const at = this.checked + i;
        for (let p = 0; p < PROJECTIONS; p++) {
          const q = at * PROJECTIONS + p;
          if (q >= this.sig.length) return;
          // float32 preprocessing of the same image differs by a few ulps per pixel: 1e-5 of the magnitude.
          if (Math.abs(this.sig[q] - s[i * PROJECTIONS + p]) > 1e-5 * this.mag[q] + 1e-9)
            fail(at, 'is a different image');
        }
      }
    }
    if (this.kind === 'labels' && b.labels) {
      for (let i = 0; i < b.shape[0]; i++) {
        const at = this.checked + i;
        if (at < this.labels.length && this.labels[at] !== b.labels[i])
          fail(at, `has label ${this.labels[at]} in ${na} and ${b.labels[i]} in ${nb}`);
      }
    }
    this.checked += b.shape[0];
  }
}

/** Passes batches through, calling `f` on each first. */
export async function* tapBatches(it: AsyncIterable<Batch>, f: (b: Batch) => void): AsyncIterable<Batch> {
  for await (const b of it) {
    f(b);
    yield b;
  }
}
