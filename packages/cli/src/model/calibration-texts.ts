import {
  loadCalibrationTexts,
  NotEnoughSamplesError,
  type TextEncoding,
  type TextSplit,
} from '@ptq/calibration';

/** How dataset files given by path become texts (`--dataset-field`, `--dataset-split`, `--encoding`). */
export interface DatasetTextOptions {
  readonly field?: string | undefined;
  readonly split?: TextSplit | undefined;
  readonly encoding?: TextEncoding | undefined;
}

/**
 * Texts of the held-out slice at most: the ones after the calibration samples, in dataset order.
 * Bounded so that a named dataset of hundreds of thousands of articles is not read whole.
 */
export const HELD_OUT_TEXT_LIMIT = 64;

export interface CalibrationAndHeldOut {
  /** The first `calibrationSamples` texts: what calibration reads, as ModelOpt takes them. */
  readonly calibration: readonly string[];
  /** Up to `HELD_OUT_TEXT_LIMIT` texts after them, which calibration never sees. */
  readonly heldOut: readonly string[];
  readonly description: string;
}

/** Drops the undefined options, which the calibration package's strict option types refuse. */
export function textOptions(options: DatasetTextOptions): {
  field?: string;
  split?: TextSplit;
  encoding?: TextEncoding;
} {
  return {
    ...(options.field === undefined ? {} : { field: options.field }),
    ...(options.split === undefined ? {} : { split: options.split }),
    ...(options.encoding === undefined ? {} : { encoding: options.encoding }),
  };
}

/**
 * The dataset's calibration texts and the held-out slice after them, read once. A dataset with
 * fewer texts than both is read whole: its held-out slice is what follows the calibration samples
 * (possibly nothing); fewer texts than calibration needs is calibration's own error.
 */
export async function loadCalibrationAndHeldOut(
  dataset: string,
  calibrationSamples: number,
  options: DatasetTextOptions,
  onNotice: (message: string) => void,
): Promise<CalibrationAndHeldOut> {
  const load = (numSamples: number) =>
    loadCalibrationTexts(dataset, { ...textOptions(options), numSamples, onNotice });
  let loaded: Awaited<ReturnType<typeof loadCalibrationTexts>>;
  try {
    loaded = await load(calibrationSamples + HELD_OUT_TEXT_LIMIT);
  } catch (error) {
    if (!(error instanceof NotEnoughSamplesError)) throw error;
    // Fewer than calibration needs: the request calibration makes reports it in its own terms.
    loaded = await load(Math.max(error.available, calibrationSamples));
  }
  return {
    calibration: loaded.texts.slice(0, calibrationSamples),
    heldOut: loaded.texts.slice(calibrationSamples),
    description: loaded.description,
  };
}
