/** Edit distance (insertions, deletions, substitutions) between two strings. */
export function editDistance(left: string, right: string): number {
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let row = 1; row <= left.length; row++) {
    const current = [row];
    for (let column = 1; column <= right.length; column++) {
      const substitution = (previous[column - 1] ?? 0) + (left[row - 1] === right[column - 1] ? 0 : 1);
      const deletion = (previous[column] ?? 0) + 1;
      const insertion = (current[column - 1] ?? 0) + 1;
      current.push(Math.min(substitution, deletion, insertion));
    }
    previous = current;
  }
  return previous[right.length] ?? 0;
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
