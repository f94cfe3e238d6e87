import { InvalidArgumentError } from '@ptq/errors';
import { amaxPerBlock, amaxPerChannel, amaxPerTensor } from '@ptq/scale-math';
import { createTensor, type Tensor } from '@ptq/tensor';
import type { TensorQuantizer } from './tensor-quantizer';

/**
 * A weight quantizer's `_amax` by max calibration, in ModelOpt's shape: per-tensor `[]`, per-channel
 * (axis 0 of `[out, in]`) `[out, 1]`, blocks along `in` `[out · blocks, 1]` in row-major (o, block)
 * order.
 */
export function weightAmax(weight: Tensor<'float32'>, quantizer: TensorQuantizer): Tensor<'float32'> {
  const shape = weightAmaxShape(weight, quantizer);
  const [out = 0, inFeatures = 0] = weight.shape;
  const blockSize = quantizer.blockSize;
  if (blockSize !== undefined) {
    return createTensor('float32', shape, amaxPerBlock(weight.data, [out, inFeatures], blockSize).data);
  }
  if (quantizer.axis === 0) {
    return createTensor('float32', shape, amaxPerChannel(weight.data, [out, inFeatures], 0).data);
  }
  return createTensor('float32', shape, new Float32Array([amaxPerTensor(weight.data)]));
}

/**
 * The shape of `weightAmax`'s result for this weight and quantizer, without computing it: blocks
 * `[out · ⌈in / block⌉, 1]`, per channel `[out, 1]`, per tensor `[]`.
 */
export function weightAmaxShape(weight: Tensor<'float32'>, quantizer: TensorQuantizer): number[] {
  const [out = 0, inFeatures = 0] = weight.shape;
  const blockSize = quantizer.blockSize;
  if (blockSize !== undefined) return [out * Math.ceil(inFeatures / blockSize), 1];
  if (quantizer.axis === 0) return [out, 1];
  if (quantizer.axis === null) return [];
  throw new InvalidArgumentError(
    'axis',
    `weight quantizers support axis 0, blocks or per-tensor; got axis ${quantizer.axis}`,
  );
}

/** Running max of per-tensor input amax across batches (ModelOpt's MaxCalibrator, axis None). */
export class RunningMax {
  #value = 0;
  #batches = 0;

  update(value: number): void {
    if (Number.isNaN(value))
      throw new InvalidArgumentError('activations', 'contain NaN; calibration cannot proceed');
    this.#value = Math.max(this.#value, Math.fround(value));
    this.#batches++;
  }

  get batches(): number {
    return this.#batches;
  }

  tensor(): Tensor<'float32'> {
    return createTensor('float32', [], new Float32Array([this.#value]));
  }
}
