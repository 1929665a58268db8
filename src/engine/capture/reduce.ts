// Reductions applied to captured activations while streaming. They are added to the ONNX graph itself
// (GlobalAveragePool, GlobalMaxPool, AveragePool, MaxPool), so onnxruntime reduces inside its kernels and only
// the reduced tensors cross into JavaScript.
import { ReplensError } from '../errors';
import { make, type NodeProto } from '../onnx/proto';
import type { Dim } from '../onnx/graph';

export type Reduce =
  | { kind: 'none' }
  | { kind: 'mean' }
  | { kind: 'max' }
  | { kind: 'avgpool'; k: number }
  | { kind: 'maxpool'; k: number };

export function parseReduce(text: string): Reduce {
  const t = text.trim().toLowerCase();
  if (t === 'none' || t === '') return { kind: 'none' };
  if (t === 'mean' || t === 'max') return { kind: t };
  const m = /^(avgpool|maxpool):(\d+)$/.exec(t);
  if (m) {
    const k = Number(m[2]);
    if (k < 1) throw new ReplensError('E_ARGUMENT', `--reduce ${text}: the window must be at least 1`);
    return { kind: m[1] as 'avgpool' | 'maxpool', k };
  }
  throw new ReplensError('E_ARGUMENT', `--reduce '${text}' is not one of none, mean, max, avgpool:K, maxpool:K`);
}

export function reduceName(r: Reduce): string {
  return r.kind === 'avgpool' || r.kind === 'maxpool' ? `${r.kind}:${r.k}` : r.kind;
}

export interface ReducedOutput {
  /** The captured tensor. */
  tensor: string;
  /** The graph output holding its (reduced) value. */
  output: string;
  /** What was applied: the requested reduction, 'none' for tensors without spatial dims, or a global fallback. */
  applied: string;
  /** Shape of one sample after reduction (null when unknown until the first batch). */
  sampleShape: Dim[] | null;
  /** The graph output carries trailing 1×1 dims to drop (global pooling). */
  squeeze?: boolean;
}

/**
 * Graph nodes that reduce `tensor` (shape `shape`, batch first). Tensors of rank ≤ 2 (e.g. Gemm outputs) have no
 * channels/windows to reduce and pass through. A pooling window larger than the spatial size falls back to the
 * global reduction of the same kind (recorded in `applied`).
 */
export function reductionFor(
  tensor: string,
  shape: Dim[] | null,
  r: Reduce,
  id: number,
): { nodes: NodeProto[]; out: ReducedOutput } {
  const rank = shape?.length ?? 0;
  if (r.kind === 'none' || rank <= 2) {
    return { nodes: [], out: { tensor, output: tensor, applied: 'none', sampleShape: shape ? shape.slice(1) : null } };
  }
  const base = `replens/reduce/${id}`;
  const spatial = shape!.slice(2);
  const channels = shape![1];
  // Global pooling leaves [N, C, 1, 1]; the trailing ones are dropped in JavaScript (same memory layout), which
  // is measurably faster than a Flatten node per tensor.
  const global = (kind: 'mean' | 'max', note: string) => {
    const pooled = `${base}/${kind}`;
    return {
      nodes: [
        make.node({
          name: `${base}/Global`,
          opType: kind === 'mean' ? 'GlobalAveragePool' : 'GlobalMaxPool',
          input: [tensor],
          output: [pooled],
        }),
      ],
      out: { tensor, output: pooled, applied: note, sampleShape: [channels], squeeze: true },
    };
  };
  switch (r.kind) {
    case 'mean':
      return global('mean', 'mean');
    case 'max':
      return global('max', 'max');
    case 'avgpool':
    case 'maxpool': {
      const kind = r.kind === 'avgpool' ? 'mean' : 'max';
      if (spatial.some((d) => typeof d === 'number' && d < r.k)) {
        return global(kind, `${kind} (spatial ${spatial.join('×')} < ${r.k})`);
      }
      const out = `${base}/${r.kind}${r.k}`;
      const ints = (v: number) => spatial.map(() => v);
      return {
        nodes: [
          make.node({
            name: `${base}/${r.kind}`,
            opType: r.kind === 'avgpool' ? 'AveragePool' : 'MaxPool',
            input: [tensor],
            output: [out],
            attribute: [
              make.attribute({ name: 'kernel_shape', type: 7, ints: ints(r.k) }),
              make.attribute({ name: 'strides', type: 7, ints: ints(r.k) }),
            ],
          }),
        ],
        out: {
          tensor,
          output: out,
          applied: `${r.kind}:${r.k}`,
          sampleShape: [channels, ...spatial.map((d) => (typeof d === 'number' ? Math.floor(d / r.k) : null))],
        },
      };
    }
  }
}
