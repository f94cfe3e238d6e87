import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, type Tensor } from '@ptq/tensor';
import { EmptySampleError } from './calibration-errors';
import { Gpt2PieceEncoder } from './gpt2-piece-encoder';
import { encodeLeadingTokens, isGpt2ByteLevelTokenizer } from './prefix-tokenization';

/**
 * The part of a tokenizer calibration needs. A transformers.js `PreTrainedTokenizer` (from
 * `AutoTokenizer.from_pretrained`) fits it.
 */
export interface CalibrationTokenizer {
  /** Token ids of a text, with the special tokens the tokenizer adds by default (none for GPT-2). */
  encode(text: string): number[];
  /** Pads the batches, as ModelOpt and the Tripy example do (`pad_token = eos_token`). */
  readonly eos_token_id?: number | null | undefined;
}

/** One batch as the model receives it: `[batch, length]` int64 tensors, left-padded. */
export interface CalibrationBatch {
  readonly inputIds: Tensor<'int64'>;
  /** 1 on real tokens, 0 on pads. */
  readonly attentionMask: Tensor<'int64'>;
  /** Samples in this batch. */
  readonly sampleCount: number;
  /** Real (unpadded) tokens in this batch. */
  readonly tokenCount: number;
}

/**
 * Tokenizes each text and keeps its first `maxSampleLength` tokens (right truncation, as ModelOpt). A
 * GPT-2 kind of tokenizer (`isGpt2ByteLevelTokenizer`) encodes only as much of each text as those
 * tokens need, through `Gpt2PieceEncoder`, with the same ids; any other encodes whole texts.
 */
export function tokenizeTexts(
  texts: readonly string[],
  tokenizer: CalibrationTokenizer,
  maxSampleLength: number,
  description: string,
): number[][] {
  // A length that is not a positive integer keeps whole texts, so that slicing decides as before.
  const truncates = Number.isSafeInteger(maxSampleLength) && maxSampleLength > 0;
  // GPT-2's BPE on the tokenizer's own merges, faster than its `encode` with the same ids; it exists
  // only for a tokenizer `isGpt2ByteLevelTokenizer` accepts, so that check runs again only without one.
  const pieceEncoder = truncates ? Gpt2PieceEncoder.of(tokenizer) : undefined;
  const byPieces = pieceEncoder !== undefined || (truncates && isGpt2ByteLevelTokenizer(tokenizer));
  const encoder = pieceEncoder ?? tokenizer;
  return texts.map((text, index) => {
    const ids = byPieces ? encodeLeadingTokens(encoder, text, maxSampleLength) : tokenizer.encode(text);
    if (ids.length === 0) throw new EmptySampleError(index, description);
    for (const id of ids) {
      if (!Number.isSafeInteger(id) || id < 0) {
        throw new InvalidArgumentError(
          'tokenizer',
          `encode() gave the token id ${String(id)} for text ${index}`,
        );
      }
    }
    return ids.slice(0, maxSampleLength);
  });
}

/** The id pads are filled with: the tokenizer's EOS. */
export function padTokenIdOf(tokenizer: CalibrationTokenizer): number {
  const id = tokenizer.eos_token_id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new InvalidArgumentError(
      'tokenizer',
      `has no EOS token to pad with (eos_token_id is ${String(id)})`,
    );
  }
  return id;
}

/**
 * Groups samples in order into batches of `batchSize` (the last may be smaller) and left-pads each
 * batch with `padTokenId` to its longest sample.
 */
export function buildBatches(
  samples: readonly number[][],
  batchSize: number,
  padTokenId: number,
): CalibrationBatch[] {
  const batches: CalibrationBatch[] = [];
  for (let start = 0; start < samples.length; start += batchSize) {
    const group = samples.slice(start, start + batchSize);
    const length = Math.max(...group.map((sample) => sample.length));
    const inputIds = new BigInt64Array(group.length * length).fill(BigInt(padTokenId));
    const attentionMask = new BigInt64Array(group.length * length);
    let tokenCount = 0;
    group.forEach((sample, row) => {
      const offset = row * length + (length - sample.length);
      sample.forEach((id, column) => {
        inputIds[offset + column] = BigInt(id);
        attentionMask[offset + column] = 1n;
      });
      tokenCount += sample.length;
    });
    batches.push(
      Object.freeze({
        inputIds: createTensor('int64', [group.length, length], inputIds),
        attentionMask: createTensor('int64', [group.length, length], attentionMask),
        sampleCount: group.length,
        tokenCount,
      }),
    );
  }
  return batches;
}
