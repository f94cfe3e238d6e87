import type { CalibrationTokenizer } from './calibration-batches';

/**
 * Encoding only the start of a calibration text when that provably gives the same first tokens as the
 * whole text: GPT-2's byte-level BPE, as transformers.js runs it.
 *
 * Why a cut can be exact: with no normalizer, that tokenizer splits a text into pieces with
 * `GPT2_PATTERN` and runs BPE inside each piece. A piece is a run of whitespace, or an optional space
 * followed by letters, numbers or other symbols, never whitespace; so where a character that is not
 * whitespace is followed by whitespace, a piece always ends, whatever comes after. The pattern has no
 * lookbehind, and its one lookahead (`\s+(?!\S)`) cannot reach past such a point, so the pieces before
 * it are those of the text cut there, and the pieces after it those of the rest. Added tokens
 * (`<|endoftext|>`) are split out before that, by exact match; one without whitespace in it cannot
 * span such a point either. "Whitespace" is JavaScript's `\s`, the class the pattern runs with
 * (U+00A0, U+3000 and U+FEFF are in it; U+0085 is not), and no `\s` character is a letter or a number.
 */

/** GPT-2's pre-tokenization pattern (OpenAI's encoder.py), as transformers.js's ByteLevel holds it. */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * Whitespace right after a character that is not whitespace: a piece boundary. Without the `u` flag
 * it compares UTF-16 code units, which is the same set here (every `\s` character is one code unit), and
 * a cut before whitespace is never inside a surrogate pair.
 */
const PIECE_BOUNDARY = /(?<=\S)\s/g;

/**
 * Characters a token is assumed to take when choosing where to cut: about what GPT-2 gives English
 * news (4.0 to 5.2 over the first 512 tokens of the bundled CNN/DailyMail articles), so one stretch is
 * usually enough, and one too short costs only encoding the next stretch, never the first again.
 */
const CHARACTERS_PER_TOKEN = 5;

/** The shortest stretch encoded at once, so that a few missing tokens do not take many small encodes. */
const MINIMUM_STRETCH = 256;

/**
 * A text for the check that `encode` is the pipeline it looks like: repeated, tabbed and Unicode
 * whitespace, CRLF, contractions, digits, a surrogate pair and GPT-2's special token.
 */
export const PROBE_TEXT =
  "I'm  here,\tit's 2024 —\u00a0don't\u3000stop 😀 <|endoftext|>end\r\n\r\n  \u2028x\ufeffy \u0085z   !";

/** The first position at or after `position` (and after the first character) where a piece ends. */
export function pieceBoundaryAtOrAfter(text: string, position: number): number | undefined {
  PIECE_BOUNDARY.lastIndex = Math.max(1, position);
  const match = PIECE_BOUNDARY.exec(text);
  return match === null ? undefined : match.index;
}

/** Every piece boundary of `text`, in order. */
export function pieceBoundaries(text: string): number[] {
  const cuts: number[] = [];
  for (
    let cut = pieceBoundaryAtOrAfter(text, 1);
    cut !== undefined;
    cut = pieceBoundaryAtOrAfter(text, cut + 1)
  ) {
    cuts.push(cut);
  }
  return cuts;
}

/**
 * Whether `tokenizer` is a transformers.js tokenizer whose pipeline is GPT-2's kind: no normalizer; a
 * ByteLevel pre-tokenizer splitting by `GPT2_PATTERN`, without a prefix space; a BPE model that does
 * not fuse unknown tokens; no post-processor or ByteLevel's, which adds no tokens; no whitespace
 * removal or lowercasing; added tokens (split out before pre-tokenization) without whitespace in them
 * and without stripping around them, so none can span a piece boundary. Then `encode` itself must
 * agree on `PROBE_TEXT` cut at each piece boundary, in case a subclass changed it. Anything else,
 * including a wrapper object around such a tokenizer, is not this kind.
 */
