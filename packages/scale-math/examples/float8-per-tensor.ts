import { amaxPerTensor, convertToScale, dequantize, MAXBOUND, quantize } from '@ptq/scale-math';

const calibrated = amaxPerTensor(Float32Array.from([0.3, -1.7, 2.4]));
console.log(calibrated); // 2.4000000953674316
const scale = convertToScale(calibrated, MAXBOUND.float8e4m3fn);
console.log(scale.data); // Float32Array(1) [ 0.0053571430034935474 ]
const layout = { kind: 'per-tensor' } as const;
const codes = quantize(Float32Array.from([0.3, -1.7, 2.4, 100]), [4], scale, 'float8e4m3fn', layout);
console.log(codes);
// Uint8Array(4) [ 102, 250, 126, 126 ]   (100 is past the calibrated range: it saturates to 448 · scale)
console.log(dequantize(codes, [4], scale, 'float8e4m3fn', layout));
// Float32Array(4) [ 0.30000001192092896, -1.7142857313156128, 2.4000000953674316, 2.4000000953674316 ]
