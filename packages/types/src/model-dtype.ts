/**
 * Element type of every float parameter (weights, biases, norms, scales) and of the activations.
 * Frozen, as every package shares it.
 */
export const MODEL_DTYPES = Object.freeze(['float32', 'float16'] as const);

export type ModelDType = (typeof MODEL_DTYPES)[number];
