import { createTensor } from '@ptq/tensor';
import type { GraphBuilder } from './graph-builder';
import type { Value } from './model-definition';

/**
 * `log softmax(logits)[target]` over the last axis: float32 `logits [..., vocab]` and int64
 * `targets [...]` in, float32 `[...]` out, so only one float per position leaves the device. Written
 * as `x_t - max - log Σ exp(x - max)` rather than `LogSoftmax`, which onnxruntime 1.30's WebGPU
 * provider lacks (it would run on the CPU, copying every logit to the host); subtracting the maximum
 * keeps GPT-2's large negative logits from underflowing the sum.
 */
export function appendTargetLogProbabilities(builder: GraphBuilder, logits: Value, targets: Value): Value {
  const lastAxis = builder.constant(createTensor('int64', [1], BigInt64Array.of(-1n)));
  const maximum = builder.node('ReduceMax', [logits, lastAxis], { keepdims: 1 });
  const shifted = builder.node('Sub', [logits, maximum]);
  const logSum = builder.node('Log', [
    builder.node('ReduceSum', [builder.node('Exp', [shifted]), lastAxis], { keepdims: 1 }),
  ]);
  const picked = builder.node('GatherElements', [shifted, builder.node('Unsqueeze', [targets, lastAxis])], {
    axis: -1,
  });
  return builder.node('Squeeze', [builder.node('Sub', [picked, logSum]), lastAxis]);
}
