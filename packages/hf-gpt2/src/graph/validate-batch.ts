import { InvalidArgumentError } from '@ptq/errors';
import type { Tensor } from '@ptq/tensor';
import type { Gpt2Config } from '../config';

export interface ValidatedBatch {
  readonly batch: number;
  readonly sequence: number;
  /** Flat indices b·sequence + p of the real tokens (mask 1), in (batch, position) order. */
  readonly realTokenIndices: number[];
}

/**
 * Checks a batch as the model's forward takes it: int64 `[batch, sequence]` ids inside the
 * vocabulary, a 0/1 mask of the same shape, at most `n_positions` real tokens per row.
 */
export function validateBatch(
  config: Gpt2Config,
  inputIds: Tensor<'int64'>,
  attentionMask: Tensor<'int64'>,
): ValidatedBatch {
  for (const [name, tensor] of [
    ['inputIds', inputIds],
    ['attentionMask', attentionMask],
  ] as const) {
    if (tensor?.dtype !== 'int64' || tensor.shape.length !== 2) {
      throw new InvalidArgumentError(
        name,
        `must be an int64 tensor [batch, sequence], got ${tensor?.dtype} [${tensor?.shape?.join(', ')}]`,
      );
    }
  }
  const [batch = 0, sequence = 0] = inputIds.shape;
  if (attentionMask.shape[0] !== batch || attentionMask.shape[1] !== sequence) {
    throw new InvalidArgumentError(
      'attentionMask',
      `shape [${attentionMask.shape.join(', ')}] differs from inputIds [${inputIds.shape.join(', ')}]`,
    );
  }
  if (batch < 1 || sequence < 1) {
    throw new InvalidArgumentError(
      'inputIds',
      `needs at least one row and one position, got [${batch}, ${sequence}]`,
    );
  }
  const vocab = BigInt(config.vocab_size);
  const realTokenIndices: number[] = [];
  for (let row = 0; row < batch; row++) {
    let realTokens = 0;
    for (let position = 0; position < sequence; position++) {
      const index = row * sequence + position;
      const id = inputIds.data[index]!;
      if (id < 0n || id >= vocab) {
        throw new InvalidArgumentError(
          'inputIds',
          `token id ${id} at [${row}, ${position}] is outside [0, ${vocab})`,
        );
      }
      const mask = attentionMask.data[index]!;
      if (mask !== 0n && mask !== 1n) {
        throw new InvalidArgumentError(
          'attentionMask',
          `value ${mask} at [${row}, ${position}] is not 0 or 1`,
        );
      }
      if (mask === 1n) {
        realTokens++;
        realTokenIndices.push(index);
      }
    }
    if (realTokens > config.n_positions) {
      throw new InvalidArgumentError(
        'attentionMask',
        `row ${row} has ${realTokens} real tokens, more than n_positions ${config.n_positions}`,
      );
    }
  }
  return { batch, sequence, realTokenIndices };
}
