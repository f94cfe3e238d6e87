import { appendTargetLogProbabilities, GraphBuilder, type ModelDefinition } from '@ptq/onnx-format';
import {
  floatScalar,
  type Gpt2GraphSource,
  gpt2GraphParts,
  int64Scalar,
  type TapOutputNames,
} from './gpt2-graph-parts';
import type { NormalizedTap } from './taps';

export type { Gpt2GraphSource, TapOutputNames } from './gpt2-graph-parts';

export interface Gpt2GraphOptions {
  readonly taps: readonly NormalizedTap[];
  readonly logits: boolean;
  /** Add a `targets` input and output log p(targets[b, p]) at every position (for perplexity). */
  readonly targetLogProbabilities?: boolean;
}

export interface Gpt2Graph {
  readonly model: ModelDefinition;
  /** `logits` when asked for. */
  readonly logitsOutput: string | undefined;
  /** `target_log_probabilities` when asked for; the graph then takes `targets`. */
  readonly targetLogProbabilitiesOutput: string | undefined;
  readonly tapOutputs: ReadonlyMap<string, TapOutputNames>;
  /** Whether the graph takes `real_token_indices` (int64 [realTokens], flat b·seq + p), for input taps. */
  readonly takesRealTokenIndices: boolean;
}

export const INPUT_IDS = 'input_ids';
export const ATTENTION_MASK = 'attention_mask';
export const REAL_TOKEN_INDICES = 'real_token_indices';
export const LOGITS = 'logits';
export const TARGETS = 'targets';
export const TARGET_LOG_PROBABILITIES = 'target_log_probabilities';

const INT64 = 7;
const FLOAT = 1;

/**
 * The GPT2LMHeadModel forward as an opset-21 ONNX graph of standard ops (so every execution
 * provider runs it), with the module tree's weights as initializers. Position ids are
 * max(cumsum(mask) - 1, 0), so a left-padded row sees the positions of the unpadded one; the blocks,
 * layer norms, linears and taps come from `gpt2GraphParts`, which the per-block graphs share.
 */
export function buildGpt2Graph(source: Gpt2GraphSource, options: Gpt2GraphOptions): Gpt2Graph {
  const { config, transformer } = source;
  const builder = new GraphBuilder({ name: 'gpt2_lm_head_model' });
  const takesRealTokenIndices = options.taps.some((tap) => tap.input);

  const inputIds = builder.input(INPUT_IDS, 'int64', ['batch', 'sequence']);
  const attentionMask = builder.input(ATTENTION_MASK, 'int64', ['batch', 'sequence']);
  const realTokenIndices = takesRealTokenIndices
    ? builder.input(REAL_TOKEN_INDICES, 'int64', ['real_tokens'])
    : undefined;
  const parts = gpt2GraphParts(builder, source, options.taps, attentionMask, realTokenIndices);

  // Positions from the mask (cumsum in float: exact up to 2^24 tokens, and runs on every provider).
  const maskFloat = builder.node('Cast', [attentionMask], { to: FLOAT });
  const positions = builder.node(
    'Cast',
    [
      builder.node('Relu', [
        builder.node('Sub', [
          builder.node('CumSum', [maskFloat, int64Scalar(builder, 1)]),
          floatScalar(builder, 1),
        ]),
      ]),
    ],
    { to: INT64 },
  );
  const wte = builder.initializer('transformer.wte.weight', transformer.wte.weight);
  const wpe = builder.initializer('transformer.wpe.weight', transformer.wpe.weight);
  let residual = builder.node('Gather', [wte, inputIds], { axis: 0 });
  let delta = builder.node('Gather', [wpe, positions], { axis: 0 });
  for (let layer = 0; layer < transformer.h.length; layer++) {
    [residual, delta] = parts.block(layer, residual, delta);
  }

  const final = parts.finalNorm(residual, delta);
  const wantTargets = options.targetLogProbabilities === true;
  const logits = parts.linear('lm_head', final, options.logits || wantTargets);
  if (logits !== undefined && options.logits) {
    builder.output(logits, LOGITS, 'float32', ['batch', 'sequence', config.vocab_size]);
  }
  if (logits !== undefined && wantTargets) {
    // log softmax in float32 inside the graph: only [batch, sequence] floats reach the host.
    const targets = builder.input(TARGETS, 'int64', ['batch', 'sequence']);
    builder.output(
      appendTargetLogProbabilities(builder, logits, targets),
      TARGET_LOG_PROBABILITIES,
      'float32',
      ['batch', 'sequence'],
    );
  }
  return {
    model: builder.build(),
    logitsOutput: logits !== undefined && options.logits ? LOGITS : undefined,
    targetLogProbabilitiesOutput: logits !== undefined && wantTargets ? TARGET_LOG_PROBABILITIES : undefined,
    tapOutputs: parts.tapOutputs,
    takesRealTokenIndices,
  };
}
