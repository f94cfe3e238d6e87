import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { describe, expect, it } from 'vitest';
import { Gpt2PieceEncoder } from './gpt2-piece-encoder';
import { bundledArticles, bundledWikitextLines } from './test-support/fixtures';
import { loadGpt2Tokenizer } from './test-support/gpt2-tokenizer';
import { forTextsOfUnits } from './test-support/text-units';

describe('Gpt2PieceEncoder', () => {
  it('gives the ids transformers.js gives for every bundled article and wikitext line', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    const encoder = Gpt2PieceEncoder.of(tokenizer)!;
    expect(encoder).toBeDefined();
    const texts = [
      ...bundledArticles().slice(0, FULL_TESTS ? undefined : 100),
      ...bundledWikitextLines().slice(0, FULL_TESTS ? undefined : 1000),
    ];
    const differing = texts.filter((text) => {
      const expected = tokenizer.encode(text);
      const got = encoder.encode(text);
      return got.length !== expected.length || got.some((id, index) => id !== expected[index]);
    });
    expect(differing).toEqual([]);
  }, 120_000);

  it('agrees on any text of whitespace, contractions, digits, surrogates and the added token', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    const encoder = Gpt2PieceEncoder.of(tokenizer)!;
    forTextsOfUnits(3000, (text) => {
      expect(encoder.encode(text)).toEqual(tokenizer.encode(text));
    });
  });

  it('is one encoder per tokenizer, and none for a tokenizer of another kind', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    expect(Gpt2PieceEncoder.of(tokenizer)).toBe(Gpt2PieceEncoder.of(tokenizer));
    expect(Gpt2PieceEncoder.of({ encode: () => [1] })).toBeUndefined();
  });
});
