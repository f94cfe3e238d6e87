import { isAttentionBuffer } from '@ptq/hf-gpt2';
import type { QuantizedModel, QuantLinear } from '@ptq/quant-core';
import type { PlannedTensor } from '@ptq/safetensors';
import { CODES_AMAX_LIMIT, fakeQuantModelOptCodes, fakeQuantModelOptPackedInt4Rows } from '@ptq/scale-math';
import { createTensor, heldTensor, releaseTensor, type Tensor, toFloat32 } from '@ptq/tensor';
import { runtimeWeight } from '@ptq/tripy-loader';
import { UnsupportedExportError } from './errors';
import {
  modelOptLinearLayout,
  modelOptLinearTensors,
  type PackedInt4Codes,
  type TensorLayout,
} from './modelopt-linear-tensors';
import { INT4_GROUP_SIZE, type ModelOptQuantAlgo } from './modelopt-quant-algo';

/** What goes into a ModelOpt unified HF checkpoint's `model.safetensors`, plus the modules left unquantized. */
export interface ModelOptState {
  readonly tensors: Map<string, Tensor>;
  /** Linears without quantization (ModelOpt's `exclude_modules`), e.g. `lm_head`. */
  readonly excludeModules: string[];
  /** Whether `lm_head.weight` is stored (quantized) rather than left tied to `transformer.wte.weight`. */
  readonly headStored: boolean;
}

/** The LayerNorm whose output is a linear's only input, where AWQ's pre-quant scale is folded (GPT-2 layout). */
export function foldingLayerNorm(linearPath: string): string | undefined {
  const attention = /^(.*)\.attn\.c_attn$/.exec(linearPath);
  if (attention !== null) return `${attention[1]}.ln_1`;
  const mlp = /^(.*)\.mlp\.c_fc$/.exec(linearPath);
  if (mlp !== null) return `${mlp[1]}.ln_2`;
  return undefined;
}

function isQuantizerBuffer(key: string): boolean {
  return /\._?(weight|input|output)_quantizer\./.test(key);
}

function multiplied(tensor: Tensor, scale: Float32Array): Tensor<'float32'> {
  const values = toFloat32(tensor);
  // Float32Array storage rounds each product once, as `ln.weight *= pqs` does in float32.
  const result = new Float32Array(values.length);
  for (let index = 0; index < values.length; index += 1) result[index] = values[index]! * scale[index]!;
  return createTensor('float32', tensor.shape, result);
}

function asFloat32(tensor: Tensor): Tensor {
  return tensor.dtype === 'float32' ? tensor : createTensor('float32', tensor.shape, toFloat32(tensor));
}

/** `ModelOptState` planned: every tensor's name, dtype and shape, and its data made on demand. */
export interface ModelOptStatePlan {
  /** Every tensor of the checkpoint, in the order `tensors()` yields them. */
  readonly planned: readonly PlannedTensor[];
  readonly excludeModules: string[];
  readonly headStored: boolean;
  /**
   * The tensors in plan order. A quantized linear's codes are made (from its fake-quantized weight)
   * only when the iteration reaches it, so a caller that writes each tensor and drops it holds one
   * linear's export at a time; every other tensor is the model's own (float32) or a small scale.
   */
  tensors(options?: ModelOptTensorsOptions): Generator<readonly [string, Tensor]>;
}

export interface ModelOptTensorsOptions {
  /**
   * Make the linears' packed int4 weights in two arrays, used in turn: no fresh array is paged in
   * per linear, and each such tensor is valid only until the packed weights of two more linears
   * are made. For a caller that has written (or copied) each tensor by the time it asks for the
   * one after next: one write may still be under way while the next tensor is made.
   */
  readonly reusePackedWeights?: boolean;
}

/**
 * The tensors of ModelOpt 0.41's unified HF export for a quantized GPT-2: every quantized linear's
 * `weight` / `weight_scale` / `input_scale` / `pre_quant_scale` (see `modelOptLinearTensors`), with
 * codes made from the weights the runtime compiles (`runtimeWeight`: ModelOpt's fake-quantized
 * weight), so the checkpoint holds exactly the codes the runtime and ModelOpt's fake quantization
 * use. ModelOpt's own exporter divides the raw weight by the float32 scale, which lands on the
 * neighbouring code for about one weight in 10^4 that sits on a rounding boundary. Every other
 * parameter as float32 in its Hugging Face name and layout, no `_amax` or quantizer keys, no
 * attention-mask buffers, and `lm_head.weight` only when it is quantized (a tied, unquantized head is
 * `transformer.wte.weight` and is de-duplicated, as `postprocess_state_dict` does). AWQ's
 * pre-quant scale of `c_attn` / `c_fc` is folded into `ln_1` / `ln_2` (`ln.weight *= s`,
 * `ln.bias *= s`) and dropped, as `requantize_resmooth_fused_llm_layers` does; both `c_proj` keep theirs.
 */
