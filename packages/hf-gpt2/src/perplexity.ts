import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, type Tensor } from '@ptq/tensor';
import { GPT2LMHeadModel } from './gpt2-lm-head-model';

export interface PerplexityOptions {
  /** Tokens per forward (default: the model's n_positions). */
  readonly window?: number;
  /** Tokens the window moves by (default: `window`, non-overlapping windows). */
  readonly stride?: number;
  /** Called after each window. */
  readonly onProgress?: (progress: PerplexityProgress) => void;
}

export interface PerplexityProgress {
  readonly windowsDone: number;
  readonly windowCount: number;
  readonly tokenCount: number;
}

export interface PerplexityResult {
  /** exp(negativeLogLikelihood / tokenCount). */
  readonly perplexity: number;
  /** Sum of −log p(token | context) over every predicted token, in nats. */
  readonly negativeLogLikelihood: number;
  /** Tokens predicted. */
  readonly tokenCount: number;
}

/**
 * Perplexity with the Hugging Face sliding-window definition: for begin = 0, stride, 2·stride, …,
 * end = min(begin + window, n); the window's targets are its last `end − prevEnd` tokens (the earlier
 * ones are context only), and a target at window position p ≥ 1 contributes −log softmax(logits[p−1])[t];
 * stop once end = n. The result is exp(total NLL / tokens predicted), with the exact count of predicted
 * tokens (the first token of a window is never predicted). The log-softmax and the pick of each
 * target's log-probability run inside the graph in float32 (so no [window, vocab] logits cross to
 * the host); the sum over tokens is float64.
 */
export async function perplexity(
  model: GPT2LMHeadModel | WindowScorer,
  input: string | Tensor<'int64'>,
  options: PerplexityOptions = {},
): Promise<PerplexityResult> {
  const scorer = model instanceof GPT2LMHeadModel ? hfScorer(model) : model;
  const tokens = toTokenIds(scorer, input);
  const contextSize = scorer.contextSize;
  const window = options.window ?? contextSize;
  const stride = options.stride ?? window;
  if (!Number.isSafeInteger(window) || window < 2 || window > contextSize) {
    throw new InvalidArgumentError(
      'window',
      `must be an integer in [2, n_positions ${contextSize}], got ${window}`,
    );
  }
  if (!Number.isSafeInteger(stride) || stride < 1 || stride > window) {
    throw new InvalidArgumentError('stride', `must be an integer in [1, window ${window}], got ${stride}`);
  }
  const total = tokens.length;
  if (total < 2) {
    throw new InvalidArgumentError('input', `needs at least 2 tokens to predict one, got ${total}`);
  }
  const windowCount = countWindows(total, window, stride);
  // Each window's tokens, and how many of its last positions are targets (the rest are context only).
  const windows: Array<{ ids: BigInt64Array; next: BigInt64Array; targets: number }> = [];
  let previousEnd = 0;
  for (let begin = 0; ; begin += stride) {
    const end = Math.min(begin + window, total);
    const ids = tokens.slice(begin, end);
    // next[p] = the token after p; the last position's target is a placeholder nobody reads.
    const next = new BigInt64Array(ids.length);
    next.set(ids.subarray(1));
    windows.push({ ids, next, targets: end - previousEnd });
    previousEnd = end;
    if (end === total) break;
  }
  // A scorer that takes every window at once (one segment of a large model at a time) gets them so.
  const scoredAtOnce = await scorer.logProbabilitiesOfWindows?.(windows);
  let negativeLogLikelihood = 0;
  let tokenCount = 0;
  for (const [index, { ids, next, targets }] of windows.entries()) {
    const logProbabilities = scoredAtOnce?.[index] ?? (await scorer.logProbabilities(ids, next));
    const length = ids.length;
    for (let position = Math.max(1, length - targets); position < length; position++) {
      negativeLogLikelihood -= logProbabilities[position - 1]!;
      tokenCount++;
    }
    options.onProgress?.({ windowsDone: index + 1, windowCount, tokenCount });
  }
  return { perplexity: Math.exp(negativeLogLikelihood / tokenCount), negativeLogLikelihood, tokenCount };
}

