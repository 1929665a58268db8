// Progress with an ETA from the observed rate, throttled so a fast loop does not flood the host with messages.
import type { Progress } from '../shared/messages';

export type ProgressSink = (p: Progress) => void;

export class ProgressTracker {
  private readonly t0 = Date.now();
  private lastEmit = 0;
  private doneUnits = 0;
  constructor(
    private readonly sink: ProgressSink | undefined,
    readonly stage: string,
    readonly total: number,
    private readonly minIntervalMs = 200,
  ) {}

  get done(): number {
    return this.doneUnits;
  }

  /** Sets the count of finished units; emits when the interval passed or the work is complete. */
  update(done: number, layer?: string): void {
    this.doneUnits = done;
    const now = Date.now();
    if (!this.sink || (now - this.lastEmit < this.minIntervalMs && done < this.total)) return;
    this.lastEmit = now;
    const elapsed = (now - this.t0) / 1000;
    const eta = done > 0 && this.total > 0 ? (elapsed / done) * (this.total - done) : null;
    this.sink({
      stage: this.stage,
      done,
      total: this.total,
      etaSeconds: eta === null ? null : Math.max(0, eta),
      ...(layer ? { layer } : {}),
    });
  }
}
