// Centred kernel alignment (CKA) between two representations of the same n samples, float64 throughout.
//
//  - linear CKA (Kornblith et al. 2019): ⟨HKH, HLH⟩_F / (‖HKH‖_F ‖HLH‖_F), K = XXᵀ, L = YYᵀ. Computed either in
//    feature space, ‖XcᵀYc‖²_F / (‖XcᵀXc‖_F ‖YcᵀYc‖_F) with column-centred Xc, Yc (cheap when p ≪ n), or from the
//    n×n Gram matrices (cheap when p ≫ n). The products go through onnxruntime Gemm in float64.
//  - RBF CKA: K_ij = exp(−‖x_i − x_j‖² / (2·threshold²·median(D²))), the median taken per matrix over all n²
//    squared distances, the zero diagonal included (the google-research notebook's convention).
//  - debiased CKA: the same ratio on U-centred Grams (Székely & Rizzo 2014; Kornblith's center_gram(unbiased=True)).
//  - minibatch CKA (Nguyen et al. 2021): mean_b HSIC₁(K_b, L_b) / √(mean_b HSIC₁(K_b, K_b) · mean_b HSIC₁(L_b, L_b))
//    over consecutive batches, HSIC₁ the unbiased estimator = ⟨U(K),U(L)⟩/(n(n−3)); one batch held at a time. Not
//    the mean of per-batch ratios. The paper (and the public ports) weight every batch equally ('equal', default);
//    'size' weights batch b by n_b(n_b−3), i.e. Σ_b⟨U(K_b),U(L_b)⟩ — our former default, the same when the batches
//    are equal, different with a ragged last batch.
//
// Data are column-centred before any Gram is formed. Linear HKH, U-centring and squared distances are all invariant
// to a shift of the columns, so this changes no value, but it removes the cancellation that large column means
// (e.g. post-ReLU activations) would cause in XXᵀ and in d² = g_ii + g_jj − 2g_ij.
import { ReplensError } from '../errors';
import { crossProduct, gramBlocks, symmetricGram, Mat } from '../linalg/gemm';

// The blocked symmetric Gram lives with the other products; re-exported for callers that know it from here.
export { symmetricGram };
import { centerColumns, centerGram, frobeniusDot, uCenterGram } from './center';
import { requireFinite } from './input';

export type CkaForm = 'feature' | 'gram';
type AnyMat = Mat<Float64Array | Float32Array>;

