import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { MODEL_DTYPES, QUANT_MODES } from '@ptq/types';
import { DATASET_SPLITS, TEXT_ENCODINGS } from './common-options';
import { choiceOption, valueOption, withDefault } from './option-spec';
import { parsePositiveInteger, parseText } from './parse-values';

export const DEFAULT_DATASET = 'cnn_dailymail';

/** `--model`, for commands that read a Hugging Face model or a ptq export. */
export const modelOption = withDefault(
  valueOption(
    '--model <id|path>',
    'Hugging Face hub id, model folder, or folder written by "ptq quantize"',
    parseText,
  ),
  DEFAULT_MODEL_DIR,
  'the bundled model',
);

/** How dataset files given by path become texts (the calibration package's `field`, `split`, `encoding`). */
export const DATASET_TEXT_OPTIONS = {
  datasetField: valueOption(
    '--dataset-field <name>',
    'field of .jsonl/.parquet records to read (default: text, else article)',
    parseText,
  ),
  datasetSplit: choiceOption(
    '--dataset-split <split>',
    '.txt files: one text per line or per blank-line-separated paragraph (default: the whole file)',
    DATASET_SPLITS,
  ),
  encoding: choiceOption(
    '--encoding <encoding>',
    'how dataset files are decoded (default: strict utf-8)',
    TEXT_ENCODINGS,
  ),
} as const;

/** The calibration flags of `quantize`, also taken by `generate` and `eval` with `--mode`. */
export const CALIBRATION_OPTIONS = {
  dataset: withDefault(
    valueOption(
      '--dataset <name|path>',
      'calibration texts: cnn_dailymail, wikitext, or a .txt/.jsonl/.parquet file or folder',
      parseText,
    ),
    DEFAULT_DATASET,
  ),
  calibSize: valueOption(
    '--calib-size <n>',
    'calibration samples (default: 64, or 16 for int4-weight-only)',
    parsePositiveInteger,
  ),
  batchSize: valueOption(
    '--batch-size <n>',
    'calibration samples per forward (default: 1, or 16 for int4-weight-only)',
    parsePositiveInteger,
  ),
  maxSampleLength: withDefault(
    valueOption('--max-sample-length <n>', 'tokens kept per calibration sample', parsePositiveInteger),
    512,
  ),
  ...DATASET_TEXT_OPTIONS,
} as const;

/** `--mode` where it is optional: quantize on the fly before running. */
export const onTheFlyModeOption = choiceOption(
  '--mode <mode>',
  'quantize a Hugging Face model on the fly first',
  QUANT_MODES,
);

/** Element type of the runtime model. */
export const dtypeOption = withDefault(
  choiceOption('--dtype <dtype>', 'element type of weights and activations', MODEL_DTYPES),
  undefined as (typeof MODEL_DTYPES)[number] | undefined,
  'float16 on a GPU, float32 on the CPU',
);

/** `--model` as JSON output names it: as given, or `bundled` for the default. */
export function modelNameForJson(model: string): string {
  return model === DEFAULT_MODEL_DIR ? 'bundled' : model;
}

/** The flags that only calibration reads, as `quantize` and `generate` name them (`eval` says `--calib-dataset`). */
export const CALIBRATION_FLAGS = [
  '--dataset',
  '--calib-size',
  '--batch-size',
  '--max-sample-length',
  '--dataset-field',
  '--dataset-split',
  '--encoding',
] as const;

/** Which of `flags` are in `given`, in the order of `flags`. */
export function flagsGiven(given: ReadonlySet<string>, flags: readonly string[]): string[] {
  return flags.filter((flag) => given.has(flag));
}
