// The cleanup registry lives in @ptq/files, shared with every atomic file write; re-exported here
// for programs that install export's signal handler.
export {
  onTemporaryCleanup,
  removeTemporaryOutputs,
  sweepStaleTemporaries,
  temporaryNamePid,
} from '@ptq/files';
export { dequantizeModelOptWeight } from './dequantize-modelopt-weight';
export {
  CheckpointTensorError,
  ExportTargetExistsError,
  ExportTargetProtectedError,
  ExportWriteError,
  NotModelOptCheckpointError,
  UnknownExportError,
  UnknownQuantAlgoError,
  UnsupportedExportError,
} from './errors';
export {
  type ExamineOutputFolderOptions,
  examineOutputFolder,
  type OutputFolderState,
} from './examine-output-folder';
export {
  type ExportModelOptCheckpointOptions,
  type ExportResult,
  exportModelOptCheckpoint,
  HF_QUANT_CONFIG_FILE,
  hfQuantConfig,
  modelOptQuantizationConfig,
} from './export-modelopt-checkpoint';
export {
  type ExportOnnxOptions,
  exportedOnnxGraph,
  exportOnnx,
  type OnnxExportResult,
} from './export-onnx';
export { findOnnxModelFile, onnxModelFiles } from './find-onnx-model';
export { float8ActivationsToQdq } from './float8-activations-to-qdq';
export { listFiles } from './list-files';
export {
  type ModelOptLinearLayout,
  type ModelOptLinearTensors,
  modelOptLinearLayout,
  modelOptLinearTensors,
  type PackedInt4Codes,
  type TensorLayout,
} from './modelopt-linear-tensors';
export {
  type HfQuantConfig,
  INT4_GROUP_SIZE,
  isModelOptQuantAlgo,
  MODE_BY_QUANT_ALGO,
  MODELOPT_QUANT_ALGOS,
  type ModelOptQuantAlgo,
  type ModelOptQuantizationConfig,
  QUANT_ALGO_BY_MODE,
} from './modelopt-quant-algo';
export {
  type ModelOptState,
  type ModelOptStatePlan,
  type ModelOptTensorsOptions,
  modelOptState,
  planModelOptState,
} from './modelopt-state';
export {
  ONNX_EXPORT_FORMATS,
  ONNX_SUBFOLDER,
  type OnnxExportFormat,
  type OnnxModelFile,
  onnxModelFile,
} from './onnx-model-file';
export { type OpenedOnnxExport, type OpenOnnxExportOptions, openOnnxExport } from './open-onnx-export';
export {
  type ManifestEntry,
  OUTPUT_MANIFEST_FILE,
  type OutputManifest,
  readOutputManifest,
} from './output-manifest';
export { PRODUCER } from './producer';
export {
  detectExport,
  type ExportFormat,
  type ExportInspection,
  type InspectExportOptions,
  inspectExport,
} from './read-export';
export {
  type LoadModelOptCheckpointOptions,
  loadModelOptCheckpoint,
  type ModelOptCheckpoint,
  type ReadModelOptCheckpointOptions,
  readModelOptCheckpoint,
} from './read-modelopt-checkpoint';
export { type ModelOptQuantization, readModelOptQuantization } from './read-modelopt-quantization';
export { SCALE_KINDS, type ScaleKind, type ScaleStatistics } from './scale-statistics';
export { type WriteDirectoryOptions, writeDirectoryAtomically } from './write-directory-atomically';