export function modelOptState(quantized: QuantizedModel, algo: ModelOptQuantAlgo): ModelOptState {
  const plan = planModelOptState(quantized, algo);
  return {
    tensors: new Map(plan.tensors()),
    excludeModules: plan.excludeModules,
    headStored: plan.headStored,
  };
}

/**
 * `modelOptState` as a plan: names, dtypes and shapes first — everything refused is refused here,
 * before any code is made — and the tensors one at a time (see `ModelOptStatePlan.tensors`).
 */
export function planModelOptState(quantized: QuantizedModel, algo: ModelOptQuantAlgo): ModelOptStatePlan {
  const source = quantized.stateDict();
  const quantizedLinears = new Map(
    [...quantized.linears].filter(([, linear]) => linear.weight_quantizer.enabled),
  );
  for (const [path, linear] of quantized.linears) {
    if (!quantizedLinears.has(path)) {
      throw new UnsupportedExportError(
        `${path} quantizes its input but not its weight, which the unified HF checkpoint cannot express`,
      );
    }
    if (linear.output_quantizer.enabled) {
      throw new UnsupportedExportError(
        `${path} has an enabled output quantizer, which ${algo} does not have`,
      );
    }
  }
  const excludeModules = quantized.model.linearPaths.filter((path) => !quantizedLinears.has(path));
  const embedding = source.get('transformer.wte.weight');

  // Each entry makes its tensor when asked; the plan keeps the order `modelOptState` always had.
  const entries = new Map<string, { layout: TensorLayout; make: () => Tensor }>();
  const floatEntry = (value: Tensor) => ({
    layout: { dtype: 'float32' as const, shape: value.shape },
    make: () => {
      // A weight read from the checkpoint on demand is dropped by the model once made here: the
      // export holds it until it is written.
      const held = heldTensor(asFloat32(value));
      releaseTensor(value);
      return held;
    },
  });
  for (const [key, value] of source) {
    if (isQuantizerBuffer(key) || isAttentionBuffer(key)) continue;
    const dot = key.lastIndexOf('.');
    const modulePath = key.slice(0, dot);
    const name = key.slice(dot + 1);
    if (quantizedLinears.has(modulePath) && name === 'weight') continue;
    if (key === 'lm_head.weight' && value === embedding && !quantizedLinears.has('lm_head')) continue;
    entries.set(key, floatEntry(value));
  }

  // Every linear's fake-quantized weight goes into one array, which the codes made from it do not
  // keep: paging in a fresh weight-sized array per linear would cost more than the fake quantization.
  let fakeQuantized: Float32Array | undefined;
  const largestWeight = Math.max(
    0,
    ...[...quantizedLinears.values()].map((linear) => linear.inFeatures * linear.outFeatures),
  );
  // Where packed int4 weights go when the iteration reuses arrays (see ModelOptTensorsOptions).
  let reusePackedWeights = false;
  const packedWeights: Uint8Array[] = [];
  let packedTurn = 0;
  const nextPackedWeights = () => {
    packedTurn = (packedTurn + 1) % 2;
    packedWeights[packedTurn] ??= new Uint8Array(Math.ceil(largestWeight / 2));
    return packedWeights[packedTurn];
  };
  const linearTensors = (path: string, linear: QuantLinear) => {
    const into = reusePackedWeights && algo === 'W4A16_AWQ' ? nextPackedWeights() : undefined;
    const codes = integerCodes(path, linear, algo, into);
    if (codes !== undefined) return modelOptLinearTensors(path, linear, algo, linear.weight, codes);
    fakeQuantized ??= new Float32Array(largestWeight);
    const weight = runtimeWeight(quantized, `${path}.weight`, linear.weight, fakeQuantized);
    return modelOptLinearTensors(path, linear, algo, weight);
  };
  for (const [path, linear] of quantizedLinears) {
    const layout = modelOptLinearLayout(path, linear, algo);
    // One linear's tensors, made once, when the first of them is asked for.
    let made: ReturnType<typeof modelOptLinearTensors> | undefined;
    const part = (name: keyof ReturnType<typeof modelOptLinearTensors>) => () => {
      made ??= linearTensors(path, linear);
      const tensor = made[name]!;
      // The last of the linear's tensors drops the rest, and the weight when it can be read again.
      if (name === lastPart) {
        made = undefined;
        linear.releaseWeights();
      }
      return tensor;
    };
    const preQuantScale =
      layout.pre_quant_scale === undefined ? undefined : linear.input_quantizer.preQuantScale;
    const norm = preQuantScale === undefined ? undefined : foldingLayerNorm(path);
    const normWeight = norm === undefined ? undefined : entries.get(`${norm}.weight`);
    const folds = preQuantScale !== undefined && norm !== undefined && normWeight !== undefined;
    const lastPart: keyof ReturnType<typeof modelOptLinearTensors> =
      layout.pre_quant_scale !== undefined && !folds
        ? 'pre_quant_scale'
        : layout.input_scale !== undefined
          ? 'input_scale'
          : 'weight_scale';
    entries.set(`${path}.weight`, { layout: layout.weight, make: part('weight') });
    entries.set(`${path}.weight_scale`, { layout: layout.weight_scale, make: part('weight_scale') });
    if (layout.input_scale !== undefined) {
      entries.set(`${path}.input_scale`, { layout: layout.input_scale, make: part('input_scale') });
    }
    if (preQuantScale === undefined) continue;
    if (!folds) {
      entries.set(`${path}.pre_quant_scale`, {
        layout: layout.pre_quant_scale!,
        make: part('pre_quant_scale'),
      });
      continue;
    }
    const scale = toFloat32(preQuantScale);
    const normShape = normWeight.layout.shape;
    if (normShape.length !== 1 || normShape[0] !== scale.length) {
      throw new UnsupportedExportError(
        `${norm}.weight has shape [${normShape.join(', ')}]; folding ${path}'s pre_quant_scale needs [${scale.length}]`,
      );
    }
    const foldedWeight = normWeight.make;
    entries.set(`${norm}.weight`, {
      layout: { dtype: 'float32', shape: normShape },
      make: () => multiplied(foldedWeight(), scale),
    });
    const normBias = entries.get(`${norm}.bias`);
    if (normBias !== undefined) {
      const foldedBias = normBias.make;
      entries.set(`${norm}.bias`, {
        layout: { dtype: 'float32', shape: normBias.layout.shape },
        make: () => multiplied(foldedBias(), scale),
      });
    }
  }
  return {
    planned: [...entries].map(([name, { layout }]) => ({ name, dtype: layout.dtype, shape: layout.shape })),
    excludeModules,
    headStored: quantizedLinears.has('lm_head'),
    *tensors(options = {}) {
      reusePackedWeights = options.reusePackedWeights === true;
      for (const [name, { make }] of entries) yield [name, make()] as const;
    },
  };
}

