/** The quantization modes of the Tripy nanoGPT example (ModelOpt 0.41 semantics). */
export const QUANT_MODES = ['int8-weight-only', 'int4-weight-only', 'float8'] as const;

export type QuantMode = (typeof QUANT_MODES)[number];
