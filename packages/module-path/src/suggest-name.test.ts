import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from './suggest-name';

/** Plain Levenshtein by recursion with memo: an independent reference (no transpositions). */
function levenshtein(first: string, second: string): number {
  const memo = new Map<string, number>();
  const distance = (i: number, j: number): number => {
    if (i === 0) return j;
    if (j === 0) return i;
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const result = Math.min(
      distance(i - 1, j) + 1,
      distance(i, j - 1) + 1,
      distance(i - 1, j - 1) + (first[i - 1] === second[j - 1] ? 0 : 1),
    );
    memo.set(key, result);
    return result;
  };
  return distance(first.length, second.length);
}

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['h', 'h', 0],
    ['hh', 'h', 1],
    ['kitten', 'sitting', 3],
    ['lm_haed', 'lm_head', 1],
    ['ab', 'ba', 1],
    // Optimal string alignment cannot edit a swapped pair again: 3, where full Damerau gives 2.
    ['ca', 'abc', 3],
    ['c_atn', 'c_attn', 1],
    ['LM_head', 'lm_head', 2],
    ['wte', 'wpe', 1],
    ['gat', 'gate', 1],
  ])('%j → %j is %i', (first, second, expected) => {
    expect(editDistance(first, second)).toBe(expected);
  });

  it('is a symmetric distance bounded by Levenshtein and by the length difference', () => {
    const word = fc.string({ maxLength: 8, unit: fc.constantFrom('a', 'b', 'c', '_') });
    fc.assert(
      fc.property(word, word, (first, second) => {
        const distance = editDistance(first, second);
        expect(distance).toBe(editDistance(second, first));
        expect(distance === 0).toBe(first === second);
        expect(distance).toBeLessThanOrEqual(levenshtein(first, second));
        expect(distance).toBeGreaterThanOrEqual(Math.abs(first.length - second.length));
        expect(distance).toBeGreaterThanOrEqual(Math.ceil(levenshtein(first, second) / 2));
      }),
    );
  });
});

describe('closestName', () => {
  const names = ['drop', 'experts', 'h', 'ln_f', 'wpe', 'wte'];

  it('suggests the nearest name within two edits, the first one on a tie', () => {
    expect(closestName('hh', names)).toBe('h');
    expect(closestName('wtf', names)).toBe('wte');
    expect(closestName('wp', names)).toBe('wpe');
    expect(closestName('ln_F', names)).toBe('ln_f');
    expect(closestName('expert', names)).toBe('experts');
    expect(closestName('we', names)).toBe('wpe');
  });

  it('suggests nothing when every name is far or shares nothing with the segment', () => {
    expect(closestName('decoder', names)).toBeUndefined();
    expect(closestName('x', names)).toBeUndefined();
    expect(closestName('ab', ['h'])).toBeUndefined();
    expect(closestName('anything', [])).toBeUndefined();
  });
});
