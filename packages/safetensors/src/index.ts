export {
  CheckedTensorReader,
  type CheckedTensorReaderOptions,
  exactTensor,
  floatTensor,
  formatShape,
  type TensorExpectation,
} from './checked-tensor-reader';
export { SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, shardFileName } from './checkpoint-file-names';
export { openSafetensors, type SafetensorsFile } from './open-safetensors';
export {
  type CheckpointTensorInfo,
  MAX_INDEX_LENGTH,
  openSafetensorsCheckpoint,
  type SafetensorsCheckpoint,
} from './open-safetensors-checkpoint';
export {
  MAX_HEADER_LENGTH,
  MAX_TENSOR_DIMENSION,
  MAX_TENSOR_RANK,
  type TensorInfo,
} from './parse-safetensors-header';
export type { TensorEntries } from './prepare-tensors';
export { type OnDemandTensorReader, onDemandTensorReader } from './read-tensors-on-demand';
export {
  isSafetensorsDType,
  SAFETENSORS_DTYPE_BYTES,
  SAFETENSORS_DTYPES,
  type SafetensorsDType,
  toPtqDType,
  toSafetensorsDType,
} from './safetensors-dtype';
export {
  MissingTensorError,
  SafetensorsChangedError,
  SafetensorsClosedError,
  SafetensorsFormatError,
  SafetensorsIoError,
  UnsupportedDTypeError,
} from './safetensors-errors';
export {
  type PlannedTensor,
  type WritePlannedTensor,
  writePlannedSafetensors,
} from './write-planned-safetensors';
export { type WriteSafetensorsOptions, writeSafetensors } from './write-safetensors';
export {
  DEFAULT_MAX_SHARD_BYTES,
  type ShardedSafetensorsResult,
  type WriteShardedSafetensorsOptions,
  writeShardedSafetensors,
} from './write-sharded-safetensors';
