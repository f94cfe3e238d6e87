import { defineCommand } from '../command-definition';
import { deviceOption, engineOption, GLOBAL_OPTIONS } from '../options/common-options';
import {
  CALIBRATION_OPTIONS,
  DATASET_TEXT_OPTIONS,
  DEFAULT_DATASET,
  dtypeOption,
  flagsGiven,
  modelNameForJson,
  modelOption,
  onTheFlyModeOption,
} from '../options/model-options';
import { valueOption, withDefault } from '../options/option-spec';
import { parsePositiveInteger, parseText } from '../options/parse-values';
import { formatSeconds, secondsSince } from '../output/format-values';

/** eval's calibration flags: its `--dataset` is the text measured, so calibration reads `--calib-dataset`. */
const EVAL_CALIBRATION_FLAGS = ['--calib-dataset', '--calib-size', '--batch-size', '--max-sample-length'];

export const EVAL_OPTIONS = {
  model: modelOption,
  dataset: withDefault(
    valueOption(
      '--dataset <name|path>',
      'text to measure: held-out, wikitext, or a .txt/.jsonl/.parquet file',
      parseText,
    ),
    undefined as string | undefined,
    'held-out for the bundled model, else wikitext',
  ),
  window: valueOption(
    '--window <n>',
    "tokens per forward (default: the model's positions)",
    parsePositiveInteger,
  ),
  stride: valueOption(
    '--stride <n>',
    'tokens the window moves by (default: the window)',
    parsePositiveInteger,
  ),
  maxTokens: valueOption(
    '--max-tokens <n>',
    'measure only the first n tokens of the text',
    parsePositiveInteger,
  ),
  device: deviceOption,
  engine: engineOption,
  dtype: dtypeOption,
  mode: onTheFlyModeOption,
  calibDataset: withDefault(
    valueOption('--calib-dataset <name|path>', 'calibration texts for --mode', parseText),
    DEFAULT_DATASET,
  ),
  ...DATASET_TEXT_OPTIONS,
  calibSize: CALIBRATION_OPTIONS.calibSize,
  batchSize: CALIBRATION_OPTIONS.batchSize,
  maxSampleLength: CALIBRATION_OPTIONS.maxSampleLength,
  ...GLOBAL_OPTIONS,
} as const;

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'Measure perplexity (sliding windows, as Hugging Face computes it)',
  arguments: [],
  options: EVAL_OPTIONS,
  examples: [
    {
      description: 'perplexity of the bundled model on its held-out text',
      command: 'ptq eval',
    },
    {
      description: 'the same model quantized to int4 on the fly, on the first 20,000 tokens of wikitext-2',
      command: 'ptq eval --mode int4-weight-only --dataset wikitext --max-tokens 20000',
    },
    {
      description: 'a folder written by "ptq quantize", with overlapping windows',
      command: 'ptq eval --model gpt2-int8 --window 512 --stride 256',
    },
  ],
  async run({ options, givenFlags }, context) {
    const started = performance.now();
    const { DEFAULT_MODEL_DIR } = await import('@ptq/default-model');
    const { HELD_OUT_DATASET, loadEvaluationText } = await import('../model/evaluation-text');
    const { checkDataset } = await import('../model/check-dataset');
    const path = await import('node:path');
    const bundled = path.resolve(options.model) === path.resolve(DEFAULT_MODEL_DIR);
    // An export is measured by default on the texts after those it was calibrated on.
    const { readCalibrationRecord } = await import('../model/calibration-record');
    const record = options.dataset === undefined ? await readCalibrationRecord(options.model) : undefined;
    const dataset = options.dataset ?? record?.dataset ?? (bundled ? HELD_OUT_DATASET : 'wikitext');
    await checkDataset(dataset, [HELD_OUT_DATASET]);
    const { UsageError } = await import('../cli-errors');
    if (options.window !== undefined && options.window < 2) {
      throw new UsageError(`--window must be at least 2, got ${options.window}`);
    }
    if (options.stride !== undefined && options.window !== undefined && options.stride > options.window) {
      throw new UsageError(`--stride must not exceed --window ${options.window}, got ${options.stride}`);
    }

    const { loadRuntimeModel } = await import('../model/load-runtime-model');
    const runtime = await loadRuntimeModel(
      {
        ...options,
        dataset: options.calibDataset,
        calibrationFlagsGiven: flagsGiven(givenFlags, EVAL_CALIBRATION_FLAGS),
      },
      context,
    );
    try {
      const { compiled, tokenizer } = runtime;
      let phaseStart = performance.now();
      const { text, description } =
        record === undefined
          ? await loadEvaluationText(dataset, context.status, textOptionsOf(options))
          : await heldOutText(record, context.status);
      const encoded = tokenizer.encode(text);
      const limit = Math.min(encoded.length, options.maxTokens ?? encoded.length);
      const tokens = BigInt64Array.from(encoded.slice(0, limit), BigInt);
      const tokenizeSeconds = secondsSince(phaseStart);

      const window = options.window ?? compiled.maxSequence;
      if (window > compiled.maxSequence) {
        throw new UsageError(
          `--window must not exceed the model's ${compiled.maxSequence} positions, got ${window}`,
        );
      }
      const stride = options.stride ?? window;
      if (stride > window)
        throw new UsageError(`--stride must not exceed the window ${window}, got ${stride}`);
      const { measurePerplexity } = await import('../model/measure-perplexity');
      phaseStart = performance.now();
      const result = await measurePerplexity(compiled, tokens, {
        window,
        stride,
        label: 'eval',
        progress: context.progress,
      });
      const evalSeconds = secondsSince(phaseStart);
      context.status(
        `ptq: eval ${formatSeconds(evalSeconds)} (${result.tokenCount} tokens of ${description})`,
      );
      context.print(
        `perplexity ${result.perplexity.toFixed(3)} (${result.tokenCount} tokens of ${description}, window ${window}, stride ${stride})`,
      );
      return {
        command: 'eval',
        model: modelNameForJson(options.model),
        mode: runtime.mode ?? null,
        device: compiled.device,
        engine: compiled.engine,
        dtype: runtime.dtype,
        dataset,
        text: description,
        perplexity: result.perplexity,
        negativeLogLikelihood: result.negativeLogLikelihood,
        tokenCount: result.tokenCount,
        window,
        stride,
        ignoredFlags: runtime.ignoredFlags,
        timings: { ...runtime.timings, tokenizeSeconds, evalSeconds, totalSeconds: secondsSince(started) },
      };
    } finally {
      await runtime.compiled.release();
    }
  },
});

