import { InvalidArgumentError } from '@ptq/errors';
import { createTensor } from '@ptq/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { convertToScale } from './convert-to-scale';

function float32Neighbour(value: number, step: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  view.setUint32(0, view.getUint32(0) + step);
  return view.getFloat32(0);
}

/** |candidate · maxbound − amax| exactly, scaled by 2^149 (every float32 is then an integer). */
function exactError(candidate: number, amax: number, maxbound: number): bigint {
  const difference = BigInt(candidate * 2 ** 149) * BigInt(maxbound) - BigInt(amax * 2 ** 149);
  return difference < 0n ? -difference : difference;
}

describe('convertToScale', () => {
  it('divides by maxbound and squeezes ModelOpt per-channel amax [out, 1] to [out]', () => {
    const amax = createTensor('float32', [4, 1], Float32Array.from([127, 254, 63.5, 0]));
    const scale = convertToScale(amax, 127);
    expect(scale.dtype).toBe('float32');
    expect(scale.shape).toEqual([4]);
    expect([...scale.data]).toEqual([1, 2, 0.5, 0]);
  });

  it.each([
    [[], []],
    [[1], []],
    [[1, 1], []],
    [[3, 1], [3]],
    [
      [2, 1, 3],
      [2, 3],
    ],
    [
      [2, 6],
      [2, 6],
    ],
  ])('squeezes shape %j to %j', (shape, expected) => {
    const count = shape.reduce((product, dimension) => product * dimension, 1);
    expect(convertToScale(createTensor('float32', shape), 7).shape).toEqual(expected);
    expect(convertToScale(new Float32Array(count), 7, shape).shape).toEqual(expected);
  });

  it('takes a number (0-d amax) and a flat Float32Array', () => {
    const fromNumber = convertToScale(3.5, 7);
    expect(fromNumber.shape).toEqual([]);
    expect([...fromNumber.data]).toEqual([0.5]);
    const flat = convertToScale(Float32Array.from([448, 896]), 448);
    expect(flat.shape).toEqual([2]);
    expect([...flat.data]).toEqual([1, 2]);
  });

  it('reads float16 amax exactly', () => {
    // 0x5BF0 is float16 254.
    expect([...convertToScale(createTensor('float16', [1], Uint16Array.from([0x5bf0])), 127).data]).toEqual([
      2,
    ]);
  });

  it('rounds the quotient like float32 division: nearest float32, ties to even', () => {
    // 1/127 = 0.007874015748...; the float32 neighbours are 0.0078740157186985 and 0.0078740166500210.
    expect(convertToScale(1, 127).data[0]).toBe(0.007874015718698502);
    fc.assert(
      fc.property(
        fc.float({ min: 0, max: Math.fround(1e30), noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(127, 7, 448, 255, 15),
        (amax, maxbound) => {
          const scale = convertToScale(amax, maxbound).data[0]!;
          const error = exactError(scale, amax, maxbound);
          for (const step of [-1, 1]) {
            if (scale === 0 && step === -1) {
              continue;
            }
            const neighbourError = exactError(float32Neighbour(scale, step), amax, maxbound);
            expect(error <= neighbourError).toBe(true);
            if (error === neighbourError) {
              // A tie: the chosen float32 has an even significand.
              const view = new DataView(new ArrayBuffer(4));
              view.setFloat32(0, scale);
              expect(view.getUint32(0) & 1).toBe(0);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('maps amax 0 to scale 0, as the seed does', () => {
    expect([...convertToScale(Float32Array.from([0, 7]), 7).data]).toEqual([0, 1]);
  });

  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
    [-1, '-1'],
  ])('rejects amax %s, naming the index', (bad, printed) => {
    const amax = Float32Array.from([1, 2, bad]);
    expect(() => convertToScale(amax, 127)).toThrow(InvalidArgumentError);
    expect(() => convertToScale(amax, 127)).toThrow(`got ${printed} at index 2`);
  });

  it.each([0, -127, Number.NaN, Number.POSITIVE_INFINITY, 1e39])('rejects maxbound %s', (maxbound) => {
    expect(() => convertToScale(1, maxbound)).toThrow(/maxbound/);
  });

  it('rejects a shape that does not match the Float32Array', () => {
    expect(() => convertToScale(new Float32Array(6), 7, [4, 1])).toThrow(
      /\[4, 1\] holds 4 elements but amax has 6/,
    );
  });
});
