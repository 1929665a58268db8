// Turns what a user types after --tensors, --layers or grad --tensor into tensor names: a tensor name, a node name
// (its first output), a PyTorch module path (`layer1.0.relu`, `layer1.0`: the module's output), or `op:TYPE` for
// the first output of every node of that op type. One naming scheme for every command.
import { ReplensError, closest } from '../errors';
import type { ModelProto } from '../onnx/proto';
import { allTensorNames } from '../onnx/graph';
import { listLayers, moduleOutputsOf } from '../onnx/layers';

/** Module path → the module's output (onnx/layers.ts, moduleOutputsOf). */
export function moduleOutputs(model: ModelProto): Map<string, string> {
  return moduleOutputsOf(listLayers(model).layers);
}

export function expandTensorSelectors(model: ModelProto, selectors: string[]): string[] {
  const graph = model.graph!;
  const tensors = new Set(allTensorNames(graph));
  const byNode = new Map(graph.node.filter((n) => n.name).map((n) => [n.name, n.output[0]]));
  let modules: Map<string, string> | null = null;
  const out: string[] = [];
  for (const s of selectors) {
    if (tensors.has(s)) {
      out.push(s);
      continue;
    }
    const viaNode = byNode.get(s);
    if (viaNode) {
      out.push(viaNode);
      continue;
    }
    const op = /^op:(.+)$/i.exec(s);
    if (op) {
      const matches = graph.node.filter((n) => n.opType.toLowerCase() === op[1].toLowerCase()).map((n) => n.output[0]);
      if (!matches.length) {
        const ops = [...new Set(graph.node.map((n) => n.opType))];
        throw new ReplensError('E_UNKNOWN_TENSOR', `no '${op[1]}' nodes in the model; it has ${ops.join(', ')}`);
      }
      out.push(...matches);
      continue;
    }
    modules ??= moduleOutputs(model);
    const viaModule = modules.get(s);
    if (viaModule) {
      out.push(viaModule);
      continue;
    }
    const names = [...tensors, ...byNode.keys(), ...modules.keys()];
    throw new ReplensError(
      'E_UNKNOWN_TENSOR',
      `unknown tensor '${s}'; closest: ${closest(s, names)
        .map((c) => `'${c}'`)
        .join(', ')} (see 'replens layers')`,
    );
  }
  return [...new Set(out)];
}
