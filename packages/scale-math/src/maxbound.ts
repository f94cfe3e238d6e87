import { InvalidArgumentError } from '@ptq/errors';

/** The quantized formats ptq produces. */
export type QuantFormat = 'int8' | 'int4' | 'float8e4m3fn';

export const QUANT_FORMATS: readonly QuantFormat[] = ['int8', 'int4', 'float8e4m3fn'];

/** Largest magnitude each format represents: ModelOpt's `TensorQuantizer.maxbound`. */
export const MAXBOUND: Readonly<Record<QuantFormat, number>> = { int8: 127, int4: 7, float8e4m3fn: 448 };

/**
 * Integer code range: ModelOpt's default `narrow_range=False` clamps to [-(maxbound + 1), maxbound],
 * the range TensorRT uses too.
 */
export const INTEGER_RANGE: Readonly<
  Record<'int8' | 'int4', { readonly min: number; readonly max: number }>
> = {
  int8: { min: -128, max: 127 },
  int4: { min: -8, max: 7 },
};

export function isQuantFormat(format: unknown): format is QuantFormat {
  return typeof format === 'string' && (QUANT_FORMATS as readonly string[]).includes(format);
}

export function checkFormat(format: unknown): asserts format is QuantFormat {
  if (!isQuantFormat(format)) {
    throw new InvalidArgumentError(
      'format',
      `must be one of ${QUANT_FORMATS.join(', ')}, got ${String(format)}`,
    );
  }
}

export interface MaxboundOptions {
  /** ModelOpt's `unsigned`: one more magnitude bit for integer formats. Default false. */
  unsigned?: boolean;
}

/**
 * maxbound the way ModelOpt computes it from a quantizer's `num_bits`: a format name, an integer bit
 * count (`(1 << (numBits - 1 + unsigned)) - 1`: 8 -> 127, 4 -> 7, unsigned 8 -> 255) or the float
 * format `[4, 3]` (e4m3) -> 448.
 */
export function maxboundOf(
  format: QuantFormat | number | readonly [number, number],
  options: MaxboundOptions = {},
): number {
  if (typeof format === 'number') {
    if (!Number.isInteger(format) || format < 2 || format > 32) {
      throw new InvalidArgumentError('numBits', `must be an integer in [2, 32], got ${format}`);
    }
    // 2 ** instead of << keeps 32-bit counts exact.
    return 2 ** (format - 1 + (options.unsigned ? 1 : 0)) - 1;
  }
  if (Array.isArray(format)) {
    if (format.length === 2 && format[0] === 4 && format[1] === 3) {
      return MAXBOUND.float8e4m3fn;
    }
    throw new InvalidArgumentError(
      'numBits',
      `the only float format supported is [4, 3] (e4m3), got [${format.join(', ')}]`,
    );
  }
  if (isQuantFormat(format)) {
    return MAXBOUND[format];
  }
  throw new InvalidArgumentError(
    'format',
    `must be one of ${QUANT_FORMATS.join(', ')}, got ${String(format)}`,
  );
}
