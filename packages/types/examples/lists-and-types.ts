import { DEVICES, type Device, isQuantMode, MODEL_DTYPES, QUANT_MODES, type QuantMode } from '@ptq/types';

console.log(QUANT_MODES); // [ 'int8-weight-only', 'int4-weight-only', 'float8' ]
console.log(DEVICES); // [ 'auto', 'cpu', 'webgpu', 'cuda' ]
console.log(MODEL_DTYPES); // [ 'float32', 'float16' ]

const mode: QuantMode = 'int4-weight-only';
const device: Device = 'auto';
console.log(isQuantMode(mode), isQuantMode('none'), device); // true false auto
