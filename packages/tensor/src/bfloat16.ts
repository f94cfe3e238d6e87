import { checkBits } from './check-bits';
import { bitsToFloat32, float32BitsView, float32ToBits } from './float32-bits';
import { outputFor } from './output-for';

/**
 * Encodes a float32 bit pattern as bfloat16 (the top 16 bits of a float32), rounding to nearest, ties
 * to even. NaN keeps its sign and top payload bits and gets the quiet bit, so a NaN whose payload
 * lives only in the low 16 bits does not collapse to Inf.
 */
export function float32BitsToBfloat16Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) {
    return (bits >>> 16) | 0x40;
  }
  // Overflow needs no special case: a carry out of the top finite code lands on the Inf pattern.
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/** Rounds `value` to float32, then to the nearest bfloat16 (ties to even) and returns its 16 bits. */
export function float32ToBfloat16Bits(value: number): number {
  return float32BitsToBfloat16Bits(float32ToBits(value));
}

/** The exact value of bfloat16 `bits` (an integer in [0, 65535]). */
export function bfloat16BitsToFloat32(bits: number): number {
  checkBits('bits', bits, 16);
  return bitsToFloat32(bits << 16);
}

/** Encodes every element as bfloat16 bits; writes into `output` when given (same length). */
export function float32ArrayToBfloat16(values: Float32Array, output?: Uint16Array): Uint16Array {
  const result = outputFor(output, values.length, (length) => new Uint16Array(length));
  const bits = float32BitsView(values);
  for (let index = 0; index < bits.length; index += 1) {
    result[index] = float32BitsToBfloat16Bits(bits[index]!);
  }
  return result;
}

/** Decodes bfloat16 bits to float32 (exact, NaN payloads kept); writes into `output` when given. */
export function bfloat16ToFloat32Array(codes: Uint16Array, output?: Float32Array): Float32Array {
  const result = outputFor(output, codes.length, (length) => new Float32Array(length));
  const resultBits = float32BitsView(result);
  for (let index = 0; index < codes.length; index += 1) {
    resultBits[index] = codes[index]! << 16;
  }
  return result;
}
