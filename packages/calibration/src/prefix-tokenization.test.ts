import { readFileSync } from 'node:fs';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CalibrationTokenizer, tokenizeTexts } from './calibration-batches';
import {
  encodeLeadingTokens,
  GPT2_PATTERN,
  isGpt2ByteLevelTokenizer,
  pieceBoundaries,
  pieceBoundaryAtOrAfter,
} from './prefix-tokenization';
import { bundledArticles, bundledWikitextLines } from './test-support/fixtures';
import { GPT2_TOKENIZER_FOLDER, loadGpt2Tokenizer } from './test-support/gpt2-tokenizer';
import { forTextsOfUnits, TEXT_UNITS } from './test-support/text-units';

const MAX_SAMPLE_LENGTHS = [1, 2, 7, 32, 100, 512, 1024, 100_000];

type TokenizerJson = Record<string, unknown> & { model: Record<string, unknown> };
const fixtureJson = JSON.parse(
  readFileSync(`${GPT2_TOKENIZER_FOLDER}tokenizer.json`, 'utf8'),
) as TokenizerJson;
const fixtureConfig = JSON.parse(
  readFileSync(`${GPT2_TOKENIZER_FOLDER}tokenizer_config.json`, 'utf8'),
) as Record<string, unknown>;

/** A fresh instance of the fixture tokenizer (its own BPE cache and methods), its files changed by `change`. */
function fixtureTokenizer(
  change: (json: TokenizerJson, config: Record<string, unknown>) => void = () => {},
): PreTrainedTokenizer {
  const json = { ...fixtureJson, model: { ...fixtureJson.model } };
  const config = { ...fixtureConfig };
  change(json, config);
  return new PreTrainedTokenizer(json, config);
}

/** Texts made to break a wrong cut rule: every kind of whitespace, contractions, surrogates, the EOS token. */
const ADVERSARIAL = [
  'a   b  c    d',
  'tabs\t\tand \t mixed\t',
  'x\n\n\ny\n z \n',
  'line\r\nnext\r\n\r\nend\r\n',
  'non\u00a0breaking\u00a0 \u00a0space \u00a0\u00a0x',
  'ideographic\u3000space\u3000\u3000x \u3000y',
  'emoji😀 😀😀\t😀\n😀\u00a0😀',
  "it's they're we've I'm you'll he'd 's 't 'S 'RE",
  "don't  'll '  'd a'b a' b ''s",
  'digits 123 4567  89 1,000,000 3.14\t42',
  '<|endoftext|>',
  'a<|endoftext|> b',
  'x <|endoftext|>\n<|endoftext|>y <|endoftext|><|endoftext|>',
  '<|endoftext|> <|endoftext|>  <|endoftext|>',
  'odd \u2028 \u2029 \ufeff \u0085 \u000b \u000c \u1680 \u2000\u200a \u202f \u205f end',
  '   leading spaces',
  'trailing spaces   ',
  ' ',
  '\n',
  'café naïve e\u0301 e\u0301\u0301 ñ',
  '中文 テキスト 한국어 ΣΑΣ σας',
  'lone \ud83d surrogate \ude00 x\ud83d y',
  '!!! ??? ...   --- — “quoted” ‘single’ £100',
  'short',
];

/** The ids of `text` encoded as two parts, cut at `cut`. */
function encodedInTwo(tokenizer: CalibrationTokenizer, text: string, cut: number): number[] {
  return [...tokenizer.encode(text.slice(0, cut)), ...tokenizer.encode(text.slice(cut))];
}

/** Records the length of each text `encode` is given, for a tokenizer instance of one test. */
function recordLengths(tokenizer: CalibrationTokenizer): number[] {
  const lengths: number[] = [];
  const encode = tokenizer.encode.bind(tokenizer);
  Object.assign(tokenizer, {
    encode: (text: string) => {
      lengths.push(text.length);
      return encode(text);
    },
  });
  return lengths;
}

