import type { Value } from '@ptq/onnx-format';
import { type Tensor, toFloat32 } from '@ptq/tensor';
import type { GPT } from '../modules/gpt';
import type { Linear } from '../modules/linear';
import { appendSkipLayerNorm } from './append-layer-norm';
import { canFoldOutputScale, innerSplitParts } from './append-linear';
import type { BlocksInputs, BlocksOutput, LinearAppender, MaskInputs } from './blocks';
import { type GraphContext, ONNX_INT32, tokensShape } from './graph-context';
import { hostNode, presentKeyName, presentValueName } from './graph-io';

/** Factors for the `[query; key; value]` rows of `c_attn`: 1 for queries and keys, `scale` for values. */
function valueRowsScale(scale: Float32Array, embeddingSize: number): Float32Array {
  const factors = new Float32Array(3 * embeddingSize).fill(1);
  factors.set(scale, 2 * embeddingSize);
  return factors;
}

/** Attention of one layer: `qkv [tokens, 3 · embedding]` in, `[tokens, embedding]` and the presents out. */
export type AttentionAppender = (
  qkv: Value,
  layer: number,
) => { attended: Value; presentKey: Value; presentValue: Value };

const MS_DOMAIN = 'com.microsoft';

/**
 * The transformer blocks from onnxruntime's fused `com.microsoft` kernels, on tokens flattened to
 * `[batch · sequence, embedding]`; each op is a kernel dispatch (or a few), which is what a decode
 * step costs on a GPU at GPT-2 sizes. Per block: `SkipLayerNormalization` (residual add, branch
 * bias and LayerNorm in one), the `c_attn` product with its bias fused in (`Gemm` or MatMulNBits'
 * bias), the attention op, the `c_proj` product, `SkipLayerNormalization`, the `c_fc` product,
 * `FastGelu` with the `c_fc` bias, and the `mlp.c_proj` product, whose bias joins the next
 * `SkipLayerNormalization`.
 *
 * Attention is `MultiHeadAttention` with the mask as an additive bias when the graph takes
 * `attention_mask` and `position_ids` (padded batches), and `GroupQueryAttention` (causal, packed
 * QKV, no mask, positions from the cache length) in a single-row graph, whose only host input is
 * `input_ids`: every tensor copied from the host costs a transfer per decode step.
 */
export function appendFusedBlocks(
  context: GraphContext,
  model: GPT,
  inputs: BlocksInputs,
  linear: LinearAppender,
): BlocksOutput {
  const { builder } = context;
  // Every shape is read from `embedded`, which the device made, never from input_ids: onnxruntime
  // may put a node reading a graph input on the CPU, and when input_ids is a device tensor (a token
  // fed back from the last step) that would copy it off the device.
  const { embedded } = inputs;
  const tokens = builder.node('Reshape', [embedded, context.int64s([-1, model.config.embeddingSize])]);
  const unflatten = (width: number) => tokensShape(context, embedded, width);
  const { positions, attention } =
    inputs.masking === undefined
      ? singleRowAttention(context, model, inputs, embedded, unflatten)
      : maskedAttention(context, model, inputs, inputs.masking, unflatten);
  const { stream, presents } = appendFusedLayers(context, model, inputs, linear, attention, {
    branch: { input: tokens, bias: undefined },
    residual: positions!,
  });
  const { normalized } = appendFinalLayerNorm(context, model, stream);
  return { normalized, presents, unflatten };
}

/**
 * The residual stream between two blocks, `[tokens, embedding]` rows: the stream itself and the
 * branch waiting to join it (the last product and its bias, added by the next
 * `SkipLayerNormalization`).
 */
export interface FusedStream {
  readonly branch: { readonly input: Value; readonly bias: Value | undefined };
  readonly residual: Value;
}

