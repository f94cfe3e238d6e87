import type { Value } from '@ptq/onnx';
import type { GraphContext } from './graph-context';

/**
 * The greedy token after the last row of `logits` (float32 `[tokens, vocab]`), int64 `[1, 1]`:
 * `ArgMax` of the last row, which takes the first of equal maxima, as the host's `argmax` does.
 * onnxruntime 1.30 runs `ArgMax` on the WebGPU provider (float32 and float16), so the token is
 * chosen on the device: two kernels, the `Slice` of the last row and the `ArgMax`.
 */
export function appendGreedyToken(context: GraphContext, logits: Value, outputName?: string): Value {
  const { builder } = context;
  const last = builder.node('Slice', [
    logits,
    context.int64s([-1]),
    context.int64s([2 ** 53]),
    context.int64s([0]),
  ]);
  // Named as the graph output it is, so no Identity copies it there.
  return builder.node('ArgMax', [last], { axis: 1, keepdims: 1 }, { outputNames: [outputName] });
}
