import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplensError } from '../src/engine/errors';
import {
  bilinearTaps,
  defaultsFromModelInput,
  preprocess,
  resolvePreprocess,
  type PreprocessConfig,
} from '../src/engine/data/preprocess';
import type { RawSample } from '../src/engine/data/source';

const FLOAT = { pixels: 'float' as const, defaultChannels: 1 };
const U8 = { pixels: 'uint8' as const, defaultChannels: 1 };

function gray(h: number, w: number, values: number[]): RawSample {
  return { data: Float64Array.from(values), offset: 0, height: h, width: w, channels: 1, planar: true };
}
const run = (
  s: RawSample,
  cfg: PreprocessConfig,
  src: { pixels: 'uint8' | 'float'; defaultChannels: number } = FLOAT,
) => preprocess(s, resolvePreprocess(cfg, {}, src));

test('bilinear 2x2 → 4x4 uses half-pixel centres and clamps at the edges (hand-computed)', () => {
  // Source positions for 2 → 4: (d + 0.5)/2 − 0.5 = −0.25→0, 0.25, 0.75, 1.25 (neighbour clamped to 1).
  // Row [0, 10] → [0, 2.5, 7.5, 10]; rows mix top/bottom with weights 0, 0.25, 0.75, 1.
  const out = run(gray(2, 2, [0, 10, 20, 30]), { resize: [4, 4] });
  assert.deepEqual(out.shape, [1, 4, 4]);
  assert.deepEqual([...out.data], [0, 2.5, 7.5, 10, 5, 7.5, 12.5, 15, 15, 17.5, 22.5, 25, 20, 22.5, 27.5, 30]);
});

test('bilinear 4x4 → 2x2 averages the 2x2 blocks (no antialiasing; centres at 0.5 and 2.5)', () => {
  const out = run(
    gray(
      4,
      4,
      Array.from({ length: 16 }, (_, i) => i),
    ),
    { resize: 2 },
  );
  assert.deepEqual(out.shape, [1, 2, 2]);
  assert.deepEqual([...out.data], [2.5, 4.5, 10.5, 12.5]);
});

test('bilinear 1x3 → 1x2 (non-integer ratio 1.5)', () => {
  // d=0: 0.5·1.5 − 0.5 = 0.25 → 0 + 0.25·(10 − 0) = 2.5; d=1: 1.5·1.5 − 0.5 = 1.75 → 10 + 0.75·(40 − 10) = 32.5.
  const out = run(gray(1, 3, [0, 10, 40]), { resize: [1, 2] });
  assert.deepEqual([...out.data], [2.5, 32.5]);
  const t = bilinearTaps(3, 2);
  assert.deepEqual([...t.i0], [0, 1]);
  assert.deepEqual([...t.i1], [1, 2]);
  assert.deepEqual([...t.t], [0.25, 0.75]);
});

test('gray → RGB repeats the channel; NHWC output interleaves', () => {
  const s = gray(1, 2, [51, 102]);
  const nchw = run(s, { channels: 3 }, U8);
  assert.deepEqual(nchw.shape, [3, 1, 2]);
  const a = Math.fround(51 / 255),
    b = Math.fround(102 / 255);
  assert.deepEqual([...nchw.data], [a, b, a, b, a, b]);
  const nhwc = run(s, { channels: 3, layout: 'NHWC' }, U8);
  assert.deepEqual(nhwc.shape, [1, 2, 3]);
  assert.deepEqual([...nhwc.data], [a, a, a, b, b, b]);
});

test('RGB(A) → gray uses 0.299/0.587/0.114, drops alpha, and keeps R=G=B exact', () => {
  const s: RawSample = {
    data: Uint8Array.from([100, 50, 200, 7, 9, 9, 9, 255]),
    offset: 0,
    height: 1,
    width: 2,
    channels: 4,
    planar: false,
  };
  const out = run(s, { channels: 1, scale: 1 });
  assert.deepEqual([...out.data], [Math.fround(0.299 * 100 + 0.587 * 50 + 0.114 * 200), 9]);
  const rgb = run(s, { channels: 3, scale: 1 });
  assert.deepEqual([...rgb.data], [100, 9, 50, 9, 200, 9]);
});

