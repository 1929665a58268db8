// The panel's status line for a run state (what a cancelled or failed run left is said as it is), its run line, and
// how the run pickers name a stored run.
import type { AnalysisRunInfo, AnalysisRunState, RunSummary } from '../../src/shared/messages';
import type { AnalysisResult } from '../../src/shared/result';
import { formatWhen } from '../../src/shared/overlay';

const STATE_TEXT: Record<AnalysisRunState, string> = {
  running: 'running…',
  complete: 'complete',
  cancelled: 'cancelled',
  failed: 'failed',
};

/** 'cancelled — finished layers kept', or '… — nothing had finished' when the run ended before any analysis did. */
export function stateText(state: AnalysisRunState, result: AnalysisResult | undefined): string {
  if (state !== 'cancelled' && state !== 'failed') return STATE_TEXT[state];
  const kept = !!result && Object.keys(result.analyses).length > 0;
  return `${STATE_TEXT[state]} — ${kept ? 'finished layers kept' : 'nothing had finished'}`;
}

const base = (p: string) => p.split(/[\\/]/).pop() ?? p;

/**
 * The run line under the model's name: from the result once there is one (so a live panel and one restored after a
 * reload say the same), else from what the run was asked to do. `overlaid`: the result's compared model is a stored run
 * overlaid on it.
 */
export function runLine(
  run: AnalysisRunInfo | undefined,
  result: AnalysisResult | undefined,
  overlaid = false,
): string {
  const data = result ? (result.dataset.path ?? result.dataset.description) : run?.dataset;
  const analyses = result ? result.settings.analyses : run?.analyses;
  const samples = result ? result.dataset.samples : run?.samples;
  const compare = result ? result.compare?.path : run?.compare;
  // An overlaid run (overlayRuns) is named as the overlay names it: its model, and its time when it is this model.
  const other =
    overlaid && result?.compare ? `overlaid with ${result.compare.name}` : `compared with ${base(compare ?? '')}`;
  return [
    ...(data ? [`data ${base(data)}`] : []),
    ...(analyses?.length ? [analyses.join(', ')] : []),
    ...(samples ? [`${samples} samples`] : []),
    ...(compare ? [other] : []),
  ].join(' · ');
}

/**
 * A stored run in the run pickers: '2026-12-03 19:02:11 · summary, rra · 200 samples · data x.npy · vs b.onnx ·
 * cancelled · cached' (the state unless complete; 'cached' when every analysis came from the cache, 'k of n cached'
 * when some did). `model`: say the model too (a run of another model, in the overlay picker).
 */
export function runLabel(s: RunSummary, model = false): string {
  const cached = s.cached.length
    ? s.cached.length >= s.analyses.length
      ? 'cached'
      : `${s.cached.length} of ${s.analyses.length} cached`
    : '';
  return [
    ...(model ? [base(s.modelPath)] : []),
    formatWhen(s.when),
    s.analyses.join(', '),
    `${s.samples} samples`,
    `data ${base(s.dataset)}`,
    ...(s.compare ? [`vs ${base(s.compare)}`] : []),
    ...(s.state !== 'complete' ? [s.state] : []),
    ...(cached ? [cached] : []),
  ].join(' · ');
}
