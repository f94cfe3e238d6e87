export type { AttributeValue } from './attribute-value';
export {
  dtypeOfOnnxDataType,
  isSupportedDType,
  ONNX_DATA_TYPES,
  onnxDataTypeOf,
} from './data-types';
export {
  type DecodedAttribute,
  type DecodedModel,
  type DecodedNode,
  type DecodedTensor,
  type DecodedValueInfo,
  type DecodeModelOptions,
  decodedToTensor,
  decodeModel,
  type ExternalDataReference,
  type UnsupportedAttribute,
} from './decode-model';
export { OnnxFormatError, OnnxGraphError, OnnxModelTooLargeError, OnnxWriteError } from './errors';
export {
  appendFloat8FakeQuant,
  type Float8FakeQuantOptions,
  type ScalarConstant,
} from './float8-fake-quant';
export {
  DEFAULT_OPSET_IMPORTS,
  GraphBuilder,
  type GraphBuilderOptions,
  type NodeOptions,
} from './graph-builder';
export type {
  Attribute,
  AttributeType,
  Dimension,
  GraphDefinition,
  Initializer,
  ModelDefinition,
  NodeDefinition,
  OpsetImport,
  Value,
  ValueInfo,
} from './model-definition';
export { IR_VERSION } from './model-definition';
export type { ReusableBytes } from './protobuf-writer';
export { MAX_PROTOBUF_BYTES, serializeModel } from './serialize-model';
export { appendTargetLogProbabilities } from './target-log-probabilities';
export { validateModel } from './validate-model';
export {
  DEFAULT_EXTERNAL_DATA_THRESHOLD,
  EXTERNAL_DATA_ALIGNMENT,
  type ExternalDataOptions,
  type WriteModelOptions,
  writeModel,
} from './write-model';
