import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, type Tensor } from '@ptq/tensor';

/** A validated batch: ids and mask as rows of numbers. */
export interface BatchInputs {
  readonly rows: number;
  readonly sequence: number;
  readonly ids: BigInt64Array;
  readonly mask: number[][];
}

export interface BatchLimits {
  readonly vocabSize: number;
  readonly maxBatch: number;
  readonly maxSequence: number;
}

function checkMatrix(name: string, tensor: Tensor<'int64'>): [number, number] {
  if (tensor?.dtype !== 'int64' || tensor.shape.length !== 2) {
    throw new InvalidArgumentError(
      name,
      `must be an int64 tensor [batch, sequence], got ${tensor?.dtype} [${tensor?.shape?.join(', ')}]`,
    );
  }
  return [tensor.shape[0]!, tensor.shape[1]!];
}

/** Checks perplexity targets: int64 `[rows, sequence]` like the input ids, every id in the vocabulary. */
export function checkTargets(
  targets: Tensor<'int64'>,
  rows: number,
  sequence: number,
  vocabSize: number,
): void {
  if (
    targets.dtype !== 'int64' ||
    targets.shape.length !== 2 ||
    targets.shape[0] !== rows ||
    targets.shape[1] !== sequence
  ) {
    throw new InvalidArgumentError(
      'targets',
      `must be int64 [${rows}, ${sequence}] like inputIds, got ${targets.dtype} [${targets.shape.join(', ')}]`,
    );
  }
  checkVocabulary('targets', targets.data, sequence, vocabSize);
}

/** Throws, naming `name` and the `[row, column]`, unless every id of a `sequence`-wide matrix is in `[0, vocabSize)`. */
export function checkVocabulary(name: string, ids: BigInt64Array, sequence: number, vocabSize: number): void {
  const vocabulary = BigInt(vocabSize);
  for (let index = 0; index < ids.length; index += 1) {
    const id = ids[index]!;
    if (id < 0n || id >= vocabulary) {
      throw new InvalidArgumentError(
        name,
        `token id ${id} at [${Math.floor(index / sequence)}, ${index % sequence}] is outside the vocabulary [0, ${vocabSize - 1}]`,
      );
    }
  }
}

/**
 * Checks `input_ids` (and `attention_mask`, all ones when omitted) against the compiled limits:
 * `[batch ≤ maxBatch, 1 ≤ sequence ≤ maxSequence]`, ids in `[0, vocabSize)`, mask entries 0 or 1.
 */
export function readBatchInputs(
  inputIds: Tensor<'int64'>,
  attentionMask: Tensor<'int64'> | undefined,
  limits: BatchLimits,
): BatchInputs {
  const [rows, sequence] = checkMatrix('inputIds', inputIds);
  if (rows < 1 || rows > limits.maxBatch) {
    throw new InvalidArgumentError(
      'inputIds',
      `batch must be in [1, ${limits.maxBatch}] (the compiled batch), got ${rows}`,
    );
  }
  if (sequence < 1 || sequence > limits.maxSequence) {
    throw new InvalidArgumentError(
      'inputIds',
      `sequence length must be in [1, ${limits.maxSequence}] (the compiled maxSequence), got ${sequence}`,
    );
  }
  const ids = inputIds.data;
  checkVocabulary('inputIds', ids, sequence, limits.vocabSize);
  const mask: number[][] = [];
  if (attentionMask === undefined) {
    for (let row = 0; row < rows; row += 1) mask.push(new Array<number>(sequence).fill(1));
  } else {
    const [maskRows, maskSequence] = checkMatrix('attentionMask', attentionMask);
    if (maskRows !== rows || maskSequence !== sequence) {
      throw new InvalidArgumentError(
        'attentionMask',
        `must have the shape of inputIds [${rows}, ${sequence}], got [${maskRows}, ${maskSequence}]`,
      );
    }
    for (let row = 0; row < rows; row += 1) {
      const values: number[] = [];
      for (let column = 0; column < sequence; column += 1) {
        const bit = attentionMask.data[row * sequence + column]!;
        if (bit !== 0n && bit !== 1n) {
          throw new InvalidArgumentError(
            'attentionMask',
            `entries must be 0 or 1, got ${bit} at [${row}, ${column}]`,
          );
        }
        values.push(Number(bit));
      }
      mask.push(values);
    }
  }
  return { rows, sequence, ids, mask };
}

/**
 * Position ids from a mask: a real token's position is the number of real tokens before it in its
 * row (so a left-padded row sees the positions of the unpadded one); pads get 0.
 */
export function positionsFromMask(mask: readonly (readonly number[])[]): BigInt64Array {
  const sequence = mask[0]?.length ?? 0;
  const positions = new BigInt64Array(mask.length * sequence);
  mask.forEach((row, rowIndex) => {
    let seen = 0;
    row.forEach((bit, column) => {
      positions[rowIndex * sequence + column] = BigInt(bit === 1 ? seen : 0);
      seen += bit;
    });
  });
  return positions;
}

/** Each row of a batch as a batch of its own. */
export function batchRows(batch: BatchInputs): BatchInputs[] {
  if (batch.rows === 1) return [batch];
  return batch.mask.map((mask, row) => ({
    rows: 1,
    sequence: batch.sequence,
    ids: batch.ids.subarray(row * batch.sequence, (row + 1) * batch.sequence),
    mask: [mask],
  }));
}

/**
 * One row without its masked positions: dropping them is exactly what the mask means (real tokens
 * keep their positions and attend only each other).
 */
export function withoutRowPadding(batch: BatchInputs): BatchInputs {
  if (batch.mask[0]!.every((bit) => bit === 1)) return batch;
  const kept = batch.ids.filter((_, column) => batch.mask[0]![column] === 1);
  return { rows: 1, sequence: kept.length, ids: kept, mask: [Array.from(kept, () => 1)] };
}

/** One row's logits at every padded position: the real positions' in place, zeros at the masked ones. */
export function restoreRowPadding(
  logits: Tensor<'float32'>,
  padded: BatchInputs,
  vocabSize: number,
): Tensor<'float32'> {
  if (logits.shape[1] === padded.sequence) return logits;
  const restored = new Float32Array(padded.sequence * vocabSize);
  let real = 0;
  padded.mask[0]!.forEach((bit, column) => {
    if (bit !== 1) return;
    restored.set(logits.data.subarray(real * vocabSize, (real + 1) * vocabSize), column * vocabSize);
    real += 1;
  });
  return createTensor('float32', [1, padded.sequence, vocabSize], restored);
}
