/** The quantization modes of the Tripy nanoGPT example (ModelOpt 0.41 semantics); frozen, as every package shares it. */
export const QUANT_MODES = Object.freeze(['int8-weight-only', 'int4-weight-only', 'float8'] as const);

export type QuantMode = (typeof QUANT_MODES)[number];

export function isQuantMode(value: unknown): value is QuantMode {
  return typeof value === 'string' && (QUANT_MODES as readonly string[]).includes(value);
}
