// The noise-SVD view: explained variance of the leading singular directions under input noise, its own tab.
import { noiseSvdChart, noiseSvdMode } from '../charts/analysis';
import type { AnalysisView } from './view';

export const noiseSvdView: AnalysisView<'noise-svd'> = {
  id: 'noise-svd',
  tab: { id: 'noise-svd', title: 'Noise SVD', order: 60 },
  sections: [
    {
      key: 'noise-svd',
      title: 'Noise SVD',
      order: 60,
      note: (r) =>
        'Explained variance of the leading singular directions of the response to input noise: ' +
        'EV₁, EV₂ and the rest (Σ j≥3). ' +
        (noiseSvdMode(r) === 'depth'
          ? 'One legend entry per noise level σ (colour and marker); '
          : 'One legend entry per layer (colour); the marker is the noise level σ; ') +
        'the line is solid for the test split and dotted for train, as the legend title keys. ' +
        'Click a legend entry to hide its lines in all three panels.',
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
