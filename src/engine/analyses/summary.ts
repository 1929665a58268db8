// The summary analysis: per layer, activation statistics accumulated batch by batch (float64 sums, so a layer is
// never held whole): mean, standard deviation, sparsity (share of values ≤ 0 — exactly the zeros after a ReLU),
// channels, and dead channels (≤ 0 for every sample and position). Sparsity and dead channels describe ReLU-like
// (non-negative) layers only: for a layer with negative values — logits, pre-activation outputs — "≤ 0" is half of a
// signed distribution, not inactivity, so the result marks them not applicable (`sparsityNotApplicable`).
import { ReplensError } from '../errors';
import type { SummaryLayer } from '../../shared/result';
import { skipNote, type EngineAnalysis } from './context';

export class SummaryAccumulator {
  private n = 0;
  private sum = 0;
  private sumSq = 0;
  private nonPositive = 0;
  private values = 0;
  private channelMax: Float64Array | null = null;
  private min = Infinity;

  constructor(readonly tensor: string) {}

  /** A batch of activations, shape [count, C, ...] (or [count, F]: each feature is a channel). */
  add(data: Float32Array, dims: number[]): void {
    if (dims.length < 2)
      throw new ReplensError(
        'E_ARGUMENT',
        `summary: layer '${this.tensor}' has shape (${dims.join(', ')}); expected (n, channels, ...)`,
      );
    const count = dims[0],
      C = dims[1],
      S = dims.slice(2).reduce((a, b) => a * b, 1);
    if (data.length !== count * C * S)
      throw new ReplensError('E_INTERNAL', `summary: ${data.length} values for shape (${dims.join(', ')})`);
    if (!this.channelMax) this.channelMax = new Float64Array(C).fill(-Infinity);
    else if (this.channelMax.length !== C)
      throw new ReplensError('E_INTERNAL', `summary: layer '${this.tensor}' changed channel count`);
    const cm = this.channelMax;
    let s = 0,
      q = 0,
      z = 0,
      lo = this.min;
    for (let i = 0; i < count; i++) {
      for (let c = 0; c < C; c++) {
        const o = (i * C + c) * S;
        let mx = cm[c];
        for (let t = 0; t < S; t++) {
          const v = data[o + t];
          s += v;
          q += v * v;
          if (v <= 0) z++;
          if (v < lo) lo = v;
          if (v > mx) mx = v;
        }
        cm[c] = mx;
      }
    }
    this.sum += s;
    this.sumSq += q;
    this.nonPositive += z;
    this.min = lo;
    this.values += count * C * S;
    this.n += count;
  }

  result(): SummaryLayer {
    if (!this.values || !this.channelMax)
      throw new ReplensError('E_ARGUMENT', `summary: no samples for layer '${this.tensor}'`);
    const mean = this.sum / this.values;
    const variance = Math.max(0, this.sumSq / this.values - mean * mean);
    let dead = 0;
    for (const m of this.channelMax) if (m <= 0) dead++;
    const out: SummaryLayer = {
      tensor: this.tensor,
      mean,
      std: Math.sqrt(variance),
      sparsity: this.nonPositive / this.values,
      channels: this.channelMax.length,
      deadChannels: dead,
      min: this.min,
    };
    if (this.min < 0)
      out.sparsityNotApplicable =
        `signed values (min ${Number(this.min.toPrecision(4))}): not a ReLU-like layer, so ` +
        'the share of values ≤ 0 is not sparsity and channels ≤ 0 everywhere are not dead';
    return out;
  }
}

/**
 * The analysis: the capture pass always collects every layer's statistics (the orchestrator's SummaryAccumulators,
 * which selectivity also reads); this reports those of the layers whose values are all finite.
 */
export const summaryAnalysis: EngineAnalysis<'summary', null> = {
  id: 'summary',
  settings: () => null,
  async run(ctx) {
    const notes: string[] = [];
    const perLayer = ctx.model.layers
      .filter((l) => {
        const why = ctx.nonFinite(l.tensor);
        if (why) notes.push(skipNote('summary', l.label, why));
        return !why;
      })
      .map((l) => ctx.stats(l.tensor));
    return { value: { perLayer }, notes, timings: {} };
  },
};