export interface CkaResult {
  value: number;
  kernel: 'linear' | 'rbf';
  debiased: boolean;
  form?: CkaForm;
  threshold?: number;
  batches?: number;
  /** Minibatch CKA's batch weighting. */
  weighting?: BatchWeighting;
  precision: 'float64';
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

/** Float64 copy-free view (or a float64 copy of float32 data) after checking every value is finite. */
function checkedData(m: AnyMat, name: string, where = ''): Float64Array {
  if (m.data.length !== m.rows * m.cols)
    throw new ReplensError('E_ARGUMENT', `${where}${name} has ${m.data.length} values, not ${m.rows}×${m.cols}`);
  const d = m.data;
  requireFinite(d, `${where}${name}`, m.cols);
  return d instanceof Float64Array ? d : Float64Array.from(d);
}

function checkPair(
  x: AnyMat,
  y: AnyMat,
  minN: number,
  estimator: string,
): { xd: Float64Array; yd: Float64Array; n: number } {
  if (x.rows !== y.rows) throw new ReplensError('E_ARGUMENT', `x has ${x.rows} samples, y has ${y.rows}`);
  const n = x.rows;
  if (n < minN) throw new ReplensError('E_ARGUMENT', `${estimator} needs at least ${minN} samples, got ${n}`);
  if (x.cols < 1) throw new ReplensError('E_ARGUMENT', 'x has no features');
  if (y.cols < 1) throw new ReplensError('E_ARGUMENT', 'y has no features');
  const xd = checkedData(x, 'x'),
    yd = checkedData(y, 'y');
  checkNotConstant(xd, n, x.cols, 'x');
  checkNotConstant(yd, n, y.cols, 'y');
  return { xd, yd, n };
}

function zeroVariance(name: string): ReplensError {
  return new ReplensError('E_ARGUMENT', `${name} has zero variance after centring; CKA is undefined`);
}

/** Exact test: every sample equal to the first. (Centring such data leaves rounding noise, not zeros.) */
function checkNotConstant(d: Float64Array, n: number, p: number, name: string): void {
  for (let i = 1; i < n; i++) for (let j = 0; j < p; j++) if (d[i * p + j] !== d[j]) return;
  throw zeroVariance(name);
}

function checkThreshold(t: number): number {
  if (!(Number.isFinite(t) && t > 0))
    throw new ReplensError('E_ARGUMENT', `--threshold must be a positive number, got ${t}`);
  return t;
}

function ratio(xy: number, xx: number, yy: number): number {
  if (!(xx > 0)) throw zeroVariance('x');
  if (!(yy > 0)) throw zeroVariance('y');
  return xy / Math.sqrt(xx * yy);
}

// ---------------------------------------------------------------------------------------------------------------
// Kernels

/** The n×n linear Gram matrix of column-centred data (float64 Gemm). */
function linearGram(xc: Float64Array, n: number, p: number): Promise<Float64Array> {
  return symmetricGram(xc, n, p);
}

/**
 * The RBF Gram matrix exp(−d²/(2·threshold²·median(d²))) of (column-centred) data; d²_ij = g_ii + g_jj − 2g_ij from
 * the linear Gram, clamped at 0, the diagonal exactly 0. The median runs over all n² entries including the zero
 * diagonal, as in the google-research representation_similarity notebook (a popular PyTorch port excludes the
 * diagonal, which gives a larger bandwidth and a different value).
 */
export async function rbfGram(
  xc: Float64Array,
  n: number,
  p: number,
  threshold: number,
  name = 'x',
): Promise<Float64Array> {
  const g = await linearGram(xc, n, p);
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = g[i * n + i];
  for (let i = 0; i < n; i++) {
    const r = i * n,
      di = diag[i];
    for (let j = 0; j < n; j++) {
      const d = di + diag[j] - 2 * g[r + j];
      g[r + j] = d > 0 ? d : 0;
    }
    g[r + i] = 0;
  }
  const med = median(g.slice());
  if (!(med > 0))
    throw new ReplensError(
      'E_ARGUMENT',
      `${name}: the median squared distance between samples is 0 (more ` +
        'than half of the sample pairs coincide); RBF CKA is undefined',
    );
  const scale = -1 / (2 * threshold * threshold * med);
  for (let i = 0; i < g.length; i++) g[i] = Math.exp(g[i] * scale);
  return g;
}

/**
 * The median of the values (numpy's convention: the mean of the two middle values when the count is even),
 * by quickselect in O(length). Reorders `a`.
 */
export function median(a: Float64Array): number {
  const N = a.length;
  if (N === 0) return NaN;
  const k = (N - 1) >> 1;
  const lo = select(a, k);
  if (N % 2 === 1) return lo;
  // After select, every element right of k is ≥ a[k]; the upper middle value is their minimum.
  let hi = Infinity;
  for (let i = k + 1; i < N; i++) if (a[i] < hi) hi = a[i];
  return (lo + hi) / 2;
}

/** The k-th smallest value (0-based); afterwards a[0..k−1] ≤ a[k] ≤ a[k+1..]. Hoare partition, median-of-3 pivot. */
function select(a: Float64Array, k: number): number {
  let lo = 0,
    hi = a.length - 1;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >> 1);
    const x = a[lo],
      y = a[mid],
      z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo,
      j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

// ---------------------------------------------------------------------------------------------------------------
// Linear CKA

/** Multiply-adds of each form, to pick the cheaper one. */
function formCost(n: number, p1: number, p2: number): { feature: number; gram: number } {
  const B = gramBlocks(n);
  return { feature: n * (p1 * p1 + p2 * p2 + p1 * p2), gram: (n * n * (p1 + p2) * (B + 1)) / (2 * B) + 8 * n * n };
}

/**
 * Linear CKA. form 'auto' (default) picks the cheaper of the feature-space form (p ≪ n) and the Gram form (p ≫ n);
 * both give the same value to rounding. Debiased uses U-centred Grams; its feature-space form is the exact identity
 * (Xc, Yc column-centred, r_i = ‖x_i‖², s_i = ‖y_i‖² of the centred rows)
 *   ⟨U(K),U(L)⟩ = ‖XcᵀYc‖²_F − n/(n−2)·Σ_i r_i s_i + (Σr)(Σs)/((n−1)(n−2)),
 * which follows from ⟨U(K),U(L)⟩ = n(n−3)·HSIC_unbiased (Song et al. 2012) and K1 = 0 for centred data.
 */
export async function linearCKA(
  x: AnyMat,
  y: AnyMat,
  opts: { debiased?: boolean; form?: 'auto' | CkaForm } = {},
): Promise<{ value: number; form: CkaForm }> {
  const debiased = !!opts.debiased;
  const { xd, yd, n } = checkPair(x, y, debiased ? 4 : 2, debiased ? 'debiased CKA' : 'CKA');
  const p1 = x.cols,
    p2 = y.cols;
  const req: string = opts.form ?? 'auto'; // checked next
  if (req !== 'auto' && req !== 'feature' && req !== 'gram')
    throw new ReplensError('E_ARGUMENT', `unknown CKA form "${req}" (auto, feature or gram)`);
  const cost = formCost(n, p1, p2);
  const form: CkaForm = req === 'auto' ? (cost.feature <= cost.gram ? 'feature' : 'gram') : req;
  const xc = centerColumns(xd, n, p1),
    yc = centerColumns(yd, n, p2);

  if (form === 'gram') {
    const k = await linearGram(xc, n, p1),
      l = await linearGram(yc, n, p2);
    return { value: gramRatio(k, l, n, debiased), form };
  }
  const X: Mat<Float64Array> = { data: xc, rows: n, cols: p1 },
    Y: Mat<Float64Array> = { data: yc, rows: n, cols: p2 };
  const xtx = (await crossProduct(X, X)).data,
    yty = (await crossProduct(Y, Y)).data,
    xty = (await crossProduct(X, Y)).data;
  let xy = frobeniusDot(xty, xty),
    xx = frobeniusDot(xtx, xtx),
    yy = frobeniusDot(yty, yty);
  if (debiased) {
    const r = rowSquaredNorms(xc, n, p1),
      s = rowSquaredNorms(yc, n, p2);
    let sr = 0,
      ss = 0,
      rs = 0,
      rr = 0,
      s2 = 0;
    for (let i = 0; i < n; i++) {
      sr += r[i];
      ss += s[i];
      rs += r[i] * s[i];
      rr += r[i] * r[i];
      s2 += s[i] * s[i];
    }
    const a = n / (n - 2),
      b = 1 / ((n - 1) * (n - 2));
    xy = xy - a * rs + b * sr * ss;
    xx = xx - a * rr + b * sr * sr;
    yy = yy - a * s2 + b * ss * ss;
  }
  return { value: ratio(xy, xx, yy), form };
}

function rowSquaredNorms(d: Float64Array, n: number, p: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const r = i * p;
    for (let j = 0; j < p; j++) s += d[r + j] * d[r + j];
    out[i] = s;
  }
  return out;
}

