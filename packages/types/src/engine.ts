/**
 * What runs a compiled model: onnxruntime's session, ptq's own WebGPU kernels (Dawn), or `auto`, the
 * kernels where a GPU adapter runs them and onnxruntime otherwise. Frozen, as every package shares it.
 */
export const ENGINES = Object.freeze(['onnxruntime', 'kernels', 'auto'] as const);

export type Engine = (typeof ENGINES)[number];
