// The model's top-1 accuracy on the analysed samples, counted during the capture pass: when the dataset has labels
// and the model's output is one score per class (its one graph output, captured, one value per class), a sample is
// right when the argmax of its scores is its label. Labels that cannot index the scores (≥ the class count) mean
// the output is not a class score, and no accuracy is reported.
import type { LayerRef, ModelRef } from '../../shared/result';

export class AccuracyCount {
  private correct = 0;
  private samples = 0;
  private valid = true;

  constructor(
    readonly output: string,
    readonly classes: number,
  ) {}

  /** The scores of one batch, shape [count, classes], and its labels. */
  add(scores: Float32Array, count: number, labels: ArrayLike<number>): void {
    const C = this.classes;
    if (scores.length !== count * C || labels.length !== count) {
      this.valid = false;
      return;
    }
    for (let i = 0; i < count; i++) {
      const y = labels[i];
      if (!Number.isInteger(y) || y < 0 || y >= C) {
        this.valid = false;
        return;
      }
      let best = 0;
      for (let c = 1; c < C; c++) if (scores[i * C + c] > scores[i * C + best]) best = c;
      if (best === y) this.correct++;
    }
    this.samples += count;
  }

  result(): NonNullable<ModelRef['accuracy']> | null {
    if (!this.valid || !this.samples) return null;
    return { top1: this.correct / this.samples, correct: this.correct, samples: this.samples, output: this.output };
  }
}

/** The counter for a model whose one graph output is among its analysed layers with one score per class, else null. */
export function accuracyCount(outputs: readonly string[], layers: readonly LayerRef[]): AccuracyCount | null {
  if (outputs.length !== 1) return null;
  const out = layers.find((l) => l.tensor === outputs[0]);
  return out && out.shape.length === 1 && out.shape[0] >= 2 ? new AccuracyCount(out.tensor, out.shape[0]) : null;
}
