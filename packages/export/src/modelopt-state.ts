import { isAttentionBuffer } from '@ptq/hf-gpt2';
import type { QuantizedModel } from '@ptq/quant-core';
import { createTensor, type Tensor, toFloat32 } from '@ptq/tensor';
import { quantizedStateToRuntime } from '@ptq/tripy-loader';
import { UnsupportedExportError } from './errors';
import { modelOptLinearTensors } from './modelopt-linear-tensors';
import type { ModelOptQuantAlgo } from './modelopt-quant-algo';

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

/**
 * The tensors of ModelOpt 0.41's unified HF export for a quantized GPT-2: every quantized linear's
 * `weight` / `weight_scale` / `input_scale` / `pre_quant_scale` (see `modelOptLinearTensors`), with
 * codes made from the weights the runtime compiles (`quantizedStateToRuntime`: ModelOpt's
 * fake-quantized weight), so the checkpoint holds exactly the codes the runtime and ModelOpt's fake
 * quantization use. ModelOpt's own exporter divides the raw weight by the float32 scale, which lands
 * on the neighbouring code for about one weight in 10^4 that sits on a rounding boundary. Every
 * other parameter as float32 in its Hugging Face name and layout, no `_amax` or quantizer keys, no
 * attention-mask buffers, and `lm_head.weight` only when it is quantized (a tied, unquantized head is
 * `transformer.wte.weight` and is de-duplicated, as `postprocess_state_dict` does). AWQ's
 * pre-quant scale of `c_attn` / `c_fc` is folded into `ln_1` / `ln_2` (`ln.weight *= s`,
 * `ln.bias *= s`) and dropped, as `requantize_resmooth_fused_llm_layers` does; both `c_proj` keep theirs.
 */
export function modelOptState(quantized: QuantizedModel, algo: ModelOptQuantAlgo): ModelOptState {
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
  // The weights the runtime compiles (tripy-loader's mapping), so the stored codes are the runtime's codes.
  const runtime = quantizedStateToRuntime(quantized, 'float32');
  const embedding = source.get('transformer.wte.weight');

  const tensors = new Map<string, Tensor>();
  for (const [key, value] of source) {
    if (isQuantizerBuffer(key) || isAttentionBuffer(key)) continue;
    const dot = key.lastIndexOf('.');
    const modulePath = key.slice(0, dot);
    const name = key.slice(dot + 1);
    if (quantizedLinears.has(modulePath) && name === 'weight') continue;
    if (key === 'lm_head.weight' && value === embedding && !quantizedLinears.has('lm_head')) continue;
    tensors.set(key, asFloat32(value));
  }

  for (const [path, linear] of quantizedLinears) {
    const exported = modelOptLinearTensors(path, linear, algo, runtime.get(`${path}.weight`));
    tensors.set(`${path}.weight`, exported.weight);
    tensors.set(`${path}.weight_scale`, exported.weight_scale);
    if (exported.input_scale !== undefined) tensors.set(`${path}.input_scale`, exported.input_scale);
    if (exported.pre_quant_scale === undefined) continue;
    const norm = foldingLayerNorm(path);
    const normWeight = norm === undefined ? undefined : tensors.get(`${norm}.weight`);
    if (norm === undefined || normWeight === undefined) {
      tensors.set(`${path}.pre_quant_scale`, exported.pre_quant_scale);
      continue;
    }
    const scale = toFloat32(exported.pre_quant_scale);
    if (normWeight.shape.length !== 1 || normWeight.shape[0] !== scale.length) {
      throw new UnsupportedExportError(
        `${norm}.weight has shape [${normWeight.shape.join(', ')}]; folding ${path}'s pre_quant_scale needs [${scale.length}]`,
      );
    }
    tensors.set(`${norm}.weight`, multiplied(normWeight, scale));
    const normBias = tensors.get(`${norm}.bias`);
    if (normBias !== undefined) tensors.set(`${norm}.bias`, multiplied(normBias, scale));
  }
  return { tensors, excludeModules, headStored: quantizedLinears.has('lm_head') };
}
