import { InvalidArgumentError } from '@ptq/errors';
import { packInt4Rows } from '@ptq/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fakeQuantModelOptCodes } from './fake-quant-modelopt';
import { fakeQuantModelOptPackedInt4Rows } from './fake-quant-modelopt-packed-int4';

/** The two steps the fused function replaces. */
function twoSteps(x: Float32Array, rows: number, columns: number, amax: Float32Array, blockSize: number) {
  const codes = fakeQuantModelOptCodes(x, [rows, columns], amax, 'int4', { kind: 'block', blockSize });
  return packInt4Rows(codes, rows, columns);
}

/** The error a call throws (its class and message), or undefined. */
function thrown(call: () => unknown): { type: string; message: string } | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    return { type: (error as Error).constructor.name, message: (error as Error).message };
  }
}

// Weights that stress every branch: zeros of both signs, values on and near rounding ties, tiny
// and huge magnitudes, infinities (clamped, or 0 under a zero amax).
const SPECIAL = [
  0,
  -0,
  1e-45,
  -1e-45,
  1e-30,
  2 ** -24,
  0.5,
  -0.5,
  1.5,
  -2.5,
  3.4e38,
  -3.4e38,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];
const weight = fc.oneof(
  { weight: 4, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true, min: -4, max: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL) },
);
// amax of every kind: zero and below the zero threshold, tiny, ordinary, up to CODES_AMAX_LIMIT.
const amaxValue = fc.oneof(
  { weight: 4, arbitrary: fc.float({ noNaN: true, min: Math.fround(1e-3), max: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 2 ** -25, 2 ** -24, 2 ** -23, 1e-30, 2 ** 100, 2 ** 126) },
);

const matrix = fc
  .tuple(
    fc.integer({ min: 1, max: 4 }).map((pairs) => 2 * pairs),
    fc.integer({ min: 1, max: 11 }),
    fc.integer({ min: 1, max: 5 }),
  )
  .chain(([rows, columns, blockSize]) =>
    fc.tuple(
      fc.constant(rows),
      fc.constant(columns),
      fc.constant(blockSize),
      fc.array(weight, { minLength: rows * columns, maxLength: rows * columns }),
      fc.array(amaxValue, {
        minLength: rows * Math.ceil(columns / blockSize),
        maxLength: rows * Math.ceil(columns / blockSize),
      }),
    ),
  );

describe('fakeQuantModelOptPackedInt4Rows', () => {
  it('packs the codes of two rows per byte, row 2r in the low nibble', () => {
    // amax 7: scale 1. Row 0 codes [1, -2, 7, -8] (9 and -100 clamp), row 1 [0, 2, -1, 0] (2.5 rounds to even).
    const x = Float32Array.from([1, -2.4, 9, -100, -0.4, 2.5, -1, 0]);
    const packed = fakeQuantModelOptPackedInt4Rows(x, [2, 4], Float32Array.from([7, 7, 7, 7]), 2);
    expect([...packed]).toEqual([0x01, 0x2e, 0xf7, 0x08]);
  });

  it('gives the bytes of fakeQuantModelOptCodes then packInt4Rows, partial last blocks included', () => {
    fc.assert(
      fc.property(matrix, ([rows, columns, blockSize, values, amax]) => {
        const x = Float32Array.from(values);
        const amaxArray = Float32Array.from(amax);
        const expected = twoSteps(x, rows, columns, amaxArray, blockSize);
        expect(fakeQuantModelOptPackedInt4Rows(x, [rows, columns], amaxArray, blockSize)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees on a weight of GPT-2 proportions, including blocks of zero amax', () => {
    const rows = 64;
    const columns = 300;
    const blocks = Math.ceil(columns / 128);
    let state = 12345;
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    const x = Float32Array.from({ length: rows * columns }, () => (random() - 0.5) * 0.1);
    const amax = Float32Array.from({ length: rows * blocks }, (_, index) =>
      index % 17 === 0 ? 0 : 0.01 + random() * 0.05,
    );
    expect(fakeQuantModelOptPackedInt4Rows(x, [rows, columns], amax, 128)).toEqual(
      twoSteps(x, rows, columns, amax, 128),
    );
  });

  it('throws for NaN as the two steps do, naming the first NaN in memory order', () => {
    fc.assert(
      fc.property(
        matrix,
        fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
        ([rows, columns, blockSize, values, amax], positions) => {
          const x = Float32Array.from(values);
          for (const position of positions) x[position % x.length] = Number.NaN;
          const amaxArray = Float32Array.from(amax);
          const expected = thrown(() => twoSteps(x, rows, columns, amaxArray, blockSize));
          expect(expected?.message).toMatch(/contains NaN at index/);
          expect(
            thrown(() => fakeQuantModelOptPackedInt4Rows(x, [rows, columns], amaxArray, blockSize)),
          ).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses an odd row count after a NaN, as the two steps do', () => {
    const amax = Float32Array.from([1, 1, 1]);
    const finite = Float32Array.from([1, 2, 3]);
    const withNaN = Float32Array.from([1, Number.NaN, 3]);
    for (const x of [finite, withNaN]) {
      const expected = thrown(() => twoSteps(x, 3, 1, amax, 1));
      expect(expected).toBeDefined();
      expect(thrown(() => fakeQuantModelOptPackedInt4Rows(x, [3, 1], amax, 1))).toEqual(expected);
    }
  });

  it('refuses what the codes refuse, with the same messages', () => {
    const x = new Float32Array(8);
    const cases: [readonly number[], Float32Array, number][] = [
      [[2, 4], new Float32Array(3), 2],
      [[2, 4], Float32Array.from([1, -1, 1, 1]), 2],
      [[2, 4], Float32Array.from([1, Number.POSITIVE_INFINITY, 1, 1]), 2],
      [[2, 4], new Float32Array(4), 0],
      [[2, 3], new Float32Array(4), 2],
    ];
    for (const [shape, amax, blockSize] of cases) {
      const expected = thrown(() =>
        fakeQuantModelOptCodes(x, shape, amax, 'int4', { kind: 'block', blockSize }),
      );
      expect(expected?.type).toBe('InvalidArgumentError');
      expect(thrown(() => fakeQuantModelOptPackedInt4Rows(x, shape, amax, blockSize))).toEqual(expected);
    }
  });

  it('refuses a shape that is not [rows, columns]', () => {
    expect(() => fakeQuantModelOptPackedInt4Rows(new Float32Array(8), [2, 2, 2], 1, 2)).toThrow(
      new InvalidArgumentError('shape', 'must be [rows, columns], got [2, 2, 2]'),
    );
  });

  it('writes into a longer array and leaves the rest of it alone', () => {
    const x = Float32Array.from([1, 2, 3, -1, -2, -3, 0.5, 1.5, 2.5, 4, 5, 6]);
    const amax = new Float32Array(8).fill(7);
    const expected = twoSteps(x, 4, 3, amax, 2);
    const into = new Uint8Array(8).fill(0xaa);
    const written = fakeQuantModelOptPackedInt4Rows(x, [4, 3], amax, 2, into);
    expect(written.buffer).toBe(into.buffer);
    expect(written).toEqual(expected);
    expect([...into.subarray(6)]).toEqual([0xaa, 0xaa]);
    expect(() => fakeQuantModelOptPackedInt4Rows(x, [4, 3], amax, 2, new Uint8Array(5))).toThrow(
      new InvalidArgumentError('into', 'must hold 6 bytes, got 5'),
    );
  });
});
