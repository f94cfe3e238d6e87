export { type AwqLayerResult, type AwqProgress, awqAlphas, awqScale, awqWeightScale } from './awq-lite';
export type { AwqLossForm } from './awq-loss-form';
export type { BlockProgress, CalibrationEngine } from './block-by-block-calibration';
export type {
  CalibrationModel,
  ForwardLoop,
  GPT2CalibrationModel,
  GPT2ForwardLoop,
} from './calibration-model';
export {
  type InputBatch,
  type InputCalibrator,
  type InputCalibratorFactory,
  maxCalibrator,
  maxWeightCalibrator,
  type PercentileCalibratorOptions,
  percentileCalibrator,
  type WeightCalibrator,
} from './calibrator';
export { fakeQuantizeWeight, weightCodes } from './fake-quantize-weight';
export { weightAmax } from './max-calibration';
export {
  CALIBRATION_DEFAULTS,
  type CalibrationExecution,
  type ModelOptQuantizeOptions,
  modelOptQuantize,
  type QuantizeProgress,
} from './modelopt-quantize';
export {
  algorithmOf,
  DEFAULT_DISABLED_QUANTIZER_CFG,
  FP8_DEFAULT_CFG,
  INT4_AWQ_CFG,
  INT8_DEFAULT_CFG,
  INT8_WEIGHT_ONLY_CFG,
  isQuantMode,
  type NumBits,
  QUANT_MODES,
  type QuantAlgorithm,
  type QuantConfig,
  type QuantizerAttributeConfig,
  type QuantMode,
  quantConfigForMode,
  UnknownQuantModeError,
} from './quant-config';
export { QuantLinear } from './quant-linear';
export { configureQuantizer, quantizeLinears } from './quantize-linears';
export { type CalibrationData, modelOptStateDict, QuantizedModel } from './quantized-model';
export { TensorQuantizer } from './tensor-quantizer';
export { matchesWildcard } from './wildcard';