/** The blocks of `model` (every one of `model.transformer.h`), from `stream` in to the stream out. */
export function appendFusedLayers(
  context: GraphContext,
  model: GPT,
  inputs: Pick<BlocksInputs, 'foldPreQuantScale' | 'splitLongProducts'>,
  linear: LinearAppender,
  attention: AttentionAppender,
  stream: FusedStream,
): { stream: FusedStream; presents: Array<[Value, Value]> } {
  const { builder } = context;
  const rowsShape = context.int64s([-1, model.config.embeddingSize]);
  // Long inner dimensions (GPT-2's mlp.c_proj) as split products; c_attn's fused bias rules it out.
  const splitFor = (module: Linear) =>
    inputs.splitLongProducts ? innerSplitParts(module.inFeatures, module.outFeatures) : 1;
  const biasOf = (path: string, bias: Tensor | undefined) =>
    bias === undefined ? undefined : builder.initializer(`${path}.bias`, bias);

  let { branch, residual } = stream;
  const presents: Array<[Value, Value]> = [];
  model.transformer.h.forEach((block, layer) => {
    const prefix = `transformer.h.${layer}`;
    const { c_attn, c_proj } = block.attn;
    const attnScale = inputs.foldPreQuantScale ? c_attn.pre_quant_scale : undefined;
    const first = appendSkipLayerNorm(
      context,
      `${prefix}.ln_1`,
      block.ln_1,
      { input: branch.input, skip: residual, bias: branch.bias },
      { foldedScale: attnScale, wantSum: true },
    );
    residual = first.sum!;
    // c_proj's pre-quant scale s multiplies the attention output per channel, which is linear in
    // the values: it folds into the value rows of c_attn (so the cache holds values · s), saving a
    // Mul per layer.
    const projectionScale =
      inputs.foldPreQuantScale && c_proj.pre_quant_scale !== undefined && canFoldOutputScale(c_attn)
        ? valueRowsScale(toFloat32(c_proj.pre_quant_scale), model.config.embeddingSize)
        : undefined;
    const qkv = linear(`${prefix}.attn.c_attn`, c_attn, first.normalized, {
      preScaleFolded: attnScale !== undefined,
      bias: 'fused',
      outputScale: projectionScale,
    });
    const { attended, presentKey, presentValue } = attention(qkv, layer);
    presents.push([presentKey, presentValue]);
    const projected = linear(
      `${prefix}.attn.c_proj`,
      c_proj,
      builder.node('Reshape', [attended, rowsShape]),
      { bias: 'omit', preScaleFolded: projectionScale !== undefined, splitInner: splitFor(c_proj) },
    );

    const { c_fc, c_proj: down } = block.mlp;
    const mlpScale = inputs.foldPreQuantScale ? c_fc.pre_quant_scale : undefined;
    const second = appendSkipLayerNorm(
      context,
      `${prefix}.ln_2`,
      block.ln_2,
      { input: projected, skip: residual, bias: biasOf(`${prefix}.attn.c_proj`, c_proj.bias) },
      { foldedScale: mlpScale, wantSum: true },
    );
    residual = second.sum!;
    const expanded = linear(`${prefix}.mlp.c_fc`, c_fc, second.normalized, {
      preScaleFolded: mlpScale !== undefined,
      bias: 'omit',
      splitInner: splitFor(c_fc),
    });
    // gelu_new (GPT-2's tanh approximation) of expanded + bias.
    const activated = builder.node(
      'FastGelu',
      [expanded, biasOf(`${prefix}.mlp.c_fc`, c_fc.bias)],
      {},
      { domain: MS_DOMAIN },
    );
    branch = {
      input: linear(`${prefix}.mlp.c_proj`, down, activated, { bias: 'omit', splitInner: splitFor(down) }),
      bias: biasOf(`${prefix}.mlp.c_proj`, down.bias),
    };
  });
  return { stream: { branch, residual }, presents };
}

/** `transformer.ln_f` of the stream, the branch joined first. */
export function appendFinalLayerNorm(
  context: GraphContext,
  model: GPT,
  stream: FusedStream,
): { normalized: Value } {
  const { branch, residual } = stream;
  return appendSkipLayerNorm(
    context,
    'transformer.ln_f',
    model.transformer.ln_f,
    { input: branch.input, skip: residual, bias: branch.bias },
    { wantSum: false },
  );
}

