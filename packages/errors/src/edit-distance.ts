export interface EditDistanceOptions {
  /**
   * Count a swap of two adjacent characters as one edit (optimal string alignment), so `lm_haed` is
   * one edit from `lm_head`. Default false: plain Levenshtein (insertions, deletions, substitutions),
   * which, unlike optimal string alignment, obeys the triangle inequality.
   */
  readonly adjacentSwaps?: boolean;
}

/**
 * Edits needed to turn `first` into `second`; one dynamic-programming pass for both metrics, keeping
 * three rows of the table (a swap looks two rows back), so long names cost no quadratic memory.
 */
export function editDistance(first: string, second: string, options: EditDistanceOptions = {}): number {
  const swaps = options.adjacentSwaps ?? false;
  const columns = second.length + 1;
  let beforePrevious = new Uint32Array(columns);
  let previous = Uint32Array.from({ length: columns }, (_, column) => column);
  let current = new Uint32Array(columns);
  for (let row = 1; row <= first.length; row += 1) {
    current[0] = row;
    for (let column = 1; column < columns; column += 1) {
      const substitution = first[row - 1] === second[column - 1] ? 0 : 1;
      let best = Math.min(
        previous[column]! + 1,
        current[column - 1]! + 1,
        previous[column - 1]! + substitution,
      );
      if (
        swaps &&
        row > 1 &&
        column > 1 &&
        first[row - 1] === second[column - 2] &&
        first[row - 2] === second[column - 1]
      ) {
        best = Math.min(best, beforePrevious[column - 2]! + 1);
      }
      current[column] = best;
    }
    [beforePrevious, previous, current] = [previous, current, beforePrevious];
  }
  return previous[columns - 1]!;
}
