// Centring helpers for kernel methods: column centring of data, double centring (H·K·H) and U-centring of
// symmetric n×n Gram matrices, all in place on Float64Array, row-major.

/** A copy of X (n×p, row-major) with every column's mean subtracted; the means are accumulated in float64. */
export function centerColumns(x: Float64Array, n: number, p: number): Float64Array {
  return centreWithMeans(x, n, p).data;
}

/** Column-centred copy of an n×p row-major matrix, with the column means (PWCCA adds them back). */
export function centreWithMeans(x: Float64Array, n: number, p: number): { data: Float64Array; mean: Float64Array } {
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const r = i * p;
    for (let j = 0; j < p; j++) mean[j] += x[r + j];
  }
  for (let j = 0; j < p; j++) mean[j] /= n;
  const out = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const r = i * p;
    for (let j = 0; j < p; j++) out[r + j] = x[r + j] - mean[j];
  }
  return { data: out, mean };
}

/**
 * H·K·H in place, H = I − 11ᵀ/n, for a symmetric n×n K: with m_j the column means and m̄ their mean,
 * K_ij ← K_ij − (m_i − m̄/2) − (m_j − m̄/2) (Kornblith's center_gram(unbiased=False)).
 */
export function centerGram(k: Float64Array, n: number): Float64Array {
  const m = columnSums(k, n);
  let total = 0;
  for (let j = 0; j < n; j++) {
    m[j] /= n;
    total += m[j];
  }
  const half = total / n / 2;
  for (let j = 0; j < n; j++) m[j] -= half;
  subtractOuter(k, n, m);
  return k;
}

/**
 * U-centring in place (Székely & Rizzo 2014; Kornblith's center_gram(unbiased=True)), for a symmetric n×n K, n ≥ 3:
 * zero the diagonal; m = column sums/(n−2); m −= Σm/(2(n−1)); K_ij ← K_ij − m_i − m_j; zero the diagonal again.
 * ⟨U(K), U(L)⟩ / (n(n−3)) is the unbiased HSIC estimator.
 */
export function uCenterGram(k: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) k[i * n + i] = 0;
  const m = columnSums(k, n);
  let total = 0;
  for (let j = 0; j < n; j++) {
    m[j] /= n - 2;
    total += m[j];
  }
  const shift = total / (2 * (n - 1));
  for (let j = 0; j < n; j++) m[j] -= shift;
  subtractOuter(k, n, m);
  for (let i = 0; i < n; i++) k[i * n + i] = 0;
  return k;
}

/** ⟨A, B⟩_F = Σ a_i b_i over two equally long arrays, accumulated in float64. */
export function frobeniusDot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function columnSums(k: Float64Array, n: number): Float64Array {
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = i * n;
    for (let j = 0; j < n; j++) s[j] += k[r + j];
  }
  return s;
}

function subtractOuter(k: Float64Array, n: number, m: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const r = i * n,
      mi = m[i];
    for (let j = 0; j < n; j++) k[r + j] -= mi + m[j];
  }
}
