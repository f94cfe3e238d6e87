/**
 * What `ptq quantize` writes: ModelOpt's unified Hugging Face checkpoint, the ONNX graph the runtime
 * runs (transformers.js layout), or explicit Q/DQ ONNX for TensorRT. Frozen, as every package shares it.
 */
export const EXPORT_FORMATS = Object.freeze(['modelopt-hf', 'onnx', 'onnx-qdq'] as const);

export type ExportFormat = (typeof EXPORT_FORMATS)[number];
