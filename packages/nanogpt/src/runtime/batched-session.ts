import type { Tensor as OrtTensor } from 'onnxruntime-node';
import { ATTENTION_MASK, INPUT_IDS, POSITION_IDS } from '../graph/graph-io';
import { type BatchInputs, positionsFromMask } from './batch-inputs';
import type { SessionLayout } from './session-layout';
import { int64Matrix } from './session-tensors';

function maskTensor(mask: readonly (readonly number[])[]): OrtTensor {
  const columns = mask[0]?.length ?? 0;
  const values = new BigInt64Array(mask.length * columns);
  mask.forEach((row, rowIndex) => {
    row.forEach((bit, column) => {
      values[rowIndex * columns + column] = BigInt(bit);
    });
  });
  return int64Matrix(values, mask.length, columns);
}

/**
 * A batched graph: padded rows go in whole with their attention mask and positions, and every
 * position gets logits.
 */
export class BatchedSession implements SessionLayout {
  readonly choosesTokens = false;

  withoutPadding(batch: BatchInputs): BatchInputs {
    return batch;
  }

  computesLastAlone(): boolean {
    return false;
  }

  hostFeeds(
    ids: BigInt64Array,
    mask: readonly (readonly number[])[],
    sequence: number,
    positions: BigInt64Array | undefined,
  ): Record<string, OrtTensor> {
    const rows = mask.length;
    return {
      [INPUT_IDS]: int64Matrix(ids, rows, sequence),
      [ATTENTION_MASK]: maskTensor(mask),
      [POSITION_IDS]: int64Matrix(positions ?? positionsFromMask(mask), rows, sequence),
    };
  }
}
