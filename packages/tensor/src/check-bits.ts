import { InvalidArgumentError } from '@ptq/errors';

/** Rejects anything that is not an integer bit pattern of a `width`-bit code. */
export function checkBits(argument: string, bits: number, width: number): void {
  const limit = 2 ** width - 1;
  if (!Number.isInteger(bits) || bits < 0 || bits > limit) {
    throw new InvalidArgumentError(argument, `must be an integer bit pattern in [0, ${limit}], got ${bits}`);
  }
}
