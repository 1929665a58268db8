// Reverse-mode differentiation of an ONNX graph, emitted as ONNX: the returned model computes the objective and
// the gradients with respect to the requested graph inputs and/or initializers in ONE onnxruntime run, so the
// backward pass runs in ORT's kernels (multi-threaded CPU, or CUDA) like the forward pass. This is how ONNX
// Runtime's own training stack works (one gradient rule per op, orttraining gradient_builder); the rules here are
// written for standard ONNX ops only, so they run on the inference build of onnxruntime.
//
// The backward graph is specialised to concrete input shapes: one probe run of the forward model records every
// tensor's shape (and the values of shape arithmetic), so rules can emit static reductions, pads and reshapes.
// Only nodes on a path from a differentiated tensor to the objective get a rule (a layer-3 objective never
// touches layers 4+; frozen branches and shape subgraphs are left alone). Every such node needs a rule: the check
// runs before any backward node is written, and names the node and op.
import { ReplensError, closest } from '../errors';
import { onnx, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto';
import {
  cutGraph,
  feedInputs,
  initializerNames,
  makeValueInfo,
  opsetVersion,
  requireTensors,
  type TensorInfo,
} from '../onnx/graph';
import { runSession, type Feed, type RunOutput, type SessionPool } from '../runtime/session';
import { GradContext, type ProbedTensor } from './context';
import { emitObjective, objectiveTensors, type Objective } from './objective';
import { NON_DIFFERENTIABLE, RULES } from './rules';

const FLOAT = onnx.TensorProto.DataType.FLOAT,
  DOUBLE = onnx.TensorProto.DataType.DOUBLE;
const isFloat = (t: number) => t === FLOAT || t === DOUBLE;
const ELEM_OF_ORT: Record<string, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
};

export interface GradientSpec {
  objective: Objective;
  /** Graph inputs and/or initializers to differentiate with respect to. */
  wrt: string[];
  /** One objective value per sample (output shape [N]) instead of a scalar. */
  perSample?: boolean;
  /** Forward tensors to output as well (logits for accuracy, batch statistics, …). */
  extraOutputs?: string[];
}

export interface GradientModel {
  proto: ModelProto;
  /** Output holding the objective. */
  objective: string;
  /** wrt name → output holding its gradient (same shape as the tensor). */
  gradients: Map<string, string>;
  /** Inputs of the gradient model beyond the forward model's: targets, labels, promoted initializers. */
  extraInputs: { name: string; elemType: number; dims: number[] }[];
  /** Current values of the initializers promoted to inputs (feed them unless you train them). */
  initialValues: Map<string, Feed>;
  /** Feed names of the original model inputs. */
  inputs: string[];
  /** Number of forward nodes on the differentiated path (for logs). */
  pathNodes: number;
  /** Forward tensors output too (GradientSpec.extraOutputs). */
  extras: string[];
}

/** The forward nodes the gradient needs a rule for, in graph order; throws naming every op without one. */
export function differentiablePath(
  model: ModelProto,
  wrt: string[],
  objectiveTensorNames: string[],
): { nodes: number[]; depends: Set<string> } {
  const graph = model.graph!;
  const depends = new Set(wrt);
  const producedBy = new Map<string, number>();
  graph.node.forEach((n, i) => n.output.forEach((o) => o && producedBy.set(o, i)));
  for (const n of graph.node) {
    if (NON_DIFFERENTIABLE.has(n.opType) && !n.domain) continue;
    if (n.input.some((i) => i && depends.has(i))) for (const o of n.output) if (o) depends.add(o);
  }
  const reaches = new Set(objectiveTensorNames);
  const onPath: number[] = [];
  for (let i = graph.node.length - 1; i >= 0; i--) {
    const n = graph.node[i];
    if (!n.output.some((o) => o && reaches.has(o))) continue;
    for (const x of n.input) if (x) reaches.add(x);
    if (n.input.some((x) => x && depends.has(x)) && !(NON_DIFFERENTIABLE.has(n.opType) && !n.domain)) onPath.push(i);
  }
  onPath.reverse();
  const missing = onPath
    .map((i) => graph.node[i])
    .filter((n) => (n.domain && n.domain !== 'ai.onnx') || !RULES[n.opType]);
  if (missing.length) {
    const first = missing[0];
    const ops = [...new Set(missing.map((n) => `${n.domain ? `${n.domain}:` : ''}${n.opType}`))];
    const others = ops.slice(1).join(', ') || `${missing.length - 1} more node(s) of that op`;
    const also = missing.length > 1 ? `; also ${others}` : '';
    throw new ReplensError(
      'E_UNSUPPORTED_OP',
      `no gradient rule for node '${first.name || first.output[0]}' (op ${ops[0]})${also}; ` +
        'the objective depends on it through the differentiated tensors',
    );
  }
  return { nodes: onPath, depends };
}

