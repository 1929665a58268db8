// Activated Representational Substitution arithmetic (seed 000, eqs. 3–5), from a layer's responses to each
// kernel's image: acts has shape (N, N, ...spatial) — row i is the layer's output for kernel i's image, acts[i, j]
// the map of kernel j in it (shape (N, N) means 1×1 maps).
//   x_j  = spatial mean of kernel j's map in the response to image i
//   RS_i = #{j ≠ i : x_j > x_i} / N        (strict; N counts the target kernel itself)        eq. 3
//   AR_i = fraction of the target's own map acts[i, i] that is > 0                            eq. 4
//   ARS_i = 2·atan(RS_i / AR_i) / π; 1 when AR_i = 0 < RS_i; null (undefined) when both are 0  eq. 5
// value = the mean of the defined ARS (the layer term of MARS, eq. 6), null when none is defined.
import { ReplensError } from '../errors';
import { checkFinite } from './knn';

export function ars(
  acts: Float64Array,
  shape: number[],
): { value: number | null; rs: number[]; ar: number[]; ars: (number | null)[] } {
  if (shape.length < 2 || shape[0] !== shape[1] || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ReplensError(
      'E_ARGUMENT',
      'ARS needs activations of shape (N, N, ...) (row i = the ' +
        `responses to kernel i's image), got [${shape.join(', ')}]`,
    );
  }
  const total = shape.reduce((a, b) => a * b, 1);
  if (total !== acts.length)
    throw new ReplensError('E_ARGUMENT', `shape [${shape.join(', ')}] needs ${total} values, got ${acts.length}`);
  checkFinite(acts, 'activations');
  const N = shape[0],
    S = total / (N * N);
  const rs: number[] = [],
    ar: number[] = [],
    out: (number | null)[] = [];
  const x = new Float64Array(N);
  let sum = 0,
    defined = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const base = (i * N + j) * S;
      let s = 0;
      for (let t = 0; t < S; t++) s += acts[base + t];
      x[j] = s / S;
    }
    let above = 0;
    for (let j = 0; j < N; j++) if (j !== i && x[j] > x[i]) above++;
    const own = (i * N + i) * S;
    let pos = 0;
    for (let t = 0; t < S; t++) if (acts[own + t] > 0) pos++;
    const r = above / N,
      a = pos / S;
    rs.push(r);
    ar.push(a);
    let v: number | null;
    if (a > 0) v = (2 * Math.atan(r / a)) / Math.PI;
    else v = r > 0 ? 1 : null;
    out.push(v);
    if (v !== null) {
      sum += v;
      defined++;
    }
  }
  return { value: defined ? sum / defined : null, rs, ar, ars: out };
}
