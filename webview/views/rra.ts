// The RRA view: intrinsic dimension and NNCS over depth, multi-scale NNCS, the NNLS heatmap (in the report's
// similarity section, on the RRA tab) and the between-model NNLS; ID and NNCS columns and lens numbers.
import type { AnalysisResult } from '../../src/shared/result';
import { compareHeatmaps, depthCurves, multiScaleChart, similarityHeatmaps } from '../charts/analysis';
import { matrixCsv } from '../../src/shared/csv';
import { fixedCell, num, type AnalysisView } from './view';
import { B_LINES, layerLabel, overlayNote } from './labels';

const row = (r: AnalysisResult, t: string) => r.analyses.rra?.perLayer.find((l) => l.tensor === t);

export const rraView: AnalysisView<'rra'> = {
  id: 'rra',
  tab: { id: 'rra', title: 'RRA', order: 10 },
  sections: [
    {
      key: 'depth',
      title: 'Intrinsic dimension and NNCS',
      order: 10,
      note: (r) =>
        'TwoNN intrinsic dimension (least squares solid, maximum likelihood dotted; left axis) and the ' +
        `nearest-neighbour class separation at k = ${r.analyses.rra?.k ?? '?'} (right axis), ` +
        'per layer in depth order.' +
        overlayNote(r, B_LINES),
    },
    {
      key: 'multiscale',
      title: 'Multi-scale NNCS',
      order: 20,
      note: (r) =>
        'NNCS after pooling each layer’s feature maps (average solid, max dotted; colour = window). ' +
        'Layers without spatial dimensions have no value (gaps).' +
        overlayNote(r, B_LINES),
    },
  ],
  charts: (r, theme) => {
    if (!r.analyses.rra) return [];
    const out: ReturnType<AnalysisView['charts']> = [];
    const depth = depthCurves(r, theme),
      multi = multiScaleChart(r, theme);
    if (depth)
      out.push({
        section: 'depth',
        chart: { id: 'depth', title: 'Intrinsic dimension and NNCS over depth', figure: depth },
      });
    if (multi)
      out.push({ section: 'multiscale', chart: { id: 'multiscale', title: 'Multi-scale NNCS', figure: multi } });
    for (const c of similarityHeatmaps(r, theme)) if (c.id === 'nnls') out.push({ section: 'similarity', chart: c });
    for (const c of compareHeatmaps(r, theme)) if (c.id === 'compare-nnls') out.push({ section: 'compare', chart: c });
    return out;
  },
  columns: [
    {
      key: 'id',
      label: 'ID',
      numeric: true,
      title: 'TwoNN intrinsic dimension (least squares)',
      cell: (r, t) => fixedCell(num(row(r, t)?.id?.twonn), 2),
    },
    {
      key: 'nncs',
      label: 'NNCS',
      numeric: true,
      title: 'Nearest-neighbour class separation at k',
      cell: (r, t) => fixedCell(num(row(r, t)?.nncs), 3),
    },
  ],
  lens: [
    {
      label: 'ID',
      value: (r, t) => num(row(r, t)?.id?.twonn),
      lens: (v) => `ID ${v.toFixed(1)}`,
      hover: (v) => v.toFixed(1),
    },
    {
      label: 'NNCS',
      value: (r, t) => num(row(r, t)?.nncs),
      lens: (v) => `NNCS ${v.toFixed(2)}`,
      hover: (v) => v.toFixed(2),
    },
  ],
  csv: (r) => {
    const rra = r.analyses.rra,
      label = (t: string) => layerLabel(r, t);
    return [
      ...(rra?.nnls.rows.length ? [{ name: 'nnls', csv: matrixCsv(rra.nnls, label) }] : []),
      ...(rra?.interModel?.rows.length ? [{ name: 'nnls-between-models', csv: matrixCsv(rra.interModel, label) }] : []),
    ];
  },
};
