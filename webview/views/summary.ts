// The summary's view: sparsity and dead channels (not applicable on signed layers: summary.ts says why), on the
// Layers tab with the table.
import type { AnalysisResult } from '../../src/shared/result';
import { summaryChart } from '../charts/analysis';
import { formatCount } from '../format';
import { num, type AnalysisView } from './view';
import { overlayNote } from './labels';
import { depthMode } from '../charts/models';

const row = (r: AnalysisResult, t: string) => r.analyses.summary?.perLayer.find((l) => l.tensor === t);
/** Sparsity and dead channels mean something on ReLU-like layers only. */
const applicable = (r: AnalysisResult, t: string) => {
  const m = row(r, t);
  return m && m.sparsityNotApplicable === undefined ? m : null;
};

export const summaryView: AnalysisView<'summary'> = {
  id: 'summary',
  tab: 'layers',
  sections: [
    {
      key: 'summary',
      title: 'Activations',
      order: 70,
      note: (r) =>
        'Share of activations ≤ 0 and share of channels that never activate, per layer. Dead channels are a share ' +
        'of the layer’s channels (the count is in the hover and the table), so a wide layer does not dwarf narrow ' +
        'ones. Layers with signed values (logits, pre-activation outputs) are not ReLU-like: no bar, marked n/a.' +
        overlayNote(r, depthMode(r) === 'relative' ? 'B dashed, open markers' : 'B’s bars hatched'),
    },
  ],
  charts: (r, theme) => {
    const f = summaryChart(r, theme);
    return f ? [{ section: 'summary', chart: { id: 'summary', title: 'Sparsity and dead channels', figure: f } }] : [];
  },
  columns: [
    {
      key: 'sparsity',
      label: 'Sparsity',
      numeric: true,
      title: 'Share of activations ≤ 0',
      cell: (r, t) => {
        const v = num(applicable(r, t)?.sparsity);
        return { text: v === null ? '—' : `${(v * 100).toFixed(1)}%`, sort: v };
      },
    },
    {
      key: 'dead',
      label: 'Dead ch.',
      numeric: true,
      title: 'Channels that are ≤ 0 for every sample',
      cell: (r, t) => {
        const m = applicable(r, t),
          dead = num(m?.deadChannels),
          channels = num(m?.channels);
        return {
          text:
            dead === null
              ? '—'
              : channels !== null
                ? `${formatCount(dead)} / ${formatCount(channels)}`
                : formatCount(dead),
          sort: dead,
        };
      },
    },
  ],
  lens: [
    {
      label: 'sparsity',
      value: (r, t) => num(row(r, t)?.sparsity),
      lens: null,
      hover: (v) => `${(100 * v).toFixed(0)} %`,
    },
  ],
  csv: () => [],
};