export function isGpt2ByteLevelTokenizer(tokenizer: CalibrationTokenizer): boolean {
  const pipeline = tokenizerPart(tokenizer, '_tokenizer');
  const preTokenizer = tokenizerPart(pipeline, 'pre_tokenizer');
  const pattern = tokenizerPart(preTokenizer, 'pattern');
  const model = tokenizerPart(pipeline, 'model');
  const postProcessor = tokenizerPart(pipeline, 'post_processor');
  const addedTokens = tokenizerPart(pipeline, 'added_tokens');
  const removeSpace = tokenizerPart(pipeline, 'remove_space');
  const shaped =
    tokenizerPart(pipeline, 'normalizer') === null &&
    typeOf(preTokenizer) === 'ByteLevel' &&
    tokenizerPart(preTokenizer, 'use_regex') === true &&
    tokenizerPart(preTokenizer, 'add_prefix_space') === false &&
    pattern instanceof RegExp &&
    pattern.source === GPT2_PATTERN.source &&
    pattern.flags === GPT2_PATTERN.flags &&
    typeOf(model) === 'BPE' &&
    tokenizerPart(model, 'fuse_unk') === false &&
    (postProcessor === null || typeOf(postProcessor) === 'ByteLevel') &&
    (removeSpace === undefined || removeSpace === false) &&
    tokenizerPart(pipeline, 'do_lowercase_and_remove_accent') === false &&
    Array.isArray(addedTokens) &&
    addedTokens.every(isPlainAddedToken);
  return shaped && encodesByPieces(tokenizer, PROBE_TEXT);
}

/**
 * Token ids of the start of `text`, at least `tokenCount` of them unless the whole text has fewer:
 * the text is encoded stretch by stretch, each ending at a piece boundary, and the ids joined. Only
 * for a tokenizer `isGpt2ByteLevelTokenizer` accepts; the ids are then the first ones of
 * `encode(text)`, possibly more than `tokenCount`.
 */
export function encodeLeadingTokens(
  tokenizer: CalibrationTokenizer,
  text: string,
  tokenCount: number,
): number[] {
  const ids: number[] = [];
  let start = 0;
  while (start < text.length && ids.length < tokenCount) {
    const estimate = Math.max(MINIMUM_STRETCH, (tokenCount - ids.length) * CHARACTERS_PER_TOKEN);
    const end = pieceBoundaryAtOrAfter(text, start + estimate) ?? text.length;
    for (const id of tokenizer.encode(text.slice(start, end))) ids.push(id);
    start = end;
  }
  return ids;
}

/** Whether encoding `text` in two parts, cut at each piece boundary, joins up to the whole text's ids. */
function encodesByPieces(tokenizer: CalibrationTokenizer, text: string): boolean {
  try {
    const whole = tokenizer.encode(text);
    for (const cut of pieceBoundaries(text)) {
      const joined = [...tokenizer.encode(text.slice(0, cut)), ...tokenizer.encode(text.slice(cut))];
      if (joined.length !== whole.length || joined.some((id, index) => id !== whole[index])) return false;
    }
    return true;
  } catch {
    // A tokenizer that fails on the probe is not one to be clever with; encoding whole texts reports it.
    return false;
  }
}

/** An added token that cannot span a piece boundary nor reach across one by stripping whitespace. */
function isPlainAddedToken(token: unknown): boolean {
  const content = tokenizerPart(token, 'content');
  return (
    typeof content === 'string' &&
    content.length > 0 &&
    !/\s/.test(content) &&
    tokenizerPart(token, 'lstrip') === false &&
    tokenizerPart(token, 'rstrip') === false
  );
}

/** The `type` a transformers.js pipeline part was built from (its tokenizer.json entry). */
function typeOf(part: unknown): unknown {
  return tokenizerPart(tokenizerPart(part, 'config'), 'type');
}

/** A property of an object or function (transformers.js pipeline parts are callable objects), else undefined. */
export function tokenizerPart(value: unknown, key: string): unknown {
  const holdsProperties = (typeof value === 'object' && value !== null) || typeof value === 'function';
  return holdsProperties ? (value as Record<string, unknown>)[key] : undefined;
}