test('scale and mean/std run in float32 like torchvision (ToTensor divides by 255)', () => {
  const f = Math.fround;
  const s: RawSample = {
    data: Uint8Array.from([0, 1, 128, 255]),
    offset: 0,
    height: 2,
    width: 2,
    channels: 1,
    planar: true,
  };
  const def = run(s, {}, U8);
  assert.deepEqual([...def.data], [0, f(1 / 255), f(128 / 255), 1]);
  // An explicit scale multiplies in float32; mean/std subtract and divide in float32.
  const norm = run(s, { scale: 0.00392156862745098, mean: [0.286], std: [0.353] }, U8);
  const expect = [0, 1, 128, 255].map((v) => f(f(f(f(v) * f(0.00392156862745098)) - f(0.286)) / f(0.353)));
  assert.deepEqual([...norm.data], expect);
  assert.equal(norm.data[3], f(f(1 - f(0.286)) / f(0.353)));
  // 1 * f32(1/255) is not 1/255 rounded once: the two conventions differ for some pixels (e.g. 3).
  assert.notEqual(f(f(3) * f(1 / 255)), f(3 / 255));
});

test('per-channel mean/std on RGB', () => {
  const s: RawSample = {
    data: Float32Array.from([1, 2, 3]),
    offset: 0,
    height: 1,
    width: 1,
    channels: 3,
    planar: false,
  };
  const out = run(s, { mean: [1, 1, 1], std: [1, 0.5, 0.25] }, { pixels: 'float', defaultChannels: 3 });
  assert.deepEqual([...out.data], [0, 2, 8]);
});

test('mean/std length must match the channels; the error names both lengths', () => {
  assert.throws(
    () => resolvePreprocess({ channels: 3, mean: [0.5, 0.5] }, {}, U8),
    (e: unknown) =>
      e instanceof ReplensError &&
      e.code === 'E_CONFIG' &&
      e.message.startsWith('preprocess.mean has 2 values but the samples have 3 channels'),
  );
  assert.throws(
    () => resolvePreprocess({ std: [1, 1, 1] }, { channels: 1 }, U8),
    /preprocess\.std has 3 values but the samples have 1 channel;/,
  );
});

test('defaultsFromModelInput reads NCHW and NHWC static shapes', () => {
  assert.deepEqual(defaultsFromModelInput(['N', 1, 28, 28]), { layout: 'NCHW', channels: 1, resize: [28, 28] });
  assert.deepEqual(defaultsFromModelInput([1, 3, 224, 224]), { layout: 'NCHW', channels: 3, resize: [224, 224] });
  assert.deepEqual(defaultsFromModelInput(['batch', 32, 32, 3]), { layout: 'NHWC', channels: 3, resize: [32, 32] });
  assert.deepEqual(defaultsFromModelInput(['N', 3, 'H', 'W']), { layout: 'NCHW', channels: 3 });
  assert.deepEqual(defaultsFromModelInput(['N', 'H', 'W', 1]), { layout: 'NHWC', channels: 1 });
  assert.deepEqual(defaultsFromModelInput([-1, 3, -1, -1]), { layout: 'NCHW', channels: 3 });
  assert.deepEqual(defaultsFromModelInput(['N', 784]), {});
});

test('user settings win over model defaults, which win over the source', () => {
  const p = resolvePreprocess({ resize: 8 }, { channels: 3, resize: [28, 28], layout: 'NHWC' }, U8);
  assert.deepEqual(p, {
    resize: [8, 8],
    scale: 1 / 255,
    divisor: 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    channels: 3,
    layout: 'NHWC',
  });
});