/** Padded batches: positions from `position_ids`, `MultiHeadAttention` with an additive mask. */
function maskedAttention(
  context: GraphContext,
  model: GPT,
  inputs: BlocksInputs,
  masking: MaskInputs,
  unflatten: (width: number) => Value,
): { positions: Value; attention: AttentionAppender } {
  const { builder } = context;
  const { numHeads, embeddingSize } = model.config;
  const positions = builder.node(
    'Gather',
    [inputs.wpe, builder.node('Reshape', [masking.positionIds, context.int64s([-1])])],
    { axis: 0 },
  );
  const shape = unflatten(embeddingSize);
  const splitSizes = context.int64s([embeddingSize, embeddingSize, embeddingSize]);
  // Additive attention bias [batch, 1, sequence, total]: 0 where allowed, a large negative elsewhere.
  // In float16 -2^15 rather than the lowest value, so score + bias cannot overflow to -Inf, which
  // would make a fully masked row (a left-pad query) NaN and spread through its keys and values.
  const masked = context.dtype === 'float16' ? context.scalar(-(2 ** 15)) : masking.maskedScore;
  const attentionBias = builder.node('Where', [masking.allowed, context.scalar(0), masked]);
  const attention: AttentionAppender = (qkv, layer) => {
    const heads = builder
      .nodeWithOutputs('Split', [qkv, splitSizes], 3, { axis: 1 })
      .map((part) => builder.node('Reshape', [part, shape]));
    const [attended, presentKey, presentValue] = builder.nodeWithOutputs(
      'MultiHeadAttention',
      [
        heads[0],
        heads[1],
        heads[2],
        undefined, // bias: already in the c_attn product (a bias here rules out flash attention)
        undefined, // key_padding_mask: the padding is in the attention bias
        attentionBias,
        inputs.pastKeys[layer],
        inputs.pastValues[layer],
      ],
      3,
      { num_heads: numHeads },
      // The presents are graph outputs: named as such, no Identity copies them.
      { domain: MS_DOMAIN, outputNames: [undefined, presentKeyName(layer), presentValueName(layer)] },
    ) as [Value, Value, Value];
    return { attended, presentKey, presentValue };
  };
  return { positions, attention };
}

/**
 * One row, no padding: positions `past … past + sequence - 1` are a `Slice` of `wpe`, and
 * `GroupQueryAttention` takes the packed `c_attn` output as it is and is causal by itself. The
 * lengths come from tensor shapes, read on the host (`Shape` needs no copy of the data); nothing
 * is uploaded per step. The one length the attention op wants on the device, `seqlens_k`, is made
 * there by `Range` from host scalars.
 */
export function singleRowAttention(
  context: GraphContext,
  model: GPT,
  inputs: Pick<BlocksInputs, 'pastKeys' | 'pastValues'> & { readonly wpe?: Value | undefined },
  embedded: Value,
  unflatten: (width: number) => Value,
): { positions: Value | undefined; attention: AttentionAppender } {
  const { builder } = context;
  const { numHeads, embeddingSize } = model.config;
  // Shape nodes stay on the device's provider, which reads shapes without copying data; pinning
  // them to the CPU would copy their input to the host.
  const past = builder.node(
    'Slice',
    [builder.node('Shape', [inputs.pastKeys[0]!]), context.int64s([2]), context.int64s([3])],
    {},
    hostNode('past_length'),
  );
  const sequence = builder.node(
    'Slice',
    [builder.node('Shape', [embedded]), context.int64s([1]), context.int64s([2])],
    {},
    hostNode('sequence_length'),
  );
  const total = builder.node('Add', [past, sequence], {}, hostNode('total_length'));
  // A segment after the first (`buildSegmentGraph`) takes the stream as it is: no positions.
  const positions =
    inputs.wpe === undefined
      ? undefined
      : builder.node('Slice', [inputs.wpe, past, total, context.int64s([0])]);
  // GroupQueryAttention's lengths, both int32: total_sequence_length, a host scalar, and
  // seqlens_k = total - 1 per row [batch], which it reads on the device.
  const int32Scalar = (value: Value, name: string) =>
    builder.node(
      'Cast',
      [builder.node('Squeeze', [value, context.int64s([0])], {}, hostNode(`${name}_scalar`))],
      { to: ONNX_INT32 },
      hostNode(`${name}_int32`),
    );
  const scalarTotal = int32Scalar(total, 'total_length');
  const lastPosition = int32Scalar(
    builder.node('Sub', [total, context.int64s([1])], {}, hostNode('last_position')),
    'last_position',
  );
  const keyLengths = builder.node('Range', [lastPosition, scalarTotal, context.int32(1)]);
  const packedShape = unflatten(3 * embeddingSize);
  const attention: AttentionAppender = (qkv, layer) => {
    const [attended, presentKey, presentValue] = builder.nodeWithOutputs(
      'GroupQueryAttention',
      [
        builder.node('Reshape', [qkv, packedShape]),
        undefined, // key and value: packed in the query
        undefined,
        inputs.pastKeys[layer],
        inputs.pastValues[layer],
        keyLengths,
        scalarTotal,
      ],
      3,
      { num_heads: numHeads, kv_num_heads: numHeads },
      { domain: MS_DOMAIN, outputNames: [undefined, presentKeyName(layer), presentValueName(layer)] },
    ) as [Value, Value, Value];
    return { attended, presentKey, presentValue };
  };
  return { positions, attention };
}
