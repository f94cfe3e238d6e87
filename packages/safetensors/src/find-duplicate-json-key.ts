/** A key that one JSON object holds twice, and where that object sits. */
export interface DuplicateJsonKey {
  /** Keys (and array indexes) from the root down to the object holding the duplicate; empty for the root. */
  readonly path: readonly (string | number)[];
  readonly key: string;
}

interface Frame {
  /** Keys seen so far in an object; undefined for an array. */
  readonly keys: Set<string> | undefined;
  /** This container's key in its parent object, or index in its parent array. */
  readonly name: string | number | undefined;
  /** Position of the next element, for arrays. */
  index: number;
  /** In an object: whether the next string is a key (after `{` or `,`) rather than a value. */
  expectingKey: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Finds the first key that appears twice in one object of `text`, which must already be valid JSON
 * (`JSON.parse` succeeded on it). `JSON.parse` keeps the last of duplicate keys without a word, so a
 * header with two entries of one name would silently load one of them; this scan does not trust it.
 * Keys are compared after unescaping, so `"a"` and `"\u0061"` are the same key. Iterative, so any
 * nesting depth is fine.
 */
export function findDuplicateJsonKey(text: string): DuplicateJsonKey | undefined {
  const stack: Frame[] = [];
  let pendingKey: string | undefined;
  let position = 0;
  while (position < text.length) {
    const character = text[position];
    const top = stack[stack.length - 1];
    if (character === '"') {
      const end = endOfString(text, position);
      if (top?.keys !== undefined && top.expectingKey) {
        const raw = text.slice(position + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(position, end + 1)) as string) : raw;
        if (top.keys.has(key)) {
          return { path: pathOf(stack), key };
        }
        top.keys.add(key);
        top.expectingKey = false;
        pendingKey = key;
      }
      position = end + 1;
      continue;
    }
    if (character === '{' || character === '[') {
      const name = top === undefined ? undefined : top.keys !== undefined ? pendingKey : top.index;
      stack.push({
        keys: character === '{' ? new Set() : undefined,
        name,
        index: 0,
        expectingKey: character === '{',
      });
    } else if (character === '}' || character === ']') {
      stack.pop();
    } else if (character === ',' && top !== undefined) {
      if (top.keys === undefined) top.index++;
      else top.expectingKey = true;
    }
    // Anything else is whitespace, a colon, or part of a number or literal: nothing to track.
    position++;
  }
  return undefined;
}

/** Index of the quote that closes the string opening at `start`. */
function endOfString(text: string, start: number): number {
  let position = start + 1;
  while (position < text.length) {
    const code = text.charCodeAt(position);
    if (code === QUOTE) return position;
    position += code === BACKSLASH ? 2 : 1;
  }
  return text.length;
}

function pathOf(stack: readonly Frame[]): (string | number)[] {
  // The root frame has no name; every frame below it does.
  return stack.slice(1).map((frame) => frame.name as string | number);
}
