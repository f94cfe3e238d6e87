import type { Value } from '@ptq/onnx-format';
import type { GPT } from '../modules/gpt';
import { appendLayerNorm } from './append-layer-norm';
import type { BlocksInputs, BlocksOutput, LinearAppender, MaskInputs } from './blocks';
import type { GraphContext } from './graph-context';

/**
 * The transformer blocks from standard ONNX ops only (plus `FastGelu`): attention as
 * `MatMul`/`Softmax`/`Concat`, residual `Add`s, `LayerNormalization`. Any ONNX consumer reads it
 * (the exports use it); `compile` prefers the fused blocks.
 */
export function appendStandardBlocks(
  context: GraphContext,
  model: GPT,
  inputs: BlocksInputs,
  masking: MaskInputs,
  linear: LinearAppender,
): BlocksOutput {
  const { builder } = context;
  const { numHeads, embeddingSize } = model.config;
  const headSize = embeddingSize / numHeads;
  const positions = builder.node('Gather', [inputs.wpe, masking.positionIds], { axis: 0 });
  let hidden = builder.node('Add', [inputs.embedded, positions]);

  const queryScale = context.scalar(1 / Math.sqrt(headSize));
  const splitSizes = context.int64s([embeddingSize, embeddingSize, embeddingSize]);
  const headsShape = context.int64s([0, 0, numHeads, headSize]);
  const mergedShape = context.int64s([0, 0, embeddingSize]);
  const toHeads = (x: Value) =>
    builder.node('Transpose', [builder.node('Reshape', [x, headsShape])], { perm: [0, 2, 1, 3] });

  const presents: Array<[Value, Value]> = [];
  model.transformer.h.forEach((block, layer) => {
    const prefix = `transformer.h.${layer}`;
    const { c_attn, c_proj } = block.attn;
    const attnScale = inputs.foldPreQuantScale ? c_attn.pre_quant_scale : undefined;
    const normed1 = appendLayerNorm(context, `${prefix}.ln_1`, block.ln_1, hidden, attnScale);
    const qkv = linear(`${prefix}.attn.c_attn`, c_attn, normed1, { preScaleFolded: attnScale !== undefined });
    const [query, key, value] = builder.nodeWithOutputs('Split', [qkv, splitSizes], 3, { axis: 2 }) as [
      Value,
      Value,
      Value,
    ];
    const keys = builder.node('Concat', [inputs.pastKeys[layer]!, toHeads(key)], { axis: 2 });
    const values = builder.node('Concat', [inputs.pastValues[layer]!, toHeads(value)], { axis: 2 });
    presents.push([keys, values]);
    const scores = builder.node('MatMul', [
      builder.node('Mul', [toHeads(query), queryScale]),
      builder.node('Transpose', [keys], { perm: [0, 1, 3, 2] }),
    ]);
    const probabilities = builder.node(
      'Softmax',
      [builder.node('Where', [masking.allowed, scores, masking.maskedScore])],
      { axis: -1 },
    );
    const attended = builder.node('Transpose', [builder.node('MatMul', [probabilities, values])], {
      perm: [0, 2, 1, 3],
    });
    const merged = builder.node('Reshape', [attended, mergedShape]);
    hidden = builder.node('Add', [hidden, linear(`${prefix}.attn.c_proj`, c_proj, merged)]);

    const { c_fc, c_proj: down } = block.mlp;
    const mlpScale = inputs.foldPreQuantScale ? c_fc.pre_quant_scale : undefined;
    const normed2 = appendLayerNorm(context, `${prefix}.ln_2`, block.ln_2, hidden, mlpScale);
    const expanded = linear(`${prefix}.mlp.c_fc`, c_fc, normed2, { preScaleFolded: mlpScale !== undefined });
    // gelu_new, GPT-2's tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    const activated = builder.node('FastGelu', [expanded], {}, { domain: 'com.microsoft' });
    hidden = builder.node('Add', [hidden, linear(`${prefix}.mlp.c_proj`, down, activated)]);
  });

  const normalized = appendLayerNorm(context, 'transformer.ln_f', model.transformer.ln_f, hidden);
  return { normalized, presents, unflatten: undefined };
}
