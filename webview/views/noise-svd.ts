// The noise-SVD view: explained variance of the leading singular directions under input noise, its own tab.
import { noiseSvdChart } from '../charts/analysis';
import type { AnalysisView } from './view';

export const noiseSvdView: AnalysisView<'noise-svd'> = {
  id: 'noise-svd',
  tab: { id: 'noise-svd', title: 'Noise SVD', order: 60 },
  sections: [
    {
      key: 'noise-svd',
      title: 'Noise SVD',
      order: 60,
      note: () =>
        'Explained variance of the leading singular directions of the response to input noise: ' +
        'EV₁, EV₂ and the rest (Σ j≥3). Click a legend entry to hide its lines.',
    },
  ],
  charts: (r, theme) => {
    const f = noiseSvdChart(r, theme);
    return f
      ? [{ section: 'noise-svd', chart: { id: 'noise-svd', title: 'Noise SVD: explained variance', figure: f } }]
      : [];
  },
  columns: [],
  lens: [],
  csv: () => [],
};
