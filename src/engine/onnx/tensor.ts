// TensorProto ↔ typed arrays.
import { ReplensError } from '../errors';
import { onnx, make, num, BYTES_PER_ELEMENT, typeName, type TensorProto } from './proto';

export function elementCount(t: TensorProto): number {
  let n = 1;
  for (const d of t.dims) n *= num(d);
  return n;
}

/** Float32 values of a float/double/half tensor (raw_data or typed fields). */
export function tensorToFloat32(t: TensorProto): Float32Array {
  const n = elementCount(t);
  const raw = t.rawData && t.rawData.length ? t.rawData : null;
  switch (t.dataType) {
    case onnx.TensorProto.DataType.FLOAT: {
      if (raw) return copyAligned(raw, Float32Array, n, t.name);
      return Float32Array.from(t.floatData);
    }
    case onnx.TensorProto.DataType.DOUBLE: {
      if (raw) return Float32Array.from(copyAligned(raw, Float64Array, n, t.name));
      return Float32Array.from(t.doubleData);
    }
    case onnx.TensorProto.DataType.FLOAT16: {
      const bits = raw ? copyAligned(raw, Uint16Array, n, t.name) : Uint16Array.from(t.int32Data);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(bits[i]);
      return out;
    }
    default:
      throw new ReplensError(
        'E_ARGUMENT',
        `tensor '${t.name}' has element type ${typeName(t.dataType)}, not a float type`,
      );
  }
}

type Ctor<T> = { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number };
function copyAligned<T>(raw: Uint8Array, ctor: Ctor<T>, n: number, name: string): T {
  if (raw.length !== n * ctor.BYTES_PER_ELEMENT) {
    throw new ReplensError(
      'E_MODEL_CORRUPT',
      `tensor '${name}' holds ${raw.length} bytes, expected ${n * ctor.BYTES_PER_ELEMENT}`,
    );
  }
  const buf = new ArrayBuffer(raw.length);
  new Uint8Array(buf).set(raw);
  return new ctor(buf);
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

export function float32Tensor(
  name: string,
  dims: readonly number[],
  data: Float32Array | readonly number[],
): TensorProto {
  const arr = data instanceof Float32Array ? data : Float32Array.from(data);
  if (arr.length !== dims.reduce((a, b) => a * b, 1))
    throw new ReplensError('E_ARGUMENT', `tensor '${name}': ${arr.length} values for dims [${dims.join(',')}]`);
  return make.tensor({
    name,
    dims: [...dims],
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(arr.buffer.slice(arr.byteOffset, arr.byteOffset + arr.byteLength)),
  });
}

export function int64Tensor(name: string, dims: readonly number[], data: readonly number[]): TensorProto {
  const arr = BigInt64Array.from(data.map((v) => BigInt(v)));
  return make.tensor({
    name,
    dims: [...dims],
    dataType: onnx.TensorProto.DataType.INT64,
    rawData: new Uint8Array(arr.buffer),
  });
}

export function tensorBytes(t: TensorProto): number {
  return elementCount(t) * (BYTES_PER_ELEMENT[t.dataType] ?? 4);
}
