import { InvalidArgumentError } from '@ptq/errors';
import { packInt4Rows } from '@ptq/tensor';
import { fakeQuantModelOptCodes, modelOptScale, ZERO_AMAX_THRESHOLD } from './fake-quant-modelopt';
import { MAXBOUND } from './maxbound';
import { planLayout } from './quant-layout';
import { throwFirstNaN } from './quantize';
import { readScales, type ScaleInput } from './read-scales';
import { ROUNDING_MAGIC } from './round-half-even';

const maxbound = Math.fround(MAXBOUND.int4);

/** `maxbound / amax` as `fakeQuantModelOptCodes` computes it; 0 for an amax it treats as zero. */
function codeScale(amax: number): number {
  // x · 0 rounds to a (signed) zero, or NaN for an infinity: code 0 either way, as a zero amax gives.
  return amax <= ZERO_AMAX_THRESHOLD ? 0 : modelOptScale(amax, maxbound);
}

/**
 * `packInt4Rows(fakeQuantModelOptCodes(x, [rows, columns], amax, 'int4', { kind: 'block', blockSize }),
 * rows, columns)` in one pass: the int4 codes of ModelOpt's fake quantization of a `[rows, columns]`
 * weight in blocks of `blockSize` along its rows, packed two rows per byte (row 2r in the low
 * nibble) without the unpacked codes in between. Same bytes, same errors (NaN in `x` throws, naming
 * its first index). The bytes go into `into` when given (at least `rows / 2 · columns` long).
 */
export function fakeQuantModelOptPackedInt4Rows(
  x: Float32Array,
  shape: readonly number[],
  amax: ScaleInput,
  blockSize: number,
  into?: Uint8Array,
): Uint8Array {
  if (shape.length !== 2) {
    throw new InvalidArgumentError('shape', `must be [rows, columns], got [${shape.join(', ')}]`);
  }
  const layout = { kind: 'block', blockSize } as const;
  const plan = planLayout(shape, layout, x.length);
  const amaxValues = readScales('amax', amax, plan.scaleShape);
  const rows = shape[0]!;
  const columns = shape[1]!;
  if (rows % 2 !== 0) {
    // Refused by the packing, after the codes' own refusals (a NaN first), as the two steps do.
    return packInt4Rows(fakeQuantModelOptCodes(x, shape, amaxValues, 'int4', layout), rows, columns);
  }
  const count = (rows / 2) * columns;
  if (into !== undefined && into.length < count) {
    throw new InvalidArgumentError('into', `must hold ${count} bytes, got ${into.length}`);
  }
  const packed = into === undefined ? new Uint8Array(count) : into.subarray(0, count);
  const blocks = plan.channels;
  // The loop's constants are the function's own, the clamp bounds literals: a bundler turns module
  // constants into mutable variables, and a clamp to a bound the JIT cannot see as a number made
  // this loop three times slower in the bundled command. (INTEGER_RANGE.int4 is [-8, 7].)
  const minimum = -8;
  const maximum = 7;
  const magic = ROUNDING_MAGIC;
  for (let pair = 0; pair < rows / 2; pair += 1) {
    const low = 2 * pair * columns;
    const high = low + columns;
    const target = pair * columns;
    const lowScales = 2 * pair * blocks;
    const highScales = lowScales + blocks;
    // The sum of the pair's clamped values is NaN when one of them is: one add per column instead of
    // a test per element. x · 0 of an infinity is NaN too, so a NaN sum only sends the pair to the
    // search, which throws for a NaN of x alone.
    let check = 0;
    for (let block = 0; block < blocks; block += 1) {
      const start = block * blockSize;
      const end = Math.min(start + blockSize, columns);
      const lowScale = codeScale(amaxValues[lowScales + block]!);
      const highScale = codeScale(amaxValues[highScales + block]!);
      for (let column = start; column < end; column += 1) {
        // A conditional in place of Math.max clamps alike for every value but NaN, whose code is 0
        // either way (an infinity under a zero amax) or thrown away (a NaN of x).
        let lowScaled = Math.fround(x[low + column]! * lowScale);
        lowScaled = lowScaled < minimum ? minimum : Math.min(lowScaled, maximum);
        let highScaled = Math.fround(x[high + column]! * highScale);
        highScaled = highScaled < minimum ? minimum : Math.min(highScaled, maximum);
        check += lowScaled + highScaled;
        packed[target + column] =
          (((lowScaled + magic - magic) | 0) & 0xf) | ((((highScaled + magic - magic) | 0) & 0xf) << 4);
      }
    }
    if (Number.isNaN(check)) {
      // Earlier pairs hold no NaN, so the first of these two rows is the first of `x`.
      throwFirstNaN(x, low, high + columns);
    }
  }
  return packed;
}