/** One run of the forward model exposing every tensor: concrete dims, types, and small constant values. */
async function probe(
  model: ModelProto,
  pool: SessionPool,
  key: string,
  feeds: Record<string, Feed>,
  constantTensors: Set<string>,
  needs: string[],
): Promise<Map<string, ProbedTensor>> {
  const graph = model.graph!;
  const out = new Map<string, ProbedTensor>();
  for (const t of graph.initializer) out.set(t.name, { dims: t.dims.map(Number), elemType: t.dataType });
  for (const [name, f] of Object.entries(feeds))
    out.set(name, { dims: f.dims, elemType: ELEM_OF_ORT[f.type ?? 'float32'] ?? FLOAT });
  // Only what the objective needs: later layers may hold ops that cannot even run at this precision.
  const needed = new Set(needs);
  for (let i = graph.node.length - 1; i >= 0; i--) {
    const n = graph.node[i];
    if (n.output.some((o) => o && needed.has(o))) for (const x of n.input) if (x) needed.add(x);
  }
  const outputs = [...new Set(graph.node.flatMap((n) => n.output).filter((o) => o && needed.has(o)))];
  if (!outputs.length) return out;
  const exposed = cutGraph(model, { outputs });
  const ms = await pool.get(`${key}#grad-probe`, exposed, 'gradient probe');
  const res = await runSession(ms, feeds, 'gradient probe');
  for (const [name, r] of Object.entries(res)) {
    const p: ProbedTensor = { dims: r.dims, elemType: ELEM_OF_ORT[r.type] ?? FLOAT };
    if ((r.type === 'int64' || r.type === 'int32') && r.data.length <= 1024)
      p.ints = Array.from(r.data as ArrayLike<number | bigint>, Number);
    if ((r.type === 'float32' || r.type === 'float64') && r.data.length <= 1024 && constantTensors.has(name))
      p.floats = Array.from(r.data as ArrayLike<number>);
    out.set(name, p);
  }
  return out;
}

/** Tensors that depend on no fed input (initializers, Constant nodes and what is computed from them only). */
function constantTensors(model: ModelProto, fed: Set<string>): Set<string> {
  const graph = model.graph!;
  const c = new Set(graph.initializer.map((t) => t.name).filter((n) => !fed.has(n)));
  for (const n of graph.node) if (n.input.every((i) => !i || c.has(i))) for (const o of n.output) if (o) c.add(o);
  return c;
}

function feedOfTensor(t: TensorProto): Feed {
  const n = t.dims.reduce((a: number, b) => a * Number(b), 1);
  const dims = t.dims.map(Number);
  const raw = t.rawData?.length ? t.rawData : null;
  if (t.dataType === FLOAT) {
    const data = raw
      ? new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
      : Float32Array.from(t.floatData);
    if (data.length !== n)
      throw new ReplensError(
        'E_MODEL_CORRUPT',
        `initializer '${t.name}' has ${data.length} values for shape (${dims.join(', ')})`,
      );
    return { data, dims, type: 'float32' };
  }
  if (t.dataType === DOUBLE) {
    const data = raw
      ? new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
      : Float64Array.from(t.doubleData);
    return { data, dims, type: 'float64' };
  }
  throw new ReplensError(
    'E_ARGUMENT',
    `initializer '${t.name}' holds ONNX type ${t.dataType}; only float and double initializers can be differentiated`,
  );
}

