#!/usr/bin/env python3
"""numpy counterparts of the RepLens metric benchmarks (bench/metrics.ts), on the .npy files it writes.

Usage: bench_numpy.py DIR K. Reads DIR/{cka_x,cka_y,knn_x,svcca_x,svcca_y}.npy (float64, samples first), times
  - linear CKA, feature-space form ||Xc^T Yc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F) on column-centred data;
  - brute-force exact kNN: squared distances from X X^T, self excluded, argpartition, then sorted by distance;
  - SVCCA: centre, numpy SVD, keep 99% of the variance per side, CCA by whitening with eigh and an SVD;
writes DIR/knn_numpy_idx.npy and prints one JSON line {cka|knn|svcca: {seconds, detail}, blas}.
Loading the files is not timed.
"""
import json
import os
import sys
import time

import numpy as np


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: not reported (threadpoolctl is not installed)"
    libs = [f"{i.get('internal_api')} {i.get('version')} {i.get('threading_layer', '')} {i.get('architecture', '')} "
            f"{i.get('num_threads')} threads" for i in threadpool_info() if i.get('user_api') == 'blas']
    return "BLAS: " + ("; ".join(libs) if libs else "none found")


def linear_cka(x, y):
    xc = x - x.mean(axis=0)
    yc = y - y.mean(axis=0)
    xy = np.linalg.norm(xc.T @ yc) ** 2
    xx = np.linalg.norm(xc.T @ xc)
    yy = np.linalg.norm(yc.T @ yc)
    return xy / (xx * yy)


def knn(x, k, block=1000):
    n = x.shape[0]
    sq = np.einsum('ij,ij->i', x, x)
    g = x @ x.T
    out = np.empty((n, k), dtype=np.int64)
    for s in range(0, n, block):
        e = min(n, s + block)
        d = sq[s:e, None] + sq[None, :] - 2 * g[s:e]
        d[np.arange(e - s), np.arange(s, e)] = np.inf
        part = np.argpartition(d, k, axis=1)[:, :k]
        pd = np.take_along_axis(d, part, axis=1)
        order = np.lexsort((part, pd), axis=-1)  # by (distance, index)
        out[s:e] = np.take_along_axis(part, order, axis=1)
    return out


def inv_sqrt(s, tol=1e-10):
    w, v = np.linalg.eigh(s)
    keep = w > tol * w.max()
    return v[:, keep] / np.sqrt(w[keep])


def svcca(x, y, keep=0.99):
    def reduce(m):
        c = m - m.mean(axis=0)
        u, s, _ = np.linalg.svd(c, full_matrices=False)
        frac = np.cumsum(s ** 2) / np.sum(s ** 2)
        k = int(np.searchsorted(frac, keep) + 1)
        return u[:, :k] * s[:k], k
    rx, kx = reduce(x)
    ry, ky = reduce(y)
    rx = rx - rx.mean(axis=0)
    ry = ry - ry.mean(axis=0)
    n = rx.shape[0]
    sxx, syy, sxy = rx.T @ rx / (n - 1), ry.T @ ry / (n - 1), rx.T @ ry / (n - 1)
    wx, wy = inv_sqrt(sxx), inv_sqrt(syy)
    rho = np.clip(np.linalg.svd(wx.T @ sxy @ wy, compute_uv=False), 0, 1)
    return float(rho.mean()), kx, ky


def timed(f, *a):
    t = time.perf_counter()
    r = f(*a)
    return time.perf_counter() - t, r


def main():
    d, k = sys.argv[1], int(sys.argv[2])
    out = {"blas": blas_info()}
    load = lambda name: np.load(os.path.join(d, name + '.npy'))
    if os.path.exists(os.path.join(d, 'cka_x.npy')):
        x, y = load('cka_x'), load('cka_y')
        t, v = timed(linear_cka, x, y)
        out['cka'] = {"seconds": t, "detail": f"value {v:.6f} (feature-space form, float64)"}
        del x, y
    if os.path.exists(os.path.join(d, 'knn_x.npy')):
        x = load('knn_x')
        t, idx = timed(knn, x, k)
        np.save(os.path.join(d, 'knn_numpy_idx.npy'), idx)
        out['knn'] = {"seconds": t, "detail": "X·Xᵀ (float64) distances + argpartition, candidates ordered by (distance, index)"}
        del x
    if os.path.exists(os.path.join(d, 'svcca_x.npy')):
        x, y = load('svcca_x'), load('svcca_y')
        t, (v, kx, ky) = timed(svcca, x, y)
        out['svcca'] = {"seconds": t, "detail": f"value {v:.6f}, kept kx={kx}, ky={ky} (numpy SVD + eigh whitening, float64)"}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
