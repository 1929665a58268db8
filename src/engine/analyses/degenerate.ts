// Degenerate layers: what makes a layer's per-layer metrics undefined, seen batch by batch during the capture so
// no layer is read twice. A non-finite value (NaN, ±Infinity) breaks every metric; a layer whose every sample gives
// the same activations has no neighbour structure (its kNN graph would be tie-breaking by index) and no variance
// (CKA, CCA). Such a layer is skipped metric by metric with a note; the run goes on (see analyze.ts).

export class DegeneracyCheck {
  private first: Float32Array | null = null;
  private nonFinite = 0;
  private firstBad = -1;
  private samples = 0;
  private allSame = true;

  /** A batch of `count` samples, row-major. */
  add(data: Float32Array, count: number): void {
    const D = count ? data.length / count : 0;
    if (!this.first && count) this.first = data.slice(0, D);
    const f = this.first!;
    for (let i = 0; i < count; i++) {
      const o = i * D;
      for (let t = 0; t < D; t++) {
        const v = data[o + t];
        if (v !== f[t]) this.allSame = false; // NaN !== NaN: a NaN layer is reported as non-finite below
        if (v - v !== 0) {
          // NaN or ±Infinity, without a call per value
          if (this.firstBad < 0) this.firstBad = this.samples + i;
          this.nonFinite++;
        }
      }
    }
    this.samples += count;
  }

  /** True when the layer has NaN or infinite values (every metric of it is undefined). */
  get hasNonFinite(): boolean {
    return this.nonFinite > 0;
  }

  /** Why the layer's neighbour and similarity metrics are undefined, or null when they are defined. */
  reason(): string | null {
    if (this.nonFinite)
      return (
        `${this.nonFinite} non-finite value${this.nonFinite === 1 ? '' : 's'} ` +
        `(NaN or ±Infinity), the first in sample ${this.firstBad}`
      );
    if (this.allSame && this.samples > 1) return 'constant output (every sample gives the same activations)';
    return null;
  }
}
