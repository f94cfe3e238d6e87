import { describe, expect, it } from 'vitest';
import { packMatMulNBits } from './matmul-nbits';

describe('packMatMulNBits', () => {
  it('packs 4-bit codes q + 8, low nibble first, padding the last block with the zero point', () => {
    // One row, K = 20 with block 16: two blocks of 8 bytes, the second holding 4 codes and 12 of padding.
    const codes = Int8Array.from({ length: 20 }, (_, index) => (index % 16) - 8);
    const packed = packMatMulNBits(codes, 1, 20, 4, 16);
    expect(packed).toHaveLength(16);
    // codes -8,-7 → unsigned 0,1 → byte 0x10; -6,-5 → 2,3 → 0x32; …; 6,7 → 14,15 → 0xfe.
    expect([...packed.subarray(0, 8)]).toEqual([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
    // Block 1: codes -8,-7,-6,-5 then padding 8 (value 0) in both nibbles.
    expect([...packed.subarray(8)]).toEqual([0x10, 0x32, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88]);
  });

  it('packs 8-bit codes q + 128, one per byte, row by row', () => {
    const codes = Int8Array.of(-128, -1, 0, 127, 5, 6, 7, 8);
    const packed = packMatMulNBits(codes, 2, 4, 8, 16);
    expect(packed).toHaveLength(32);
    expect([...packed.subarray(0, 5)]).toEqual([0, 127, 128, 255, 128]);
    expect([...packed.subarray(16, 21)]).toEqual([133, 134, 135, 136, 128]);
  });

  it('refuses block sizes MatMulNBits does not take and miscounted codes', () => {
    expect(() => packMatMulNBits(new Int8Array(192), 1, 192, 8, 192)).toThrow(
      'MatMulNBits takes block sizes 16, 32, 64, 128, 256, got 192',
    );
    expect(() => packMatMulNBits(new Int8Array(5), 2, 3, 4, 16)).toThrow(
      'a [2, 3] weight needs 6 codes, got 5',
    );
  });
});
