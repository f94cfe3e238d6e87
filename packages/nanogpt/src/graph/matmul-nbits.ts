import { InvalidArgumentError } from '@ptq/errors';

/** MatMulNBits takes these block sizes only (onnxruntime 1.30). */
export const MATMUL_NBITS_BLOCK_SIZES: readonly number[] = [16, 32, 64, 128, 256];

/**
 * Packs signed codes of a row-major `[N, K]` weight (N = out, K = in) into MatMulNBits' `B`:
 * uint8 `[N, ceil(K / blockSize), blockSize · bits / 8]`, codes stored unsigned as `q + 2^(bits-1)`
 * (the op's default zero point: 8 for 4 bits, 128 for 8 bits), 4-bit codes two per byte with the
 * lower `k` in the low nibble. The padding after K in the last block holds the zero point, so it
 * decodes to 0.
 */
export function packMatMulNBits(
  codes: Int8Array,
  rows: number,
  columns: number,
  bits: 4 | 8,
  blockSize: number,
): Uint8Array {
  if (!MATMUL_NBITS_BLOCK_SIZES.includes(blockSize)) {
    throw new InvalidArgumentError(
      'blockSize',
      `MatMulNBits takes block sizes ${MATMUL_NBITS_BLOCK_SIZES.join(', ')}, got ${blockSize}`,
    );
  }
  if (codes.length !== rows * columns) {
    throw new InvalidArgumentError(
      'codes',
      `a [${rows}, ${columns}] weight needs ${rows * columns} codes, got ${codes.length}`,
    );
  }
  const blocks = Math.ceil(columns / blockSize);
  const paddedColumns = blocks * blockSize;
  const zeroPoint = 1 << (bits - 1);
  const rowBytes = (paddedColumns * bits) / 8;
  const packed = new Uint8Array(rows * rowBytes);
  for (let row = 0; row < rows; row += 1) {
    const source = row * columns;
    const target = row * rowBytes;
    if (bits === 8) {
      for (let column = 0; column < paddedColumns; column += 1) {
        packed[target + column] = column < columns ? codes[source + column]! + zeroPoint : zeroPoint;
      }
    } else {
      for (let pair = 0; pair < paddedColumns / 2; pair += 1) {
        const low = 2 * pair < columns ? codes[source + 2 * pair]! + zeroPoint : zeroPoint;
        const high = 2 * pair + 1 < columns ? codes[source + 2 * pair + 1]! + zeroPoint : zeroPoint;
        packed[target + pair] = low | (high << 4);
      }
    }
  }
  return packed;
}
