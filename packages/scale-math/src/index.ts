export { amaxPerBlock, amaxPerChannel, amaxPerTensor } from './amax';
export { convertToScale } from './convert-to-scale';
export {
  CODES_AMAX_LIMIT,
  fakeQuantModelOpt,
  fakeQuantModelOptCodes,
  modelOptScale,
  ZERO_AMAX_THRESHOLD,
} from './fake-quant-modelopt';
export { fakeQuantModelOptPackedInt4Rows } from './fake-quant-modelopt-packed-int4';
export {
  INTEGER_RANGE,
  isQuantFormat,
  MAXBOUND,
  type MaxboundOptions,
  maxboundOf,
  QUANT_FORMATS,
  type QuantFormat,
} from './maxbound';
export { type QuantLayout, scaleShapeOf } from './quant-layout';
export { dequantize, fakeQuant, firstInt4CodeOutside, type QuantizedCodes, quantize } from './quantize';
export { type ScaleInput, squeezeShape } from './read-scales';
export { roundHalfEven } from './round-half-even';
