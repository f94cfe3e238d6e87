/** Element type of every float parameter (weights, biases, norms, scales) and of the activations. */
export const MODEL_DTYPES = ['float32', 'float16'] as const;

export type ModelDType = (typeof MODEL_DTYPES)[number];
