import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadGpt2Tokenizer, ReferenceGpt2Encoder } from './test-support/gpt2-tokenizer';

const reference = new ReferenceGpt2Encoder();
const articles = readFileSync(fileURLToPath(new URL('../data/frank_test.jsonl', import.meta.url)), 'utf8')
  .trim()
  .split('\n')
  .slice(0, 3)
  .map((line) => (JSON.parse(line) as { article: string }).article);

describe('the GPT-2 tokenizer fixture (tokenizer.json built from encoder.json and vocab.bpe)', () => {
  it('gives the ids encoder.json lists for whole tokens', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    // Read straight from encoder.json: "Hello" = 15496, "Ġworld" = 995, "Ġthe" = 262 (Ġ is the space byte).
    expect([reference.tokenId('Hello'), reference.tokenId('Ġworld'), reference.tokenId('Ġthe')]).toEqual([
      15496, 995, 262,
    ]);
    expect(tokenizer.encode('Hello world')).toEqual([15496, 995]);
    expect(tokenizer.encode(' the')).toEqual([262]);
  });

  it('splits whitespace as GPT-2 does: a run of spaces keeps its last one for the next word', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    // "I" "'m" "Ġhere" "Ġ" "Ġnow" "Ċ" "Ċ" "ok": \s+(?!\S) leaves one space / newline to the next piece.
    const expected = ['I', "'m", 'Ġhere', 'Ġ', 'Ġnow', 'Ċ', 'Ċ', 'ok'].map((token) =>
      reference.tokenId(token),
    );
    expect(tokenizer.encode("I'm here  now\n\nok")).toEqual(expected);
  });

  it('has <|endoftext|> = 50256 as EOS and adds no special tokens', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    expect(tokenizer.eos_token_id).toBe(50256);
    expect(tokenizer.encode('a')).toEqual([reference.tokenId('a')]);
    expect(tokenizer.encode('')).toEqual([]);
  });

  it('matches an independent port of OpenAI encoder.py on real articles', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    for (const article of articles) {
      expect(tokenizer.encode(article)).toEqual(reference.encode(article));
    }
  });

  it('matches the reference encoder on arbitrary text (property)', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom('a', 'é', ' ', '\n', "'", '9', 'Z', '€', '😀', '.', 's', 't', 'th', 'ing'),
        }),
        (text) => {
          expect(tokenizer.encode(text)).toEqual(reference.encode(text));
        },
      ),
      { numRuns: 300 },
    );
  });
});
