/** Longest name, in UTF-16 code units, that an error message quotes whole. */
export const MAX_QUOTED_NAME_LENGTH = 100;

/**
 * A name from a file as JSON-quoted text for an error message: escapes keep it on one line, and a
 * name longer than `MAX_QUOTED_NAME_LENGTH` (a header may hold a megabyte-long key) is cut with "…".
 */
export function quoteName(name: string): string {
  if (name.length <= MAX_QUOTED_NAME_LENGTH) return JSON.stringify(name);
  return `${JSON.stringify(name.slice(0, MAX_QUOTED_NAME_LENGTH))}… (${name.length} characters)`;
}
