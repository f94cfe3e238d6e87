import { expect, test } from 'vitest';
import { checkTokens, formatChange, qualityReport, reportLines } from './quality-check';

// One token per character: counts are easy to check by hand.
const encode = (text: string) => Array.from(text, (character) => character.codePointAt(0)!);

test('fast measures the first 512 tokens of the first texts; full every token', () => {
  const texts = ['a'.repeat(3000), 'b'.repeat(3000), 'c'.repeat(3000)];
  const fast = checkTokens(encode, texts, 'fast', 'news', 1024)!;
  expect(fast.tokens.length).toBe(512);
  expect(fast.window).toBe(512);
  // 4096 characters are enough for 512 tokens: the first two texts are encoded, not the third.
  expect(fast.description).toBe('the first 512 tokens of 2 texts of news');
  const full = checkTokens(encode, texts, 'full', 'news', 1024)!;
  expect(full.tokens.length).toBe(9004);
  expect(full.window).toBe(1024);
  expect(full.description).toBe('9004 tokens of 3 texts of news');
  expect(Array.from(full.tokens.slice(2999, 3003), Number)).toEqual([97, 10, 10, 98]);
});

test('nothing to measure: fewer than two tokens', () => {
  expect(checkTokens(encode, [], 'fast', 'news', 1024)).toBeUndefined();
  expect(checkTokens(encode, ['a'], 'full', 'news', 1024)).toBeUndefined();
  expect(checkTokens(encode, ['ab'], 'full', 'news', 1024)?.description).toBe('2 tokens of 1 text of news');
});

test('the report: relative change in percent, a warning past --max-degradation only', () => {
  const check = checkTokens(encode, ['x'.repeat(600)], 'fast', 'news', 1024)!;
  const result = (perplexity: number) => ({ perplexity, negativeLogLikelihood: 0, tokenCount: 511 });
  const within = qualityReport(check, result(100), result(104.99), 5);
  expect(within.changePercent).toBeCloseTo(4.99, 10);
  expect(within.exceedsMaxDegradation).toBe(false);
  expect(reportLines(within)).toEqual({
    result:
      'perplexity 100.000 unquantized → 104.990 quantized (+4.99 %) on the first 512 tokens of 1 text of news',
  });
  const past = qualityReport(check, result(100), result(105.5), 5);
  expect(past.exceedsMaxDegradation).toBe(true);
  expect(reportLines(past).warning).toBe(
    'ptq: warning: quantization raised perplexity by +5.50 %, more than --max-degradation 5 %',
  );
  // Exactly at the threshold is within it; a better model is a negative change.
  expect(qualityReport(check, result(100), result(105), 5).exceedsMaxDegradation).toBe(false);
  expect(qualityReport(check, result(100), result(99), 0).exceedsMaxDegradation).toBe(false);
  expect(formatChange(-1.234)).toBe('−1.23 %');
  // A NaN perplexity is never within the threshold.
  expect(qualityReport(check, result(100), result(Number.NaN), 5).exceedsMaxDegradation).toBe(true);
});
