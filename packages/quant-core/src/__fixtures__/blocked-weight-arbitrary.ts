import fc from 'fast-check';

/**
 * `[rows, columns, blockSize, values, columnValues]`: a row-major weight `[rows, columns]` of `value`s
 * in blocks of `blockSize` along its rows (the last one may be partial), and one more `value` per
 * column (a scale per input channel), each size from 1 to its limit.
 */
export function blockedWeight(
  value: fc.Arbitrary<number>,
  limits: { readonly rows: number; readonly columns: number; readonly blockSize: number },
) {
  return fc
    .tuple(
      fc.integer({ min: 1, max: limits.rows }),
      fc.integer({ min: 1, max: limits.columns }),
      fc.integer({ min: 1, max: limits.blockSize }),
    )
    .chain(([rows, columns, blockSize]) =>
      fc.tuple(
        fc.constant(rows),
        fc.constant(columns),
        fc.constant(blockSize),
        fc.array(value, { minLength: rows * columns, maxLength: rows * columns }),
        fc.array(value, { minLength: columns, maxLength: columns }),
      ),
    );
}
