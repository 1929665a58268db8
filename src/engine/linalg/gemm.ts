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
  if (data.length !== rows * cols) throw new ReplensError('E_ARGUMENT', `matrix data has ${data.length} values, not ${rows}×${cols}`);
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
export async function gemm<T extends Float64Array | Float32Array>(a: Mat<T>, b: Mat<T>, opts: { transA?: boolean; transB?: boolean; pool?: SessionPool } = {}): Promise<Mat<T>> {
  const precision: Precision = a.data instanceof Float64Array ? 'float64' : 'float32';
  if ((b.data instanceof Float64Array ? 'float64' : 'float32') !== precision) throw new ReplensError('E_ARGUMENT', 'gemm: operands of different precision');
  const [m, ka] = opts.transA ? [a.cols, a.rows] : [a.rows, a.cols];
  const [kb, n] = opts.transB ? [b.cols, b.rows] : [b.rows, b.cols];
  if (ka !== kb) throw new ReplensError('E_ARGUMENT', `gemm: inner dimensions differ (${m}×${ka} · ${kb}×${n})`);
  if (m === 0 || n === 0) return { data: (precision === 'float64' ? new Float64Array(0) : new Float32Array(0)) as T, rows: m, cols: n };
  const pool = opts.pool ?? linalgPool();
  const model = gemmModel(precision, !!opts.transA, !!opts.transB);
  const ms = await pool.get(`linalg:${model.graph!.name}`, model, 'gemm');
  const out = await runSession(ms, {
    A: { data: a.data, dims: [a.rows, a.cols], type: precision },
    B: { data: b.data, dims: [b.rows, b.cols], type: precision },
  }, 'gemm');
  return { data: out.C.data as T, rows: m, cols: n };
}

/** X·Xᵀ (n×n) for X n×p: the linear-kernel Gram matrix. */
export function gram<T extends Float64Array | Float32Array>(x: Mat<T>, pool?: SessionPool): Promise<Mat<T>> {
  return gemm(x, x, { transB: true, pool });
}

/** Xᵀ·Y (p1×p2) for X n×p1, Y n×p2: the cross-product (covariance before scaling). */
export function crossProduct<T extends Float64Array | Float32Array>(x: Mat<T>, y: Mat<T>, pool?: SessionPool): Promise<Mat<T>> {
  return gemm(x, y, { transA: true, pool });
}
