/**
 * A list of names short enough for a one-line error: the first `limit`, then "and N more". A config
 * that claims 100,000 layers must not print every missing tensor.
 */
export function summarizeNames(names: readonly string[], limit = 5): string {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  if (names.length <= limit) return names.join(', ');
  return `${names.slice(0, limit).join(', ')} and ${names.length - limit} more`;
}
