import { appendTargetLogProbabilities, type ModelDefinition, type Value } from '@ptq/onnx-format';
import type { Tensor } from '@ptq/tensor';
import type { GPT } from '../modules/gpt';
import {
  appendCacheInputs,
  appendEmbeddingLookup,
  appendEmbeddingTable,
  appendHead,
  linearAppender,
  newGraphContext,
} from './build-gpt-graph';
import { checkWeightValues } from './check-weight-values';
import {
  appendFinalLayerNorm,
  appendFusedLayers,
  type FusedStream,
  singleRowAttention,
} from './fused-blocks';
import { tokensShape } from './graph-context';
import { INPUT_IDS, LOGITS, SEQUENCE_DIMENSION } from './graph-io';
import type { WeightFormat } from './weight-format';

/** A segment's stream inputs (every segment after the first) and outputs (every one before the last). */
export const SEGMENT_BRANCH = 'stream_branch';
export const SEGMENT_RESIDUAL = 'stream_residual';
export const SEGMENT_BRANCH_OUT = 'stream_branch_out';
export const SEGMENT_RESIDUAL_OUT = 'stream_residual_out';
/** The last segment's input: the token after each position. */
export const SEGMENT_TARGETS = 'targets';
/** The last segment's output: `log p(targets[p] | ids[0..p])` per position. */
export const SEGMENT_LOG_PROBABILITIES = 'target_log_probabilities';

export interface SegmentGraphOptions {
  /** The segment holds the model's first block: it takes `input_ids` and embeds them. */
  readonly first: boolean;
  /** The segment holds the model's last block: it ends in `ln_f` and the head and gives `logits`. */
  readonly last: boolean;
  /** A segment after the first: the bias of the last `mlp.c_proj` before it, which joins its stream. */
  readonly incomingBias?: Tensor | undefined;
  readonly weightFormat?: WeightFormat | undefined;
  /** As `BuildGraphOptions.foldPreQuantScale` (default true). */
  readonly foldPreQuantScale?: boolean;
  /** As `BuildGraphOptions.splitLongProducts` (default false). */
  readonly splitLongProducts?: boolean;
}

/**
 * One segment of consecutive blocks of the single-row fused graph `compile` runs (`buildGptGraph`
 * with `operators: 'fused'`, `singleRow`), for a model too large to hold in one session: `model`
 * holds the segment's blocks as its layers (`loadGptSegment`), plus the embeddings when `first` and
 * `ln_f` and the head when `last`.
 *
 * The cut is where the whole graph passes the residual stream from one block to the next: the stream
 * `[1, sequence, embedding]` and the last product, whose bias the next block's
 * `SkipLayerNormalization` adds. Every node is the whole graph's, so a segment chain gives the whole
 * graph's logits bit for bit. The first segment takes `input_ids`, the others `stream_branch` and
 * `stream_residual`; every segment takes an empty cache per layer (the chain runs full windows
 * only); the last takes `targets` and gives `target_log_probabilities [1, sequence]` (the log
 * softmax of each position's logits at its target, as `TargetScorer` scores a compiled graph), the
 * others the stream (`stream_branch_out`, `stream_residual_out`; the branch's bias is the caller's
 * to pass on).
 */
export function buildSegmentGraph(model: GPT, options: SegmentGraphOptions): ModelDefinition {
  const { config } = model;
  const { embeddingSize, vocabSize, dtype } = config;
  checkWeightValues(segmentParameters(model, options));
  const context = newGraphContext('nanogpt-segment', model, options.weightFormat);
  const { builder } = context;
  const { pastKeys, pastValues } = appendCacheInputs(context, model, 1);
  const streamShape = [1, SEQUENCE_DIMENSION, embeddingSize];
  const rowsShape = context.int64s([-1, embeddingSize]);

  // The head reads a tied embedding fastest transposed; a first segment that has no head only looks
  // tokens up, which reads the checkpoint's [vocab, embedding] as it is: no transposed copy to make.
  const table =
    options.first || options.last
      ? appendEmbeddingTable(context, model, options.last ? 'fused' : 'standard')
      : undefined;
  // `shaped` is a [1, sequence, …] tensor the lengths are read from, as the whole graph reads them
  // from its embeddings.
  let shaped: Value;
  let residualInput: Value | undefined;
  let wpe: Value | undefined;
  if (options.first) {
    const inputIds = builder.input(INPUT_IDS, 'int64', [1, SEQUENCE_DIMENSION]);
    shaped = appendEmbeddingLookup(context, table!, inputIds);
    wpe = builder.initializer('transformer.wpe.weight', model.transformer.wpe.weight);
  } else {
    shaped = builder.input(SEGMENT_BRANCH, dtype, streamShape);
    residualInput = builder.node('Reshape', [builder.input(SEGMENT_RESIDUAL, dtype, streamShape), rowsShape]);
  }
  const branchInput = builder.node('Reshape', [shaped, rowsShape]);
  const unflatten = (width: number) => tokensShape(context, shaped, width);
  const { positions, attention } = singleRowAttention(
    context,
    model,
    { pastKeys, pastValues, wpe },
    shaped,
    unflatten,
  );
  const incoming: FusedStream = {
    branch: {
      input: branchInput,
      bias:
        options.incomingBias === undefined
          ? undefined
          : builder.initializer('incoming.mlp.c_proj.bias', options.incomingBias),
    },
    residual: (positions ?? residualInput)!,
  };
  const linear = linearAppender(context, options.weightFormat, true);
  const { stream } = appendFusedLayers(
    context,
    model,
    {
      foldPreQuantScale: options.foldPreQuantScale ?? true,
      splitLongProducts: options.splitLongProducts ?? false,
    },
    linear,
    attention,
    incoming,
  );

  if (options.last) {
    const { normalized } = appendFinalLayerNorm(context, model, stream);
    const logits = builder.node(
      'Reshape',
      [
        appendHead(context, model, table!, normalized, {
          weightFormat: options.weightFormat,
          foldInputScale: true,
        }),
        context.int64s([1, -1, vocabSize]),
      ],
      {},
      { outputNames: [LOGITS] },
    );
    // The targets are scored here, as `TargetScorer` scores a compiled graph's logits (the same
    // nodes): the logits never leave the session.
    const targets = builder.input(SEGMENT_TARGETS, 'int64', [1, SEQUENCE_DIMENSION]);
    builder.output(
      appendTargetLogProbabilities(builder, logits, targets),
      SEGMENT_LOG_PROBABILITIES,
      'float32',
      [1, SEQUENCE_DIMENSION],
    );
  } else {
    const streamOut = (value: Value, name: string) => {
      const reshaped = builder.node(
        'Reshape',
        [value, unflatten(embeddingSize)],
        {},
        { outputNames: [name] },
      );
      builder.output(reshaped, name, dtype, streamShape);
    };
    streamOut(stream.branch.input, SEGMENT_BRANCH_OUT);
    streamOut(stream.residual, SEGMENT_RESIDUAL_OUT);
  }
  return builder.build();
}

/** The parameters a segment's graph reads, for the value checks (a middle segment's embeddings are never filled). */
function segmentParameters(model: GPT, options: SegmentGraphOptions): object {
  return {
    transformer: {
      ...(options.first ? { wte: model.transformer.wte, wpe: model.transformer.wpe } : {}),
      h: model.transformer.h,
      ...(options.last ? { ln_f: model.transformer.ln_f } : {}),
    },
    ...(options.last ? { lm_head: model.lm_head } : {}),
  };
}
