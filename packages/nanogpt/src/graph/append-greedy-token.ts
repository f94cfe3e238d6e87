import type { Value } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { type GraphContext, ONNX_INT64 } from './graph-context';

/**
 * The greedy token after each row of `logits` (float32 `[rows, vocab]`), int64 `[rows, 1]`: the
 * lowest index whose logit equals the row's maximum, which is ArgMax's rule (first of equal maxima)
 * and the host's `argmax`. Built from ReduceMax / Equal / Where / ReduceMin rather than `ArgMax`:
 * onnxruntime 1.30's WebGPU `ArgMax` reduces a row in one thread, 1.8 ms of GPU time per step for
 * GPT-2's 50257 logits on an H100, where these six kernels take about 80 µs (ReduceMax and
 * ReduceMin reduce in a workgroup). A row without a maximum (NaN) gives the last token rather than
 * an index outside the vocabulary.
 */
export function appendGreedyToken(
  context: GraphContext,
  logits: Value,
  vocabSize: number,
  outputName?: string,
): Value {
  const { builder } = context;
  const vocabAxis = context.int64s([1]);
  const maximum = builder.node('ReduceMax', [logits, vocabAxis], { keepdims: 1 });
  // Token indices as float32 are exact (vocabularies are far below 2^24).
  const indices = builder.constant(
    createTensor(
      'float32',
      [vocabSize],
      Float32Array.from({ length: vocabSize }, (_, index) => index),
    ),
  );
  const outside = context.scalar(vocabSize, 'float32');
  const candidates = builder.node('Where', [builder.node('Equal', [logits, maximum]), indices, outside]);
  const first = builder.node('ReduceMin', [candidates, vocabAxis], { keepdims: 1 });
  const inVocabulary = builder.node('Min', [first, context.scalar(vocabSize - 1, 'float32')]);
  // Named as the graph output it is, so no Identity copies it there.
  return builder.node('Cast', [inVocabulary], { to: ONNX_INT64 }, { outputNames: [outputName] });
}
