import { GraphBuilder, type ModelDefinition, type Value } from '@ptq/onnx';
import { FLOAT16_MAX, type Tensor, toFloat32 } from '@ptq/tensor';
import type { GPT } from '../modules/gpt';
import type { LayerNorm } from '../modules/layer-norm';
import type { Linear } from '../modules/linear';
import { appendLinear } from './append-linear';
import { appendAttentionAllowed } from './attention-mask';
import { checkWeightValues } from './check-weight-values';
import { GraphContext, ONNX_FLOAT } from './graph-context';
import {
  ATTENTION_MASK,
  BATCH_DIMENSION,
  INPUT_IDS,
  LOGITS,
  PAST_SEQUENCE_DIMENSION,
  POSITION_IDS,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
  SEQUENCE_DIMENSION,
  TOTAL_SEQUENCE_DIMENSION,
} from './graph-io';
import type { WeightFormat } from './weight-format';

export interface BuildGraphOptions {
  /** Storage of quantized weights; required when the model is quantized (see `resolveWeightFormat`). */
  readonly weightFormat?: WeightFormat | undefined;
  /**
   * Default true: fold the AWQ `pre_quant_scale` of `c_attn` / `c_fc` into `ln_1` / `ln_2`
   * (`ln.weight *= s`, `ln.bias *= s`). With false, every linear multiplies its input by it.
   */
  readonly foldPreQuantScale?: boolean;
}

// Masked attention scores: the lowest finite value of the dtype (never -Inf, so a row with every key
// masked, a left-pad query, softmaxes to a finite uniform row instead of NaN).
const MASKED_SCORE_FLOAT32 = -3.4028234663852886e38;
const MASKED_SCORE_FLOAT16 = -FLOAT16_MAX;

/** A LayerNorm's weight and bias, with a pre-quant scale folded in when given. */
function layerNormParameters(
  context: GraphContext,
  path: string,
  norm: LayerNorm,
  foldedScale: Tensor | undefined,
): [Value, Value | undefined] {
  const { builder } = context;
  if (foldedScale === undefined) {
    return [
      builder.initializer(`${path}.weight`, norm.weight),
      norm.bias === undefined ? undefined : builder.initializer(`${path}.bias`, norm.bias),
    ];
  }
  const scale = toFloat32(foldedScale);
  const scaled = (tensor: Tensor) => toFloat32(tensor).map((value, index) => value * scale[index]!);
  return [
    context.floatInitializer(`${path}.weight`, [norm.width], scaled(norm.weight)),
    norm.bias === undefined
      ? undefined
      : context.floatInitializer(`${path}.bias`, [norm.width], scaled(norm.bias)),
  ];
}

function appendLayerNorm(
  context: GraphContext,
  path: string,
  norm: LayerNorm,
  x: Value,
  foldedScale?: Tensor,
): Value {
  const [weight, bias] = layerNormParameters(context, path, norm, foldedScale);
  return context.builder.node('LayerNormalization', [x, weight, bias], {
    axis: -1,
    epsilon: { type: 'float', value: norm.epsilon },
  });
}

/**
 * The model as an ONNX graph with a KV cache, in the input/output layout of transformers.js decoder
 * models: `input_ids`, `attention_mask` `[batch, past + sequence]`, `position_ids`,
 * `past_key_values.{i}.key|value` `[batch, heads, past, head_size]` in; `logits` (always float32)
 * and `present.{i}.key|value` `[batch, heads, past + sequence, head_size]` out. An empty past
 * (`past = 0`) makes it a plain full-sequence forward.
 *
 * Quantized weights go in as codes made here from the float weight and its scale (see
 * `WeightFormat`); AWQ pre-quant scales are folded into the LayerNorms before `c_attn` and `c_fc`
 * and multiply the input of both `c_proj`.
 */
