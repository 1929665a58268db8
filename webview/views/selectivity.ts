// The selectivity view: per-unit class selectivity per layer (box plots and the layer mean), its own tab.
import type { AnalysisResult } from '../../src/shared/result';
import { SELECTIVITY_BOXES, selectivityChart } from '../charts/analysis';
import { fixedCell, num, type AnalysisView } from './view';
import { overlayNote } from './labels';

const mean = (r: AnalysisResult, t: string) => num(r.analyses.selectivity?.perLayer.find((l) => l.tensor === t)?.mean);

export const selectivityView: AnalysisView<'selectivity'> = {
  id: 'selectivity',
  tab: { id: 'selectivity', title: 'Selectivity', order: 50 },
  sections: [
    {
      key: 'selectivity',
      title: 'Class selectivity',
      order: 50,
      note: (r) =>
        `Distribution of per-unit class selectivity in each layer (${SELECTIVITY_BOXES}) ` +
        'and the layer mean (diamonds).' +
        overlayNote(r, 'B’s boxes hollow beside A’s filled ones, its mean dashed with open diamonds'),
    },
  ],
  charts: (r, theme) => {
    const f = selectivityChart(r, theme);
    return f
      ? [{ section: 'selectivity', chart: { id: 'selectivity', title: 'Selectivity per layer', figure: f } }]
      : [];
  },
  columns: [
    {
      key: 'selectivity',
      label: 'Selectivity',
      numeric: true,
      title: 'Mean per-unit class selectivity',
      cell: (r, t) => fixedCell(mean(r, t), 3),
    },
  ],
  sparkline: {
    label: 'Selectivity dist.',
    counts: (r, t) => r.analyses.selectivity?.perLayer.find((l) => l.tensor === t)?.histogram.counts ?? null,
  },
  lens: [{ label: 'selectivity', value: mean, lens: (v) => `sel ${v.toFixed(2)}`, hover: (v) => v.toFixed(2) }],
  csv: () => [],
};
