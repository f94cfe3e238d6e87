import { amaxPerBlock, convertToScale, MAXBOUND, quantize, scaleShapeOf } from '@ptq/scale-math';
import { packInt4Rows } from '@ptq/tensor';

const weight = Float32Array.from([0.7, -0.35, 0.1, 0.05, -0.2, 0.4, 0.8, -0.1]); // [2, 4]
const layout = { kind: 'block', blockSize: 2 } as const;

const scale = convertToScale(amaxPerBlock(weight, [2, 4], 2), MAXBOUND.int4);
console.log(scale.shape, scale.data);
// [ 2, 2 ] Float32Array(4) [ 0.10000000149011612, 0.014285714365541935, 0.05714285746216774, 0.11428571492433548 ]
const codes = quantize(weight, [2, 4], scale, 'int4', layout);
console.log(codes);
// Int8Array(8) [ 7, -4, 7, 4, -4, 7, 7, -1 ]
// (one code per element; -0.35 / 0.1 is exactly -3.5 in float32, a tie, rounded to even -4)
console.log(packInt4Rows(codes, 2, 4)); // the ModelOpt export layout [rows / 2, columns]
// Uint8Array(4) [ 199, 124, 119, 244 ]

console.log(scaleShapeOf([768, 1600], { kind: 'block', blockSize: 128 })); // [ 768, 13 ]: the last block holds 64
