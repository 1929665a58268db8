// The selectivity analysis: class selectivity per unit (Morcos et al. 2018; the definition and conventions of
// metrics/selectivity.ts) accumulated batch by batch — per class, the sum over samples of each unit's spatial mean
// — so a layer is never held whole; then the per-layer distribution (mean, median, histogram over [0, 1]).
import { ReplensError } from '../errors';
import type { SelectivityLayer } from '../../shared/result';

export const HISTOGRAM_BINS = 20;

export class SelectivityAccumulator {
  private sums: Float64Array | null = null; // unit-major: sums[u * K + k]
  private counts = new Map<number, number>();
  private units = 0;
  private readonly classIndex = new Map<number, number>();

  constructor(readonly tensor: string, readonly classes: number[]) {
    classes.forEach((c, i) => this.classIndex.set(c, i));
  }

  add(data: Float32Array, dims: number[], labels: ArrayLike<number>): void {
    const count = dims[0], U = dims[1], S = dims.slice(2).reduce((a, b) => a * b, 1);
    if (labels.length !== count) throw new ReplensError('E_LABELS', `selectivity: ${labels.length} labels for a batch of ${count}`);
    const K = this.classes.length;
    if (!this.sums) { this.sums = new Float64Array(U * K); this.units = U; }
    const sums = this.sums;
    for (let i = 0; i < count; i++) {
      const k = this.classIndex.get(labels[i]);
      if (k === undefined) throw new ReplensError('E_LABELS', `selectivity: label ${labels[i]} is not among the classes (${this.classes.join(', ')})`);
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
      for (let u = 0; u < U; u++) {
        const o = (i * U + u) * S;
        let s = 0;
        for (let t = 0; t < S; t++) s += data[o + t];
        sums[u * K + k] += s / S;
      }
    }
  }

  /** Per-unit SI = (μmax − μ−max)/(μmax + μ−max + eps) over the classes that have samples; dead units 0. */
  perUnit(eps = 0): number[] {
    if (!this.sums) throw new ReplensError('E_ARGUMENT', `selectivity: no samples for layer '${this.tensor}'`);
    const present = [...this.counts.keys()].sort((a, b) => a - b);
    if (present.length < 2) throw new ReplensError('E_ARGUMENT', `selectivity needs at least 2 classes with samples, found ${present.length}`);
    const K = this.classes.length;
    const out: number[] = [];
    for (let u = 0; u < this.units; u++) {
      let best = -Infinity, all = 0, nonZero = false;
      for (const k of present) {
        const m = this.sums[u * K + k] / this.counts.get(k)!;
        if (m !== 0) nonZero = true;
        if (m > best) best = m;
        all += m;
      }
      const rest = (all - best) / (present.length - 1);
      const den = best + rest + eps;
      out.push(!nonZero || den === 0 ? 0 : (best - rest) / den);
    }
    return out;
  }

  result(eps = 0): SelectivityLayer {
    const si = this.perUnit(eps);
    const sorted = [...si].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    const edges = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => i / HISTOGRAM_BINS);
    const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
    for (const v of si) counts[Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor(v * HISTOGRAM_BINS)))]++;
    return { tensor: this.tensor, mean: si.reduce((a, b) => a + b, 0) / si.length, median, histogram: { edges, counts }, perUnit: si };
  }
}
