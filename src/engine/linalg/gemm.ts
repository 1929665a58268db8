// Matrix products through onnxruntime (Gemm), the GEMM-shaped heavy work of the metrics: Gram matrices, cross
// products, pairwise distances. float64 where the result must be exact, float32 where the data is large; both on
// the session pool's execution provider (CUDA on a GPU machine), multi-threaded on the CPU.
import { ReplensError } from '../errors';
import { GraphBuilder } from '../onnx/builder';
import { onnx } from '../onnx/proto';
import { runSession, SessionPool } from '../runtime/session';

/** A row-major matrix. */
export interface Mat<T extends Float64Array | Float32Array = Float64Array | Float32Array> {
  data: T;
  rows: number;
  cols: number;
}

export function mat<T extends Float64Array | Float32Array>(data: T, rows: number, cols: number): Mat<T> {
  if (data.length !== rows * cols)
    throw new ReplensError('E_ARGUMENT', `matrix data has ${data.length} values, not ${rows}×${cols}`);
  return { data, rows, cols };
}

type Precision = 'float64' | 'float32';

function gemmModel(precision: Precision, transA: boolean, transB: boolean) {
  const t = precision === 'float64' ? onnx.TensorProto.DataType.DOUBLE : onnx.TensorProto.DataType.FLOAT;
  const b = new GraphBuilder(`gemm_${precision}_${+transA}${+transB}`, 13);
  const A = b.input('A', ['a0', 'a1'], t);
  const B = b.input('B', ['b0', 'b1'], t);
  b.node('Gemm', [A, B], { transA: transA ? 1 : 0, transB: transB ? 1 : 0 }, { name: 'gemm', outputs: ['C'] });
  b.output('C', null, t);
  return b.build();
}

let defaultPool: SessionPool | null = null;
/** The pool metrics use unless given one: CPU, onnxruntime's default threads (all cores). */
export function linalgPool(): SessionPool {
  defaultPool ??= new SessionPool({ executionProvider: 'cpu' });
  return defaultPool;
}

/**
 * C = op(A) · op(B), op = transpose when asked. Both operands must have the same precision; the product has it too.
 */
export async function gemm<T extends Float64Array | Float32Array>(
  a: Mat<T>,
  b: Mat<T>,
  opts: { transA?: boolean; transB?: boolean; pool?: SessionPool } = {},
): Promise<Mat<T>> {
  const precision: Precision = a.data instanceof Float64Array ? 'float64' : 'float32';
  if ((b.data instanceof Float64Array ? 'float64' : 'float32') !== precision)
    throw new ReplensError('E_ARGUMENT', 'gemm: operands of different precision');
  const [m, ka] = opts.transA ? [a.cols, a.rows] : [a.rows, a.cols];
  const [kb, n] = opts.transB ? [b.cols, b.rows] : [b.rows, b.cols];
  if (ka !== kb) throw new ReplensError('E_ARGUMENT', `gemm: inner dimensions differ (${m}×${ka} · ${kb}×${n})`);
  if (m === 0 || n === 0)
    return { data: (precision === 'float64' ? new Float64Array(0) : new Float32Array(0)) as T, rows: m, cols: n };
  const pool = opts.pool ?? linalgPool();
  const model = gemmModel(precision, !!opts.transA, !!opts.transB);
  const ms = await pool.get(`linalg:${model.graph!.name}`, model, 'gemm');
  const out = await runSession(
    ms,
    {
      A: { data: a.data, dims: [a.rows, a.cols], type: precision },
      B: { data: b.data, dims: [b.rows, b.cols], type: precision },
    },
    'gemm',
  );
  return { data: out.C.data as T, rows: m, cols: n };
}

/** X·Xᵀ (n×n) for X n×p: the linear-kernel Gram matrix (float64 from 1,024 rows: the blocked symmetric product). */
export async function gram<T extends Float64Array | Float32Array>(x: Mat<T>, pool?: SessionPool): Promise<Mat<T>> {
  if (x.data instanceof Float64Array && x.rows >= 1024 && !pool) {
    return { data: (await symmetricGram(x.data, x.rows, x.cols)) as T, rows: x.rows, cols: x.rows };
  }
  return gemm(x, x, { transB: true, pool });
}

/** Xᵀ·Y (p1×p2) for X n×p1, Y n×p2: the cross-product (covariance before scaling). */
export function crossProduct<T extends Float64Array | Float32Array>(
  x: Mat<T>,
  y: Mat<T>,
  pool?: SessionPool,
): Promise<Mat<T>> {
  return gemm(x, y, { transA: true, pool });
}

/**
 * Row blocks for symmetricGram: one plain Gemm below 1024 rows, else blocks of at most ~1000 rows, at most 8 blocks.
 */
export function gramBlocks(n: number): number {
  return n < 1024 ? 1 : Math.min(8, Math.ceil(n / 1024) + 1);
}

/**
 * X·Xᵀ (n×n, symmetric) for row-major X n×p, computing only the row-block pairs i ≤ j through float64 Gemm and
 * mirroring the rest: (B+1)/(2B) of the multiply-adds of one full product with B blocks (Gemm has no SYRK).
 */
export async function symmetricGram(
  x: Float64Array,
  n: number,
  p: number,
  blocks = gramBlocks(n),
): Promise<Float64Array> {
  const B = Math.max(1, Math.min(blocks, n));
  if (B === 1) {
    const m: Mat<Float64Array> = { data: x, rows: n, cols: p };
    return (await gemm(m, m, { transB: true })).data;
  }
  const size = Math.ceil(n / B);
  const out = new Float64Array(n * n);
  for (let a0 = 0; a0 < n; a0 += size) {
    const a1 = Math.min(n, a0 + size);
    const xa: Mat<Float64Array> = { data: x.subarray(a0 * p, a1 * p), rows: a1 - a0, cols: p };
    for (let b0 = a0; b0 < n; b0 += size) {
      const b1 = Math.min(n, b0 + size),
        w = b1 - b0;
      const c = (await gemm(xa, { data: x.subarray(b0 * p, b1 * p), rows: w, cols: p }, { transB: true })).data;
      for (let i = a0; i < a1; i++) out.set(c.subarray((i - a0) * w, (i - a0 + 1) * w), i * n + b0);
      if (b0 !== a0) mirrorTile(c, a1 - a0, w, out, n, b0, a0);
    }
  }
  return out;
}

/** out[r0 + j, c0 + i] = c[i, j] for c h×w row-major, in 64×64 tiles (a cache-friendly transpose). */
function mirrorTile(c: Float64Array, h: number, w: number, out: Float64Array, n: number, r0: number, c0: number): void {
  const T = 64;
  for (let ib = 0; ib < h; ib += T) {
    const ie = Math.min(h, ib + T);
    for (let jb = 0; jb < w; jb += T) {
      const je = Math.min(w, jb + T);
      for (let j = jb; j < je; j++) {
        const o = (r0 + j) * n + c0;
        for (let i = ib; i < ie; i++) out[o + i] = c[i * w + j];
      }
    }
  }
}