/** ⟨C(K), C(L)⟩ / (‖C(K)‖‖C(L)‖) with C = double centring or U-centring; K and L are overwritten. */
function gramRatio(k: Float64Array, l: Float64Array, n: number, debiased: boolean): number {
  if (debiased) {
    uCenterGram(k, n);
    uCenterGram(l, n);
  } else {
    centerGram(k, n);
    centerGram(l, n);
  }
  return ratio(frobeniusDot(k, l), frobeniusDot(k, k), frobeniusDot(l, l));
}

// ---------------------------------------------------------------------------------------------------------------
// RBF CKA

export async function rbfCKA(
  x: AnyMat,
  y: AnyMat,
  opts: { threshold?: number; debiased?: boolean } = {},
): Promise<{ value: number }> {
  const debiased = !!opts.debiased;
  const threshold = checkThreshold(opts.threshold ?? 0.5);
  const { xd, yd, n } = checkPair(x, y, debiased ? 4 : 2, debiased ? 'debiased CKA' : 'CKA');
  const k = await rbfGram(centerColumns(xd, n, x.cols), n, x.cols, threshold, 'x');
  const l = await rbfGram(centerColumns(yd, n, y.cols), n, y.cols, threshold, 'y');
  return { value: gramRatio(k, l, n, debiased) };
}

