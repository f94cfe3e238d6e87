/**
 * 1.5 · 2^52. Adding it to |v| < 2^51 leaves no bits for a fraction, so the hardware's
 * round-to-nearest-even does the rounding; subtracting it again is exact.
 */
export const ROUNDING_MAGIC = 6755399441055744;

/** From 2^52 on, every float64 is an integer. */
const INTEGER_LIMIT = 2 ** 52;

/**
 * Rounds to the nearest integer, ties to even (`rint`, `torch.round`, numpy `round`), unlike
 * `Math.round`, which sends ties up. Keeps the sign of zero: -0.4 and -0.5 give -0. NaN and ±Inf pass
 * through.
 */
export function roundHalfEven(value: number): number {
  const magnitude = Math.abs(value);
  if (!(magnitude < INTEGER_LIMIT)) {
    return value;
  }
  // magnitude + 2^52 lies in [2^52, 2^53), where float64 spacing is exactly 1.
  const rounded = magnitude + INTEGER_LIMIT - INTEGER_LIMIT;
  return rounded === 0 ? value * 0 : value < 0 ? -rounded : rounded;
}
