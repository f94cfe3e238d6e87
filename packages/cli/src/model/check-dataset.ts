import { stat } from 'node:fs/promises';
import { DatasetNotFoundError, KNOWN_DATASET_NAMES, UnknownDatasetError } from '@ptq/calibration';

/**
 * Fails before any work when `--dataset` is neither a known name nor an existing path, with the
 * calibration package's own errors (the same ones it would throw after the model has loaded).
 */
export async function checkDataset(dataset: string, extraNames: readonly string[] = []): Promise<void> {
  if (KNOWN_DATASET_NAMES.includes(dataset) || extraNames.includes(dataset)) return;
  if (await stat(dataset).catch(() => undefined)) return;
  const looksLikePath = /[/\\.]/.test(dataset);
  if (looksLikePath) throw new DatasetNotFoundError(dataset);
  throw new UnknownDatasetError(dataset, [...KNOWN_DATASET_NAMES, ...extraNames]);
}
