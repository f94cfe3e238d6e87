import { InvalidArgumentError } from '@ptq/errors';
import { GraphBuilder, type ModelDefinition, type Value } from '@ptq/onnx-format';
import { FLOAT16_MAX, type Tensor, transposeTensor } from '@ptq/tensor';
import type { ModelDType } from '../config';
import type { GPT } from '../modules/gpt';
import { appendGreedyToken } from './append-greedy-token';
import { appendLinear } from './append-linear';
import { appendAttentionAllowed } from './attention-mask';
import type { BlocksInputs, GraphOperators, LinearAppender } from './blocks';
import { checkWeightValues } from './check-weight-values';
import { appendFusedBlocks } from './fused-blocks';
import { GraphContext, ONNX_FLOAT } from './graph-context';
import {
  ATTENTION_MASK,
  BATCH_DIMENSION,
  hostNode,
  INPUT_IDS,
  KEPT_SEQUENCE_DIMENSION,
  LOGITS,
  NEXT_TOKEN,
  NUM_LOGITS_TO_KEEP,
  PAST_SEQUENCE_DIMENSION,
  POSITION_IDS,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
  SEQUENCE_DIMENSION,
  TOTAL_SEQUENCE_DIMENSION,
} from './graph-io';
import { appendStandardBlocks } from './standard-blocks';
import type { WeightFormat } from './weight-format';

export interface BuildGraphOptions {
  /** Storage of quantized weights; required when the model is quantized (see `resolveWeightFormat`). */
  readonly weightFormat?: WeightFormat | undefined;
  /**
   * Default true: fold the AWQ `pre_quant_scale` of `c_attn` / `c_fc` into `ln_1` / `ln_2`
   * (`ln.weight *= s`, `ln.bias *= s`). With false, every linear multiplies its input by it.
   */
  readonly foldPreQuantScale?: boolean;
  /**
   * `'standard'` (the default): standard ONNX ops that any consumer reads. `'fused'`: onnxruntime's
   * `com.microsoft` fused kernels (SkipLayerNormalization, MultiHeadAttention, FastGelu with bias),
   * about a third of the nodes, which is what `compile` runs.
   */
  readonly operators?: GraphOperators;
  /**
   * Fused operators only: a graph for one row without padding, whose only inputs are `input_ids` and
   * the cache (positions follow the cache length; attention is causal). Default false.
   */
  readonly singleRow?: boolean;
  /**
   * Fused operators only: split long one-row products (`innerSplitParts`), which onnxruntime's
   * WebGPU `MatMul` runs three times faster; `compile` turns it on for WebGPU. Default false: on the
   * CPU the split form is slower (a 32-token forward of GPT-2-124M took twice as long).
   */
  readonly splitLongProducts?: boolean;
}

// Masked attention scores: the lowest finite value of the dtype (never -Inf, so a row with every key
// masked, a left-pad query, softmaxes to a finite uniform row instead of NaN).
const MASKED_SCORE_FLOAT32 = -3.4028234663852886e38;
const MASKED_SCORE_FLOAT16 = -FLOAT16_MAX;

/**
 * The model as an ONNX graph with a KV cache, in the input/output layout of transformers.js decoder
 * models: `input_ids`, `attention_mask` `[batch, past + sequence]`, `position_ids`,
 * `past_key_values.{i}.key|value` `[batch, heads, past, head_size]` in; `logits` (always float32)
 * and `present.{i}.key|value` `[batch, heads, past + sequence, head_size]` out. An empty past
 * (`past = 0`) makes it a plain full-sequence forward.
 *
 * Quantized weights go in as codes made here from the float weight and its scale (see
 * `WeightFormat`); AWQ pre-quant scales are folded into the LayerNorms before `c_attn` and `c_fc`
 * and multiply the input of both `c_proj` (fused graphs fold `attn.c_proj`'s into the value rows of
 * `c_attn`, and keep a tied, unquantized embedding transposed for the head's `MatMul`).
 */
