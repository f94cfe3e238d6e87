import {
  bfloat16BitsToFloat32,
  float8E4M3FNBitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat8E4M3FNBits,
  float32ToFloat16Bits,
} from '@ptq/tensor';

console.log(float32ToFloat16Bits(1 / 3).toString(16)); // 3555
console.log(float16BitsToFloat32(0x3555)); // 0.333251953125
console.log(float32ToFloat16Bits(65519).toString(16)); // 7bff (65504, the largest float16)
console.log(float32ToFloat16Bits(65520).toString(16)); // 7c00 (Infinity: 65520 is the midpoint past 65504)

console.log(float32ToBfloat16Bits(Math.PI).toString(16)); // 4049
console.log(bfloat16BitsToFloat32(0x4049)); // 3.140625

console.log(float32ToFloat8E4M3FNBits(0.3).toString(16)); // 2a
console.log(float8E4M3FNBitsToFloat32(0x2a)); // 0.3125
console.log(float32ToFloat8E4M3FNBits(1000).toString(16)); // 7e (448: saturates by default)
console.log(float32ToFloat8E4M3FNBits(1000, { saturate: false }).toString(16)); // 7f (NaN, as PyTorch casts)