function textOptionsOf(options: {
  datasetField?: string | undefined;
  datasetSplit?: 'lines' | 'paragraphs' | undefined;
  encoding?: 'utf-8' | 'latin1' | 'utf-16le' | undefined;
}) {
  return { field: options.datasetField, split: options.datasetSplit, encoding: options.encoding };
}

/** The held-out texts of an export's calibration dataset: those after its calibration samples. */
async function heldOutText(
  record: import('../model/calibration-record').CalibrationRecord,
  onNotice: (message: string) => void,
): Promise<{ text: string; description: string }> {
  const { loadCalibrationAndHeldOut } = await import('../model/calibration-texts');
  const loaded = await loadCalibrationAndHeldOut(record.dataset, record.samples, record, onNotice);
  if (loaded.heldOut.length === 0) {
    const { UsageError } = await import('../cli-errors');
    throw new UsageError(
      `${loaded.description} has no texts after the ${record.samples} the model was calibrated on; pass --dataset`,
    );
  }
  const count = `${loaded.heldOut.length} text${loaded.heldOut.length === 1 ? '' : 's'}`;
  return {
    text: loaded.heldOut.join('\n\n'),
    description:
      record.samples === 0
        ? `${count} of ${loaded.description}`
        : `${count} of ${loaded.description}, after the ${record.samples} it was calibrated on`,
  };
}
