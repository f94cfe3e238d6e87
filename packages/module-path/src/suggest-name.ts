/**
 * Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of adjacent
 * characters each cost one, so `lm_haed` is one edit from `lm_head`.
 */
export function editDistance(first: string, second: string): number {
  const rows = first.length + 1;
  const columns = second.length + 1;
  const table: number[] = new Array<number>(rows * columns).fill(0);
  const cell = (row: number, column: number): number => table[row * columns + column] ?? 0;
  for (let row = 0; row < rows; row += 1) {
    table[row * columns] = row;
  }
  for (let column = 0; column < columns; column += 1) {
    table[column] = column;
  }
  for (let row = 1; row < rows; row += 1) {
    for (let column = 1; column < columns; column += 1) {
      const substitution = first[row - 1] === second[column - 1] ? 0 : 1;
      let best = Math.min(
        cell(row - 1, column) + 1,
        cell(row, column - 1) + 1,
        cell(row - 1, column - 1) + substitution,
      );
      if (
        row > 1 &&
        column > 1 &&
        first[row - 1] === second[column - 2] &&
        first[row - 2] === second[column - 1]
      ) {
        best = Math.min(best, cell(row - 2, column - 2) + 1);
      }
      table[row * columns + column] = best;
    }
  }
  return cell(rows - 1, columns - 1);
}

/**
 * The candidate closest to `name` within `maximumDistance` edits, first in candidate order on a tie.
 * A candidate that shares nothing with `name` (distance equal to the longer length, e.g. `x` for
 * `h`) is never suggested.
 */
export function closestName(
  name: string,
  candidates: readonly string[],
  maximumDistance = 2,
): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (
      distance <= maximumDistance &&
      distance < Math.max(name.length, candidate.length) &&
      distance < bestDistance
    ) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
