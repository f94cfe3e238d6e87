import { countWindows, type PerplexityResult, perplexity } from '@ptq/hf-gpt2';
import type { CompiledGPT } from '@ptq/nanogpt';
import { createTensor } from '@ptq/tensor';
import type { Progress } from '../output/progress';

export interface MeasureOptions {
  readonly window: number;
  readonly stride: number;
  /** The progress bar's label (`eval`, `check fp32`). */
  readonly label: string;
  readonly progress: Progress;
}

/**
 * Hugging Face sliding-window perplexity of a compiled model on token ids. The log softmax runs in
 * onnxruntime, where the logits are: on a GPU only one float per token comes back, and on the CPU it
 * is far faster than a JavaScript loop over the vocabulary.
 */
export async function measurePerplexity(
  compiled: CompiledGPT,
  tokens: BigInt64Array,
  options: MeasureOptions,
): Promise<PerplexityResult> {
  const { window, stride } = options;
  const task = options.progress.task(options.label, countWindows(tokens.length, window, stride));
  const scorer = {
    contextSize: compiled.maxSequence,
    async logProbabilities(ids: BigInt64Array, next: BigInt64Array) {
      const shape = [1, ids.length];
      const scored = await compiled.targetLogProbabilities(
        createTensor('int64', shape, ids),
        createTensor('int64', shape, next),
      );
      return scored.data;
    },
  };
  try {
    return await perplexity(scorer, createTensor('int64', [tokens.length], tokens), {
      window,
      stride,
      onProgress: (progress) => task.update(progress.windowsDone),
    });
  } finally {
    task.finish();
  }
}
