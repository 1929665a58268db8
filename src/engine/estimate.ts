// The time an analyze run will take, said before it starts. Two bases: the last run of the same model (its timings
// scaled by how each part grows: capture with the samples, summary and selectivity with samples × layers, RRA and
// similarity with samples² × layers, noise-SVD with checkpoints × images × σ × copies × layers), or, without one, a
// probe batch timed in the worker (capture measured; the analyses from their operation counts at a rate that is
// deliberately conservative, so the estimate is rough and says so).
import type { AnalysisId } from '../shared/analyses';
import type { AnalysisResult } from '../shared/result';

/** What the next run will do. */
export interface PlannedRun {
  analyses: AnalysisId[];
  samples: number;
  layers: number;
  /** noise-SVD work: checkpoints × images (per class × classes) × σ values × noisy copies. */
  noiseUnits?: number;
}

export interface EstimatePart {
  what: string;
  seconds: number;
}

export interface Estimate {
  seconds: number;
  parts: EstimatePart[];
  /** Which basis: this model's last run, a probe batch, or the last run with the parts it lacks from a probe. */
  basis: 'last run' | 'probe batch' | 'last run + probe batch';
  /** Parts the basis did not cover (an analysis the last run did not do), left out of `seconds`. */
  unknown: string[];
}

const CAPTURE = 'capture (onnxruntime inference + stores)';

/** How a part's cost grows: the factor from the last run's plan to the next. */
function growth(id: AnalysisId | 'capture', past: PlannedRun, next: PlannedRun): number | null {
  const n = next.samples / past.samples,
    l = next.layers / past.layers;
  switch (id) {
    case 'capture':
      return n;
    case 'summary':
    case 'selectivity':
      return n * l;
    case 'rra':
    case 'similarity':
      return n * n * l;
    case 'noise-svd':
      return past.noiseUnits && next.noiseUnits ? (next.noiseUnits / past.noiseUnits) * l : null;
  }
}

/** noise-SVD units of a finished result (checkpoints × images × σ × copies), or undefined. */
export function noiseUnitsOf(r: AnalysisResult): number | undefined {
  const ns = r.analyses['noise-svd'];
  if (!ns) return undefined;
  const s = ns.settings;
  return new Set(ns.series.map((x) => `${x.checkpoint}#${x.split}`)).size * s.images * s.sigmas.length * s.groupSize;
}

/** The plan a finished result ran (its samples, layers, noise-SVD units). */
export function plannedOf(r: AnalysisResult): PlannedRun {
  return {
    analyses: r.settings.analyses as AnalysisId[],
    samples: r.settings.samples,
    layers: r.layers.length,
    noiseUnits: noiseUnitsOf(r),
  };
}

/** The seconds a part took in a result: computed now, or when its cached value was computed. */
function took(timings: Record<string, number>, key: string): number | undefined {
  return timings[key] ?? timings[`${key} (cached)`];
}

/** The next run's time from the last run's timings of the same model, each part scaled by how it grows. */
export function estimateFromRun(last: AnalysisResult, next: PlannedRun): Estimate {
  const past = plannedOf(last);
  const parts: EstimatePart[] = [];
  const unknown: string[] = [];
  const capture = took(last.timings, CAPTURE);
  if (capture !== undefined) parts.push({ what: 'capture', seconds: capture * growth('capture', past, next)! });
  else unknown.push('capture');
  for (const id of next.analyses) {
    const t = took(last.timings, id);
    const g = growth(id, past, next);
    if (t === undefined || g === null) unknown.push(id);
    else parts.push({ what: id, seconds: t * g });
  }
  return { seconds: parts.reduce((a, p) => a + p.seconds, 0), parts, basis: 'last run', unknown };
}

/** A probe batch: the capture's seconds per sample and each analysed layer's features per sample. */
export interface BatchTiming {
  secondsPerSample: number;
  features: number[];
}

/**
 * Multiply-adds per second assumed for the analyses' dense work (distance and Gram matrices in JavaScript): a low
 * rate, so an estimate without a past run errs long rather than short.
 */
export const ASSUMED_RATE = 1e9;

/** The next run's time from a probe batch: capture measured, the analyses from their operation counts. */
export function estimateFromProbe(t: BatchTiming, next: PlannedRun): Estimate {
  const n = next.samples;
  const D = t.features.reduce((a, b) => a + b, 0);
  const L = t.features.length;
  const parts: EstimatePart[] = [{ what: 'capture', seconds: t.secondsPerSample * n }];
  for (const id of next.analyses) {
    let ops: number;
    switch (id) {
      case 'summary':
      case 'selectivity':
        ops = 4 * n * D;
        break;
      case 'rra':
        // kNN graphs: all pairwise distances per layer, at two poolings.
        ops = 2 * n * n * D;
        break;
      case 'similarity':
        // A Gram matrix per layer, then every pair of layers compared.
        ops = n * n * D + 3 * L * L * n * n;
        break;
      case 'noise-svd':
        // One forward pass per noisy copy (the capture's rate), plus an SVD per group: small next to the passes.
        parts.push({ what: id, seconds: t.secondsPerSample * (next.noiseUnits ?? 0) });
        continue;
    }
    parts.push({ what: id, seconds: ops / ASSUMED_RATE });
  }
  return { seconds: parts.reduce((a, p) => a + p.seconds, 0), parts, basis: 'probe batch', unknown: [] };
}

/** "≈ 40 s", "≈ 3 min", "< 1 s". */
export function formatSeconds(s: number): string {
  if (s < 1) return '< 1 s';
  if (s < 90) return `≈ ${Math.round(s)} s`;
  if (s < 3600) return `≈ ${Math.round(s / 60)} min`;
  return `≈ ${(s / 3600).toFixed(1)} h`;
}

/** The parts a last run lacks (`fromRun.unknown`), taken from a probe-batch estimate. */
export function completeWith(fromRun: Estimate, fromProbe: Estimate): Estimate {
  if (!fromRun.unknown.length) return fromRun;
  const extra = fromProbe.parts.filter((p) => fromRun.unknown.includes(p.what));
  const parts = [...fromRun.parts, ...extra];
  return {
    seconds: parts.reduce((a, p) => a + p.seconds, 0),
    parts,
    basis: 'last run + probe batch',
    unknown: fromRun.unknown.filter((u) => !extra.some((p) => p.what === u)),
  };
}

const BASIS: Record<Estimate['basis'], string> = {
  'last run': "from this model's last run",
  'probe batch': 'rough, from a probe batch',
  'last run + probe batch': "from this model's last run and a probe batch",
};

/**
 * The confirm item's text: the head ("≈ 40 s, from this model's last run") and the parts, largest first
 * ("capture 500 samples × 12 layers 3 s, rra 31 s, …; noise-svd not timed yet").
 */
export function describeEstimate(e: Estimate, next: PlannedRun): { head: string; detail: string } {
  const big = [...e.parts].sort((a, b) => b.seconds - a.seconds);
  const what = (p: EstimatePart) =>
    p.what === 'capture' ? `capture ${next.samples} samples × ${next.layers} layers` : p.what;
  const parts = big.map((p) => `${what(p)} ${fmtPart(p.seconds)}`);
  const unknown = e.unknown.length ? `; ${e.unknown.join(', ')} not timed yet` : '';
  return { head: `${formatSeconds(e.seconds)}, ${BASIS[e.basis]}`, detail: `${parts.join(', ')}${unknown}` };
}

const fmtPart = (s: number) => (s < 1 ? '< 1 s' : s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`);
