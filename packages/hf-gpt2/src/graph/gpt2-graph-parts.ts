import { InvalidArgumentError } from '@ptq/errors';
import type { GraphBuilder, Value } from '@ptq/onnx-format';
import { createTensor, type Tensor } from '@ptq/tensor';
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

/** Graph output names for one tap. */
export interface TapOutputNames {
  readonly absMax?: string;
  readonly absMeanPerChannel?: string;
  readonly input?: string;
  readonly weight?: string;
  readonly bias?: string;
}

/**
 * The pieces of the GPT-2 graph that the whole-model graph and the per-block graphs share, so both
 * run the same ops. A hidden state travels as two values whose sum it is (`residual + delta`): every
 * layer norm then follows its residual Add in every graph, so onnxruntime fuses the same Add +
 * LayerNormalization pairs whether a block runs alone or inside the whole model.
 */
export interface Gpt2GraphParts {
  readonly tapOutputs: Map<string, TapOutputNames>;
  /** Block `layer` on the hidden state `residual + delta`; returns the two values its output is the sum of. */
  block(layer: number, residual: Value, delta: Value): [Value, Value];
  /** `ln_f(residual + delta)`. */
  finalNorm(residual: Value, delta: Value): Value;
  /** Taps the linear's input; with `compute`, returns `x · W + b` (pre-quant scale and input quantizer applied). */
  linear(path: string, x: Value, compute?: boolean): Value | undefined;
  /**
   * With `weightsAsInputs`, the graph inputs that take the parameters (weights, biases, layer norms,
   * pre-quant scales), each with what to feed it; empty otherwise.
   */
  readonly parameterInputs: Map<string, () => Tensor<'float32'>>;
}

export interface Gpt2GraphPartsOptions {
  /**
   * Parameters as graph inputs instead of initializers: the graph carries no weights (nothing to
   * serialize or for onnxruntime to copy when it builds the session), and a linear that holds its
   * weight `[out, in]` (`graphWeightRows`) is transposed by the graph, not on the host.
   */
  readonly weightsAsInputs?: boolean;
  /**
   * Attention in this many groups of heads (a divisor of `n_head`; default 1): each group's scores
   * tensor is that much smaller (onnxruntime's WebGPU provider caches buffers up to 160 MiB and makes
   * larger ones anew every run). Every head computes the same products either way.
   */
  readonly attentionHeadGroups?: number;
}

// torch.finfo(float32).min, as transformers masks with: finite, so a row with every key masked
// softmaxes to a uniform (finite) row instead of NaN.
const MASKED_SCORE = -3.4028234663852886e38;
const FLOAT = 1;
const BOOL = 9;

export function int64s(builder: GraphBuilder, values: readonly number[]): Value {
  return builder.constant(createTensor('int64', [values.length], BigInt64Array.from(values.map(BigInt))));
}

export function int64Scalar(builder: GraphBuilder, value: number): Value {
  return builder.constant(createTensor('int64', [], BigInt64Array.of(BigInt(value))));
}

export function floatScalar(builder: GraphBuilder, value: number): Value {
  return builder.constant(createTensor('float32', [], Float32Array.of(value)));
}

/**
 * Adds the mask-derived values (real-token rows, causal and padding mask) to `builder` and returns
 * the builders of blocks, layer norms and linears:
 *
 * - a query attends to keys that are at or before it AND real (mask 1); masked scores are set to
 *   float32's lowest finite value (not -Inf) so pad rows stay finite;
 * - LayerNormalization with `layer_norm_epsilon`, attention scaled by 1/√head_dim, gelu_new;
 * - every linear through `GraphLinear`: pre-quant scale, input fake quantization, x·W + b;
 * - taps reduce a linear's input inside the graph so only small results reach the host.
 */
