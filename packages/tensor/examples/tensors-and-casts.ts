import { castTensor, createTensor, toFloat32 } from '@ptq/tensor';

const tensor = createTensor('float32', [2, 2], Float32Array.from([0.1, -1.5, 300, 1e-6]));
const fp8 = castTensor(tensor, 'float8e4m3fn');
console.log(fp8);
// { dtype: 'float8e4m3fn', shape: [ 2, 2 ], data: Uint8Array(4) [ 29, 188, 121, 0 ] }
console.log(toFloat32(fp8));
// Float32Array(4) [ 0.1015625, -1.5, 288, 0 ]