describe('the piece boundary rule', () => {
  it('puts a boundary where non-whitespace meets JavaScript whitespace, never inside a surrogate pair', () => {
    expect(pieceBoundaries('ab  c\td')).toEqual([2, 5]);
    expect(pieceBoundaries(' a\u00a0b\u3000c\ufeffd\u0085e')).toEqual([2, 4, 6]);
    expect(pieceBoundaries('😀 😀')).toEqual([2]);
    expect(pieceBoundaries('no-whitespace')).toEqual([]);
    expect(pieceBoundaryAtOrAfter('ab cd ef', 3)).toBe(5);
    expect(pieceBoundaryAtOrAfter('ab cd ef', 6)).toBeUndefined();
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', ' ', '\u00a0', '😀', '\ud83d', '\n', '\u0085') }),
        (text) => {
          for (const cut of pieceBoundaries(text)) {
            expect(/\s/.test(text[cut]!) && !/\s/.test(text[cut - 1]!)).toBe(true);
          }
        },
      ),
    );
  });

  it('holds for the pattern itself: the pieces of a text cut at a boundary are the pieces before and after it', () => {
    const pieces = (text: string) => text.match(GPT2_PATTERN) ?? [];
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...TEXT_UNITS) }), (text) => {
        for (const cut of pieceBoundaries(text)) {
          expect([...pieces(text.slice(0, cut)), ...pieces(text.slice(cut))]).toEqual(pieces(text));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('relies on no whitespace character being a letter or a number, in this Unicode', () => {
    const letterOrNumber = /[\p{L}\p{N}]/u;
    const whitespace = /^\s$/u;
    const both: number[] = [];
    for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
      const character = String.fromCodePoint(codePoint);
      if (whitespace.test(character) && letterOrNumber.test(character)) both.push(codePoint);
    }
    expect(both).toEqual([]);
  });
});

describe('isGpt2ByteLevelTokenizer', () => {
  it('accepts the GPT-2 tokenizer as transformers.js loads it', async () => {
    expect(isGpt2ByteLevelTokenizer(await loadGpt2Tokenizer())).toBe(true);
    expect(isGpt2ByteLevelTokenizer(fixtureTokenizer())).toBe(true);
  });

  it('refuses plain objects and wrappers, which may do anything in encode', async () => {
    const gpt2 = await loadGpt2Tokenizer();
    expect(isGpt2ByteLevelTokenizer({ encode: () => [1] })).toBe(false);
    expect(isGpt2ByteLevelTokenizer({ encode: (text) => gpt2.encode(text), eos_token_id: 50256 })).toBe(
      false,
    );
    expect(isGpt2ByteLevelTokenizer({ encode: () => [1], _tokenizer: null } as CalibrationTokenizer)).toBe(
      false,
    );
  });

  it.each<[string, (json: TokenizerJson, config: Record<string, unknown>) => void]>([
    ['a normalizer', (json) => Object.assign(json, { normalizer: { type: 'NFC' } })],
    [
      'a prefix space',
      (json) => Object.assign(json, { pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true } }),
    ],
    [
      'no regex split',
      (json) => Object.assign(json, { pre_tokenizer: { type: 'ByteLevel', use_regex: false } }),
    ],
    [
      'another pre-tokenizer around ByteLevel',
      (json) =>
        Object.assign(json, {
          pre_tokenizer: {
            type: 'Sequence',
            pretokenizers: [{ type: 'Digits', individual_digits: true }, fixtureJson.pre_tokenizer],
          },
        }),
    ],
    [
      'a post-processor that adds EOS',
      (json) =>
        Object.assign(json, {
          post_processor: {
            type: 'TemplateProcessing',
            single: [
              { Sequence: { id: 'A', type_id: 0 } },
              { SpecialToken: { id: '<|endoftext|>', type_id: 0 } },
            ],
            pair: [],
            special_tokens: {
              '<|endoftext|>': { id: '<|endoftext|>', ids: [50256], tokens: ['<|endoftext|>'] },
            },
          },
        }),
    ],
    ['a model that fuses unknown tokens', (json) => Object.assign(json.model, { fuse_unk: true })],
    [
      'an added token with a space in it',
      (json) =>
        Object.assign(json, {
          added_tokens: [
            ...(fixtureJson.added_tokens as object[]),
            { id: 50257, content: 'a b', special: false },
          ],
        }),
    ],
    [
      'an added token that strips whitespace',
      (json) =>
        Object.assign(json, {
          added_tokens: [{ ...(fixtureJson.added_tokens as object[])[0], lstrip: true }],
        }),
    ],
    ['whitespace removal', (_json, config) => Object.assign(config, { remove_space: true })],
  ])('refuses a tokenizer with %s', (_name, change) => {
    expect(isGpt2ByteLevelTokenizer(fixtureTokenizer(change))).toBe(false);
  });

  it('refuses a pre-tokenizer whose pattern is not GPT-2’s', () => {
    const tokenizer = fixtureTokenizer();
    const preTokenizer = (tokenizer as unknown as { _tokenizer: { pre_tokenizer: { pattern: RegExp } } })
      ._tokenizer.pre_tokenizer;
    preTokenizer.pattern = /\S+|\s+/gu;
    expect(isGpt2ByteLevelTokenizer(tokenizer)).toBe(false);
  });

  it('refuses a subclass whose encode appends EOS, which the structure cannot show', () => {
    class WithEos extends PreTrainedTokenizer {
      override encode(text: string): number[] {
        return [...super.encode(text), 50256];
      }
    }
    expect(isGpt2ByteLevelTokenizer(new WithEos(fixtureJson, fixtureConfig))).toBe(false);
  });
});