export function gpt2GraphParts(
  builder: GraphBuilder,
  source: Gpt2GraphSource,
  taps: readonly NormalizedTap[],
  attentionMask: Value,
  realTokenIndices: Value | undefined,
  options: Gpt2GraphPartsOptions = {},
): Gpt2GraphParts {
  const { config, transformer } = source;
  const parameterInputs = new Map<string, () => Tensor<'float32'>>();
  /** A parameter of the graph: an initializer, or an input fed `value()` with `weightsAsInputs`. */
  const parameter = (name: string, dims: readonly number[], value: () => Tensor<'float32'>): Value => {
    if (options.weightsAsInputs !== true) return builder.initializer(name, value());
    parameterInputs.set(name, value);
    return builder.input(name, 'float32', [...dims]);
  };
  const { n_embd: embed, n_head: heads } = config;
  const headDimension = embed / heads;
  const tapsByModule = new Map(taps.map((tap) => [tap.module, tap]));

  const maskFloat = builder.node('Cast', [attentionMask], { to: FLOAT });
  const maskBool = builder.node('Cast', [attentionMask], { to: BOOL });
  // [batch, sequence, 1]: selects real-token rows of a [batch, sequence, features] activation.
  const realTokenRows = builder.node('Unsqueeze', [maskBool, int64s(builder, [2])]);
  const realTokenCount = builder.node('Max', [
    builder.node('ReduceSum', [maskFloat], { keepdims: 0 }),
    floatScalar(builder, 1),
  ]);

  // allowed[b, 0, q, k] = k ≤ q and mask[b, k] = 1.
  const sequenceLength = builder.node(
    'Gather',
    [builder.node('Shape', [attentionMask]), int64Scalar(builder, 1)],
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
  const headGroups = options.attentionHeadGroups ?? 1;
  if (!Number.isInteger(headGroups) || headGroups < 1 || heads % headGroups !== 0) {
    throw new InvalidArgumentError(
      'attentionHeadGroups',
      `must be a divisor of n_head (${heads}), got ${String(headGroups)}`,
    );
  }
  const headGroupSizes =
    headGroups === 1 ? undefined : int64s(builder, new Array<number>(headGroups).fill(heads / headGroups));
  const mergedShape = int64s(builder, [0, 0, embed]);

  const tapOutputs = new Map<string, TapOutputNames>();
  const tap = (path: string, x: Value, inFeatures: number): void => {
    const request = tapsByModule.get(path);
    if (request === undefined) return;
    const names: { -readonly [K in keyof TapOutputNames]: TapOutputNames[K] } = {};
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
      const scale = parameter(`${path}.pre_quant_scale`, [preQuantScale.length], () =>
        createTensor('float32', [preQuantScale.length], Float32Array.from(preQuantScale)),
      );
      input = builder.node('Mul', [input, scale]);
    }
    const quantizer = module.graphInputQuantizer?.();
    if (quantizer !== undefined) input = fakeQuantize(builder, input, quantizer);
    const { inFeatures, outFeatures } = module;
    // [out, in] as an input, transposed here; otherwise [in, out] as the graph multiplies it.
    const rows =
      options.weightsAsInputs === true && module.graphWeightRows !== undefined
        ? parameter(`${path}.weight`, [outFeatures, inFeatures], () => module.graphWeightRows!())
        : undefined;
    const weight =
      rows === undefined
        ? parameter(`${path}.weight`, [inFeatures, outFeatures], () => module.graphWeight())
        : builder.node('Transpose', [rows], { perm: [1, 0] });
    const product = builder.node('MatMul', [input, weight]);
    const moduleBias = module.bias;
    const bias =
      moduleBias === undefined ? undefined : parameter(`${path}.bias`, [outFeatures], () => moduleBias);
    const names = tapOutputs.get(path) as { weight?: string; bias?: string } | undefined;
    if (names !== undefined && tapsByModule.get(path)?.weight) {
      // The tap gives the weight back as the module holds it, [out, in].
      names.weight = `tap.${path}.weight`;
      builder.output(
        rows === undefined
          ? builder.node('Transpose', [weight], { perm: [1, 0] })
          : builder.node('Identity', [rows]),
        names.weight,
        'float32',
        [outFeatures, inFeatures],
      );
      if (bias !== undefined) {
        names.bias = `tap.${path}.bias`;
        builder.output(builder.node('Identity', [bias]), names.bias, 'float32', [outFeatures]);
      }
    }
    return bias === undefined ? product : builder.node('Add', [product, bias]);
  };

  const layerNorm = (path: string, module: LayerNorm, x: Value): Value =>
    builder.node(
      'LayerNormalization',
      [
        x,
        parameter(`${path}.weight`, module.weight.shape, () => module.weight),
        parameter(`${path}.bias`, module.bias.shape, () => module.bias),
      ],
      { axis: -1, epsilon: { type: 'float', value: module.epsilon } },
    );

  const block = (layer: number, residual: Value, delta: Value): [Value, Value] => {
    const module = transformer.h[layer]!;
    const prefix = `transformer.h.${layer}`;
    const hidden = builder.node('Add', [residual, delta]);
    const qkv = linear(`${prefix}.attn.c_attn`, layerNorm(`${prefix}.ln_1`, module.ln_1, hidden))!;
    const [query, key, value] = builder.nodeWithOutputs('Split', [qkv, splitSizes], 3, { axis: 2 }) as [
      Value,
      Value,
      Value,
    ];
    const toHeads = (x: Value, perm: number[]) =>
      builder.node('Transpose', [builder.node('Reshape', [x, headsShape])], { perm });
    const attend = (queries: Value, keys: Value, values: Value): Value => {
      const scores = builder.node('Div', [builder.node('MatMul', [queries, keys]), attentionScale]);
      const probabilities = builder.node('Softmax', [builder.node('Where', [allowed, scores, maskedScore])], {
        axis: -1,
      });
      return builder.node('MatMul', [probabilities, values]);
    };
    const projected = [
      toHeads(query, [0, 2, 1, 3]),
      toHeads(key, [0, 2, 3, 1]),
      toHeads(value, [0, 2, 1, 3]),
    ];
    let context: Value;
    if (headGroups === 1) {
      context = attend(projected[0]!, projected[1]!, projected[2]!);
    } else {
      // Each group's scores are a fraction of the whole; every head's products are the same.
      const [queries, keys, values] = projected.map((x) =>
        builder.nodeWithOutputs('Split', [x, headGroupSizes!], headGroups, { axis: 1 }),
      ) as [Value[], Value[], Value[]];
      context = builder.node(
        'Concat',
        queries.map((queryGroup, group) => attend(queryGroup, keys[group]!, values[group]!)),
        { axis: 1 },
      );
    }
    const merged = builder.node('Reshape', [
      builder.node('Transpose', [context], { perm: [0, 2, 1, 3] }),
      mergedShape,
    ]);
    const attended = builder.node('Add', [hidden, linear(`${prefix}.attn.c_proj`, merged)!]);
    const expanded = linear(`${prefix}.mlp.c_fc`, layerNorm(`${prefix}.ln_2`, module.ln_2, attended))!;
    return [attended, linear(`${prefix}.mlp.c_proj`, geluNew(builder, expanded))!];
  };

  const finalNorm = (residual: Value, delta: Value): Value =>
    layerNorm('transformer.ln_f', transformer.ln_f, builder.node('Add', [residual, delta]));

  return { tapOutputs, block, finalNorm, linear, parameterInputs };
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

/**
 * The fewest groups of heads (a divisor of `n_head`) whose attention scores, float32
 * `[rows, heads / groups, sequence, sequence]`, take at most `maxScoresBytes`; all heads one by one
 * when no grouping fits.
 */
export function attentionHeadGroupsFor(
  config: Gpt2Config,
  rows: number,
  sequence: number,
  maxScoresBytes: number,
): number {
  const heads = config.n_head;
  for (let groups = 1; groups < heads; groups++) {
    if (heads % groups === 0 && rows * (heads / groups) * sequence * sequence * 4 <= maxScoresBytes)
      return groups;
  }
  return heads;
}
