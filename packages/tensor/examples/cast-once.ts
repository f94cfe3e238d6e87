import { castOnce, createTensor } from '@ptq/tensor';

const cast = castOnce('float16');
const wte = createTensor('float32', [2], Float32Array.of(0.1, -2));
const half = cast(wte);
console.log(half); // { dtype: 'float16', shape: [ 2 ], data: Uint16Array(2) [ 11878, 49152 ] }
console.log(cast(wte) === half); // true: the same tensor, cast once