/**
 * Builds the gradient model. `feeds` are the forward model's inputs for the probe run (their shapes fix the
 * shapes the gradient model accepts; values only matter for data-dependent shape arithmetic, which is rare).
 */
export async function buildGradientModel(
  model: ModelProto,
  spec: GradientSpec,
  feeds: Record<string, Feed>,
  pool: SessionPool,
  key: string,
): Promise<GradientModel> {
  const graph = model.graph!;
  const opset = opsetVersion(model);
  if (opset < 11)
    throw new ReplensError(
      'E_ARGUMENT',
      `the model imports ONNX opset ${opset}; gradients support opsets 11–21 (re-export with opset_version ≥ 11)`,
    );
  if (!spec.wrt.length)
    throw new ReplensError('E_ARGUMENT', 'nothing to differentiate with respect to (give --wrt or the input)');
  const inputNames = feedInputs(graph).map((i) => i.name);
  const inits = initializerNames(graph);
  for (const w of spec.wrt) {
    if (inputNames.includes(w) || inits.has(w)) continue;
    const known = [...inputNames, ...inits];
    throw new ReplensError(
      'E_UNKNOWN_TENSOR',
      `cannot differentiate with respect to '${w}': it is neither a graph input nor an initializer${
        known.length
          ? ` (did you mean ${closest(w, known, 3)
              .map((s) => `'${s}'`)
              .join(', ')}?)`
          : ''
      }`,
    );
  }
  const objTensors = objectiveTensors(spec.objective);
  requireTensors(graph, [...objTensors, ...(spec.extraOutputs ?? [])]);
  for (const name of inputNames)
    if (!feeds[name]) throw new ReplensError('E_ARGUMENT', `gradient: no value for model input '${name}'`);

  const { nodes: path, depends } = differentiablePath(model, spec.wrt, objTensors);
  for (const t of objTensors) {
    if (!depends.has(t))
      throw new ReplensError(
        'E_ARGUMENT',
        `the objective tensor '${t}' does not depend on ` +
          `${spec.wrt.map((w) => `'${w}'`).join(', ')}: its gradient would be zero`,
      );
  }
  const promoted = spec.wrt.filter((w) => inits.has(w) && !inputNames.includes(w));
  const fed = new Set([...inputNames, ...promoted]);
  const probed = await probe(model, pool, key, feeds, constantTensors(model, fed), objTensors);
  const constants = new Map(
    graph.initializer.filter((t) => !fed.has(t.name)).map((t) => [t.name, t] as [string, TensorProto]),
  );
  for (const n of graph.node) {
    if (n.opType === 'Constant' && !n.domain) {
      const v = n.attribute.find((a) => a.name === 'value');
      if (v?.t) constants.set(n.output[0], v.t);
    }
  }
  const ctx = new GradContext(opset, probed, constants);

  // Seeds from the objective, then the reverse sweep over the path.
  const obj = emitObjective(ctx, spec.objective, !!spec.perSample);
  const grads = new Map<string, string[]>();
  const add = (t: string, g: string) => {
    const l = grads.get(t);
    if (l) l.push(g);
    else grads.set(t, [g]);
  };
  for (const s of obj.seeds) add(s.tensor, s.grad);
  const gradOf = (t: string): string | null => {
    const l = grads.get(t);
    if (!l?.length) return null;
    if (l.length > 1) {
      const s = ctx.sum(l);
      grads.set(t, [s]);
      return s;
    }
    return l[0];
  };
  for (let k = path.length - 1; k >= 0; k--) {
    const node: NodeProto = graph.node[path[k]];
    const dy = node.output.map((o) => (o ? gradOf(o) : null));
    if (dy.every((d) => d === null)) continue;
    const needs = node.input.map((i) => !!i && depends.has(i) && probed.has(i) && isFloat(probed.get(i)!.elemType));
    if (!needs.some(Boolean)) continue;
    ctx.current = node.name || node.output[0];
    const dx = RULES[node.opType](ctx, { node, dy, needs });
    node.input.forEach((i, j) => {
      if (needs[j] && dx[j]) add(i, dx[j]);
    });
  }
  const gradients = new Map<string, string>();
  const outputs = [obj.value];
  for (const w of spec.wrt) {
    const g = gradOf(w);
    if (!g) throw new ReplensError('E_ARGUMENT', `the objective does not depend on '${w}': its gradient would be zero`);
    const out = `grad/${w}`;
    ctx.current = 'output';
    ctx.node('Identity', [g]);
    const last = ctx.nodes[ctx.nodes.length - 1];
    last.output = [out];
    gradients.set(w, out);
    outputs.push(out);
  }

  for (const e of spec.extraOutputs ?? []) if (!outputs.includes(e)) outputs.push(e);

  // Assemble: forward graph + constants of the backward pass, cut to what the outputs need.
  const types = new Map<string, TensorInfo>();
  for (const [name, p] of probed) types.set(name, { elemType: p.elemType, shape: p.dims });
  for (const i of obj.inputs) types.set(i.name, { elemType: i.elemType, shape: i.dims });
  const withInits: ModelProto = {
    ...model,
    graph: {
      ...graph,
      // Promoted initializers become plain graph inputs (their current values are fed by default).
      initializer: [...graph.initializer.filter((t) => !promoted.includes(t.name)), ...ctx.initializers],
      input: [
        ...graph.input.filter((i) => !promoted.includes(i.name)),
        ...obj.inputs.map((i) => makeValueInfo(i.name, { elemType: i.elemType, shape: i.dims })),
        ...promoted.map((p) => makeValueInfo(p, { elemType: probed.get(p)!.elemType, shape: probed.get(p)!.dims })),
      ],
    },
  };
  const allInputs = [...inputNames, ...obj.inputs.map((i) => i.name), ...promoted];
  const proto = cutGraph(withInits, { inputs: allInputs, outputs, extraNodes: ctx.nodes, types });
  const initialValues = new Map<string, Feed>();
  for (const p of promoted) initialValues.set(p, feedOfTensor(graph.initializer.find((t) => t.name === p)!));
  return {
    proto,
    objective: obj.value,
    gradients,
    inputs: inputNames,
    pathNodes: path.length,
    initialValues,
    extras: spec.extraOutputs ?? [],
    extraInputs: [
      ...obj.inputs,
      ...promoted.map((p) => ({ name: p, elemType: probed.get(p)!.elemType, dims: probed.get(p)!.dims })),
    ],
  };
}

/** Runs a gradient model: the objective value(s) and each gradient. Initial values fill promoted initializers. */
export async function runGradient(
  gm: GradientModel,
  pool: SessionPool,
  key: string,
  feeds: Record<string, Feed>,
): Promise<{ objective: RunOutput; gradients: Map<string, RunOutput>; extras: Map<string, RunOutput> }> {
  const ms = await pool.get(key, gm.proto, 'gradient');
  const all: Record<string, Feed> = {};
  for (const [k, v] of gm.initialValues) all[k] = v;
  Object.assign(all, feeds);
  const out = await runSession(ms, all, 'gradient');
  const obj = out[gm.objective];
  const data = obj.data as Float32Array | Float64Array;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]))
      throw new ReplensError(
        'E_RUNTIME',
        `the objective is ${data[i]}${data.length > 1 ? ` for sample ${i}` : ''}: check the inputs and targets`,
      );
  }
  const gradients = new Map<string, RunOutput>();
  for (const [w, o] of gm.gradients) gradients.set(w, out[o]);
  return { objective: obj, gradients, extras: new Map(gm.extras.map((e) => [e, out[e]])) };
}
