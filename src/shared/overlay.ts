// Two stored runs on one screen: run B's per-model analyses overlaid on run A, the way a comparison shows its second
// model (result.compare.analyses, which the views draw next to the first model's curves and tables). Pure: the panel
// host builds the document it shows from two stored results.
import type { AnalysisResult, AnalysisValues } from './result';

/** The per-model analyses an overlay carries: the ones whose numbers are per layer of one model. */
const OVERLAID = ['summary', 'selectivity', 'rra'] as const;

/** '2026-12-03 19:02:11', local time (what the run pickers show); the ISO text when it is not a date. */
export function formatWhen(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  );
}

/**
 * Run A with run B as its compared model: `compare` is B's model, layers and per-model analyses (summary,
 * selectivity, RRA without its between-model NNLS). A's own between-model matrices (a Compare With… run's CKA,
 * SVCCA, PWCCA and inter-model NNLS) are left out: they pair A with another model than B, and two runs share no
 * samples to compute new ones from. A note says when B used other data or other samples. When both runs are of the
 * same model, B's name says which run it is.
 */
export function overlayRuns(a: AnalysisResult, b: AnalysisResult): AnalysisResult {
  const analyses: Partial<AnalysisValues> = { ...a.analyses };
  if (analyses.rra) {
    const { interModel: _drop, ...rra } = analyses.rra;
    analyses.rra = rra;
  }
  if (analyses.similarity) {
    const { compare: _drop, ...sim } = analyses.similarity;
    analyses.similarity = sim.cca ? { ...sim, cca: withoutB(sim.cca) } : sim;
  }
  const bAnalyses: Partial<AnalysisValues> = {};
  for (const id of OVERLAID) {
    const v = b.analyses[id];
    if (!v) continue;
    if (id === 'rra') {
      const { interModel: _drop, ...rra } = v as AnalysisValues['rra'];
      bAnalyses.rra = rra;
    } else Object.assign(bAnalyses, { [id]: v });
  }
  const sameModel = a.model.path === b.model.path;
  const name = sameModel ? `${b.model.name} (run of ${formatWhen(b.createdAt)})` : b.model.name;
  const notes = a.notes.filter((n) => !n.startsWith('Overlaid run'));
  notes.push(`${OVERLAY_NOTE} ${name}${sameModel ? '' : ` (run of ${formatWhen(b.createdAt)})`}.`);
  const differs = dataDifference(a, b);
  if (differs)
    notes.push(`${OVERLAY_NOTE.replace(/:$/, '')} used ${differs}: its numbers are not on the same samples.`);
  return {
    ...a,
    analyses,
    compare: { ...b.model, name, layers: b.layers, analyses: bAnalyses },
    notes,
  };
}

const OVERLAY_NOTE = 'Overlaid run:';

function withoutB<T extends { perLayerB?: unknown }>(cca: T): Omit<T, 'perLayerB'> {
  const { perLayerB: _drop, ...rest } = cca;
  return rest;
}

/** How B's data differs from A's ('other data (x.npy, not y.npy)', 'other samples (500, not 200)'), or null. */
export function dataDifference(a: AnalysisResult, b: AnalysisResult): string | null {
  const base = (p: string) => p.split(/[\\/]/).pop() ?? p;
  const what = (r: AnalysisResult) => base(r.dataset.path ?? r.dataset.description);
  if (a.dataset.identity !== b.dataset.identity) return `other data (${what(b)}, not ${what(a)})`;
  if (a.dataset.samples !== b.dataset.samples) return `other samples (${b.dataset.samples}, not ${a.dataset.samples})`;
  return null;
}