// ---------------------------------------------------------------------------------------------------------------
// Minibatch CKA

export interface CkaBatch {
  x: AnyMat;
  y: AnyMat;
}

/**
 * Minibatch CKA (Nguyen et al. 2021) over batches of paired samples: per batch the U-centred Grams (unbiased HSIC),
 * value = Σ_b⟨U(K_b),U(L_b)⟩ / √(Σ_b⟨U(K_b),U(K_b)⟩ · Σ_b⟨U(L_b),U(L_b)⟩). Holds one batch at a time.
 * Every batch needs at least 4 samples; the feature counts must not change between batches.
 */
export async function minibatchCKA(
  batches: AsyncIterable<CkaBatch> | Iterable<CkaBatch>,
  opts: { kernel?: 'linear' | 'rbf'; threshold?: number; weighting?: BatchWeighting } = {},
): Promise<{ value: number; batches: number; weighting: BatchWeighting }> {
  const kernel: string = opts.kernel ?? 'linear'; // a string from JavaScript callers: checked next
  const weighting = checkWeighting(opts.weighting);
  if (kernel !== 'linear' && kernel !== 'rbf')
    throw new ReplensError('E_ARGUMENT', `unknown kernel "${kernel}" (linear or rbf)`);
  const threshold = checkThreshold(opts.threshold ?? 0.5);
  let xy = 0,
    xx = 0,
    yy = 0,
    b = 0,
    seen = 0;
  let p1 = -1,
    p2 = -1;
  for await (const batch of batches) {
    const where = `batch ${b} (samples ${seen}–${seen + batch.x.rows - 1}): `;
    if (batch.x.rows !== batch.y.rows)
      throw new ReplensError('E_ARGUMENT', `${where}x has ${batch.x.rows} samples, y has ${batch.y.rows}`);
    const n = batch.x.rows;
    if (n < 4)
      throw new ReplensError(
        'E_ARGUMENT',
        `batch ${b} has ${n} sample${n === 1 ? '' : 's'}; minibatch CKA needs at least 4 per batch (unbiased HSIC)`,
      );
    if (p1 < 0) {
      p1 = batch.x.cols;
      p2 = batch.y.cols;
    }
    if (batch.x.cols !== p1 || batch.y.cols !== p2)
      throw new ReplensError(
        'E_ARGUMENT',
        `${where}has ${batch.x.cols}/${batch.y.cols} features in x/y, the first batch had ${p1}/${p2}`,
      );
    const xd = checkedData(batch.x, 'x', where),
      yd = checkedData(batch.y, 'y', where);
    const xc = centerColumns(xd, n, p1),
      yc = centerColumns(yd, n, p2);
    const k = kernel === 'linear' ? await linearGram(xc, n, p1) : await rbfGram(xc, n, p1, threshold, `${where}x`);
    const l = kernel === 'linear' ? await linearGram(yc, n, p2) : await rbfGram(yc, n, p2, threshold, `${where}y`);
    uCenterGram(k, n);
    uCenterGram(l, n);
    // ⟨U(K),U(L)⟩ = n(n−3)·HSIC₁: dividing by it averages HSIC₁ with equal batch weights
    // (the common 1/#batches cancels).
    const w = weighting === 'equal' ? 1 / (n * (n - 3)) : 1;
    xy += w * frobeniusDot(k, l);
    xx += w * frobeniusDot(k, k);
    yy += w * frobeniusDot(l, l);
    b++;
    seen += n;
  }
  if (b === 0) throw new ReplensError('E_ARGUMENT', 'minibatch CKA got no batches');
  return { value: ratio(xy, xx, yy), batches: b, weighting };
}

