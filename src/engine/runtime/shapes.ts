// Tensor shapes: declared in the model where static, else from onnxruntime's own shape inference (output
// metadata of a session exposing every tensor), else from real runs. Dims that follow the batch are reported with
// the input's batch symbol.
import { ReplensError } from '../errors';
import { cutGraph, declaredTensors, feedInputs, valueInfoOf, type Dim } from '../onnx/graph';
import type { ModelProto } from '../onnx/proto';
import { refuseEndlessLoops } from './loops';
import { probeRuns, type ProbeFeed } from './probe';
import { encodeForRuntime, type SessionPool } from './session';
import { fixedBatch } from './batch';

export interface ShapeOptions {
  /** Concrete shapes for inputs with symbolic non-batch dims (e.g. H, W). */
  inputShapes?: Record<string, number[]>;
  /** Resolve unknown or symbolic dims by running the model (twice, on 1 and 2 zero samples). Default true. */
  probe?: boolean;
  /** The probe's memory limit (default 2048 MB, the default budget). */
  memoryBudgetMB?: number;
  /** The probe's time limit (default REPLENS_PROBE_TIMEOUT_S or 120 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The symbol naming the batch dimension of the first input ('N' when it has none). */
export function batchSymbol(model: ModelProto): string {
  const first = feedInputs(model.graph!)[0];
  const d0 = first ? valueInfoOf(first)?.shape?.[0] : null;
  return typeof d0 === 'string' && d0 ? d0 : 'N';
}

/**
 * Shapes of every node output (and input). `key` identifies the model for the session cache.
 */
export async function tensorShapes(
  model: ModelProto,
  pool: SessionPool,
  key: string,
  opts: ShapeOptions = {},
): Promise<Map<string, Dim[]>> {
  const graph = model.graph!;
  // Every path that runs a model lists its shapes first: refuse loops that can never end before any run.
  refuseEndlessLoops(model);
  const shapes = new Map<string, Dim[]>();
  for (const [name, info] of declaredTensors(graph)) if (info.shape) shapes.set(name, info.shape);
  const outputs = [...new Set(graph.node.flatMap((n) => n.output).filter(Boolean))];
  const exposed = cutGraph(model, { outputs });
  const ms = await pool.get(`${key}#all-outputs`, exposed, 'shape inference');
  for (const o of ms.outputs)
    if (o.shape.length && (!shapes.has(o.name) || !isStatic(shapes.get(o.name)!))) shapes.set(o.name, o.shape);
  const unresolved = outputs.filter((o) => {
    const s = shapes.get(o);
    return !s || s.length === 0 || s.slice(1).some((d) => typeof d !== 'number');
  });
  if (!unresolved.length || opts.probe === false) return shapes;

  // Run on 1 and on 2 samples: a dim that changes with the batch is the batch dim. The runs happen in a child
  // process bounded in time and memory (probe.ts): a model that spins or explodes must not take this process along.
  const sym = batchSymbol(model);
  // A fixed batch size runs only at that size; its first dims are then numbers, not the batch symbol.
  const fixed = fixedBatch(model, feedInputs(graph)[0]?.name ?? '');
  const runs: ProbeFeed[][] = [];
  for (const b of fixed ? [fixed] : [1, 2]) {
    const feeds: ProbeFeed[] = [];
    for (const inp of ms.inputs) {
      const given = opts.inputShapes?.[inp.name];
      const declared = feedInputs(graph).find((i) => i.name === inp.name);
      const elemType = declared ? (valueInfoOf(declared)?.elemType ?? 1) : 1;
      let dims: number[];
      if (given) dims = [b, ...given.slice(1)];
      else {
        const bad = inp.shape
          .slice(1)
          .map((d, i) => [d, i + 1] as const)
          .filter(([d]) => typeof d !== 'number');
        if (bad.length || inp.shape.length === 0) {
          throw new ReplensError(
            'E_INPUT_SHAPE',
            `input '${inp.name}' has dynamic dims [${inp.shape.map((d) => d ?? '?').join(', ')}]; ` +
              'give a concrete input shape (--input-shape, --input or --data)',
          );
        }
        dims = [b, ...(inp.shape.slice(1) as number[])];
      }
      feeds.push({ name: inp.name, elemType, dims });
    }
    runs.push(feeds);
  }
  const probed = await probeRuns(
    {
      model: encodeForRuntime(exposed, 'shape probe'),
      runs,
      fetches: unresolved,
      threads: pool.options.intraOpThreads,
    },
    {
      budgetBytes: (opts.memoryBudgetMB ?? 2048) * 2 ** 20,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      what: 'shape probe',
    },
  );
  if (fixed) {
    for (const o of unresolved) if (probed[0][o]) shapes.set(o, probed[0][o]);
    return shapes;
  }
  const [one, two] = probed;
  for (const o of unresolved) {
    const a = one[o],
      b = two[o];
    if (!a || !b) continue;
    shapes.set(
      o,
      a.map((d, i) => (b[i] === 2 * d && d > 0 && i === 0 ? sym : d !== b[i] ? sym : d)),
    );
  }
  return shapes;
}

function isStatic(s: Dim[]): boolean {
  return s.slice(1).every((d) => typeof d === 'number');
}
