import { InvalidArgumentError } from '@ptq/errors';
import { fakeQuantModelOpt, fakeQuantModelOptCodes, type QuantLayout } from '@ptq/scale-math';
import { createTensor, type Tensor } from '@ptq/tensor';
import type { TensorQuantizer } from './tensor-quantizer';

/**
 * ModelOpt's fake quantization of a weight `[out, in]` with its quantizer's calibrated `_amax`
 * (`w · maxbound/amax`, rounded or cast to e4m3, divided back, in float32); amax ≤ 2^-24 gives 0.
 * The values go into `into` when given (at least as long as the weight): see `fakeQuantModelOpt`.
 */
export function fakeQuantizeWeight(
  weight: Tensor<'float32'>,
  quantizer: TensorQuantizer,
  into?: Float32Array,
): Tensor<'float32'> {
  const { layout, ranges } = calibratedLayout(quantizer);
  const values = fakeQuantModelOpt(weight.data, weight.shape, ranges, quantizer.format, layout, into);
  return createTensor('float32', weight.shape, values);
}

/**
 * The integer codes ModelOpt's fake quantization rounds an int4 or int8 weight `[out, in]` to,
 * `clamp(round(w · maxbound/amax))` (`fakeQuantModelOptCodes`: one pass, no floats made), as an
 * int8 tensor of the weight's shape, one code per element.
 */
export function weightCodes(weight: Tensor<'float32'>, quantizer: TensorQuantizer): Tensor<'int8'> {
  const format = quantizer.format;
  if (format !== 'int4' && format !== 'int8') {
    throw new InvalidArgumentError('weight_quantizer', `gives ${format} values, not integer codes`);
  }
  const { layout, ranges } = calibratedLayout(quantizer);
  const codes = fakeQuantModelOptCodes(weight.data, weight.shape, ranges, format, layout);
  return createTensor('int8', weight.shape, codes);
}

/** How a calibrated weight quantizer's `_amax` covers the weight, and its values as @ptq/scale-math takes them. */
function calibratedLayout(quantizer: TensorQuantizer): {
  layout: QuantLayout;
  ranges: number | Float32Array;
} {
  const amax = quantizer.amax;
  if (amax === undefined) {
    throw new InvalidArgumentError('weight_quantizer', 'is not calibrated (no _amax)');
  }
  const blockSize = quantizer.blockSize;
  let layout: QuantLayout;
  if (blockSize !== undefined) layout = { kind: 'block', blockSize };
  else if (quantizer.axis === 0) layout = { kind: 'per-channel', axis: 0 };
  else if (quantizer.axis === null) layout = { kind: 'per-tensor' };
  else
    throw new InvalidArgumentError(
      'axis',
      `weight quantizers support axis 0, blocks or per-tensor; got ${quantizer.axis}`,
    );
  return { layout, ranges: layout.kind === 'per-tensor' ? (amax.data[0] ?? 0) : amax.data };
}
