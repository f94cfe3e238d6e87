import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { editDistance } from './edit-distance';

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

/** Optimal string alignment by recursion with memo, straight from its definition. */
function optimalStringAlignment(first: string, second: string): number {
  const memo = new Map<string, number>();
  const distance = (i: number, j: number): number => {
    if (i === 0) return j;
    if (j === 0) return i;
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result = Math.min(
      distance(i - 1, j) + 1,
      distance(i, j - 1) + 1,
      distance(i - 1, j - 1) + (first[i - 1] === second[j - 1] ? 0 : 1),
    );
    if (i > 1 && j > 1 && first[i - 1] === second[j - 2] && first[i - 2] === second[j - 1]) {
      result = Math.min(result, distance(i - 2, j - 2) + 1);
    }
    memo.set(key, result);
    return result;
  };
  return distance(first.length, second.length);
}

const swaps = { adjacentSwaps: true } as const;

describe('editDistance with adjacent swaps', () => {
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
    expect(editDistance(first, second, swaps)).toBe(expected);
  });

  it('is a symmetric distance bounded by Levenshtein and by the length difference', () => {
    const word = fc.string({ maxLength: 8, unit: fc.constantFrom('a', 'b', 'c', '_') });
    fc.assert(
      fc.property(word, word, (first, second) => {
        const distance = editDistance(first, second, swaps);
        expect(distance).toBe(editDistance(second, first, swaps));
        expect(distance === 0).toBe(first === second);
        expect(distance).toBeLessThanOrEqual(levenshtein(first, second));
        expect(distance).toBeGreaterThanOrEqual(Math.abs(first.length - second.length));
        expect(distance).toBeGreaterThanOrEqual(Math.ceil(levenshtein(first, second) / 2));
      }),
    );
  });

  it('equals optimal string alignment computed from its definition', () => {
    const word = fc.string({ maxLength: 10, unit: fc.constantFrom('a', 'b', 'c', '.', '_') });
    fc.assert(
      fc.property(word, word, (first, second) => {
        expect(editDistance(first, second, swaps)).toBe(optimalStringAlignment(first, second));
      }),
      { numRuns: 500 },
    );
  });
});

describe('editDistance (Levenshtein)', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['flaw', 'lawn', 2],
    ['weight', 'wieght', 2],
    ['bias', 'bias', 0],
    ['ab', 'ba', 2],
  ])('%s → %s is %i', (left, right, distance) => {
    expect(editDistance(left, right)).toBe(distance);
    expect(editDistance(right, left)).toBe(distance);
  });

  it('is a metric bounded by the longer length', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        (a, b, c) => {
          expect(editDistance(a, a)).toBe(0);
          expect(editDistance(a, b)).toBe(editDistance(b, a));
          expect(editDistance(a, c)).toBeLessThanOrEqual(editDistance(a, b) + editDistance(b, c));
          expect(editDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
          expect(editDistance(a, b)).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
        },
      ),
    );
  });

  it('equals Levenshtein computed from its definition', () => {
    const word = fc.string({ maxLength: 10, unit: fc.constantFrom('a', 'b', 'c', '.', '_') });
    fc.assert(
      fc.property(word, word, (first, second) => {
        expect(editDistance(first, second)).toBe(levenshtein(first, second));
      }),
      { numRuns: 500 },
    );
  });
});
