import type { Value } from '@ptq/onnx-format';
import { type GraphContext, ONNX_BOOL } from './graph-context';

/**
 * `allowed [batch, 1, sequence, total]`: query `q` (absolute position `past + q`) may attend key `k`
 * when `k ≤ past + q` (causal) and `attention_mask[b, k] = 1` (not padding). `past` is
 * `total - sequence`, read from the input shapes, so one graph serves prefill and decode.
 */
export function appendAttentionAllowed(context: GraphContext, inputIds: Value, attentionMask: Value): Value {
  const { builder } = context;
  const sequence = builder.node('Gather', [builder.node('Shape', [inputIds]), context.int64(1)], { axis: 0 });
  const total = builder.node('Gather', [builder.node('Shape', [attentionMask]), context.int64(1)], {
    axis: 0,
  });
  const past = builder.node('Sub', [total, sequence]);
  const keys = builder.node('Range', [context.int64(0), total, context.int64(1)]);
  const queries = builder.node('Range', [past, total, context.int64(1)]);
  const causal = builder.node('LessOrEqual', [
    builder.node('Unsqueeze', [keys, context.int64s([0])]),
    builder.node('Unsqueeze', [queries, context.int64s([1])]),
  ]);
  const notPadding = builder.node('Unsqueeze', [
    builder.node('Cast', [attentionMask], { to: ONNX_BOOL }),
    context.int64s([1, 2]),
  ]);
  return builder.node('And', [causal, notPadding]);
}
