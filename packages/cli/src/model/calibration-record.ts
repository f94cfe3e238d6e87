import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OUTPUT_MANIFEST_FILE, readOutputManifest } from '@ptq/export';
import { DATASET_SPLITS, TEXT_ENCODINGS } from '../options/common-options';
import type { DatasetTextOptions } from './calibration-texts';

/**
 * What an export records about the text it was calibrated on, in `ptq-manifest.json`'s `producer`
 * section: the dataset, how many of its first texts calibration read (0 for a mode that reads none),
 * and how files were read. `eval` measures the texts after them, which calibration never saw.
 */
export interface CalibrationRecord extends DatasetTextOptions {
  readonly dataset: string;
  readonly samples: number;
}

/** Adds the record to the manifest of a folder ptq just wrote, replacing the file in one rename. */
export async function recordCalibration(directory: string, record: CalibrationRecord): Promise<void> {
  const manifest = await readOutputManifest(directory);
  if (typeof manifest !== 'object') return;
  const updated = { ...manifest, producer: { ...manifest.producer, calibration: record } };
  const file = path.join(directory, OUTPUT_MANIFEST_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(updated, null, 2)}\n`);
  await rename(temporary, file);
}

/** The record of an export folder, when its manifest has a valid one. */
export async function readCalibrationRecord(directory: string): Promise<CalibrationRecord | undefined> {
  const manifest = await readOutputManifest(directory);
  if (typeof manifest !== 'object') return undefined;
  const value = (manifest.producer as { calibration?: unknown }).calibration;
  if (typeof value !== 'object' || value === null) return undefined;
  const { dataset, samples, field, split, encoding } = value as Record<string, unknown>;
  if (typeof dataset !== 'string' || dataset === '') return undefined;
  if (!(typeof samples === 'number' && Number.isSafeInteger(samples) && samples >= 0)) return undefined;
  if (field !== undefined && typeof field !== 'string') return undefined;
  if (split !== undefined && !DATASET_SPLITS.includes(split as never)) return undefined;
  if (encoding !== undefined && !TEXT_ENCODINGS.includes(encoding as never)) return undefined;
  return {
    dataset,
    samples,
    ...(field === undefined ? {} : { field: field as string }),
    ...(split === undefined ? {} : { split: split as (typeof DATASET_SPLITS)[number] }),
    ...(encoding === undefined ? {} : { encoding: encoding as (typeof TEXT_ENCODINGS)[number] }),
  };
}
