import type { TextEncoding, TextSplit } from '@ptq/calibration';
import { DEVICES, type Device, ENGINES, type Engine } from '@ptq/types';
import { booleanOption, choiceOption, withDefault } from './option-spec';

// Kept here rather than imported so that `ptq --help` and flag errors load no model code
// (onnxruntime, transformers.js); a test checks they match the packages' own lists. The modes,
// devices, dtypes and engines come from @ptq/types, which imports nothing at run time.
/** `--engine`: `ENGINES` of @ptq/types, re-exported. */
export { ENGINES };

/** What `ptq quantize` writes: ModelOpt's unified HF checkpoint, transformers.js ONNX, or QDQ ONNX. */
export const EXPORT_FORMATS = ['modelopt-hf', 'onnx', 'onnx-qdq'] as const;
export type ExportFormatName = (typeof EXPORT_FORMATS)[number];

/** `--dataset-split`: how a `.txt` dataset file becomes texts (default: the whole file is one). */
export const DATASET_SPLITS = ['lines', 'paragraphs'] as const satisfies readonly TextSplit[];

/** `--encoding`: how dataset files given by path are decoded. */
export const TEXT_ENCODINGS = ['utf-8', 'latin1', 'utf-16le'] as const satisfies readonly TextEncoding[];

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
