import { countWindows, type PerplexityResult, perplexity } from '@ptq/hf-gpt2';
import { type GPTSegments, segmentedWindowScorer, segmentRanges } from '@ptq/nanogpt';
import type { ResolvedDevice } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';
import type { Progress } from '../output/progress';
import type { CheckLevel } from './check-levels';
import { FAST_CHECK_TOKENS } from './check-levels';

/** The token ids a check measures, and how they are measured. */
export interface CheckTokens {
  readonly tokens: BigInt64Array;
  readonly window: number;
  /** "the first 512 tokens of 48 held-out texts of …" */
  readonly description: string;
}

/**
 * The held-out texts joined by blank lines and encoded: all of them for `full`, the first
 * `FAST_CHECK_TOKENS` for `fast`. Undefined when there are fewer than two tokens to measure.
 */
export function checkTokens(
  encode: (text: string) => number[],
  texts: readonly string[],
  level: Exclude<CheckLevel, 'none'>,
  source: string,
  maxSequence: number,
): CheckTokens | undefined {
  // Encoding is slow in JavaScript: `fast` encodes only the first texts, enough characters for its
  // tokens (GPT-2 averages about four characters a token; eight leaves a wide margin).
  const used = level === 'fast' ? leadingTexts(texts, FAST_CHECK_TOKENS * 8) : texts;
  const encoded = encode(used.join('\n\n'));
  const count = level === 'fast' ? Math.min(encoded.length, FAST_CHECK_TOKENS) : encoded.length;
  if (count < 2) return undefined;
  const tokens = BigInt64Array.from(encoded.slice(0, count), BigInt);
  const textCount = `${used.length} text${used.length === 1 ? '' : 's'}`;
  return {
    tokens,
    window: Math.min(count, maxSequence),
    description:
      count < encoded.length
        ? `the first ${count} tokens of ${textCount} of ${source}`
        : `${count} tokens of ${textCount} of ${source}`,
  };
}

/**
 * The perplexity of a runtime model on the check's tokens, from the graph `eval` compiles, built and
 * run a segment of blocks at a time (`@ptq/nanogpt`'s `scoreWindowsBySegments`; the same numbers bit
 * for bit): beside the model being quantized the check holds one segment's runtime weights, never a
 * second copy of the model. The progress task counts segments × windows.
 */
export async function checkPerplexity(
  source: GPTSegments,
  device: ResolvedDevice,
  check: CheckTokens,
  label: string,
  progress: Progress,
  onNotice: (message: string) => void,
): Promise<PerplexityResult> {
  const { tokens, window } = check;
  const steps = segmentRanges(source.config).length * countWindows(tokens.length, window, window);
  const task = progress.task(label, steps);
  const scorer = segmentedWindowScorer(source, {
    device,
    onNotice,
    onStep: (done, total) => task.update(done, total),
  });
  try {
    return await perplexity(scorer, createTensor('int64', [tokens.length], tokens), {
      window,
      stride: window,
    });
  } finally {
    task.finish();
  }
}

export interface QualityReport {
  readonly text: string;
  readonly tokenCount: number;
  readonly window: number;
  readonly unquantizedPerplexity: number;
  readonly quantizedPerplexity: number;
  /** (quantized − unquantized) / unquantized, in percent. */
  readonly changePercent: number;
  readonly maxDegradationPercent: number;
  /** Whether the change is more than `maxDegradationPercent`. */
  readonly exceedsMaxDegradation: boolean;
  /** Whether the unquantized figure came from an earlier run's cache (see `unquantized-check-cache`). */
  readonly unquantizedFromCache: boolean;
}

export function qualityReport(
  check: CheckTokens,
  unquantized: PerplexityResult,
  quantized: PerplexityResult,
  maxDegradationPercent: number,
  unquantizedFromCache = false,
): QualityReport {
  const changePercent = ((quantized.perplexity - unquantized.perplexity) / unquantized.perplexity) * 100;
  return {
    text: check.description,
    tokenCount: quantized.tokenCount,
    window: check.window,
    unquantizedPerplexity: unquantized.perplexity,
    quantizedPerplexity: quantized.perplexity,
    changePercent,
    maxDegradationPercent,
    exceedsMaxDegradation: !(changePercent <= maxDegradationPercent),
    unquantizedFromCache,
  };
}

/** "+0.61 %" */
export function formatChange(percent: number): string {
  return `${percent >= 0 ? '+' : '−'}${Math.abs(percent).toFixed(2)} %`;
}

/** The report's lines: one on stdout, and the warning when the change is past the threshold. */
export function reportLines(report: QualityReport): { result: string; warning?: string } {
  const result = `perplexity ${report.unquantizedPerplexity.toFixed(3)} unquantized → ${report.quantizedPerplexity.toFixed(3)} quantized (${formatChange(report.changePercent)}) on ${report.text}`;
  if (!report.exceedsMaxDegradation) return { result };
  return {
    result,
    warning: `ptq: warning: quantization raised perplexity by ${formatChange(report.changePercent)}, more than --max-degradation ${report.maxDegradationPercent} %`,
  };
}

/** The first texts whose joined length reaches `characters` (all of them when they are shorter). */
function leadingTexts(texts: readonly string[], characters: number): readonly string[] {
  let length = 0;
  for (const [index, text] of texts.entries()) {
    length += text.length + 2;
    if (length >= characters) return texts.slice(0, index + 1);
  }
  return texts;
}
