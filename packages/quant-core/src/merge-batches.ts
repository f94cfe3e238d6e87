import { createTensor, type Tensor } from '@ptq/tensor';
import type { RecordedBatch } from './record-batches';

/**
 * Padded tokens one merged run may hold: the seed's int4 calibration batch (16 × 512), so merging
 * never makes a run larger than a default calibration already runs.
 */
export const MERGED_RUN_TOKENS = 16 * 512;

/** Recorded batches run as one: their rows stacked, in order. */
export interface MergedRun {
  readonly batch: RecordedBatch;
  /** How many recorded batches it holds. */
  readonly count: number;
}

/**
 * Stacks consecutive recorded batches of one sequence length into runs of at most `maxTokens` padded
 * tokens (a batch larger than that runs alone). Every row keeps its own ids, mask and positions, so
 * each token's activations are those of its batch run alone; only statistics that do not care how
 * tokens were grouped into batches (the max) may be gathered over a merged run.
 */
export function mergeBatches(batches: readonly RecordedBatch[], maxTokens: number): MergedRun[] {
  const runs: MergedRun[] = [];
  let group: RecordedBatch[] = [];
  let tokens = 0;
  const flush = () => {
    if (group.length > 0) runs.push({ batch: stack(group), count: group.length });
    group = [];
    tokens = 0;
  };
  for (const batch of batches) {
    const size = batch.inputIds.data.length;
    const sequence = batch.inputIds.shape[1];
    if (group.length > 0 && (group[0]!.inputIds.shape[1] !== sequence || tokens + size > maxTokens)) flush();
    group.push(batch);
    tokens += size;
  }
  flush();
  return runs;
}

function stack(group: readonly RecordedBatch[]): RecordedBatch {
  if (group.length === 1) return group[0]!;
  const sequence = group[0]!.inputIds.shape[1] ?? 0;
  const rows = group.reduce((sum, batch) => sum + (batch.inputIds.shape[0] ?? 0), 0);
  const realTokenIndices: number[] = [];
  let offset = 0;
  for (const batch of group) {
    for (const index of batch.realTokenIndices) realTokenIndices.push(offset + index);
    offset += batch.inputIds.data.length;
  }
  return {
    inputIds: concatenate(
      group.map((batch) => batch.inputIds),
      [rows, sequence],
    ),
    attentionMask: concatenate(
      group.map((batch) => batch.attentionMask),
      [rows, sequence],
    ),
    realTokenIndices,
  };
}

function concatenate(parts: readonly Tensor<'int64'>[], shape: number[]): Tensor<'int64'> {
  const data = new BigInt64Array(shape[0]! * shape[1]!);
  let offset = 0;
  for (const part of parts) {
    data.set(part.data, offset);
    offset += part.data.length;
  }
  return createTensor('int64', shape, data);
}
