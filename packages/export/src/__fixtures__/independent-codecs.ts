/**
 * Reference codecs written straight from the format definitions, independent of the package code
 * under test, for checking exported bytes.
 */

/** Round half to even, by comparing the fraction with one half. */
export function roundHalfEvenReference(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The value of an e4m3fn code: bias 7, 3 mantissa bits, subnormals at exponent field 0, 0x7F/0xFF NaN. */
export function float8Value(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const exponent = (code >> 3) & 0xf;
  const mantissa = code & 0x7;
  if (exponent === 0xf && mantissa === 0x7) return Number.NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -9;
  return sign * (1 + mantissa / 8) * 2 ** (exponent - 7);
}

/** Signed int4 from a nibble. */
export function signedNibble(nibble: number): number {
  return nibble >= 8 ? nibble - 16 : nibble;
}
