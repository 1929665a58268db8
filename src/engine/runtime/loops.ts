// Loops that can never end. A Loop whose trip count is absent (or a constant beyond any real use) and whose
// condition is constant true is valid ONNX, but onnxruntime then spins forever inside one run, with no way to
// stop it from JavaScript. Such models are refused before any session runs them; loops that end on data are
// bounded at run time by the probe's time limit (probe.ts).
import { ReplensError } from '../errors';
import { num, onnx, type GraphProto, type NodeProto, type TensorProto } from '../onnx/proto';

/** Trip counts above this are treated as unbounded (torch exports `while` loops with INT64_MAX). */
export const MAX_LOOP_TRIPS = 1e7;

/** Constant values known in a graph: initializers and Constant node outputs, as numbers (first element). */
function constants(graph: GraphProto, outer: Map<string, number>): Map<string, number> {
  const known = new Map(outer);
  const first = (t: TensorProto | null | undefined): number | undefined => {
    if (!t) return undefined;
    if (t.int64Data.length) return num(t.int64Data[0]);
    if (t.int32Data.length) return t.int32Data[0];
    if (t.rawData && t.rawData.length) {
      const dv = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
      const D = onnx.TensorProto.DataType;
      if (t.dataType === D.BOOL || t.dataType === D.UINT8) return dv.getUint8(0);
      if (t.dataType === D.INT64 && t.rawData.length >= 8) return Number(dv.getBigInt64(0, true));
      if (t.dataType === D.INT32 && t.rawData.length >= 4) return dv.getInt32(0, true);
    }
    return undefined;
  };
  for (const t of graph.initializer) {
    const v = first(t);
    if (v !== undefined) known.set(t.name, v);
  }
  for (const n of graph.node) {
    if (n.opType !== 'Constant' || n.output.length !== 1) continue;
    const a = n.attribute.find((x) => x.name === 'value');
    const v = first(a?.t);
    if (v !== undefined) known.set(n.output[0], v);
  }
  return known;
}

/** Whether the body's condition output is provably its condition input or a constant true. */
function bodyKeepsGoing(body: GraphProto, known: Map<string, number>): boolean {
  const condIn = body.input[1]?.name;
  let name = body.output[0]?.name;
  const inner = constants(body, known);
  const producer = new Map<string, NodeProto>();
  for (const n of body.node) for (const o of n.output) producer.set(o, n);
  // Follow Identity chains back to their source.
  for (let hops = 0; name && hops < 64; hops++) {
    if (name === condIn) return true;
    if (inner.has(name)) return inner.get(name) !== 0;
    const p = producer.get(name);
    if (!p || p.opType !== 'Identity') return false;
    name = p.input[0];
  }
  return false;
}

function check(graph: GraphProto, outer: Map<string, number>, where: string): void {
  const known = constants(graph, outer);
  for (const n of graph.node) {
    for (const a of n.attribute) {
      if (a.g) check(a.g, known, `${where}${n.name || n.opType}/`);
      for (const g of a.graphs) check(g, known, `${where}${n.name || n.opType}/`);
    }
    if (n.opType !== 'Loop' || n.domain) continue;
    const body = n.attribute.find((a) => a.name === 'body')?.g;
    if (!body) continue;
    const [tripName = '', condName = ''] = n.input;
    const trips = tripName ? known.get(tripName) : undefined;
    const bounded = tripName !== '' && (trips === undefined || trips <= MAX_LOOP_TRIPS);
    // A trip count read from data is bounded by the data; only a missing or huge constant one is not.
    if (bounded) continue;
    const startsTrue = condName === '' || (known.has(condName) && known.get(condName) !== 0);
    if (startsTrue && bodyKeepsGoing(body, known)) {
      throw new ReplensError(
        'E_UNSUPPORTED_OP',
        `Loop node '${where}${n.name || '(unnamed)'}' never ends: its trip ` +
          `count is ${tripName ? `${trips}` : 'absent'} and its condition is ` +
          'always true; refused (onnxruntime would run it forever)',
      );
    }
  }
}

/** Throws when any Loop in the model (subgraphs and functions included) provably never ends. */
export function refuseEndlessLoops(model: {
  graph?: GraphProto | null;
  functions?: { name?: string | null; node: NodeProto[] }[];
}): void {
  if (model.graph) check(model.graph, new Map(), '');
  for (const f of model.functions ?? []) {
    check({ node: f.node, initializer: [] } as unknown as GraphProto, new Map(), `${f.name ?? 'function'}/`);
  }
}
