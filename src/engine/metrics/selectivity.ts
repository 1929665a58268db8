// Class selectivity index (Morcos et al. 2018), per unit:
//   SI = (μ_max − μ_−max) / (μ_max + μ_−max + eps)
// μ_c = the unit's mean activation over the samples of class c; μ_max = the largest class mean; μ_−max = the mean of
// the other classes' means. A unit is a column of (n, F) activations, or a channel of (n, C, H, W) (any trailing
// spatial dims), reduced by its spatial mean first. The classes are those present in `labels`: a class with no
// samples has no mean and is excluded (it does not count towards μ_−max). A dead unit (all class means 0) gets 0;
// so does any unit whose denominator is 0 (possible only with negative activations, which SI is not meant for).
// argmax_class is the label of μ_max (the lowest label on ties). value = mean SI over units.
// Negative activations (logits, pre-activation outputs): the index is not bounded to [0, 1] there and means nothing
// (e.g. a mean of 4.77 on logits). It is still computed by the formula, for reproducibility, but the result then has
// `warnings` saying so, with how many units have negative values; the analysis leaves such layers out with a note.
import { ReplensError } from '../errors';
import { checkFinite } from './knn';
import { checkLabels } from './nncs';

export function classSelectivity(
  acts: Float64Array,
  shape: number[],
  labels: ArrayLike<number>,
  opts: { eps?: number } = {},
): { value: number; per_unit: number[]; argmax_class: number[]; warnings?: string[] } {
  const eps = opts.eps ?? 0;
  if (!Number.isFinite(eps) || eps < 0)
    throw new ReplensError('E_ARGUMENT', `eps must be a finite number ≥ 0, got ${eps}`);
  if (shape.length < 2 || shape.some((d) => !Number.isInteger(d) || d < 1))
    throw new ReplensError('E_ARGUMENT', `activations must have shape (n, units, ...), got [${shape.join(', ')}]`);
  const total = shape.reduce((a, b) => a * b, 1);
  if (total !== acts.length)
    throw new ReplensError('E_ARGUMENT', `shape [${shape.join(', ')}] needs ${total} values, got ${acts.length}`);
  checkFinite(acts, 'activations');
  const n = shape[0],
    U = shape[1],
    S = total / (n * U);
  checkLabels(labels, n);
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  if (classes.length < 2)
    throw new ReplensError(
      'E_ARGUMENT',
      `class selectivity needs at least 2 classes in labels, found ${classes.length}`,
    );
  const C = classes.length;
  const ci = new Map(classes.map((c, t) => [c, t]));
  const count = new Float64Array(C);
  for (let i = 0; i < n; i++) count[ci.get(labels[i])!]++;
  const sums = new Float64Array(U * C);
  for (let i = 0; i < n; i++) {
    const c = ci.get(labels[i])!;
    for (let u = 0; u < U; u++) {
      const base = (i * U + u) * S;
      let s = 0;
      for (let t = 0; t < S; t++) s += acts[base + t];
      sums[u * C + c] += s / S;
    }
  }
  const per: number[] = [],
    arg: number[] = [];
  let tot = 0;
  for (let u = 0; u < U; u++) {
    let best = 0,
      allZero = true,
      sumAll = 0;
    const means = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      means[c] = sums[u * C + c] / count[c];
      if (means[c] !== 0) allZero = false;
      if (means[c] > means[best]) best = c;
      sumAll += means[c];
    }
    const mMax = means[best];
    const mRest = (sumAll - mMax) / (C - 1);
    const den = mMax + mRest + eps;
    const si = allZero || den === 0 ? 0 : (mMax - mRest) / den;
    per.push(si);
    arg.push(classes[best]);
    tot += si;
  }
  const out: { value: number; per_unit: number[]; argmax_class: number[]; warnings?: string[] } = {
    value: tot / U,
    per_unit: per,
    argmax_class: arg,
  };
  let min = Infinity,
    unitsNeg = 0;
  const negUnit = new Uint8Array(U);
  for (let i = 0; i < n; i++)
    for (let u = 0; u < U; u++)
      for (let t = 0, o = (i * U + u) * S; t < S; t++) {
        const v = acts[o + t];
        if (v < 0) {
          negUnit[u] = 1;
          if (v < min) min = v;
        }
      }
  for (const f of negUnit) unitsNeg += f;
  if (unitsNeg > 0) {
    out.warnings = [
      `negative activations (min ${Number(min.toPrecision(4))}, in ${unitsNeg} of ${U} ` +
        'units): class selectivity is defined for non-negative (post-ReLU) activations; on ' +
        'signed values such as logits the index is unbounded and these numbers mean nothing',
    ];
  }
  return out;
}
