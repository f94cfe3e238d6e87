import { Conv1D, type GPT2LMHeadModel, isGraphLinear } from '@ptq/hf-gpt2';
import { getSubmodule, setSubmodule } from '@ptq/module-path';
import { createTensor, isReloadableTensor, type ReloadableTensor, type Tensor } from '@ptq/tensor';
import type { QuantConfig } from './quant-config';
import { QuantLinear, type TransposeScratch } from './quant-linear';
import { TensorQuantizer } from './tensor-quantizer';
import { matchesWildcard } from './wildcard';

const QUANTIZER_NAMES = ['weight_quantizer', 'input_quantizer', 'output_quantizer'] as const;

/**
 * Sets a quantizer's attributes from a config as ModelOpt's `set_quantizer_by_cfg` does: `default`
 * first, then every pattern that matches the quantizer's full name, in order, each setting only the
 * attributes it names.
 */
export function configureQuantizer(quantizer: TensorQuantizer, name: string, config: QuantConfig): void {
  for (const [pattern, attributes] of config.quantCfg) {
    if (pattern === 'default') quantizer.applyAttributes(attributes);
  }
  for (const [pattern, attributes] of config.quantCfg) {
    if (pattern !== 'default' && matchesWildcard(name, pattern)) quantizer.applyAttributes(attributes);
  }
}

/**
 * Replaces every linear of the model that the config quantizes by a `QuantLinear` (ModelOpt's
 * convert step). GPT-2's Conv1D weights `[in, out]` become `[out, in]`, as ModelOpt's
 * `_QuantConv1D` does: in place (the model is modified in place, as ModelOpt's is) when a weight is
 * first read, through one scratch array the linears share (paging in a fresh array per weight costs
 * more than the transpose itself), unless calibration's kernels transpose it on the device first.
 * Linears whose quantizers are all disabled stay as they are.
 */
export function quantizeLinears(model: GPT2LMHeadModel, config: QuantConfig): Map<string, QuantLinear> {
  const converted = new Map<string, QuantLinear>();
  const scratch: TransposeScratch = { array: new Float32Array(0) };
  for (const path of model.linearPaths) {
    const module = getSubmodule<unknown>(model, path);
    if (module instanceof QuantLinear) {
      converted.set(path, module);
      continue;
    }
    if (!isGraphLinear(module)) continue;
    const quantizers = QUANTIZER_NAMES.map((name) => {
      const quantizer = new TensorQuantizer();
      configureQuantizer(quantizer, `${path}.${name}`, config);
      return quantizer;
    });
    if (!quantizers.some((quantizer) => quantizer.enabled)) continue;
    let linear: QuantLinear;
    if (module instanceof Conv1D && isReloadableTensor(module.weight)) {
      // Read from the checkpoint when needed: the linear makes its [out, in] weight from it each time.
      linear = new QuantLinear(module.weight, module.bias, {
        conv1d: scratch,
        source: module.weight as ReloadableTensor<'float32'>,
      });
    } else if (module instanceof Conv1D) {
      const [inFeatures = 0, outFeatures = 0] = module.weight.shape;
      linear = new QuantLinear(
        createTensor('float32', [outFeatures, inFeatures], module.weight.data),
        module.bias,
        { conv1d: scratch },
      );
    } else {
      linear = new QuantLinear((module as unknown as { weight: Tensor<'float32'> }).weight, module.bias);
    }
    for (const [index, name] of QUANTIZER_NAMES.entries())
      Object.assign(linear[name], pick(quantizers[index]!));
    setSubmodule(model, path, linear);
    converted.set(path, linear);
  }
  return converted;
}

function pick(quantizer: TensorQuantizer) {
  const { enabled, numBits, axis, blockSizes, unsigned, narrowRange } = quantizer;
  return { enabled, numBits, axis, blockSizes, unsigned, narrowRange };
}
