import { InvalidArgumentError } from '@ptq/errors';
import type { PerplexityResult } from '@ptq/hf-gpt2';
import type { CompiledGPT } from '@ptq/nanogpt';
import { createTensor } from '@ptq/tensor';

export interface CompiledPerplexityOptions {
  /** Tokens per forward (default: the compiled maxSequence). */
  readonly window?: number;
  /** Tokens the window moves by (default: `window`). */
  readonly stride?: number;
  /** Called after each window. */
  readonly onProgress?: (windowsDone: number, windowCount: number) => void;
}

/**
 * Perplexity of a compiled runtime model, with the same sliding-window definition as
 * `@ptq/hf-gpt2`'s `perplexity` (Hugging Face's): windows start at 0, stride, 2·stride, …; a window
 * scores only the tokens after the previous window's end, the others are context; a window's first
 * token is never scored. Log-softmax runs on the host in float64 over each scored row.
 */
export async function compiledPerplexity(
  compiled: CompiledGPT,
  tokens: BigInt64Array,
  options: CompiledPerplexityOptions = {},
): Promise<PerplexityResult> {
  const window = options.window ?? compiled.maxSequence;
  const stride = options.stride ?? window;
  if (!Number.isSafeInteger(window) || window < 2 || window > compiled.maxSequence) {
    throw new InvalidArgumentError(
      'window',
      `must be an integer in [2, maxSequence ${compiled.maxSequence}], got ${window}`,
    );
  }
  if (!Number.isSafeInteger(stride) || stride < 1 || stride > window) {
    throw new InvalidArgumentError('stride', `must be an integer in [1, window ${window}], got ${stride}`);
  }
  const total = tokens.length;
  if (total < 2)
    throw new InvalidArgumentError('input', `needs at least 2 tokens to predict one, got ${total}`);
  const windowCount = countWindows(total, window, stride);
  const { vocabSize } = compiled.config;
  let negativeLogLikelihood = 0;
  let tokenCount = 0;
  let previousEnd = 0;
  let windowsDone = 0;
  for (let begin = 0; ; begin += stride) {
    const end = Math.min(begin + window, total);
    const length = end - begin;
    const ids = tokens.slice(begin, end);
    const { logits } = await compiled.forward(createTensor('int64', [1, length], ids));
    for (let position = Math.max(1, length - (end - previousEnd)); position < length; position++) {
      const row = logits.data.subarray((position - 1) * vocabSize, position * vocabSize);
      negativeLogLikelihood -= logSoftmaxAt(row, Number(ids[position]));
      tokenCount++;
    }
    previousEnd = end;
    windowsDone++;
    options.onProgress?.(windowsDone, windowCount);
    if (end === total) break;
  }
  return { perplexity: Math.exp(negativeLogLikelihood / tokenCount), negativeLogLikelihood, tokenCount };
}

/** log softmax(row)[index], in float64 with the max subtracted first. */
export function logSoftmaxAt(row: Float32Array, index: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of row) if (value > max) max = value;
  let sum = 0;
  for (const value of row) sum += Math.exp(value - max);
  return row[index]! - max - Math.log(sum);
}

export function countWindows(total: number, window: number, stride: number): number {
  let count = 0;
  for (let begin = 0; ; begin += stride) {
    count++;
    if (begin + window >= total) return count;
  }
}
