import { createTensor } from '@ptq/tensor';
import type { RuntimeGPT } from './runtime-gpt';

/** What sliding-window perplexity (`@ptq/hf-gpt2`'s `perplexity`) asks of a model. */
export interface RuntimeWindowScorer {
  readonly contextSize: number;
  logProbabilities(ids: BigInt64Array, next: BigInt64Array): Promise<ArrayLike<number>>;
}

/**
 * A compiled model as a perplexity scorer: one row per call, `log p(next[p] | ids[0..p])` from the
 * engine's own `targetLogProbabilities` (on onnxruntime the log softmax runs where the logits are,
 * so on a GPU one float per token comes back).
 */
export function windowScorer(compiled: RuntimeGPT): RuntimeWindowScorer {
  return {
    contextSize: compiled.maxSequence,
    async logProbabilities(ids, next) {
      const shape = [1, ids.length];
      const scored = await compiled.targetLogProbabilities(
        createTensor('int64', shape, ids),
        createTensor('int64', shape, next),
      );
      return scored.data;
    },
  };
}
