import { countWindows, type PerplexityResult, perplexity } from '@ptq/hf-gpt2';
import { type RuntimeGPT, windowScorer } from '@ptq/nanogpt';
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
 * Hugging Face sliding-window perplexity of a compiled model on token ids, scored by the engine
 * itself (`windowScorer`), with a progress task over the windows.
 */
export async function measurePerplexity(
  compiled: RuntimeGPT,
  tokens: BigInt64Array,
  options: MeasureOptions,
): Promise<PerplexityResult> {
  const { window, stride } = options;
  const task = options.progress.task(options.label, countWindows(tokens.length, window, stride));
  const scorer = windowScorer(compiled);
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
