import { convertToScale, MAXBOUND, maxboundOf } from '@ptq/scale-math';
import { createTensor } from '@ptq/tensor';

// A ModelOpt int8 weight amax has shape [out, 1].
const amax = createTensor('float32', [3, 1], Float32Array.from([0.5, 1.27, 0]));
console.log(convertToScale(amax, MAXBOUND.int8));
// {
//   dtype: 'float32',
//   shape: [ 3 ],
//   data: Float32Array(3) [ 0.003937007859349251, 0.009999999776482582, 0 ]
// }

console.log(maxboundOf(8)); // 127
console.log(maxboundOf(4)); // 7
console.log(maxboundOf([4, 3])); // 448
console.log(maxboundOf(8, { unsigned: true })); // 255
