import type { ModelDType, QuantMode } from '@ptq/nanogpt';
import { EXPORT_FORMATS, type ExportFormat } from '@ptq/types';

/** `onnx`: the graph the runtime runs, in transformers.js layout; `onnx-qdq`: explicit Q/DQ for TensorRT. */
export type OnnxExportFormat = Exclude<ExportFormat, 'modelopt-hf'>;

export const ONNX_EXPORT_FORMATS: readonly OnnxExportFormat[] = EXPORT_FORMATS.filter(
  (format): format is OnnxExportFormat => format !== 'modelopt-hf',
);

/** The folder transformers.js loads ONNX files from. */
export const ONNX_SUBFOLDER = 'onnx';

export interface OnnxModelFile {
  /** File name inside `onnx/`, e.g. `model_q4.onnx`. */
  readonly fileName: string;
  /** The transformers.js `dtype` that loads it, when one exists (`q8`, `q4`, `q4f16`, `fp32`, `fp16`). */
  readonly transformersDtype: string | undefined;
}

/**
 * The file name of an export. transformers.js finds `onnx/model{suffix}.onnx` from its `dtype`
 * (`DEFAULT_DTYPE_SUFFIX_MAPPING`): fp32 `''`, fp16 `_fp16`, q8 `_quantized`, q4 `_q4`, q4f16 `_q4f16`.
 * float8 and int8 with float16 activations have no transformers.js dtype; their files (`model_fp8`,
 * `model_fp8f16`, `model_q8f16`) load with `model_file_name`. The QDQ graph is `model_qdq.onnx`.
 */
export function onnxModelFile(
  format: OnnxExportFormat,
  quantMode: QuantMode | undefined,
  dtype: ModelDType,
): OnnxModelFile {
  if (format === 'onnx-qdq') return { fileName: 'model_qdq.onnx', transformersDtype: undefined };
  const half = dtype === 'float16';
  switch (quantMode) {
    case 'int8-weight-only':
      return half
        ? { fileName: 'model_q8f16.onnx', transformersDtype: undefined }
        : { fileName: 'model_quantized.onnx', transformersDtype: 'q8' };
    case 'int4-weight-only':
      return half
        ? { fileName: 'model_q4f16.onnx', transformersDtype: 'q4f16' }
        : { fileName: 'model_q4.onnx', transformersDtype: 'q4' };
    case 'float8':
      return { fileName: half ? 'model_fp8f16.onnx' : 'model_fp8.onnx', transformersDtype: undefined };
    default:
      return half
        ? { fileName: 'model_fp16.onnx', transformersDtype: 'fp16' }
        : { fileName: 'model.onnx', transformersDtype: 'fp32' };
  }
}
