// ONNX element types (TensorProto.DataType numbers) by the name onnxruntime-node's Tensor uses: for the engine's
// feeds and for the Inspect panel's input and output chips (browser-safe).
export const ORT_TYPE: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};