export function buildGptGraph(model: GPT, options: BuildGraphOptions = {}): ModelDefinition {
  checkWeightValues(model);
  const { config } = model;
  const { numHeads, embeddingSize, vocabSize, dtype } = config;
  const headSize = embeddingSize / numHeads;
  const context = newGraphContext('nanogpt', model, options.weightFormat);
  const { builder } = context;

  const operators = options.operators ?? 'standard';
  const singleRow = options.singleRow ?? false;
  if (singleRow && operators !== 'fused') {
    throw new InvalidArgumentError('singleRow', "needs operators: 'fused'");
  }
  const inputIds = builder.input(INPUT_IDS, 'int64', [BATCH_DIMENSION, SEQUENCE_DIMENSION]);
  const attentionMask = singleRow
    ? undefined
    : builder.input(ATTENTION_MASK, 'int64', [BATCH_DIMENSION, TOTAL_SEQUENCE_DIMENSION]);
  const positionIds = singleRow
    ? undefined
    : builder.input(POSITION_IDS, 'int64', [BATCH_DIMENSION, SEQUENCE_DIMENSION]);
  const logitsToKeep = singleRow ? builder.input(NUM_LOGITS_TO_KEEP, 'int64', []) : undefined;
  const presentShape = [BATCH_DIMENSION, numHeads, TOTAL_SEQUENCE_DIMENSION, headSize];
  const { pastKeys, pastValues } = appendCacheInputs(context, model, BATCH_DIMENSION);

  const table = appendEmbeddingTable(context, model, operators);
  const embedded = appendEmbeddingLookup(context, table, inputIds);
  const wpe = builder.initializer('transformer.wpe.weight', model.transformer.wpe.weight);
  const blocksInputs: BlocksInputs = {
    embedded,
    wpe,
    pastKeys,
    pastValues,
    masking:
      attentionMask === undefined || positionIds === undefined
        ? undefined
        : {
            positionIds,
            allowed: appendAttentionAllowed(context, inputIds, attentionMask),
            maskedScore: context.scalar(dtype === 'float16' ? MASKED_SCORE_FLOAT16 : MASKED_SCORE_FLOAT32),
          },
    foldPreQuantScale: options.foldPreQuantScale ?? true,
    splitLongProducts: options.splitLongProducts ?? false,
  };
  const linear = linearAppender(context, options.weightFormat, operators === 'fused');
  // A standard graph always has its mask (single-row graphs are fused only, checked above).
  const { normalized, presents, unflatten } =
    operators === 'standard' && blocksInputs.masking !== undefined
      ? appendStandardBlocks(context, model, blocksInputs, blocksInputs.masking, linear)
      : appendFusedBlocks(context, model, blocksInputs, linear);

  // Single-row graphs: only the last `num_logits_to_keep` positions (0: all) go through the head, so
  // a prompt run for generation computes one row of logits rather than one per prompt token.
  const headInput =
    logitsToKeep === undefined ? normalized : appendKeptRows(context, normalized, logitsToKeep);
  let logits = appendHead(context, model, table, headInput, {
    weightFormat: options.weightFormat,
    foldInputScale: operators === 'fused',
  });
  // Single-row graphs: the greedy token after each kept position, chosen on the device; with one
  // kept, it is fed straight back as the next step's input_ids, so a greedy decode loop never copies
  // logits to the host.
  const nextToken = singleRow ? appendGreedyToken(context, logits, vocabSize, NEXT_TOKEN) : undefined;
  if (unflatten !== undefined) {
    // One row: [1, kept, vocab]; a batch: [batch, sequence, vocab].
    const shape = singleRow ? context.int64s([1, -1, vocabSize]) : unflatten(vocabSize);
    logits = builder.node('Reshape', [logits, shape], {}, { outputNames: [LOGITS] });
  }
  builder.output(logits, LOGITS, 'float32', [
    BATCH_DIMENSION,
    singleRow ? KEPT_SEQUENCE_DIMENSION : SEQUENCE_DIMENSION,
    vocabSize,
  ]);
  if (nextToken !== undefined) builder.output(nextToken, NEXT_TOKEN, 'int64', [KEPT_SEQUENCE_DIMENSION, 1]);
  presents.forEach(([keys, values], layer) => {
    builder.output(keys, presentKeyName(layer), dtype, presentShape);
    builder.output(values, presentValueName(layer), dtype, presentShape);
  });
  return builder.build();
}

/**
 * The last `keep` rows of `rows` (`[tokens, embedding]`), all of them when `keep` is 0: a `Slice`
 * from `-keep`, whose start the host computes from the host input (nodes pinned to the CPU).
 */
function appendKeptRows(context: GraphContext, rows: Value, keep: Value): Value {
  const { builder } = context;
  const keepVector = builder.node('Reshape', [keep, context.int64s([1])], {}, hostNode('logits_to_keep'));
  const start = builder.node('Neg', [keepVector], {}, hostNode('kept_start'));
  return builder.node('Slice', [rows, start, context.int64s([2 ** 53]), context.int64s([0])]);
}

