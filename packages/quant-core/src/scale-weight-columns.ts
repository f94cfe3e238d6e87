/**
 * `target[o, i] = fround(source[o, i] · scale[i])` for a row-major `[rows, columns]` weight
 * (`target` may be `source`), and, for `blockSize` (a positive integer), the max |·| of every block
 * of `blockSize` scaled values along a row, `[rows · ⌈columns / blockSize⌉]` in (row, block) order,
 * as `amaxPerBlock` of the scaled weight gives it: the scaled weight is read once instead of being
 * written and then read again. `undefined` in place of the amax when a scaled value is NaN, which
 * `amaxPerBlock` refuses (its caller asks it for the error).
 */
export function scaleWeightColumns(
  source: Float32Array,
  target: Float32Array,
  rows: number,
  columns: number,
  scale: Float32Array,
  blockSize: number,
): Float32Array | undefined {
  const blocks = Math.ceil(columns / blockSize);
  const amax = new Float32Array(rows * blocks);
  let sawNaN = false;
  for (let row = 0; row < rows; row++) {
    const offset = row * columns;
    for (let block = 0; block < blocks; block++) {
      const start = block * blockSize;
      const end = Math.min(start + blockSize, columns);
      let maximum = 0;
      for (let column = start; column < end; column++) {
        const value = Math.fround(source[offset + column]! * scale[column]!);
        target[offset + column] = value;
        const magnitude = Math.abs(value);
        // A plain flag keeps the loop branch-light; the caller reports the NaN.
        sawNaN = sawNaN || Number.isNaN(magnitude);
        maximum = Math.max(maximum, magnitude);
      }
      amax[row * blocks + block] = maximum;
    }
  }
  return sawNaN ? undefined : amax;
}
