import { editDistance } from './edit-distance';

/**
 * The candidate closest to `name` within `maximumDistance` edits (adjacent swaps count as one), first
 * in candidate order on a tie: the one suggestion for a mistyped path segment. A candidate that
 * shares nothing with `name` (distance equal to the longer length, e.g. `x` for `h`) is never
 * suggested.
 */
export function closestName(
  name: string,
  candidates: readonly string[],
  maximumDistance = 2,
): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate, { adjacentSwaps: true });
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

/**
 * Up to `limit` names close to `wanted`, closest first: a few edits away, also once a leading dotted
 * segment is dropped from either (GPT-2 checkpoints come with and without the `transformer.` prefix).
 */
export function closestNames(wanted: string, names: Iterable<string>, limit = 5): string[] {
  const scored: { name: string; distance: number }[] = [];
  for (const name of names) {
    const pairs: [string, string][] = [
      [wanted, name],
      [withoutFirstSegment(wanted), name],
      [wanted, withoutFirstSegment(name)],
    ];
    let best = Number.POSITIVE_INFINITY;
    for (const [left, right] of pairs) {
      // A quarter of the shorter name may differ, and always 2 characters.
      const allowed = Math.max(2, Math.floor(Math.min(left.length, right.length) / 4));
      const distance = editDistance(left, right);
      if (distance <= allowed) best = Math.min(best, distance);
    }
    if (best !== Number.POSITIVE_INFINITY) {
      scored.push({ name, distance: best });
    }
  }
  scored.sort((left, right) => left.distance - right.distance || (left.name < right.name ? -1 : 1));
  return scored.slice(0, limit).map((entry) => entry.name);
}

function withoutFirstSegment(name: string): string {
  return name.slice(name.indexOf('.') + 1);
}
