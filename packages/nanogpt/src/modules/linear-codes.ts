import { InvalidArgumentError } from '@ptq/errors';
import { type QuantLayout, quantize } from '@ptq/scale-math';
import { toFloat32 } from '@ptq/tensor';
import type { Linear } from './linear';

/** How a linear's `weight_scale` covers its `[out, in]` weight, in @ptq/scale-math's terms. */
export function scaleLayoutOf(linear: Linear): QuantLayout {
  if (linear.quantDtype === 'int4') return { kind: 'block', blockSize: linear.blockSize! };
  return linear.weightQuantDim === 0 ? { kind: 'per-channel', axis: 0 } : { kind: 'per-tensor' };
}

/** Whether an int4 or int8 linear holds its weight as its integer codes (an int8 tensor) instead of floats. */
export function holdsCodes(linear: Linear): boolean {
  return linear.weight.dtype === 'int8';
}

/**
 * A quantized linear's weight codes, `[out, in]` row-major, as the graph and the kernels store them:
 * the weight itself when the linear holds its codes (`holdsCodes`), else made from the float weight
 * and `scales` (its `weight_scale` in float32) as ModelOpt makes them: `q = clamp(roundHalfEven(W /
 * scale))` for integers, `e4m3(W / scale)` for float8, the division in float32 (@ptq/scale-math).
 */
export function linearCodes(linear: Linear, scales?: Float32Array): Int8Array | Uint8Array {
  const quantDtype = linear.quantDtype;
  if (quantDtype === undefined || linear.weight_scale === undefined) {
    throw new InvalidArgumentError('linear', 'is not quantized: it has no codes');
  }
  if (holdsCodes(linear)) return linear.weight.data as Int8Array;
  const shape = [linear.outFeatures, linear.inFeatures];
  const layout = scaleLayoutOf(linear);
  return quantize(
    toFloat32(linear.weight),
    shape,
    scales ?? toFloat32(linear.weight_scale),
    quantDtype,
    layout,
  );
}
