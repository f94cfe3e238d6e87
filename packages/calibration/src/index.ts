export {
  FileTooLargeError,
  NotARegularFileError,
  TEXT_ENCODINGS,
  type TextEncoding,
  TextEncodingError,
} from '@ptq/files';
export type { CalibrationBatch, CalibrationTokenizer } from './calibration-batches';
export {
  DatasetFieldError,
  DatasetNotFoundError,
  DatasetTextTooLongError,
  EmptyDatasetError,
  EmptySampleError,
  MalformedJsonlError,
  NotEnoughSamplesError,
  ParquetFormatError,
  UnknownDatasetError,
  UnsupportedDatasetFileError,
} from './calibration-errors';
export {
  CALIBRATION_DEVICES,
  type CalibrationDevice,
  type CalibrationModel,
  type CalibrationProgress,
  type CreateForwardLoopOptions,
  createForwardLoop,
  type DatasetForwardLoop,
  DEFAULT_MAX_SAMPLE_LENGTH,
  type ForwardLoop,
  type ForwardLoopParameters,
  resolveMaxSampleLength,
} from './create-forward-loop';
export { KNOWN_DATASET_NAMES } from './known-datasets';
export {
  type CalibrationTextSource,
  type CalibrationTexts,
  type LoadCalibrationTextsOptions,
  loadCalibrationTexts,
} from './load-calibration-texts';
export type { TextSplit } from './read-text-file';
