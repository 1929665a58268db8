// The shape probe's child process: runs a model on zero inputs and reports the output shapes. It lives in its own
// process so that a run that never ends or eats memory can be killed (probe.ts); onnxruntime blocks its thread
// and cannot be interrupted from JavaScript.
import * as ort from 'onnxruntime-node';
import type { ProbeReply, ProbeRequest } from './probe';
import { ORT_TYPE } from '../onnx/proto';
import { errorMessage } from '../errors';
import { applyTelemetryPolicy } from './telemetry';

// The parent's environment carries the policy; this keeps it when the child is started some other way.
applyTelemetryPolicy();

function zeros(elemType: number, dims: number[]): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const type = ORT_TYPE[elemType] ?? 'float32';
  switch (type) {
    case 'float64':
      return new ort.Tensor('float64', new Float64Array(n), dims);
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(n), dims);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(n), dims);
    case 'uint8':
      return new ort.Tensor('uint8', new Uint8Array(n), dims);
    case 'int8':
      return new ort.Tensor('int8', new Int8Array(n), dims);
    case 'bool':
      return new ort.Tensor('bool', new Uint8Array(n), dims);
    case 'float16':
      return new ort.Tensor('float16', new Uint16Array(n), dims);
    default:
      return new ort.Tensor('float32', new Float32Array(n), dims);
  }
}

async function serve(req: ProbeRequest): Promise<ProbeReply> {
  try {
    const session = await ort.InferenceSession.create(req.model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      ...(req.threads ? { intraOpNumThreads: req.threads } : {}),
    });
    const dims: Record<string, number[]>[] = [];
    for (const run of req.runs) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const f of run) feeds[f.name] = zeros(f.elemType, f.dims);
      const out = await session.run(feeds, req.fetches);
      const got: Record<string, number[]> = {};
      for (const [name, t] of Object.entries(out)) got[name] = [...t.dims];
      dims.push(got);
    }
    return { ok: true, dims, peakBytes: process.resourceUsage().maxRSS * 1024 };
  } catch (e) {
    return { ok: false, message: (e as Error)?.message ?? String(e), peakBytes: process.resourceUsage().maxRSS * 1024 };
  }
}

process.on('message', (req: ProbeRequest) => {
  // serve answers its own errors; what is left (the reply cannot be sent) ends the child with one line on stderr,
  // which the parent quotes when the probe process ends without answering.
  serve(req)
    .then((reply) => process.send!(reply, () => process.exit(0)))
    .catch((e: unknown) => {
      process.stderr.write(`replens probe: ${errorMessage(e)}\n`);
      process.exit(1);
    });
});
// The parent went away (killed, or done with us): nothing left to do.
process.on('disconnect', () => process.exit(0));
