import {
  createForwardLoop,
  NotEnoughSamplesError,
  type TextEncoding,
  type TextSplit,
} from '@ptq/calibration';
import {
  CALIBRATION_DEFAULTS,
  type GPT2ForwardLoop,
  type ModelOptQuantizeOptions,
  type QuantMode,
} from '@ptq/quant-core';
import { UsageError } from '../cli-errors';
import type { CommandContext } from '../command-definition';
import { quantizeProgressHandler } from '../output/quantize-progress';

/** The calibration flags as parsed (see `CALIBRATION_OPTIONS`). */
export interface CalibrationFlags {
  readonly dataset: string;
  readonly calibSize: number | undefined;
  readonly batchSize: number | undefined;
  readonly maxSampleLength: number;
  readonly datasetField?: string | undefined;
  readonly datasetSplit?: TextSplit | undefined;
  readonly encoding?: TextEncoding | undefined;
  /** The calibration flags the user passed, by long name (`--calib-size`). */
  readonly calibrationFlagsGiven: readonly string[];
}

export interface CalibrationSettings {
  /** What `modelOptQuantize` takes, progress and notices wired to the command's display. */
  readonly options: ModelOptQuantizeOptions;
  readonly numSamples: number;
  /** Samples per forward, at most `numSamples`. */
  readonly batchSize: number;
  /** Tokens kept per sample: `--max-sample-length`, or its default capped at the model's positions. */
  readonly maxSampleLength: number;
  /** Whether the mode reads calibration texts at all. */
  readonly usesData: boolean;
  /** Calibration flags passed that the mode does not use (int8 weight-only reads no data). */
  readonly ignoredFlags: readonly string[];
  /** "16 samples of cnn_dailymail", or "weights only" for modes that need no data. */
  readonly description: string;
  /** Ends the progress display of calibration. */
  finish(): void;
}

/** Whether a mode calibrates on data (int8 weight-only sets its ranges from the weights alone). */
export function needsCalibrationData(mode: QuantMode): boolean {
  return mode !== 'int8-weight-only';
}

/** Prints one notice for flags that were passed but do nothing, saying why. */
export function noticeIgnoredFlags(context: CommandContext, flags: readonly string[], why: string): void {
  if (flags.length === 0) return;
  context.status(`ptq: ${flags.join(', ')} ${flags.length === 1 ? 'does' : 'do'} not apply ${why}; ignored`);
}

/**
 * The seed's per-mode defaults filled in, and the options `modelOptQuantize` gets. A
 * `--max-sample-length` beyond the model's `n_positions` is refused (its default is capped there);
 * the calibration flags of a mode that reads no data are reported as ignored.
 */
export function calibrationSettings(
  mode: QuantMode,
  flags: CalibrationFlags,
  device: ModelOptQuantizeOptions['device'],
  context: CommandContext,
  model: { readonly nPositions: number },
): CalibrationSettings {
  const usesData = needsCalibrationData(mode);
  const ignoredFlags = usesData ? [] : [...flags.calibrationFlagsGiven];
  noticeIgnoredFlags(context, ignoredFlags, `to --mode ${mode}, which reads no calibration data`);
  const maxSampleLengthGiven = flags.calibrationFlagsGiven.includes('--max-sample-length');
  if (usesData && maxSampleLengthGiven && flags.maxSampleLength > model.nPositions) {
    throw new UsageError(
      `--max-sample-length ${flags.maxSampleLength} is more than the model's ${model.nPositions} positions (n_positions); pass at most ${model.nPositions}`,
    );
  }
  const maxSampleLength = Math.min(flags.maxSampleLength, model.nPositions);
  const defaults = CALIBRATION_DEFAULTS[mode];
  const numSamples = flags.calibSize ?? defaults.numSamples;
  // A batch never holds more than every sample.
  const batchSize = Math.min(flags.batchSize ?? defaults.batchSize, numSamples);
  const handler = quantizeProgressHandler(context.progress, Math.ceil(numSamples / batchSize));
  const notice = (message: string) => context.status(message);
  return {
    options: {
      dataset: flags.dataset,
      numSamples,
      batchSize,
      maxSampleLength,
      device,
      onProgress: handler.onProgress,
      onNotice: notice,
      // quant-core's own summary lines repeat what the phase timings say; show them with --verbose.
      log: context.verbose ? notice : () => {},
    },
    numSamples,
    batchSize,
    maxSampleLength,
    usesData,
    ignoredFlags,
    description: usesData
      ? `${numSamples} sample${numSamples === 1 ? '' : 's'} of ${flags.dataset}`
      : 'weights only',
    finish: handler.finish,
  };
}

/** Calibration errors in the words of the flags (`--calib-size`, not the library's `numSamples`). */
export function inFlagTerms(error: unknown): unknown {
  if (error instanceof NotEnoughSamplesError) {
    const message = error.message.includes('asked for (numSamples)')
      ? error.message.replace('asked for (numSamples)', 'asked for with --calib-size')
      : `--calib-size ${error.requested}: ${error.message}`;
    return new UsageError(message, { cause: error });
  }
  return error;
}

/**
 * A calibration loop over texts already read (so that `--dataset-field`, `--dataset-split` and
 * `--encoding` apply, and the held-out slice comes from the same read): the batches are built once,
 * from the model calibration hands it, and every pass reuses them.
 */
export function forwardLoopOver(
  texts: readonly string[],
  settings: Pick<CalibrationSettings, 'numSamples' | 'batchSize' | 'maxSampleLength'>,
  device: NonNullable<ModelOptQuantizeOptions['device']>,
): GPT2ForwardLoop {
  let loop: ReturnType<typeof createForwardLoop> | undefined;
  return async (model) => {
    if (model.tokenizer === undefined) throw new UsageError('the model has no tokenizer to calibrate with');
    loop ??= createForwardLoop(
      model,
      texts,
      model.tokenizer,
      device,
      settings.batchSize,
      settings.numSamples,
      { maxSampleLength: settings.maxSampleLength },
    );
    await (await loop)(model);
  };
}