/**
 * What perplexity needs of a model: its context size, a tokenizer for text, and the log-probability
 * of each next token in one window. `GPT2LMHeadModel` is adapted automatically; `logitsScorer` adapts
 * any model that returns logits.
 */
export interface WindowScorer {
  readonly contextSize: number;
  readonly tokenizer?: { encode(text: string): number[] } | undefined;
  /** log p(next[p] | ids[0..p]) for each position p of the window (the last entry is not read). */
  logProbabilities(ids: BigInt64Array, next: BigInt64Array): Promise<ArrayLike<number>>;
  /** Optional: `logProbabilities` of every window in one call, for a scorer that runs them together. */
  logProbabilitiesOfWindows?(
    windows: ReadonlyArray<{ readonly ids: BigInt64Array; readonly next: BigInt64Array }>,
  ): Promise<ReadonlyArray<ArrayLike<number>>>;
}

function hfScorer(model: GPT2LMHeadModel): WindowScorer {
  return {
    contextSize: model.config.n_positions,
    tokenizer: model.tokenizer,
    async logProbabilities(ids, next) {
      const length = ids.length;
      const { targetLogProbabilities } = await model.forward(
        createTensor('int64', [1, length], ids),
        createTensor('int64', [1, length], new BigInt64Array(length).fill(1n)),
        { logits: false, targets: createTensor('int64', [1, length], next) },
      );
      return targetLogProbabilities!.data;
    },
  };
}

/**
 * A `WindowScorer` for any model whose forward returns float32 logits `[1, length, vocab]`: the
 * log-softmax runs on the host in float64.
 */
export function logitsScorer(
  forward: (
    inputIds: Tensor<'int64'>,
    attentionMask: Tensor<'int64'>,
  ) => Promise<{ logits: Tensor<'float32'> }>,
  contextSize: number,
  tokenizer?: { encode(text: string): number[] },
): WindowScorer {
  return {
    contextSize,
    tokenizer,
    async logProbabilities(ids, next) {
      const length = ids.length;
      const { logits } = await forward(
        createTensor('int64', [1, length], ids),
        createTensor('int64', [1, length], new BigInt64Array(length).fill(1n)),
      );
      const vocab = logits.shape[2] ?? 0;
      const result = new Float64Array(length);
      for (let position = 0; position < length; position++) {
        const row = logits.data.subarray(position * vocab, (position + 1) * vocab);
        result[position] = logSoftmaxAt(row, Number(next[position]));
      }
      return result;
    },
  };
}

function toTokenIds(model: WindowScorer, input: string | Tensor<'int64'>): BigInt64Array {
  if (typeof input === 'string') {
    if (model.tokenizer === undefined) {
      throw new InvalidArgumentError('input', 'text needs a model with a tokenizer; pass token ids instead');
    }
    return BigInt64Array.from(model.tokenizer.encode(input), BigInt);
  }
  const { dtype, shape } = input ?? {};
  const flat = shape?.length === 1 || (shape?.length === 2 && shape[0] === 1);
  if (dtype !== 'int64' || !flat) {
    throw new InvalidArgumentError(
      'input',
      `token ids must be int64 [n] or [1, n], got ${dtype} [${shape?.join(', ')}]`,
    );
  }
  return input.data;
}

/** log softmax(row)[index], in float64 with the max subtracted first. */
export function logSoftmaxAt(row: Float32Array, index: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of row) if (value > max) max = value;
  let sum = 0;
  for (const value of row) sum += Math.exp(value - max);
  return row[index]! - max - Math.log(sum);
}

/** How many windows the sliding-window definition runs over `total` tokens. */
export function countWindows(total: number, window: number, stride: number): number {
  let count = 0;
  for (let begin = 0; ; begin += stride) {
    count++;
    if (begin + window >= total) return count;
  }
}
