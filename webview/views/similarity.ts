// The similarity view: CKA / SVCCA / PWCCA heatmaps within the model and between two models; its CSV matrices.
import type { LayerMatrix } from '../../src/shared/result';
import { compareHeatmaps, similarityHeatmaps } from '../charts/analysis';
import { matrixCsv } from '../../src/shared/csv';
import type { AnalysisView } from './view';
import { layerLabel } from './labels';

export const similarityView: AnalysisView<'similarity'> = {
  id: 'similarity',
  tab: { id: 'similarity', title: 'Similarity', order: 30 },
  sections: [
    {
      key: 'similarity',
      title: 'Layer similarity',
      order: 30,
      note: () =>
        'Layer × layer similarity in [0, 1]; grey cells are undefined. Up to 16 layers the cells print their value ' +
        '(2 decimals). Hover a cell for its value ' +
        '(3 significant digits; the CSV export keeps every digit).',
    },
  ],
  charts: (r, theme) => {
    if (!r.analyses.similarity) return [];
    return [
      ...similarityHeatmaps(r, theme)
        .filter((c) => c.id !== 'nnls')
        .map((chart) => ({ section: 'similarity', chart })),
      ...compareHeatmaps(r, theme)
        .filter((c) => c.id !== 'compare-nnls')
        .map((chart) => ({ section: 'compare', chart })),
    ];
  },
  columns: [],
  lens: [],
  csv: (r) => {
    const s = r.analyses.similarity,
      label = (t: string) => layerLabel(r, t);
    const mats: [string, LayerMatrix | undefined][] = [
      ['cka', s?.cka],
      ['svcca', s?.svcca],
      ['pwcca', s?.pwcca],
      ['cka-between-models', s?.compare?.cka],
      ['svcca-between-models', s?.compare?.svcca],
      ['pwcca-between-models', s?.compare?.pwcca],
    ];
    return mats.filter(([, m]) => m && m.rows.length).map(([name, m]) => ({ name, csv: matrixCsv(m!, label) }));
  },
};
