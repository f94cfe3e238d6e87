import { amaxPerChannel, convertToScale, dequantize, MAXBOUND, quantize } from '@ptq/scale-math';

const weight = Float32Array.from([0.1, -0.25, 0.5, 0.02, 0.03, -0.04]); // [out = 2, in = 3]
const shape = [2, 3];
const layout = { kind: 'per-channel', axis: 0 } as const;

const scale = convertToScale(amaxPerChannel(weight, shape, 0), MAXBOUND.int8);
console.log(scale.shape, scale.data);
// [ 2 ] Float32Array(2) [ 0.003937007859349251, 0.00031496063456870615 ]
const codes = quantize(weight, shape, scale, 'int8', layout);
console.log(codes);
// Int8Array(6) [ 25, -64, 127, 63, 95, -127 ]
console.log(dequantize(codes, shape, scale, 'int8', layout));
// Float32Array(6) [
//   0.09842519462108612,
//   -0.25196850299835205,
//   0.5,
//   0.019842520356178284,
//   0.029921259731054306,
//   -0.03999999910593033
// ]
