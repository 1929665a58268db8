// The panel's status line for a run state: what a cancelled or failed run left is said as it is.
import type { AnalysisRunInfo, AnalysisRunState } from '../../src/shared/messages';
import type { AnalysisResult } from '../../src/shared/result';

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
 * reload say the same), else from what the run was asked to do.
 */
export function runLine(run: AnalysisRunInfo | undefined, result: AnalysisResult | undefined): string {
  const data = result ? (result.dataset.path ?? result.dataset.description) : run?.dataset;
  const analyses = result ? result.settings.analyses : run?.analyses;
  const samples = result ? result.dataset.samples : run?.samples;
  const compare = result ? result.compare?.path : run?.compare;
  return [
    ...(data ? [`data ${base(data)}`] : []),
    ...(analyses?.length ? [analyses.join(', ')] : []),
    ...(samples ? [`${samples} samples`] : []),
    ...(compare ? [`compared with ${base(compare)}`] : []),
  ].join(' · ');
}
