import { InvalidArgumentError } from '@ptq/errors';
import { GraphBuilder, type ModelDefinition } from '@ptq/onnx-format';
import type { Tensor } from '@ptq/tensor';
import { ATTENTION_MASK, REAL_TOKEN_INDICES } from './build-gpt2-graph';
import { type Gpt2GraphSource, gpt2GraphParts, type TapOutputNames } from './gpt2-graph-parts';
import type { NormalizedTap } from './taps';

export interface Gpt2BlockGraphOptions {
  /** The transformer block the graph runs. */
  readonly layer: number;
  /**
   * Also apply `ln_f` to the block's output, for lm_head's taps (last block only). It stays in the
   * last block's graph because onnxruntime fuses the last residual Add with `ln_f` differently when
   * the Add's inputs come from outside the graph.
   */
  readonly final?: boolean;
  /** Taps on the graph's linears (the block's four; lm_head with `final`). */
  readonly taps: readonly NormalizedTap[];
  /** Output the block's hidden state for the next block (default true; never with `final`). */
  readonly outputs?: boolean;
  /** The block's parameters as graph inputs (see `Gpt2GraphPartsOptions`); default initializers. */
  readonly weightsAsInputs?: boolean;
  /** Attention in groups of heads (see `Gpt2GraphPartsOptions`); default 1. */
  readonly attentionHeadGroups?: number;
}

export interface Gpt2BlockGraph {
  readonly model: ModelDefinition;
  readonly tapOutputs: ReadonlyMap<string, TapOutputNames>;
  /** Whether the graph takes `real_token_indices` (int64 [realTokens], flat b·seq + p), for input taps. */
  readonly takesRealTokenIndices: boolean;
  /** Whether it outputs `residual_out` and `delta_out`. */
  readonly hasOutputs: boolean;
  /** With `weightsAsInputs`: each parameter input and what to feed it. */
  readonly parameterInputs: ReadonlyMap<string, () => Tensor<'float32'>>;
}

/** The two float32 [batch, sequence, n_embd] inputs whose sum is the block's input hidden state. */
export const RESIDUAL = 'residual';
export const DELTA = 'delta';
/** The two outputs whose sum is the block's output hidden state (the next block's inputs). */
export const RESIDUAL_OUT = 'residual_out';
export const DELTA_OUT = 'delta_out';

/**
 * One block of the GPT-2 forward as its own graph, built from the same parts as `buildGpt2Graph`:
 * running the blocks in order over `residual = wte[ids]`, `delta = wpe[positions]` computes what the
 * whole-model graph computes, op for op, so calibration can hold one block's weights and
 * activations at a time.
 */
export function buildGpt2BlockGraph(source: Gpt2GraphSource, options: Gpt2BlockGraphOptions): Gpt2BlockGraph {
  const { config, transformer } = source;
  const { layer } = options;
  const final = options.final === true;
  const blocks = transformer.h.length;
  if (!(Number.isInteger(layer) && layer >= 0 && layer < blocks)) {
    throw new InvalidArgumentError('layer', `must be a block index in [0, ${blocks}), got ${String(layer)}`);
  }
  if (final && layer !== blocks - 1) {
    throw new InvalidArgumentError(
      'final',
      `applies to the last block (${blocks - 1}) only, got block ${layer}`,
    );
  }
  const builder = new GraphBuilder({ name: `gpt2_block_${layer}` });
  const takesRealTokenIndices = options.taps.some((tap) => tap.input);
  const hiddenShape = ['batch', 'sequence', config.n_embd];
  const residual = builder.input(RESIDUAL, 'float32', hiddenShape);
  const delta = builder.input(DELTA, 'float32', hiddenShape);
  const attentionMask = builder.input(ATTENTION_MASK, 'int64', ['batch', 'sequence']);
  const realTokenIndices = takesRealTokenIndices
    ? builder.input(REAL_TOKEN_INDICES, 'int64', ['real_tokens'])
    : undefined;
  const parts = gpt2GraphParts(builder, source, options.taps, attentionMask, realTokenIndices, {
    weightsAsInputs: options.weightsAsInputs === true,
    ...(options.attentionHeadGroups === undefined
      ? {}
      : { attentionHeadGroups: options.attentionHeadGroups }),
  });
  const [residualOut, deltaOut] = parts.block(layer, residual, delta);
  const hasOutputs = !final && (options.outputs ?? true);
  if (final) parts.linear('lm_head', parts.finalNorm(residualOut, deltaOut), false);
  if (hasOutputs) {
    builder.output(residualOut, RESIDUAL_OUT, 'float32', hiddenShape);
    builder.output(deltaOut, DELTA_OUT, 'float32', hiddenShape);
  }
  return {
    model: builder.build(),
    tapOutputs: parts.tapOutputs,
    takesRealTokenIndices,
    hasOutputs,
    parameterInputs: parts.parameterInputs,
  };
}
