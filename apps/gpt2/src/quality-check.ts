import { loadCalibrationTexts } from '@ptq/calibration';
import { perplexity } from '@ptq/hf-gpt2';
import { compile, type GPT, type RuntimeGPT, windowScorer } from '@ptq/nanogpt';
import type { ResolvedDevice } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';

/** Tokens the check measures: one forward per model, so that it adds little to a run. */
export const CHECK_TOKENS = 512;

/** The held-out tokens: the first of the dataset's texts after those calibration read. */
export interface HeldOutTokens {
  readonly tokens: BigInt64Array;
  readonly description: string;
}

/**
 * The first `CHECK_TOKENS` tokens of the texts after the first `calibrated` of `dataset` (the ones
 * calibration read), joined by blank lines. Only as many texts as those tokens need are encoded.
 */
export async function heldOutTokens(
  dataset: string,
  calibrated: number,
  encode: (text: string) => number[],
  onNotice: (message: string) => void,
): Promise<HeldOutTokens> {
  const { texts } = await loadCalibrationTexts(dataset, { numSamples: calibrated + 8, onNotice });
  const held: string[] = [];
  let characters = 0;
  // GPT-2 averages about four characters a token; eight leaves a wide margin.
  for (const text of texts.slice(calibrated)) {
    held.push(text);
    characters += text.length + 2;
    if (characters >= CHECK_TOKENS * 8) break;
  }
  const ids = encode(held.join('\n\n')).slice(0, CHECK_TOKENS);
  return {
    tokens: BigInt64Array.from(ids, BigInt),
    description: `the first ${ids.length} held-out tokens of ${dataset}${calibrated === 0 ? '' : ` (after the ${calibrated} calibration texts)`}`,
  };
}

/** Perplexity of a compiled model on the tokens, in one window, as `ptq eval` measures it. */
export async function compiledPerplexity(compiled: RuntimeGPT, tokens: BigInt64Array): Promise<number> {
  const window = Math.min(tokens.length, compiled.maxSequence);
  const scorer = windowScorer(compiled);
  const result = await perplexity(scorer, createTensor('int64', [tokens.length], tokens), { window });
  return result.perplexity;
}

/** Compiles an unquantized runtime model just long enough to measure it. */
export async function gptPerplexity(
  gpt: GPT,
  device: ResolvedDevice,
  tokens: BigInt64Array,
  onNotice: (message: string) => void,
): Promise<number> {
  const compiled = await compile(gpt, { device, maxSequence: tokens.length, onNotice });
  try {
    return await compiledPerplexity(compiled, tokens);
  } finally {
    await compiled.release();
  }
}
