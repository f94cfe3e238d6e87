import { describe, expect, it } from 'vitest';
import { MAX_QUOTED_NAME_LENGTH, quoteName } from './quote-name';

describe('quoteName', () => {
  it('quotes short names whole, escaping what would break the line', () => {
    expect(quoteName('h.0.attn.weight')).toBe('"h.0.attn.weight"');
    expect(quoteName('a\nb"c')).toBe('"a\\nb\\"c"');
    expect(quoteName('x'.repeat(MAX_QUOTED_NAME_LENGTH))).toBe(`"${'x'.repeat(100)}"`);
  });

  it('cuts a long name and says how long it was', () => {
    expect(quoteName('y'.repeat(1_000_000))).toBe(`"${'y'.repeat(100)}"… (1000000 characters)`);
  });
});
