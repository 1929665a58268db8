// Implicit QL on a symmetric tridiagonal matrix (EISPACK tql2 lineage), shared by symEig and by the leaves of the
// divide-and-conquer tridiagonal solver (dc.ts). Moved here unchanged from eig.ts.
import { ReplensError } from '../errors';

/**
 * Implicit QL on the tridiagonal (d, e) with Wilkinson-type shifts, rotating W's rows alongside.
 * The Givens rotations of one QL sweep are recorded and then applied to W in column blocks: applying each to
 * whole rows as it is generated streams all of W through the cache once per sweep (memory-bound at n ≈ 1,000);
 * blocked, the touched row segments stay in cache while every rotation of the sweep goes through them.
 */
export function tql2(w: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors: boolean): void {
  const cs = new Float64Array(n),
    sn = new Float64Array(n);
  const BLOCK = 128;
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0,
    tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    // Find a negligible sub-diagonal element: deflate there.
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new ReplensError('E_RUNTIME', 'symEig: QL iteration did not converge');
        // Shift: the eigenvalue of the leading 2×2 block closer to d[l] (Wilkinson), applied implicitly.
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        // Chase the bulge with Givens rotations from the bottom of the unreduced block.
        p = d[m];
        let c = 1,
          c2 = 1,
          c3 = 1,
          s = 0,
          s2 = 0;
        const el1 = e[l + 1];
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          cs[i] = c;
          sn[i] = s;
        }
        if (wantVectors) {
          for (let k0 = 0; k0 < n; k0 += BLOCK) {
            const k1 = Math.min(n, k0 + BLOCK);
            let i = m - 1;
            // Two consecutive rotations share row i: fuse them so that row is loaded and stored once.
            for (; i - 1 >= l; i -= 2) {
              const c1 = cs[i],
                s1 = sn[i],
                c2 = cs[i - 1],
                s2 = sn[i - 1];
              const ra = (i - 1) * n,
                rb = ra + n,
                rc = rb + n;
              for (let k = k0; k < k1; k++) {
                const t = w[rc + k],
                  u = w[rb + k],
                  v = w[ra + k];
                w[rc + k] = s1 * u + c1 * t;
                const u2 = c1 * u - s1 * t;
                w[rb + k] = s2 * v + c2 * u2;
                w[ra + k] = c2 * v - s2 * u2;
              }
            }
            if (i >= l) {
              const c = cs[i],
                s = sn[i],
                ri = i * n,
                ri1 = ri + n;
              for (let k = k0; k < k1; k++) {
                const t = w[ri1 + k],
                  u = w[ri + k];
                w[ri1 + k] = s * u + c * t;
                w[ri + k] = c * u - s * t;
              }
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}
