// The panel's status line for a run state: what a cancelled or failed run left is said as it is.
import type { AnalysisRunState } from '../../src/shared/messages';
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
