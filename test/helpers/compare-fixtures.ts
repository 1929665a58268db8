// Results of a comparison that carry the compared model's own per-model analyses (compare.analyses), derived from the
// report's sample result (test/fixtures/report/sample-result.json, 12 layers, compared with 'seed1/model.onnx' whose
// tensors end in '@b'):
//   sameArch()  B = the model's own numbers shifted by known amounts on B's tensors (the same layer labels), its RRA
//               row of layer 5 left out (a gap);
//   otherArch() B = a 4-layer model 'small.onnx' with other labels, LayerRef indices 10, 20, 30, 40 (positions 0–3),
//               its last layer signed (summary not applicable).
import * as fs from 'fs';
import * as path from 'path';
import type { AnalysisResult, AnalysisValues, LayerRef } from '../../src/shared/result';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'report', 'sample-result.json');
export const loadSample = (): AnalysisResult => JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));

/** What sameArch adds to the model's numbers for B. */
export const SHIFT = { twonn: 1, nncs: -0.05, selectivity: 0.1, sparsity: 0.5, dead: 2 } as const;
/** The RRA row B lacks in sameArch (a gap on B's curves and '—' in its table cells). */
export const B_MISSING_RRA = 5;

const b = (t: string) => `${t}@b`;

export function sameArch(): AnalysisResult {
  const r = loadSample();
  const a = r.analyses;
  const analyses: Partial<AnalysisValues> = {
    summary: {
      perLayer: a.summary!.perLayer.map((l) => ({
        ...l,
        tensor: b(l.tensor),
        sparsity: l.sparsity * SHIFT.sparsity,
        deadChannels: l.deadChannels + SHIFT.dead,
      })),
    },
    selectivity: {
      perLayer: a.selectivity!.perLayer.map((l) => ({
        ...l,
        tensor: b(l.tensor),
        mean: l.mean + SHIFT.selectivity,
        perUnit: l.perUnit.map((v) => Math.min(1, v + SHIFT.selectivity)),
      })),
    },
    rra: {
      ...a.rra!,
      perLayer: a
        .rra!.perLayer.filter((_, i) => i !== B_MISSING_RRA)
        .map((l) => ({
          ...l,
          tensor: b(l.tensor),
          id: l.id && { ...l.id, twonn: l.id.twonn === null ? null : l.id.twonn + SHIFT.twonn },
          nncs: l.nncs === null ? null : l.nncs + SHIFT.nncs,
        })),
    },
  };
  r.compare!.analyses = analyses;
  return r;
}

export const OTHER_LABELS = ['stem', 'block1', 'block2', 'head'];

export function otherArch(): AnalysisResult {
  const r = loadSample();
  const layers: LayerRef[] = OTHER_LABELS.map((label, i) => ({
    tensor: `/${label}/out`,
    label,
    op: i === 3 ? 'Gemm' : 'Relu',
    shape: i === 3 ? [10] : [16, 8, 8],
    params: 100 * (i + 1),
    index: 10 * (i + 1),
  }));
  r.compare = {
    ...r.compare!,
    name: 'small.onnx',
    path: '/small.onnx',
    layers,
    analyses: {
      summary: {
        perLayer: layers.map((l, i) => ({
          tensor: l.tensor,
          mean: 0.5,
          std: 1,
          sparsity: 0.2 * (i + 1),
          channels: i === 3 ? 10 : 16,
          deadChannels: i,
          ...(i === 3 ? { min: -4, sparsityNotApplicable: 'signed values (min -4): not a ReLU-like layer' } : {}),
        })),
      },
      selectivity: {
        perLayer: layers.slice(0, 3).map((l, i) => ({
          tensor: l.tensor,
          mean: 0.2 + 0.1 * i,
          median: 0.2 + 0.1 * i,
          histogram: { edges: [0, 0.5, 1], counts: [2, 1] },
          perUnit: [0.1 + 0.1 * i, 0.2 + 0.1 * i, 0.3 + 0.1 * i],
        })),
      },
      rra: {
        k: 10,
        samples: 100,
        rule: 'r',
        poolings: ['avg2'],
        nnls: { rows: [], cols: [], values: [] },
        perLayer: layers.map((l, i) => ({
          tensor: l.tensor,
          id: { twonn: 4 + i, ml: 5 + i, dropped: 0 },
          nncs: 0.5 + 0.1 * i,
          multiScale: { avg2: i === 3 ? null : 0.6 },
        })),
      },
    },
  };
  // the between-model matrices were of the other compared model: not this one's
  delete r.analyses.similarity!.compare;
  delete r.analyses.rra!.interModel;
  return r;
}
