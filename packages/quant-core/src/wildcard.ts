/**
 * Shell-style wildcard matching as Python's `fnmatch.fnmatch` does it (ModelOpt matches quantizer
 * names against its config keys with it): `*` matches any run of characters, dots included; `?` one
 * character; `[abc]` / `[!abc]` a set. Case-sensitive.
 */
export function matchesWildcard(name: string, pattern: string): boolean {
  return wildcardToRegExp(pattern).test(name);
}

const cache = new Map<string, RegExp>();

function wildcardToRegExp(pattern: string): RegExp {
  const cached = cache.get(pattern);
  if (cached !== undefined) return cached;
  let source = '';
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index]!;
    if (character === '*') {
      source += '.*';
    } else if (character === '?') {
      source += '.';
    } else if (character === '[') {
      const close = pattern.indexOf(']', index + 2);
      if (close === -1) {
        source += '\\[';
      } else {
        let set = pattern.slice(index + 1, close);
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        source += `[${set.replace(/\\/g, '\\\\')}]`;
        index = close;
      }
    } else {
      source += character.replace(/[.+^${}()|\\\]]/g, '\\$&');
    }
  }
  const regExp = new RegExp(`^${source}$`, 's');
  cache.set(pattern, regExp);
  return regExp;
}
