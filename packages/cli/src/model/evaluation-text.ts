import { loadCalibrationTexts } from '@ptq/calibration';
import { readHeldOutText } from '@ptq/default-model';
import { type DatasetTextOptions, textOptions } from './calibration-texts';

/** `held-out`: the text the bundled model was never trained on; the default for that model. */
export const HELD_OUT_DATASET = 'held-out';

export interface EvaluationText {
  readonly text: string;
  readonly description: string;
}

/**
 * The text a perplexity is measured on: the bundled model's held-out text, a dataset by name
 * (`wikitext`: the wikitext-2-raw-v1 test split) or a file or folder by path, its texts joined by
 * blank lines.
 */
export async function loadEvaluationText(
  dataset: string,
  onNotice: (message: string) => void,
  options: DatasetTextOptions = {},
): Promise<EvaluationText> {
  if (dataset === HELD_OUT_DATASET) {
    return { text: await readHeldOutText(), description: "the bundled model's held-out text" };
  }
  const { texts, description } = await loadCalibrationTexts(dataset, { ...textOptions(options), onNotice });
  return { text: texts.join('\n\n'), description };
}
