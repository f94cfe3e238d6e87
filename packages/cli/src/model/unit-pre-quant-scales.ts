import type { QuantizedModel } from '@ptq/quant-core';
import { createTensor } from '@ptq/tensor';

/**
 * Gives every int4 linear calibrated by round to nearest (`--algorithm max`) a `pre_quant_scale` of
 * ones: the same model, written as the W4A16_AWQ checkpoint ptq's readers, the runtime and
 * TensorRT-LLM expect (AWQ whose search kept every channel's scale at 1). Linears that have a scale
 * keep it.
 */
export function withUnitPreQuantScales(quantized: QuantizedModel): QuantizedModel {
  for (const linear of quantized.linears.values()) {
    const quantizer = linear.input_quantizer;
    if (!linear.weight_quantizer.enabled || quantizer.preQuantScale !== undefined) continue;
    const inputs = linear.inFeatures;
    quantizer.preQuantScale = createTensor('float32', [inputs], new Float32Array(inputs).fill(1));
    linear.invalidate();
  }
  return quantized;
}
