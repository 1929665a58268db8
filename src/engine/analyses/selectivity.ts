// The selectivity analysis: class selectivity per unit (Morcos et al. 2018; the definition and conventions of
// metrics/selectivity.ts) accumulated batch by batch — per class, the sum over samples of each unit's spatial mean
// — so a layer is never held whole; then the per-layer distribution (mean, median, histogram over [0, 1]).
import { ReplensError } from '../errors';
import type { SelectivityLayer } from '../../shared/result';
import { skipNote, type CaptureSink, type EngineAnalysis } from './context';

export const HISTOGRAM_BINS = 20;

export class SelectivityAccumulator {
  /** Per class label: for each unit, the sum over that class's samples of the unit's spatial mean. */
  private readonly sums = new Map<number, Float64Array>();
  private readonly counts = new Map<number, number>();
  private units = 0;
  private readonly allowed: Set<number> | null;

  /** `classes`, when given, are the only labels accepted; otherwise classes are the labels seen. */
  constructor(
    readonly tensor: string,
    classes?: number[],
  ) {
    this.allowed = classes ? new Set(classes) : null;
  }

  add(data: Float32Array, dims: number[], labels: ArrayLike<number>): void {
    const count = dims[0],
      U = dims[1],
      S = dims.slice(2).reduce((a, b) => a * b, 1);
    if (labels.length !== count)
      throw new ReplensError('E_LABELS', `selectivity: ${labels.length} labels for a batch of ${count}`);
    if (!this.units) this.units = U;
    for (let i = 0; i < count; i++) {
      const k = labels[i];
      if (this.allowed && !this.allowed.has(k))
        throw new ReplensError(
          'E_LABELS',
          `selectivity: label ${k} is not among the classes (${[...this.allowed].join(', ')})`,
        );
      let row = this.sums.get(k);
      if (!row) {
        row = new Float64Array(U);
        this.sums.set(k, row);
      }
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
      for (let u = 0; u < U; u++) {
        const o = (i * U + u) * S;
        let s = 0;
        for (let t = 0; t < S; t++) s += data[o + t];
        row[u] += s / S;
      }
    }
  }

  /** Per-unit SI = (μmax − μ−max)/(μmax + μ−max + eps) over the classes that have samples; dead units 0. */
  perUnit(eps = 0): number[] {
    if (!this.units) throw new ReplensError('E_ARGUMENT', `selectivity: no samples for layer '${this.tensor}'`);
    const present = [...this.counts.keys()].sort((a, b) => a - b);
    if (present.length < 2)
      throw new ReplensError(
        'E_ARGUMENT',
        `selectivity needs at least 2 classes with samples, found ${present.length}`,
      );
    const means = present.map((k) => {
      const row = this.sums.get(k)!,
        c = this.counts.get(k)!;
      return Float64Array.from(row, (v) => v / c);
    });
    const out: number[] = [];
    for (let u = 0; u < this.units; u++) {
      let best = -Infinity,
        all = 0,
        nonZero = false;
      for (const m of means) {
        const v = m[u];
        if (v !== 0) nonZero = true;
        if (v > best) best = v;
        all += v;
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
    return {
      tensor: this.tensor,
      mean: si.reduce((a, b) => a + b, 0) / si.length,
      median,
      histogram: { edges, counts },
      perUnit: si,
    };
  }
}

/** Per-layer accumulators fed during the capture pass (batches with labels only). */
class SelectivitySink implements CaptureSink {
  readonly layers: Map<string, SelectivityAccumulator>;
  constructor(tensors: readonly string[]) {
    this.layers = new Map(tensors.map((t) => [t, new SelectivityAccumulator(t)]));
  }
  add(
    values: ReadonlyMap<string, { data: Float32Array; dims: number[] }>,
    _count: number,
    labels: ArrayLike<number> | null,
  ): void {
    if (!labels) return;
    for (const [t, acc] of this.layers) {
      const v = values.get(t)!;
      acc.add(v.data, v.dims, labels);
    }
  }
}

export const selectivityAnalysis: EngineAnalysis<'selectivity', null> = {
  id: 'selectivity',
  sink: (layers) => new SelectivitySink(layers.map((l) => l.tensor)),
  unavailable: (ctx) =>
    !ctx.labels || ctx.classes.length < 2 ? 'selectivity skipped: it needs labels with at least 2 classes' : null,
  settings: () => null,
  async run(ctx, _settings, io) {
    const sink = io.sink as SelectivitySink;
    const notes: string[] = [];
    const finite = ctx.model.layers.filter((l) => {
      const why = ctx.nonFinite(l.tensor);
      if (why) notes.push(skipNote('selectivity', l.label, why));
      return !why;
    });
    // Selectivity is defined for non-negative activations (ReLU outputs); layers with negative values are left out.
    const ok = finite.filter((l) => (ctx.stats(l.tensor).min ?? 0) >= 0);
    const skipped = finite.filter((l) => !ok.includes(l)).map((l) => l.label);
    if (skipped.length)
      notes.push(
        `selectivity left out for ${skipped.join(', ')}: negative ` +
          'activations (the index is defined for non-negative ones)',
      );
    return { value: { perLayer: ok.map((l) => sink.layers.get(l.tensor)!.result()) }, notes, timings: {} };
  },
};
