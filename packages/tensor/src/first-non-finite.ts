/**
 * Index of the first NaN or ±Inf, or -1. `x · 0` is ±0 for every finite x and NaN otherwise, so a
 * chunk's sum of them is 0 exactly when the chunk is finite: four independent sums per chunk (no
 * branch per element) run several times faster than testing each element, and only a chunk whose
 * sum is not 0 is searched (`x - x` is 0 for every finite x and NaN otherwise).
 */
export function firstNonFinite(data: Float32Array): number {
  const length = data.length;
  for (let start = 0; start < length; start += FINITE_CHUNK) {
    const end = Math.min(length, start + FINITE_CHUNK);
    let first = 0;
    let second = 0;
    let third = 0;
    let fourth = 0;
    let index = start;
    for (; index + 3 < end; index += 4) {
      first += data[index]! * 0;
      second += data[index + 1]! * 0;
      third += data[index + 2]! * 0;
      fourth += data[index + 3]! * 0;
    }
    for (; index < end; index++) first += data[index]! * 0;
    if (first + second + third + fourth === 0) continue;
    for (let element = start; element < end; element++) {
      const value = data[element]!;
      if (value - value !== 0) return element;
    }
  }
  return -1;
}

/** Elements summed before each test: small enough that a non-finite chunk is searched at once. */
const FINITE_CHUNK = 4096;

/**
 * Index of the first NaN or ±Inf among binary16 bit patterns, or -1: those whose exponent bits are
 * all ones. Adding 0x0400 to the exponent bits carries into bit 15 exactly for those, so a chunk's OR
 * of the carries is 0 exactly when the chunk is finite (no branch per element), and only a chunk
 * that is not is searched.
 */
export function firstNonFiniteFloat16(bits: Uint16Array): number {
  const length = bits.length;
  for (let start = 0; start < length; start += FINITE_CHUNK) {
    const end = Math.min(length, start + FINITE_CHUNK);
    let carries = 0;
    for (let index = start; index < end; index++) carries |= (bits[index]! & 0x7c00) + 0x0400;
    if ((carries & 0x8000) === 0) continue;
    for (let element = start; element < end; element++) {
      if ((bits[element]! & 0x7c00) === 0x7c00) return element;
    }
  }
  return -1;
}
