import { float16ToFloat32Array, float32ArrayToFloat16 } from '@ptq/tensor';

const half = float32ArrayToFloat16(new Float32Array([0.1, -1.5, 300, 1e-6]));
console.log(half);
// Uint16Array(4) [ 11878, 48640, 23728, 17 ]
console.log(float16ToFloat32Array(half));
// Float32Array(4) [ 0.0999755859375, -1.5, 300, 0.0000010132789611816406 ]
