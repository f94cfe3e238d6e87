import { InvalidArgumentError } from '@ptq/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packInt4, packInt4Rows, unpackInt4, unpackInt4Rows } from './int4';

describe('packInt4 / unpackInt4 (ONNX layout)', () => {
  it('packs element 2i low and 2i+1 high, leaving an odd tail high nibble 0', () => {
    // 1 = 0x1, -1 = 0xF, 7 = 0x7, -8 = 0x8, 3 = 0x3 (two's complement nibbles)
    const packed = packInt4(new Int8Array([1, -1, 7, -8, 3]));
    expect([...packed]).toEqual([0xf1, 0x87, 0x03]);
    expect([...unpackInt4(packed, 5)]).toEqual([1, -1, 7, -8, 3]);
  });

  it('maps all 256 bytes to their two sign-extended nibbles and back', () => {
    for (let byte = 0; byte < 256; byte += 1) {
      const low = byte & 0xf;
      const high = byte >> 4;
      const expected = [low >= 8 ? low - 16 : low, high >= 8 ? high - 16 : high];
      const unpacked = unpackInt4(new Uint8Array([byte]), 2);
      expect([...unpacked]).toEqual(expected);
      expect([...packInt4(unpacked)]).toEqual([byte]);
    }
  });

  it('handles empty input', () => {
    expect(packInt4(new Int8Array(0)).length).toBe(0);
    expect(unpackInt4(new Uint8Array(0), 0).length).toBe(0);
  });

  it('round-trips any int4 values', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -8, max: 7 }), { maxLength: 101 }), (list) => {
        const values = Int8Array.from(list);
        const packed = packInt4(values);
        expect(packed.length).toBe(Math.ceil(values.length / 2));
        if (values.length % 2 === 1) {
          expect(packed[packed.length - 1]! >> 4).toBe(0);
        }
        expect([...unpackInt4(packed, values.length)]).toEqual(list);
      }),
    );
  });

  it('rejects values outside [-8, 7], naming the index', () => {
    expect(() => packInt4(new Int8Array([0, 1, 8]))).toThrow(InvalidArgumentError);
    expect(() => packInt4(new Int8Array([0, 1, 8]))).toThrow(/got 8 at index 2/);
    expect(() => packInt4(new Int8Array([-9]))).toThrow(/got -9 at index 0/);
  });

  it('rejects a byte count that does not match the element count', () => {
    expect(() => unpackInt4(new Uint8Array(2), 5)).toThrow(/5 int4 values need 3 bytes, got 2/);
    expect(() => unpackInt4(new Uint8Array(3), 4)).toThrow(InvalidArgumentError);
    expect(() => unpackInt4(new Uint8Array(1), -1)).toThrow(/count.*non-negative integer/);
    expect(() => unpackInt4(new Uint8Array(1), 1.5)).toThrow(/count/);
  });
});

describe('packInt4Rows / unpackInt4Rows (ModelOpt export layout)', () => {
  it('puts row 2r in the low nibble and row 2r+1 in the high nibble of byte [r, j]', () => {
    const values = Int8Array.from([1, 2, 3, -1, -2, -3, 7, -8, 0, 0, 1, -1]); // rows 4, columns 3
    const packed = packInt4Rows(values, 4, 3);
    // [r=0]: (1, -1) = 0xF1, (2, -2) = 0xE2, (3, -3) = 0xD3; [r=1]: (7, 0) = 0x07, (-8, 1) = 0x18, (0, -1) = 0xF0
    expect([...packed]).toEqual([0xf1, 0xe2, 0xd3, 0x07, 0x18, 0xf0]);
    expect([...unpackInt4Rows(packed, 4, 3)]).toEqual([...values]);
  });

  it('round-trips any even-row int4 matrix', () => {
    const matrix = fc
      .tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 9 }))
      .chain(([pairs, columns]) =>
        fc.tuple(
          fc.constant(pairs * 2),
          fc.constant(columns),
          fc.array(fc.integer({ min: -8, max: 7 }), {
            minLength: pairs * 2 * columns,
            maxLength: pairs * 2 * columns,
          }),
        ),
      );
    fc.assert(
      fc.property(matrix, ([rows, columns, list]) => {
        const packed = packInt4Rows(Int8Array.from(list), rows, columns);
        expect(packed.length).toBe((rows / 2) * columns);
        expect([...unpackInt4Rows(packed, rows, columns)]).toEqual(list);
      }),
    );
  });

  it('rejects an odd row count, a wrong length and out-of-range values', () => {
    expect(() => packInt4Rows(new Int8Array(6), 3, 2)).toThrow(/even number of rows, got 3/);
    expect(() => unpackInt4Rows(new Uint8Array(6), 3, 2)).toThrow(InvalidArgumentError);
    expect(() => packInt4Rows(new Int8Array(5), 2, 3)).toThrow(/\[2, 3\] int4 matrix needs 6 values, got 5/);
    expect(() => unpackInt4Rows(new Uint8Array(5), 2, 3)).toThrow(/needs 3 bytes, got 5/);
    expect(() => packInt4Rows(Int8Array.from([0, 0, 0, -100]), 2, 2)).toThrow(/got -100 at index 3/);
    expect(() => packInt4Rows(new Int8Array(0), -2, 0)).toThrow(/rows/);
    expect(() => packInt4Rows(new Int8Array(0), 2, 0.5)).toThrow(/columns/);
  });
});
