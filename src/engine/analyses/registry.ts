// Every analysis's engine module, by id. The table's type has one key per analysis id (src/shared/analyses.ts), so
// an analysis without an engine module does not compile; analyze() only ever reaches analyses through it.
import type { AnalysisId } from '../../shared/analyses';
import type { EngineAnalysis } from './context';
import { summaryAnalysis } from './summary';
import { selectivityAnalysis } from './selectivity';
import { rraAnalysis } from './rra';
import { similarityAnalysis } from './similarity';
import { noiseSvdAnalysis } from './noise-svd';

export const ENGINE_ANALYSES: { readonly [Id in AnalysisId]: EngineAnalysis<Id> } = {
  summary: summaryAnalysis,
  selectivity: selectivityAnalysis,
  rra: rraAnalysis,
  similarity: similarityAnalysis,
  'noise-svd': noiseSvdAnalysis,
};
