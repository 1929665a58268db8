// Gradient checks against central finite differences. The objective is a fixed random linear functional of one
// tensor, Σ W ⊙ T (a vector–Jacobian product), so every element of the gradient is exercised and linear ops have
// no truncation error. The finite differences run the same gradient model (it outputs the objective), with the
// differentiated input or initializer perturbed one coordinate at a time.
import assert from 'node:assert/strict';
import type { ModelProto } from '../../src/engine/onnx/proto';
import { buildGradientModel, runGradient, type GradientModel } from '../../src/engine/autodiff/gradient';
import type { Objective } from '../../src/engine/autodiff/objective';
import { runSession, SessionPool, type Feed } from '../../src/engine/runtime/session';
import { rng } from '../../src/engine/onnx/builder';

export const gradPool = new SessionPool({ executionProvider: 'cpu' });
let keyCounter = 0;

export interface GradCheckOptions {
  /** Values of the model's graph inputs. */
  inputs: Record<string, Feed>;
  /** Graph inputs and/or initializers to check. */
  wrt: string[];
  /** Tensor the random functional reads; default the first graph output. */
  tensor?: string;
  /** A custom objective instead of the random functional (its tensors must exist). */
  objective?: Objective;
  /** Coordinates checked per wrt tensor (default 16, spread over the tensor). */
  coords?: number;
  /** Finite-difference step; default 1e-6 (float64 feeds) or 1e-2 (float32). */
  h?: number;
  /** Allowed |fd − analytic| relative to max(|analytic|) over the tensor; default 1e-6 (float64) or 1e-2 (float32). */
  tol?: number;
  seed?: number;
  what?: string;
}

export interface GradCheckResult {
  gm: GradientModel;
  /** Analytic gradient per wrt name. */
  grads: Map<string, Float32Array | Float64Array>;
  /** Largest |fd − analytic| / scale seen. */
  worst: number;
}

/** Random values in [lo, hi), same precision as `like`. */
export function randomFeed(
  dims: number[],
  seed: number,
  type: 'float32' | 'float64' = 'float32',
  lo = -1,
  hi = 1,
): Feed {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  const data = type === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * r();
  return { data, dims, type };
}

export async function gradCheck(model: ModelProto, opts: GradCheckOptions): Promise<GradCheckResult> {
  const key = `gradcheck-${keyCounter++}`;
  const what = opts.what ?? 'gradCheck';
  let objective = opts.objective;
  if (!objective) {
    const tensor = opts.tensor ?? model.graph!.output[0].name;
    // Learn the tensor's size from a plain forward run of the model exposing it.
    const { cutGraph } = await import('../../src/engine/onnx/graph');
    const fwd = cutGraph(model, { outputs: [tensor] });
    const ms = await gradPool.get(`${key}#fwd`, fwd, what);
    const out = await runSession(ms, opts.inputs, what);
    const r = rng(opts.seed ?? 11);
    objective = {
      kind: 'dot',
      tensor,
      weights: Float64Array.from({ length: out[tensor].data.length }, () => r() * 2 - 1),
    };
  }
  const gm = await buildGradientModel(model, { objective, wrt: opts.wrt }, opts.inputs, gradPool, key);
  const base: Record<string, Feed> = {};
  for (const [k, v] of gm.initialValues) base[k] = v;
  Object.assign(base, opts.inputs);
  const res = await runGradient(gm, gradPool, `${key}#grad`, base);
  const grads = new Map<string, Float32Array | Float64Array>();
  let worst = 0;
  const ms = await gradPool.get(`${key}#grad`, gm.proto, what);
  const value = async (feeds: Record<string, Feed>) =>
    Number((await runSession(ms, feeds, what, [gm.objective]))[gm.objective].data[0]);
  for (const w of opts.wrt) {
    const g = res.gradients.get(w)!.data as Float32Array | Float64Array;
    grads.set(w, g);
    const f = base[w];
    assert.equal(g.length, f.data.length, `${what}: gradient of ${w} has ${g.length} values for ${f.data.length}`);
    const f64 = f.type === 'float64';
    const h = opts.h ?? (f64 ? 1e-6 : 1e-2);
    const tol = opts.tol ?? (f64 ? 1e-6 : 1e-2);
    let scale = 0;
    for (const v of g) scale = Math.max(scale, Math.abs(v));
    assert.ok(Number.isFinite(scale), `${what}: gradient of ${w} is not finite`);
    scale = Math.max(scale, 1e-3);
    const count = Math.min(opts.coords ?? 16, g.length);
    const r = rng((opts.seed ?? 11) + 7);
    const picks = new Set<number>([0, g.length - 1]);
    while (picks.size < count) picks.add(Math.floor(r() * g.length));
    for (const i of picks) {
      const plus = (f.data as Float32Array).slice(),
        minus = (f.data as Float32Array).slice();
      plus[i] += h;
      minus[i] -= h;
      const x0 = Number(f.data[i]),
        hp = plus[i] - x0,
        hm = x0 - minus[i]; // the steps actually taken in float32
      const fp = await value({ ...base, [w]: { ...f, data: plus } });
      const fm = await value({ ...base, [w]: { ...f, data: minus } });
      const fd = (fp - fm) / (hp + hm);
      const err = Math.abs(fd - g[i]) / scale;
      worst = Math.max(worst, err);
      assert.ok(
        err <= tol,
        `${what}: d/d${w}[${i}] analytic ${g[i]} vs finite difference ${fd} ` +
          `(error ${err.toExponential(2)} of scale ${scale.toExponential(2)} > ${tol})`,
      );
    }
  }
  return { gm, grads, worst };
}