describe('prefix encoding with the GPT-2 tokenizer', () => {
  it('joins up to the whole ids at every piece boundary of the adversarial texts', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    for (const text of ADVERSARIAL) {
      const whole = tokenizer.encode(text);
      for (const cut of pieceBoundaries(text)) expect(encodedInTwo(tokenizer, text, cut)).toEqual(whole);
    }
  });

  it('would see a wrong rule: every other kind of cut changes the ids of some adversarial text', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    const isSpace = (character: string | undefined) => character !== undefined && /\s/.test(character);
    const kinds: Record<string, (text: string, cut: number) => boolean> = {
      'inside a whitespace run': (text, cut) => isSpace(text[cut - 1]) && isSpace(text[cut]),
      'after whitespace, before a word': (text, cut) => isSpace(text[cut - 1]) && !isSpace(text[cut]),
      'inside a word': (text, cut) => /\p{L}/u.test(text[cut - 1]!) && /\p{L}/u.test(text[cut]!),
      'inside a surrogate pair': (text, cut) =>
        /[\ud800-\udbff]/.test(text[cut - 1]!) && /[\udc00-\udfff]/.test(text[cut]!),
      'inside <|endoftext|>': (text, cut) =>
        [...text.matchAll(/<\|endoftext\|>/g)].some((match) => match.index < cut && cut < match.index + 13),
    };
    for (const [kind, isKind] of Object.entries(kinds)) {
      const wrong = ADVERSARIAL.flatMap((text) =>
        Array.from({ length: text.length - 1 }, (_, index) => index + 1)
          .filter((cut) => isKind(text, cut))
          .filter((cut) => {
            const joined = encodedInTwo(tokenizer, text, cut);
            const head = tokenizer.encode(text.slice(0, cut));
            // A prefix rule needs only the head to lead the whole ids; even that fails here.
            const whole = tokenizer.encode(text);
            return joined.join() !== whole.join() && head.some((id, index) => whole[index] !== id);
          }),
      );
      expect(wrong.length, kind).toBeGreaterThan(0);
    }
  });

  it('joins up to the whole ids at piece boundaries of arbitrary text (property)', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    forTextsOfUnits(300, (text) => {
      const whole = tokenizer.encode(text);
      for (const cut of pieceBoundaries(text)) expect(encodedInTwo(tokenizer, text, cut)).toEqual(whole);
    });
  });

  it('gives the first ids of the whole text for long arbitrary texts and lengths (property)', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(
            ' understanding',
            ' ',
            '\n\n',
            '\u00a0',
            'x',
            '😀',
            "'s",
            '42',
            '<|endoftext|>',
          ),
          minLength: 50,
          maxLength: 600,
        }),
        fc.integer({ min: 1, max: 700 }),
        (text, tokenCount) => {
          const ids = encodeLeadingTokens(tokenizer, text, tokenCount);
          const whole = tokenizer.encode(text);
          expect(ids.length).toBeGreaterThanOrEqual(Math.min(tokenCount, whole.length));
          expect(ids).toEqual(whole.slice(0, ids.length));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gives what encoding whole texts gives, for bundled articles, wikitext and long adversarial texts, at every length', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    const wikitext = bundledWikitextLines();
    // Runs of six lines, each ending in "\n", some past 512 tokens.
    const paragraphs = Array.from({ length: 50 }, (_, index) =>
      wikitext.slice(100 + index * 6, 106 + index * 6).join(''),
    );
    const adversarialLong = ADVERSARIAL.map((_text, index) => ADVERSARIAL.slice(index).join(' ').repeat(8));
    // `pnpm test:full` takes all 250 articles; `pnpm test` the first 64, as many as a float8 calibration.
    const texts = [
      ...bundledArticles().slice(0, FULL_TESTS ? undefined : 64),
      ...wikitext.slice(0, 100),
      ...paragraphs,
      ...adversarialLong,
      ...ADVERSARIAL,
    ];
    const whole = texts.map((text) => tokenizer.encode(text));
    for (const maxSampleLength of MAX_SAMPLE_LENGTHS) {
      expect(tokenizeTexts(texts, tokenizer, maxSampleLength, 'test')).toEqual(
        whole.map((ids) => ids.slice(0, maxSampleLength)),
      );
    }
  });

  it('encodes a prefix of a long text, stretch by stretch when the first is short', () => {
    const tokenizer = fixtureTokenizer();
    const lengths = recordLengths(tokenizer);
    // " understanding" is one token of 14 characters, more than the estimate allows for.
    const text = ' understanding'.repeat(500);
    const ids = encodeLeadingTokens(tokenizer, text, 100);
    expect(ids.slice(0, 100)).toEqual(tokenizer.encode(text).slice(0, 100));
    const stretches = lengths.slice(0, -1);
    expect(stretches.length).toBeGreaterThan(1);
    expect(stretches.reduce((sum, length) => sum + length, 0)).toBeLessThan(text.length / 2);
  });

  it('encodes a text without a piece boundary, or shorter than the first stretch, whole', () => {
    const tokenizer = fixtureTokenizer();
    const lengths = recordLengths(tokenizer);
    const unbroken = 'x'.repeat(2000);
    encodeLeadingTokens(tokenizer, unbroken, 5);
    encodeLeadingTokens(tokenizer, 'a short text', 1);
    expect(lengths).toEqual([2000, 12]);
  });
});