export function buildGptGraph(model: GPT, options: BuildGraphOptions = {}): ModelDefinition {
  checkWeightValues(model);
  const { config } = model;
  const { numHeads, embeddingSize, vocabSize, dtype } = config;
  const headSize = embeddingSize / numHeads;
  const fold = options.foldPreQuantScale ?? true;
  const builder = new GraphBuilder({
    name: 'nanogpt',
    metadata: {
      'ptq.quant_mode': config.quantMode ?? 'none',
      'ptq.weight_format': options.weightFormat ?? 'none',
    },
  });
  const context = new GraphContext(builder, dtype);
  const linear = (path: string, module: Linear, x: Value, preScaleFolded = false) =>
    appendLinear(context, path, module, x, {
      weightFormat: options.weightFormat,
      applyPreQuantScale: !preScaleFolded,
    });

  const inputIds = builder.input(INPUT_IDS, 'int64', [BATCH_DIMENSION, SEQUENCE_DIMENSION]);
  const attentionMask = builder.input(ATTENTION_MASK, 'int64', [BATCH_DIMENSION, TOTAL_SEQUENCE_DIMENSION]);
  const positionIds = builder.input(POSITION_IDS, 'int64', [BATCH_DIMENSION, SEQUENCE_DIMENSION]);
  const cacheShape = [BATCH_DIMENSION, numHeads, PAST_SEQUENCE_DIMENSION, headSize];
  const presentShape = [BATCH_DIMENSION, numHeads, TOTAL_SEQUENCE_DIMENSION, headSize];
  const pastKeys = model.transformer.h.map((_, layer) =>
    builder.input(pastKeyName(layer), dtype, cacheShape),
  );
  const pastValues = model.transformer.h.map((_, layer) =>
    builder.input(pastValueName(layer), dtype, cacheShape),
  );

  const wte = builder.initializer('transformer.wte.weight', model.transformer.wte.weight);
  const wpe = builder.initializer('transformer.wpe.weight', model.transformer.wpe.weight);
  let hidden = builder.node('Add', [
    builder.node('Gather', [wte, inputIds], { axis: 0 }),
    builder.node('Gather', [wpe, positionIds], { axis: 0 }),
  ]);

  const allowed = appendAttentionAllowed(context, inputIds, attentionMask);
  const maskedScore = context.scalar(dtype === 'float16' ? MASKED_SCORE_FLOAT16 : MASKED_SCORE_FLOAT32);
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
    const attnScale = fold ? c_attn.pre_quant_scale : undefined;
    const normed1 = appendLayerNorm(context, `${prefix}.ln_1`, block.ln_1, hidden, attnScale);
    const qkv = linear(`${prefix}.attn.c_attn`, c_attn, normed1, attnScale !== undefined);
    const [query, key, value] = builder.nodeWithOutputs('Split', [qkv, splitSizes], 3, { axis: 2 }) as [
      Value,
      Value,
      Value,
    ];
    const keys = builder.node('Concat', [pastKeys[layer]!, toHeads(key)], { axis: 2 });
    const values = builder.node('Concat', [pastValues[layer]!, toHeads(value)], { axis: 2 });
    presents.push([keys, values]);
    const scores = builder.node('MatMul', [
      builder.node('Mul', [toHeads(query), queryScale]),
      builder.node('Transpose', [keys], { perm: [0, 1, 3, 2] }),
    ]);
    const probabilities = builder.node('Softmax', [builder.node('Where', [allowed, scores, maskedScore])], {
      axis: -1,
    });
    const attended = builder.node('Transpose', [builder.node('MatMul', [probabilities, values])], {
      perm: [0, 2, 1, 3],
    });
    const merged = builder.node('Reshape', [attended, mergedShape]);
    hidden = builder.node('Add', [hidden, linear(`${prefix}.attn.c_proj`, c_proj, merged)]);

    const { c_fc, c_proj: down } = block.mlp;
    const mlpScale = fold ? c_fc.pre_quant_scale : undefined;
    const normed2 = appendLayerNorm(context, `${prefix}.ln_2`, block.ln_2, hidden, mlpScale);
    const expanded = linear(`${prefix}.mlp.c_fc`, c_fc, normed2, mlpScale !== undefined);
    // gelu_new, GPT-2's tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    const activated = builder.node('FastGelu', [expanded], {}, { domain: 'com.microsoft' });
    hidden = builder.node('Add', [hidden, linear(`${prefix}.mlp.c_proj`, down, activated)]);
  });

  const normed = appendLayerNorm(context, 'transformer.ln_f', model.transformer.ln_f, hidden);
  const head = model.lm_head;
  const tiedAndPlain = model.weightsTied && head.quantDtype === undefined;
  let logits = appendLinear(context, 'lm_head', head, normed, {
    weightFormat: options.weightFormat,
    applyPreQuantScale: true,
    sharedWeight: tiedAndPlain ? wte : undefined,
  });
  if (dtype === 'float16') {
    logits = builder.node('Cast', [logits], { to: ONNX_FLOAT });
  }
  builder.output(logits, LOGITS, 'float32', [BATCH_DIMENSION, SEQUENCE_DIMENSION, vocabSize]);
  presents.forEach(([keys, values], layer) => {
    builder.output(keys, presentKeyName(layer), dtype, presentShape);
    builder.output(values, presentValueName(layer), dtype, presentShape);
  });
  return builder.build();
}
