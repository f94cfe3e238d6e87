// One shared 4-byte scratch: reinterpreting a float through typed-array views costs no allocation.
const floatScratch = new Float32Array(1);
const bitsScratch = new Uint32Array(floatScratch.buffer);

/** The IEEE 754 binary32 bit pattern of `value` after rounding it to float32 (as an unsigned 32-bit integer). */
export function float32ToBits(value: number): number {
  floatScratch[0] = value;
  return bitsScratch[0]!;
}

/** The float32 value whose bit pattern is `bits` (taken modulo 2^32). */
export function bitsToFloat32(bits: number): number {
  bitsScratch[0] = bits;
  return floatScratch[0]!;
}

/** A Uint32Array over the same memory as `values`, to read or write float32 bit patterns in bulk. */
export function float32BitsView(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}