/** Each layer's `past_key_values.*.key` inputs, then its `.value` inputs, `[batch, heads, past, head_size]`. */
export function appendCacheInputs(
  context: GraphContext,
  model: GPT,
  batch: string | number,
): { pastKeys: Value[]; pastValues: Value[] } {
  const { numHeads, embeddingSize } = model.config;
  const shape = [batch, numHeads, PAST_SEQUENCE_DIMENSION, embeddingSize / numHeads];
  const inputs = (name: (layer: number) => string) =>
    model.transformer.h.map((_, layer) => context.builder.input(name(layer), context.dtype, shape));
  return { pastKeys: inputs(pastKeyName), pastValues: inputs(pastValueName) };
}

/** A graph builder for `model`, its quant mode and weight format in the metadata, in a context of its dtype. */
export function newGraphContext(
  name: string,
  model: GPT,
  weightFormat: WeightFormat | undefined,
): GraphContext {
  const builder = new GraphBuilder({
    name,
    metadata: {
      'ptq.quant_mode': model.config.quantMode ?? 'none',
      'ptq.weight_format': weightFormat ?? 'none',
    },
  });
  return new GraphContext(builder, model.config.dtype);
}

/** The blocks' linears through `appendLinear`, in `weightFormat`. */
export function linearAppender(
  context: GraphContext,
  weightFormat: WeightFormat | undefined,
  foldInputScale: boolean,
): LinearAppender {
  return (path, module, x, options = {}) =>
    appendLinear(context, path, module, x, {
      weightFormat,
      applyPreQuantScale: !(options.preScaleFolded ?? false),
      bias: options.bias,
      outputScale: options.outputScale,
      splitInner: options.splitInner,
      foldInputScale,
    });
}

/** The token embedding table as a graph holds it, shared by the lookup and a tied head. */
export interface EmbeddingTable {
  readonly value: Value;
  /** `[embedding, vocab]` rather than the checkpoint's `[vocab, embedding]`. */
  readonly transposed: boolean;
  /** The head is the embedding itself: tied, unquantized, no bias, no pre-quant scale. */
  readonly tiedAndPlain: boolean;
}

export function appendEmbeddingTable(
  context: GraphContext,
  model: GPT,
  operators: GraphOperators,
): EmbeddingTable {
  const head = model.lm_head;
  const tiedAndPlain =
    model.weightsTied &&
    head.quantDtype === undefined &&
    head.bias === undefined &&
    head.pre_quant_scale === undefined;
  // Fused graphs keep a tied embedding as [embedding, vocab], the layout the head's one-row MatMul
  // reads fastest (measured: `bench/linear-kernels.ts`), and gather its columns; standard graphs
  // (the exports) keep the checkpoint's [vocab, embedding].
  const transposed = operators === 'fused' && tiedAndPlain;
  const value = transposed
    ? context.builder.initializer(
        'transformer.wte.weight_transposed',
        transposeTensor(model.transformer.wte.weight as Tensor<ModelDType>),
      )
    : context.builder.initializer('transformer.wte.weight', model.transformer.wte.weight);
  return { value, transposed, tiedAndPlain };
}

/** The token embeddings of `inputIds`, `[batch, sequence, embedding]`. */
export function appendEmbeddingLookup(context: GraphContext, table: EmbeddingTable, inputIds: Value): Value {
  const { builder } = context;
  return table.transposed
    ? builder.node('Transpose', [builder.node('Gather', [table.value, inputIds], { axis: 1 })], {
        perm: [1, 2, 0],
      })
    : builder.node('Gather', [table.value, inputIds], { axis: 0 });
}

/** The head's logits of `input` rows, always float32. */
export function appendHead(
  context: GraphContext,
  model: GPT,
  table: EmbeddingTable,
  input: Value,
  options: { weightFormat: WeightFormat | undefined; foldInputScale: boolean },
): Value {
  const logits = table.transposed
    ? context.builder.node('MatMul', [input, table.value])
    : appendLinear(context, 'lm_head', model.lm_head, input, {
        weightFormat: options.weightFormat,
        applyPreQuantScale: true,
        sharedWeight: table.tiedAndPlain ? table.value : undefined,
        foldInputScale: options.foldInputScale,
      });
  return model.config.dtype === 'float16'
    ? context.builder.node('Cast', [logits], { to: ONNX_FLOAT })
    : logits;
}
