import type { Tensor as OrtTensor } from 'onnxruntime-node';
import type { BatchInputs } from './batch-inputs';

/**
 * What differs between the two graphs `compile` opens, each implemented on its own: a single-row
 * graph (`SingleRowSession`: `input_ids` and `num_logits_to_keep` in, its greedy token out) and a
 * batched one (`BatchedSession`: an attention mask and positions in). `CompiledGPT` runs both.
 */
export interface SessionLayout {
  /** The graph also outputs its greedy token (`next_token`), so `greedyChunks` can run. */
  readonly choosesTokens: boolean;
  /** The batch as the graph takes it: a graph without a mask input drops the masked positions. */
  withoutPadding(batch: BatchInputs): BatchInputs;
  /** Whether the graph can compute the logits of the padded batch's last position alone. */
  computesLastAlone(padded: BatchInputs): boolean;
  /**
   * The host inputs of one run, the cache aside: `rows` of `sequence` ids, `mask` covering the
   * cached and new positions, the new positions' ids (default: counted from the mask), and how
   * many last positions get logits (0: all; a graph that cannot choose computes all).
   */
  hostFeeds(
    ids: BigInt64Array,
    mask: readonly (readonly number[])[],
    sequence: number,
    positions: BigInt64Array | undefined,
    logitsToKeep: number,
  ): Record<string, OrtTensor>;
}
