export { DEVICES, type Device, type ResolvedDevice } from './device';
export type { CalibrationModel, ForwardLoop } from './forward-loop';
export { MODEL_DTYPES, type ModelDType } from './model-dtype';
export { isQuantMode, QUANT_MODES, type QuantMode } from './quant-mode';
