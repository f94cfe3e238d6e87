import { CALIBRATION_DEFAULTS, type ModelOptQuantizeOptions, type QuantMode } from '@ptq/quant-core';
import type { CommandContext } from '../command-definition';
import { quantizeProgressHandler } from '../output/quantize-progress';

/** The calibration flags as parsed (see `CALIBRATION_OPTIONS`). */
export interface CalibrationFlags {
  readonly dataset: string;
  readonly calibSize: number | undefined;
  readonly batchSize: number | undefined;
  readonly maxSampleLength: number;
}

export interface CalibrationSettings {
  /** What `modelOptQuantize` takes, progress and notices wired to the command's display. */
  readonly options: ModelOptQuantizeOptions;
  readonly numSamples: number;
  readonly batchSize: number;
  /** Whether the mode reads calibration texts at all. */
  readonly usesData: boolean;
  /** "16 samples of cnn_dailymail", or "weights only" for modes that need no data. */
  readonly description: string;
  /** Ends the progress display of calibration. */
  finish(): void;
}

/** Whether a mode calibrates on data (int8 weight-only sets its ranges from the weights alone). */
export function needsCalibrationData(mode: QuantMode): boolean {
  return mode !== 'int8-weight-only';
}

/** The seed's per-mode defaults filled in, and the options `modelOptQuantize` gets. */
export function calibrationSettings(
  mode: QuantMode,
  flags: CalibrationFlags,
  device: ModelOptQuantizeOptions['device'],
  context: CommandContext,
): CalibrationSettings {
  const defaults = CALIBRATION_DEFAULTS[mode];
  const numSamples = flags.calibSize ?? defaults.numSamples;
  const batchSize = flags.batchSize ?? defaults.batchSize;
  const handler = quantizeProgressHandler(context.progress, Math.ceil(numSamples / batchSize));
  const notice = (message: string) => context.status(message);
  return {
    options: {
      dataset: flags.dataset,
      numSamples,
      batchSize,
      maxSampleLength: flags.maxSampleLength,
      device,
      onProgress: handler.onProgress,
      onNotice: notice,
      // quant-core's own summary lines repeat what the phase timings say; show them with --verbose.
      log: context.verbose ? notice : () => {},
    },
    numSamples,
    batchSize,
    usesData: needsCalibrationData(mode),
    description: needsCalibrationData(mode)
      ? `${numSamples} sample${numSamples === 1 ? '' : 's'} of ${flags.dataset}`
      : 'weights only',
    finish: handler.finish,
  };
}
