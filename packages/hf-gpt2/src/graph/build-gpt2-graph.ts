import { appendTargetLogProbabilities, GraphBuilder, type ModelDefinition, type Value } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';
import type { Gpt2Config } from '../config';
import type { GraphLinear } from '../graph-linear';
import type { GPT2Model } from '../modules/gpt2-model';
import type { LayerNorm } from '../modules/layer-norm';
import { fakeQuantize } from './fake-quant';
import type { NormalizedTap } from './taps';

export interface Gpt2GraphSource {
  readonly config: Gpt2Config;
  readonly transformer: GPT2Model;
  /** The linear at a path of `gpt2LinearPaths` (looked up through the module tree). */
  linear(path: string): GraphLinear;
}

export interface Gpt2GraphOptions {
  readonly taps: readonly NormalizedTap[];
  readonly logits: boolean;
  /** Add a `targets` input and output log p(targets[b, p]) at every position (for perplexity). */
  readonly targetLogProbabilities?: boolean;
}

/** Graph output names for one tap. */
export interface TapOutputNames {
  readonly absMax?: string;
  readonly absMeanPerChannel?: string;
  readonly input?: string;
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

// torch.finfo(float32).min, as transformers masks with: finite, so a row with every key masked
// softmaxes to a uniform (finite) row instead of NaN.
const MASKED_SCORE = -3.4028234663852886e38;
const INT64 = 7;
const FLOAT = 1;
const BOOL = 9;

function int64s(builder: GraphBuilder, values: readonly number[]): Value {
  return builder.constant(createTensor('int64', [values.length], BigInt64Array.from(values.map(BigInt))));
}

function int64Scalar(builder: GraphBuilder, value: number): Value {
  return builder.constant(createTensor('int64', [], BigInt64Array.of(BigInt(value))));
}

function floatScalar(builder: GraphBuilder, value: number): Value {
  return builder.constant(createTensor('float32', [], Float32Array.of(value)));
}

/**
 * The GPT2LMHeadModel forward as an opset-21 ONNX graph of standard ops (so every execution
 * provider runs it), with the module tree's weights as initializers:
 *
 * - position ids = max(cumsum(mask) - 1, 0), so a left-padded row sees the positions of the
 *   unpadded one;
 * - a query attends to keys that are at or before it AND real (mask 1); masked scores are set to
 *   float32's lowest finite value (not -Inf) so pad rows stay finite;
 * - LayerNormalization with `layer_norm_epsilon`, attention scaled by 1/√head_dim, gelu_new;
 * - every linear through `GraphLinear`: pre-quant scale, input fake quantization, x·W + b;
 * - taps reduce a linear's input inside the graph so only small results reach the host.
 */
export function buildGpt2Graph(source: Gpt2GraphSource, options: Gpt2GraphOptions): Gpt2Graph {
  const { config, transformer } = source;
  const { n_embd: embed, n_head: heads } = config;
  const headDimension = embed / heads;
  const builder = new GraphBuilder({ name: 'gpt2_lm_head_model' });
  const tapsByModule = new Map(options.taps.map((tap) => [tap.module, tap]));
  const takesRealTokenIndices = options.taps.some((tap) => tap.input);

  const inputIds = builder.input(INPUT_IDS, 'int64', ['batch', 'sequence']);
  const attentionMask = builder.input(ATTENTION_MASK, 'int64', ['batch', 'sequence']);
  const realTokenIndices = takesRealTokenIndices
    ? builder.input(REAL_TOKEN_INDICES, 'int64', ['real_tokens'])
    : undefined;

  const maskFloat = builder.node('Cast', [attentionMask], { to: FLOAT });
  const maskBool = builder.node('Cast', [attentionMask], { to: BOOL });
  // [batch, sequence, 1]: selects real-token rows of a [batch, sequence, features] activation.
  const realTokenRows = builder.node('Unsqueeze', [maskBool, int64s(builder, [2])]);
  const realTokenCount = builder.node('Max', [
    builder.node('ReduceSum', [maskFloat], { keepdims: 0 }),
    floatScalar(builder, 1),
  ]);

  // Positions from the mask (cumsum in float: exact up to 2^24 tokens, and runs on every provider).
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
  let hidden = builder.node('Add', [
    builder.node('Gather', [wte, inputIds], { axis: 0 }),
    builder.node('Gather', [wpe, positions], { axis: 0 }),
  ]);

  // allowed[b, 0, q, k] = k ≤ q and mask[b, k] = 1.
  const sequenceLength = builder.node(
    'Gather',
    [builder.node('Shape', [inputIds]), int64Scalar(builder, 1)],
    { axis: 0 },
  );
  const steps = builder.node('Range', [int64Scalar(builder, 0), sequenceLength, int64Scalar(builder, 1)]);
  const causal = builder.node('LessOrEqual', [
    builder.node('Unsqueeze', [steps, int64s(builder, [0])]),
    builder.node('Unsqueeze', [steps, int64s(builder, [1])]),
  ]);
  const allowed = builder.node('And', [
    causal,
    builder.node('Unsqueeze', [maskBool, int64s(builder, [1, 2])]),
  ]);
  const maskedScore = floatScalar(builder, MASKED_SCORE);
  const attentionScale = floatScalar(builder, Math.sqrt(headDimension));
  const splitSizes = int64s(builder, [embed, embed, embed]);
  const headsShape = int64s(builder, [0, 0, heads, headDimension]);
  const mergedShape = int64s(builder, [0, 0, embed]);

  const tapOutputs = new Map<string, TapOutputNames>();
  const tap = (path: string, x: Value, inFeatures: number): void => {
    const request = tapsByModule.get(path);
    if (request === undefined) return;
    const names: { absMax?: string; absMeanPerChannel?: string; input?: string } = {};
    const maskedAbs =
      request.absMax || request.absMeanPerChannel
        ? builder.node('Where', [realTokenRows, builder.node('Abs', [x]), floatScalar(builder, 0)])
        : undefined;
    if (request.absMax && maskedAbs !== undefined) {
      names.absMax = `tap.${path}.abs_max`;
      builder.output(builder.node('ReduceMax', [maskedAbs], { keepdims: 0 }), names.absMax, 'float32', []);
    }
    if (request.absMeanPerChannel && maskedAbs !== undefined) {
      names.absMeanPerChannel = `tap.${path}.abs_mean_per_channel`;
      const sum = builder.node('ReduceSum', [maskedAbs, int64s(builder, [0, 1])], { keepdims: 0 });
      builder.output(builder.node('Div', [sum, realTokenCount]), names.absMeanPerChannel, 'float32', [
        inFeatures,
      ]);
    }
    if (request.input && realTokenIndices !== undefined) {
      names.input = `tap.${path}.input`;
      const rows = builder.node('Reshape', [x, int64s(builder, [-1, inFeatures])]);
      builder.output(builder.node('Gather', [rows, realTokenIndices], { axis: 0 }), names.input, 'float32', [
        'real_tokens',
        inFeatures,
      ]);
    }
    tapOutputs.set(path, names);
  };

  const linear = (path: string, x: Value, compute = true): Value | undefined => {
    const module = source.linear(path);
    tap(path, x, module.inFeatures);
    if (!compute) return undefined;
    let input = x;
    const preQuantScale = module.graphPreQuantScale?.();
    if (preQuantScale !== undefined) {
      const scale = builder.initializer(
        `${path}.pre_quant_scale`,
        createTensor('float32', [preQuantScale.length], Float32Array.from(preQuantScale)),
      );
      input = builder.node('Mul', [input, scale]);
    }
    const quantizer = module.graphInputQuantizer?.();
    if (quantizer !== undefined) input = fakeQuantize(builder, input, quantizer);
    const weight = builder.initializer(`${path}.weight`, module.graphWeight());
    const product = builder.node('MatMul', [input, weight]);
    return module.bias === undefined
      ? product
      : builder.node('Add', [product, builder.initializer(`${path}.bias`, module.bias)]);
  };

  const layerNorm = (path: string, module: LayerNorm, x: Value): Value =>
    builder.node(
      'LayerNormalization',
      [
        x,
        builder.initializer(`${path}.weight`, module.weight),
        builder.initializer(`${path}.bias`, module.bias),
      ],
      { axis: -1, epsilon: { type: 'float', value: module.epsilon } },
    );

  transformer.h.forEach((block, layer) => {
    const prefix = `transformer.h.${layer}`;
    const qkv = linear(`${prefix}.attn.c_attn`, layerNorm(`${prefix}.ln_1`, block.ln_1, hidden))!;
    const [query, key, value] = builder.nodeWithOutputs('Split', [qkv, splitSizes], 3, { axis: 2 }) as [
      Value,
      Value,
      Value,
    ];
    const toHeads = (x: Value, perm: number[]) =>
      builder.node('Transpose', [builder.node('Reshape', [x, headsShape])], { perm });
    const scores = builder.node('Div', [
      builder.node('MatMul', [toHeads(query, [0, 2, 1, 3]), toHeads(key, [0, 2, 3, 1])]),
      attentionScale,
    ]);
    const probabilities = builder.node('Softmax', [builder.node('Where', [allowed, scores, maskedScore])], {
      axis: -1,
    });
    const context = builder.node('MatMul', [probabilities, toHeads(value, [0, 2, 1, 3])]);
    const merged = builder.node('Reshape', [
      builder.node('Transpose', [context], { perm: [0, 2, 1, 3] }),
      mergedShape,
    ]);
    hidden = builder.node('Add', [hidden, linear(`${prefix}.attn.c_proj`, merged)!]);
    const expanded = linear(`${prefix}.mlp.c_fc`, layerNorm(`${prefix}.ln_2`, block.ln_2, hidden))!;
    hidden = builder.node('Add', [hidden, linear(`${prefix}.mlp.c_proj`, geluNew(builder, expanded))!]);
  });

  const final = layerNorm('transformer.ln_f', transformer.ln_f, hidden);
  const wantTargets = options.targetLogProbabilities === true;
  const logits = linear('lm_head', final, options.logits || wantTargets);
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
    tapOutputs,
    takesRealTokenIndices,
  };
}

/** gelu_new = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), GPT-2's activation. */
function geluNew(builder: GraphBuilder, x: Value): Value {
  const cube = builder.node('Mul', [builder.node('Mul', [x, x]), x]);
  const inner = builder.node('Mul', [
    builder.node('Add', [x, builder.node('Mul', [cube, floatScalar(builder, 0.044715)])]),
    floatScalar(builder, Math.sqrt(2 / Math.PI)),
  ]);
  const gate = builder.node('Add', [builder.node('Tanh', [inner]), floatScalar(builder, 1)]);
  return builder.node('Mul', [builder.node('Mul', [x, floatScalar(builder, 0.5)]), gate]);
}
