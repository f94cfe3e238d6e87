import type { InferenceSession } from 'onnxruntime-node';

/**
 * `sessionOptions` with onnxruntime's CPU kernels kept from prepacking constant weights. A MatMul
 * weight prepacked at session creation is summed in another float32 order than the same weight fed
 * as an input or packed per run, so sessions whose results must agree bit for bit however they hold
 * their weights (calibration's whole-model sessions and its block sessions) all leave them unpacked.
 * Packing per run costs one pass over the weight, little beside a run over many tokens.
 */
export function withUnpackedWeights(
  sessionOptions: InferenceSession.SessionOptions = {},
): InferenceSession.SessionOptions {
  const extra = (sessionOptions.extra ?? {}) as Record<string, unknown>;
  const session = (extra.session ?? {}) as Record<string, unknown>;
  return {
    ...sessionOptions,
    extra: { ...extra, session: { ...session, disable_prepacking: '1' } },
  };
}