describe('tokenizeTexts', () => {
  const articles = bundledArticles().slice(0, 8);

  it('gives the GPT-2 tokenizer only the prefixes it needs', () => {
    const tokenizer = fixtureTokenizer();
    const lengths = recordLengths(tokenizer);
    const expected = articles.map((article) => tokenizer.encode(article).slice(0, 32));
    lengths.length = 0;
    expect(tokenizeTexts(articles, tokenizer, 32, 'test')).toEqual(expected);
    // The probe's encodes come first; then one stretch of a few hundred characters per article.
    const perArticle = lengths.slice(-articles.length);
    expect(perArticle.every((length) => length < 400)).toBe(true);
    expect(Math.min(...articles.map((article) => article.length))).toBeGreaterThan(1000);
  });

  it('gives any other tokenizer whole texts', async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const lengths: number[] = [];
    const wrapper = {
      encode: (text: string) => {
        lengths.push(text.length);
        return gpt2.encode(text);
      },
    };
    tokenizeTexts(articles, wrapper, 32, 'test');
    expect(lengths).toEqual(articles.map((article) => article.length));
    const characters: number[] = [];
    tokenizeTexts(
      articles,
      {
        encode: (text) => {
          characters.push(text.length);
          return [...text].map((character) => character.codePointAt(0)!);
        },
      },
      32,
      'test',
    );
    expect(characters).toEqual(articles.map((article) => article.length));
  });

  it('keeps whole texts for a length that is not a positive integer, as slicing did', () => {
    const tokenizer = fixtureTokenizer();
    const lengths = recordLengths(tokenizer);
    expect(tokenizeTexts(articles.slice(0, 2), tokenizer, 0, 'test')).toEqual([[], []]);
    expect(lengths).toEqual(articles.slice(0, 2).map((article) => article.length));
  });
});
