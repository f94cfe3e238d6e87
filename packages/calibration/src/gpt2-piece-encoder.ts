import type { CalibrationTokenizer } from './calibration-batches';
import { GPT2_PATTERN, isGpt2ByteLevelTokenizer, PROBE_TEXT, tokenizerPart } from './prefix-tokenization';

/** Pieces whose ids are kept, at most: a long calibration set's vocabulary fits (English news: ~10⁵). */
const CACHED_PIECES = 1 << 18;

/** Token ids and merge ranks are below this, so that a pair of ids, or a rank and an id, is one number. */
const ID_LIMIT = 1 << 16;

/** The encoder made for each tokenizer (null: it cannot have one), so its merges are read once. */
const encoders = new WeakMap<object, Gpt2PieceEncoder | null>();

/**
 * GPT-2's byte-level BPE run on a transformers.js tokenizer's own vocabulary and merges, for the
 * calibration texts: the same ids as its `encode` (each piece's bytes as GPT-2's printable
 * characters, then the adjacent pair of lowest merge rank merged, all its occurrences left to right,
 * until no pair has a rank), in about a fifth of the time once made (making one reads the 50,000
 * merges, once per tokenizer). transformers.js keys each pair lookup by `JSON.stringify` and keeps
 * 10,000 pieces; calibration texts hold more distinct words than that. Here the merges are looked
 * up by a number made of the pair's two ids, and every piece's ids are kept. A
 * text holding an added token (`<|endoftext|>`) is left to the tokenizer itself; a tokenizer whose
 * byte characters, merges or merge results are not all in its vocabulary gets no encoder.
 */
export class Gpt2PieceEncoder {
  readonly #tokenizer: CalibrationTokenizer;
  /**
   * Each merge by its pair of token ids (`left · 2¹⁶ + right`): its rank, and the id of the token it
   * makes (`rank · 2¹⁶ + id`, so one number holds both).
   */
  readonly #merges: ReadonlyMap<number, number>;
  /** The token id of each byte's character. */
  readonly #byteIds: Uint16Array;
  readonly #addedTokens: readonly string[];
  readonly #pieces = new Map<string, readonly number[]>();
  readonly #utf8 = new TextEncoder();

  private constructor(
    tokenizer: CalibrationTokenizer,
    merges: ReadonlyMap<number, number>,
    byteIds: Uint16Array,
    addedTokens: readonly string[],
  ) {
    this.#tokenizer = tokenizer;
    this.#merges = merges;
    this.#byteIds = byteIds;
    this.#addedTokens = addedTokens;
  }

  /**
   * An encoder for `tokenizer` when it is GPT-2's kind (`isGpt2ByteLevelTokenizer`) and its parts
   * hold what the encoder reads (vocabulary, merges, byte characters), else undefined.
   */
  static of(tokenizer: CalibrationTokenizer): Gpt2PieceEncoder | undefined {
    let encoder = encoders.get(tokenizer);
    if (encoder === undefined) {
      encoder = Gpt2PieceEncoder.#make(tokenizer) ?? null;
      encoders.set(tokenizer, encoder);
    }
    return encoder ?? undefined;
  }

  static #make(tokenizer: CalibrationTokenizer): Gpt2PieceEncoder | undefined {
    if (!isGpt2ByteLevelTokenizer(tokenizer)) return undefined;
    const pipeline = tokenizerPart(tokenizer, '_tokenizer');
    const model = tokenizerPart(pipeline, 'model');
    const ids = tokenizerPart(model, 'tokens_to_ids');
    const merges = tokenizerPart(model, 'merges');
    const byteEncoder = tokenizerPart(tokenizerPart(pipeline, 'pre_tokenizer'), 'byte_encoder');
    const added = tokenizerPart(pipeline, 'added_tokens');
    if (!(ids instanceof Map) || !Array.isArray(merges) || !Array.isArray(added)) return undefined;
    if (ids.size > ID_LIMIT || merges.length > ID_LIMIT) return undefined;
    const idOf = (token: unknown): number | undefined => {
      const id = typeof token === 'string' ? (ids as Map<string, unknown>).get(token) : undefined;
      return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < ID_LIMIT ? id : undefined;
    };
    const byteIds = new Uint16Array(256);
    for (let byte = 0; byte < 256; byte++) {
      const id = idOf((byteEncoder as Record<number, unknown> | undefined)?.[byte]);
      if (id === undefined) return undefined;
      byteIds[byte] = id;
    }
    const mergeTable = new Map<number, number>();
    for (const [rank, merge] of merges.entries()) {
      const [left, right] = merge as unknown[];
      const leftId = idOf(left);
      const rightId = idOf(right);
      // A merge of tokens outside the vocabulary never applies; one making such a token, neither.
      const madeId = typeof left === 'string' && typeof right === 'string' ? idOf(left + right) : undefined;
      if (leftId === undefined || rightId === undefined || madeId === undefined) return undefined;
      const key = leftId * ID_LIMIT + rightId;
      if (!mergeTable.has(key)) mergeTable.set(key, rank * ID_LIMIT + madeId);
    }
    const addedTokens = added.map((token) => tokenizerPart(token, 'content') as string);
    const encoder = new Gpt2PieceEncoder(tokenizer, mergeTable, byteIds, addedTokens);
    // The probe without its added token, so that the encoder itself answers: it must agree.
    const probe = addedTokens.reduce((text, token) => text.split(token).join(' '), PROBE_TEXT);
    const expected = tokenizer.encode(probe);
    const got = encoder.encode(probe);
    return got.length === expected.length && got.every((id, index) => id === expected[index])
      ? encoder
      : undefined;
  }

  /** The ids of `text`, as the tokenizer's `encode` gives them. */
  encode(text: string): number[] {
    if (this.#addedTokens.some((token) => text.includes(token))) return this.#tokenizer.encode(text);
    const ids: number[] = [];
    for (const piece of text.match(GPT2_PATTERN) ?? []) {
      let pieceIds = this.#pieces.get(piece);
      if (pieceIds === undefined) {
        pieceIds = this.#encodePiece(piece);
        if (this.#pieces.size < CACHED_PIECES) this.#pieces.set(piece, pieceIds);
      }
      for (const id of pieceIds) ids.push(id);
    }
    return ids;
  }

  #encodePiece(piece: string): number[] {
    let symbols = Array.from(this.#utf8.encode(piece), (byte) => this.#byteIds[byte]!);
    while (symbols.length > 1) {
      let best = Number.POSITIVE_INFINITY;
      let bestAt = -1;
      for (let index = 0; index + 1 < symbols.length; index++) {
        const merge = this.#merges.get(symbols[index]! * ID_LIMIT + symbols[index + 1]!);
        if (merge !== undefined && merge < best) {
          best = merge;
          bestAt = index;
        }
      }
      if (bestAt < 0) break;
      const left = symbols[bestAt]!;
      const right = symbols[bestAt + 1]!;
      const made = best % ID_LIMIT;
      const merged = symbols.slice(0, bestAt);
      for (let index = bestAt; index < symbols.length; ) {
        if (index + 1 < symbols.length && symbols[index] === left && symbols[index + 1] === right) {
          merged.push(made);
          index += 2;
        } else {
          merged.push(symbols[index]!);
          index += 1;
        }
      }
      symbols = merged;
    }
    return symbols;
  }
}
