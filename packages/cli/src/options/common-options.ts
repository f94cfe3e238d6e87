import { TEXT_ENCODINGS, TEXT_SPLITS } from '@ptq/files';
import { DEVICES, type Device, ENGINES, type Engine, EXPORT_FORMATS, type ExportFormat } from '@ptq/types';
import { booleanOption, choiceOption, withDefault } from './option-spec';

// The lists come from packages that load no model code (onnxruntime, transformers.js) at run time,
// so `ptq --help` and flag errors stay fast: modes, devices, dtypes, engines and export formats from
// @ptq/types, text encodings and splits from @ptq/files.
/** `--engine`: `ENGINES` of @ptq/types, re-exported. */
/** What `ptq quantize` writes (`--format`): `EXPORT_FORMATS` of @ptq/types. */
export { ENGINES, EXPORT_FORMATS };
export type ExportFormatName = ExportFormat;

/** `--dataset-split`: how a `.txt` dataset file becomes texts (default: the whole file is one). */
export const DATASET_SPLITS = TEXT_SPLITS;

/** `--encoding`: how dataset files given by path are decoded. */
export { TEXT_ENCODINGS };

/** `--algorithm` of int4: AWQ-lite, round-to-nearest (ModelOpt's max calibration), or the better of both. */
export const INT4_ALGORITHMS = ['auto', 'awq_lite', 'max'] as const;
export type Int4Algorithm = (typeof INT4_ALGORITHMS)[number];

/** Flags every command takes. */
export const GLOBAL_OPTIONS = {
  json: booleanOption('--json', 'print one JSON object on stdout instead of text'),
  quiet: booleanOption('-q, --quiet', 'print nothing but errors: no progress, notices, warnings or timings'),
  verbose: booleanOption('--verbose', 'print the stack trace of an error'),
} as const;

export type GlobalOptionTable = typeof GLOBAL_OPTIONS;

export const engineOption = withDefault(
  choiceOption(
    '--engine <engine>',
    "what runs the model: onnxruntime, kernels (ptq's own WebGPU kernels, batch 1 to 32) or auto (the kernels on a GPU adapter, else onnxruntime)",
    ENGINES,
  ),
  'auto' as Engine,
);

export const deviceOption = withDefault(
  choiceOption('--device <device>', 'where the model runs (auto: a GPU when present, else the CPU)', DEVICES),
  'auto' as Device,
);
