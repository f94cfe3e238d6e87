import fc from 'fast-check';

/**
 * Pieces of text for property tests of tokenization: letters, repeats BPE merges within, accents
 * (composed and combining), digits, punctuation, contractions, every kind of whitespace (Unicode's,
 * CRLF, U+0085, which is not `\s`), an emoji and a lone surrogate, CJK, GPT-2's byte characters
 * themselves, its added token and halves of it.
 */
export const TEXT_UNITS = [
  'a',
  'aa',
  'aaa',
  'the',
  ' the',
  'Z',
  'é',
  'e\u0301',
  '9',
  '99',
  '.',
  '...',
  "'",
  "'s",
  "'ll",
  's',
  're',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '\u00a0',
  '\u3000',
  '\ufeff',
  '\u0085',
  '😀',
  '\ud83d',
  '中',
  '€',
  'th',
  'ing',
  '<|endoftext|>',
  '<|',
  '|>',
  'Ġ',
  'ĠĠ',
  '\u0100',
] as const;

/** Checks `check` on `runs` texts of up to 40 `TEXT_UNITS` (fast-check, shrinking a failure). */
export function forTextsOfUnits(runs: number, check: (text: string) => void): void {
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...TEXT_UNITS), maxLength: 40 }), check), {
    numRuns: runs,
  });
}
