import { createTensor, type Tensor } from '@ptq/tensor';
import type { GPT2Model } from '../modules/gpt2-model';

export interface EmbeddedBatch {
  /** wte rows of the ids, float32 [batch, sequence, n_embd]. */
  readonly residual: Tensor<'float32'>;
  /** wpe rows of the positions, float32 [batch, sequence, n_embd]. */
  readonly delta: Tensor<'float32'>;
}

/**
 * The two gathers the GPT-2 graph starts with, done on the host (copies, so exact): token embeddings
 * and position embeddings at positions max(cumsum(mask) − 1, 0), which the first block adds. Ids and
 * mask must have been checked (`validateBatch`).
 */
export function embedBatch(
  transformer: Pick<GPT2Model, 'wte' | 'wpe'>,
  inputIds: Tensor<'int64'>,
  attentionMask: Tensor<'int64'>,
): EmbeddedBatch {
  const [batch = 0, sequence = 0] = inputIds.shape;
  const tokenTable = transformer.wte.weight;
  const positionTable = transformer.wpe.weight;
  const width = tokenTable.shape[1] ?? 0;
  const residual = new Float32Array(batch * sequence * width);
  const delta = new Float32Array(batch * sequence * width);
  for (let row = 0; row < batch; row++) {
    const positionIds = positionIdsOfRow(attentionMask, row);
    for (let position = 0; position < sequence; position++) {
      const index = row * sequence + position;
      const token = Number(inputIds.data[index]!);
      const at = positionIds[position]!;
      residual.set(tokenTable.data.subarray(token * width, (token + 1) * width), index * width);
      delta.set(positionTable.data.subarray(at * width, (at + 1) * width), index * width);
    }
  }
  const shape = [batch, sequence, width];
  return { residual: createTensor('float32', shape, residual), delta: createTensor('float32', shape, delta) };
}

/**
 * Row `row` of a batch as the first block takes it, straight into `target` (`[sequence, n_embd]`):
 * its token embedding plus its position embedding (positions as `embedBatch` takes them), added in
 * float32 as the graph adds them. One pass and no batch-sized arrays: what a caller uploading the
 * sum needs instead of `embedBatch`'s two gathers.
 */
export function embedRowSumInto(
  transformer: Pick<GPT2Model, 'wte' | 'wpe'>,
  inputIds: Tensor<'int64'>,
  attentionMask: Tensor<'int64'>,
  row: number,
  target: Float32Array,
): void {
  const [, sequence = 0] = inputIds.shape;
  const tokens = transformer.wte.weight.data;
  const positions = transformer.wpe.weight.data;
  const width = transformer.wte.weight.shape[1] ?? 0;
  const positionIds = positionIdsOfRow(attentionMask, row);
  for (let position = 0; position < sequence; position++) {
    const token = Number(inputIds.data[row * sequence + position]!) * width;
    const at = positionIds[position]! * width;
    const out = position * width;
    // Two float32 values added in float64 and stored as float32: the float32 sum, correctly rounded.
    for (let column = 0; column < width; column++) {
      target[out + column] = tokens[token + column]! + positions[at + column]!;
    }
  }
}

/** The position ids of a batch row as the graph takes them: max(cumsum(mask) − 1, 0). */
function positionIdsOfRow(attentionMask: Tensor<'int64'>, row: number): Int32Array {
  const [, sequence = 0] = attentionMask.shape;
  const positions = new Int32Array(sequence);
  let realTokens = 0;
  for (let position = 0; position < sequence; position++) {
    if (attentionMask.data[row * sequence + position] === 1n) realTokens++;
    positions[position] = Math.max(realTokens - 1, 0);
  }
  return positions;
}
