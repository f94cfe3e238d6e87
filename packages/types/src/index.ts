export { DEVICES, type Device, type ResolvedDevice } from './device';
export { ENGINES, type Engine } from './engine';
export { EXPORT_FORMATS, type ExportFormat } from './export-format';
export type { CalibrationModel, ForwardLoop } from './forward-loop';
export { MODEL_DTYPES, type ModelDType } from './model-dtype';
export { isQuantMode, QUANT_MODES, type QuantMode } from './quant-mode';
