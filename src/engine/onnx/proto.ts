// The ONNX protobuf schema, decoded and encoded by protobufjs (static code generated from onnx.proto, see
// proto/README.md). int64 fields stay Long on decode so that values such as INT64_MAX survive a re-encode;
// read them through `num()`.
import Long from 'long';
import { onnx } from './proto/onnx';
import { ORT_TYPE } from '../../shared/elem-types';

export { onnx };

// protobufjs types every field as optional and nullable. Decoded messages in fact always carry repeated fields
// (possibly empty) and scalars (defaults on the prototype); only singular sub-messages may be null. `Msg` states
// exactly that, so engine code reads fields without null checks where none are needed.
type Scalar = string | number | boolean | Uint8Array | Long;
type Field<V> = V extends Scalar
  ? V
  : V extends readonly (infer U)[]
    ? U extends Scalar
      ? U[]
      : Msg<U>[]
    : Msg<V> | null;
export type Msg<T> = { -readonly [K in keyof T as K extends `$${string}` ? never : K]-?: Field<NonNullable<T[K]>> };

export type ModelProto = Msg<onnx.ModelProto.$Properties>;
export type GraphProto = Msg<onnx.GraphProto.$Properties>;
export type NodeProto = Msg<onnx.NodeProto.$Properties>;
export type TensorProto = Msg<onnx.TensorProto.$Properties>;
export type ValueInfoProto = Msg<onnx.ValueInfoProto.$Properties>;
export type AttributeProto = Msg<onnx.AttributeProto.$Properties>;

/** Constructors that fill protobuf defaults, typed as `Msg`. */
export const make = {
  model: (p: onnx.ModelProto.$Properties) => onnx.ModelProto.create(p) as unknown as ModelProto,
  graph: (p: onnx.GraphProto.$Properties) => onnx.GraphProto.create(p) as unknown as GraphProto,
  node: (p: onnx.NodeProto.$Properties) => onnx.NodeProto.create(p) as unknown as NodeProto,
  tensor: (p: onnx.TensorProto.$Properties) => onnx.TensorProto.create(p) as unknown as TensorProto,
  valueInfo: (p: onnx.ValueInfoProto.$Properties) => onnx.ValueInfoProto.create(p) as unknown as ValueInfoProto,
  attribute: (p: onnx.AttributeProto.$Properties) => onnx.AttributeProto.create(p) as unknown as AttributeProto,
  opset: (domain: string, version: number) => onnx.OperatorSetIdProto.create({ domain, version }),
  entry: (key: string, value: string) =>
    onnx.StringStringEntryProto.create({ key, value }) as unknown as Msg<onnx.StringStringEntryProto.$Properties>,
};

export function num(v: number | Long | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Long.fromValue(v).toNumber();
}

export const DataType = onnx.TensorProto.DataType;

/** ONNX element type → the name onnxruntime-node's Tensor uses (shared with the Inspect panel). */
export { ORT_TYPE };
export const BYTES_PER_ELEMENT: Record<number, number> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  16: 2,
};

export function typeName(elemType: number): string {
  return ORT_TYPE[elemType] ?? `onnx type ${elemType}`;
}
