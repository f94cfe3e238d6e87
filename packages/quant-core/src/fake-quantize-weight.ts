import { InvalidArgumentError } from '@ptq/errors';
import { fakeQuantModelOpt, type QuantLayout } from '@ptq/scale-math';
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
  const ranges = layout.kind === 'per-tensor' ? (amax.data[0] ?? 0) : amax.data;
  const values = fakeQuantModelOpt(weight.data, weight.shape, ranges, quantizer.format, layout, into);
  return createTensor('float32', weight.shape, values);
}
