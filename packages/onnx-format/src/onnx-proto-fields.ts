/**
 * Field numbers of the onnx.proto messages ptq reads and writes (ONNX ≥ 1.16, `onnx/onnx.proto`).
 * The encoder and the decoder both use these, so they cannot disagree.
 */
export const ModelProtoField = {
  irVersion: 1,
  producerName: 2,
  producerVersion: 3,
  domain: 4,
  modelVersion: 5,
  docString: 6,
  graph: 7,
  opsetImport: 8,
  metadataProps: 14,
} as const;

export const GraphProtoField = {
  node: 1,
  name: 2,
  initializer: 5,
  docString: 10,
  input: 11,
  output: 12,
  valueInfo: 13,
} as const;

export const NodeProtoField = {
  input: 1,
  output: 2,
  name: 3,
  opType: 4,
  attribute: 5,
  docString: 6,
  domain: 7,
} as const;

export const AttributeProtoField = {
  name: 1,
  f: 2,
  i: 3,
  s: 4,
  t: 5,
  g: 6,
  floats: 7,
  ints: 8,
  strings: 9,
  tensors: 10,
  graphs: 11,
  type: 20,
} as const;

/** `AttributeProto.AttributeType` values. */
export const AttributeProtoType = {
  undefined: 0,
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  graph: 5,
  floats: 6,
  ints: 7,
  strings: 8,
  tensors: 9,
  graphs: 10,
} as const;

export const TensorProtoField = {
  dims: 1,
  dataType: 2,
  segment: 3,
  floatData: 4,
  int32Data: 5,
  stringData: 6,
  int64Data: 7,
  name: 8,
  rawData: 9,
  doubleData: 10,
  uint64Data: 11,
  docString: 12,
  externalData: 13,
  dataLocation: 14,
} as const;

/** `TensorProto.DataLocation` values. */
export const DataLocation = {
  default: 0,
  external: 1,
} as const;

export const ValueInfoProtoField = {
  name: 1,
  type: 2,
  docString: 3,
} as const;

export const TypeProtoField = {
  tensorType: 1,
  denotation: 6,
} as const;

export const TypeProtoTensorField = {
  elemType: 1,
  shape: 2,
} as const;

export const TensorShapeProtoField = {
  dim: 1,
} as const;

export const DimensionField = {
  dimValue: 1,
  dimParam: 2,
  denotation: 3,
} as const;

export const OperatorSetIdProtoField = {
  domain: 1,
  version: 2,
} as const;

export const StringStringEntryProtoField = {
  key: 1,
  value: 2,
} as const;