/**
 * The int8 / int4 codes of a linear's runtime weight (`runtimeWeight`: ModelOpt's fake-quantized
 * weight) straight from its weight, in one pass (`fakeQuantModelOptCodes`; int4 packed as they are
 * made, `fakeQuantModelOptPackedInt4Rows`), where they are the codes quantizing that weight would
 * give: an integer linear other than lm_head whose quantizer is laid out as the export's, every
 * amax within `CODES_AMAX_LIMIT`. `undefined` otherwise.
 */
function integerCodes(
  path: string,
  linear: QuantLinear,
  algo: ModelOptQuantAlgo,
  /** Where packed int4 codes go, when one array serves every linear. */
  packedInto?: Uint8Array,
): Int8Array | PackedInt4Codes | undefined {
  const quantizer = linear.weight_quantizer;
  const amax = quantizer.amax;
  if (path === 'lm_head' || amax === undefined) return undefined;
  if (amax.data.some((value) => !(value <= CODES_AMAX_LIMIT))) return undefined;
  const { shape, data } = linear.weight;
  if (algo === 'W4A16_AWQ' && quantizer.format === 'int4' && quantizer.blockSize === INT4_GROUP_SIZE) {
    return {
      packedInt4Rows: fakeQuantModelOptPackedInt4Rows(data, shape, amax.data, INT4_GROUP_SIZE, packedInto),
    };
  }
  if (
    algo === 'W8A16' &&
    quantizer.format === 'int8' &&
    quantizer.blockSize === undefined &&
    quantizer.axis === 0
  ) {
    return fakeQuantModelOptCodes(data, shape, amax.data, 'int8', { kind: 'per-channel', axis: 0 });
  }
  return undefined;
}
