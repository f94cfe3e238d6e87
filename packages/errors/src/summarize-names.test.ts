import { describe, expect, it } from 'vitest';
import { summarizeNames } from './summarize-names';

describe('summarizeNames', () => {
  it('lists short lists whole', () => {
    expect(summarizeNames([])).toBe('');
    expect(summarizeNames(['a'])).toBe('a');
    expect(summarizeNames(['a', 'b', 'c', 'd', 'e'])).toBe('a, b, c, d, e');
  });

  it('caps long lists and counts the rest', () => {
    const names = Array.from({ length: 100_000 }, (_, index) => `h.${index}.attn.c_attn.weight`);
    const line = summarizeNames(names, 3);
    expect(line).toBe(
      'h.0.attn.c_attn.weight, h.1.attn.c_attn.weight, h.2.attn.c_attn.weight and 99997 more',
    );
  });

  it('refuses a limit below one', () => {
    expect(() => summarizeNames(['a'], 0)).toThrow(RangeError);
  });
});
