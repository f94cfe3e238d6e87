/**
 * `target[o, i] = fround(source[o, i] · scale[i])` for a row-major `[rows, columns]` weight
 * (`target` may be `source`), and the max |·| of every block of `blockSize` (a positive integer)
 * scaled values along a row, `[rows · ⌈columns / blockSize⌉]` in (row, block) order, as
 * `amaxPerBlock` of the scaled weight gives it: the scaled weight is read once instead of being
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
  // Math.max keeps a NaN, so a block's max says whether the block held one: no test per element.
  let sawNaN = false;
  let row = 0;
  // Two rows at a time: two independent max chains per block.
  for (; row + 1 < rows; row += 2) {
    const first = row * columns;
    const second = first + columns;
    for (let block = 0; block < blocks; block++) {
      const start = block * blockSize;
      const end = Math.min(start + blockSize, columns);
      let firstMax = 0;
      let secondMax = 0;
      for (let column = start; column < end; column++) {
        const columnScale = scale[column]!;
        const firstValue = Math.fround(source[first + column]! * columnScale);
        const secondValue = Math.fround(source[second + column]! * columnScale);
        target[first + column] = firstValue;
        target[second + column] = secondValue;
        firstMax = Math.max(firstMax, Math.abs(firstValue));
        secondMax = Math.max(secondMax, Math.abs(secondValue));
      }
      amax[row * blocks + block] = firstMax;
      amax[(row + 1) * blocks + block] = secondMax;
      sawNaN = sawNaN || Number.isNaN(firstMax) || Number.isNaN(secondMax);
    }
  }
  for (; row < rows; row++) {
    const offset = row * columns;
    for (let block = 0; block < blocks; block++) {
      const start = block * blockSize;
      const end = Math.min(start + blockSize, columns);
      let maximum = 0;
      for (let column = start; column < end; column++) {
        const value = Math.fround(source[offset + column]! * scale[column]!);
        target[offset + column] = value;
        maximum = Math.max(maximum, Math.abs(value));
      }
      amax[row * blocks + block] = maximum;
      sawNaN = sawNaN || Number.isNaN(maximum);
    }
  }
  return sawNaN ? undefined : amax;
}

/** `target[o, i] = fround(source[o, i] · scale[i])` for a row-major `[rows, columns]` weight (`target` may be `source`). */
export function scaleColumnsInto(
  source: Float32Array,
  target: Float32Array,
  rows: number,
  columns: number,
  scale: Float32Array,
): void {
  for (let row = 0; row < rows; row++) {
    const offset = row * columns;
    for (let column = 0; column < columns; column++) {
      target[offset + column] = Math.fround(source[offset + column]! * scale[column]!);
    }
  }
}