/**
 * How minibatch CKA weights its batches: 'equal' — the mean of the per-batch HSIC₁ (Nguyen et al. 2021, default);
 * 'size' — batch b weighted by n_b(n_b−3) (Σ_b⟨U(K_b),U(L_b)⟩).
 */
export type BatchWeighting = 'equal' | 'size';

function checkWeighting(w: string | undefined): BatchWeighting {
  if (w === undefined) return 'equal';
  if (w !== 'equal' && w !== 'size')
    throw new ReplensError('E_ARGUMENT', `unknown batch weighting "${w}" (equal or size)`);
  return w;
}

/** Consecutive rows [start, end) of a row-major matrix, as a view. */
function rowSlice(m: AnyMat, start: number, end: number): AnyMat {
  return { data: m.data.subarray(start * m.cols, end * m.cols), rows: end - start, cols: m.cols };
}

/** A batch size near `b` whose ragged last batch is empty or has at least 4 samples. */
function suggestBatchSize(n: number, b: number): number | null {
  for (let d = 1; d < n; d++) {
    for (const c of [b + d, b - d]) if (c >= 4 && c <= n && (n % c === 0 || n % c >= 4)) return c;
  }
  return null;
}

/** Minibatch CKA over consecutive batches of `batchSize` rows of x and y (the last batch may be smaller). */
export async function minibatchCKAOf(
  x: AnyMat,
  y: AnyMat,
  batchSize: number,
  opts: { kernel?: 'linear' | 'rbf'; threshold?: number; weighting?: BatchWeighting } = {},
): Promise<{ value: number; batches: number; weighting: BatchWeighting }> {
  if (!Number.isInteger(batchSize) || batchSize < 4)
    throw new ReplensError('E_ARGUMENT', `--batch-size must be an integer ≥ 4, got ${batchSize}`);
  const { n } = checkPair(x, y, 4, 'minibatch CKA');
  const last = n % batchSize;
  if (last !== 0 && last < 4) {
    const s = suggestBatchSize(n, batchSize);
    throw new ReplensError(
      'E_ARGUMENT',
      `with ${n} samples and --batch-size ${batchSize} the last batch ` +
        `has ${last} sample${last === 1 ? '' : 's'}; minibatch CKA needs ` +
        `at least 4 per batch${s ? ` — try --batch-size ${s}` : ''}`,
    );
  }
  function* slices(): Generator<CkaBatch> {
    for (let s = 0; s < n; s += batchSize) {
      const e = Math.min(n, s + batchSize);
      yield { x: rowSlice(x, s, e), y: rowSlice(y, s, e) };
    }
  }
  return minibatchCKA(slices(), opts);
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point

/** CKA as the CLI asks for it: `batchSize` selects minibatch CKA (always unbiased), otherwise full-data CKA. */
export async function cka(
  x: AnyMat,
  y: AnyMat,
  opts: {
    kernel?: 'linear' | 'rbf';
    threshold?: number;
    debiased?: boolean;
    batchSize?: number;
    weighting?: BatchWeighting;
  } = {},
): Promise<CkaResult> {
  const kernel: string = opts.kernel ?? 'linear'; // a string from JavaScript callers: checked next
  if (kernel !== 'linear' && kernel !== 'rbf')
    throw new ReplensError('E_ARGUMENT', `unknown kernel "${kernel}" (linear or rbf)`);
  const threshold = kernel === 'rbf' ? checkThreshold(opts.threshold ?? 0.5) : undefined;
  if (opts.batchSize !== undefined) {
    const r = await minibatchCKAOf(x, y, opts.batchSize, { kernel, threshold, weighting: opts.weighting });
    return {
      value: r.value,
      kernel,
      debiased: true,
      ...(threshold !== undefined ? { threshold } : {}),
      batches: r.batches,
      weighting: r.weighting,
      precision: 'float64',
    };
  }
  const debiased = !!opts.debiased;
  if (kernel === 'rbf') {
    const r = await rbfCKA(x, y, { threshold, debiased });
    return { value: r.value, kernel, debiased, threshold, precision: 'float64' };
  }
  const r = await linearCKA(x, y, { debiased });
  return { value: r.value, kernel, debiased, form: r.form, precision: 'float64' };
}
