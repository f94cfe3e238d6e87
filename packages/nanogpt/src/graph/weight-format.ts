import { InvalidArgumentError } from '@ptq/errors';
import type { ResolvedDevice } from '@ptq/onnx';
import type { QuantMode } from '../config';

/**
 * How quantized weights are stored in the graph and turned into a matmul:
 *
 * - `matmul-nbits`: `com.microsoft::MatMulNBits` on packed unsigned codes (int4 and int8);
 * - `dequantize-linear`: an int8 / int4 / float8e4m3fn initializer through `DequantizeLinear`, then `MatMul`;
 * - `lookup`: float8 codes as a uint8 initializer, decoded by `Gather` from a 256-entry table that
 *   already holds `value(code) · weight_scale`, then `MatMul` (float8 only).
 */
export type WeightFormat = 'matmul-nbits' | 'dequantize-linear' | 'lookup';

export const WEIGHT_FORMATS: readonly WeightFormat[] = ['matmul-nbits', 'dequantize-linear', 'lookup'];

/** The formats a quant mode can use. */
export function weightFormatsFor(quantMode: QuantMode): readonly WeightFormat[] {
  return quantMode === 'float8' ? ['dequantize-linear', 'lookup'] : ['matmul-nbits', 'dequantize-linear'];
}

/**
 * The default format per mode and device. Integer weights use MatMulNBits everywhere (one fused
 * kernel on CPU and WebGPU). float8 uses DequantizeLinear where it runs natively (CPU, CUDA) and the
 * lookup on WebGPU, where a float8 DequantizeLinear falls back to the CPU.
 */
export function defaultWeightFormat(quantMode: QuantMode, device: ResolvedDevice): WeightFormat {
  if (quantMode !== 'float8') return 'matmul-nbits';
  return device === 'webgpu' ? 'lookup' : 'dequantize-linear';
}

/** The format to build with: the requested one when the mode supports it, else the default. */
export function resolveWeightFormat(
  quantMode: QuantMode | undefined,
  device: ResolvedDevice,
  requested: WeightFormat | undefined,
): WeightFormat | undefined {
  if (quantMode === undefined) {
    if (requested !== undefined) {
      throw new InvalidArgumentError(
        'weightFormat',
        `applies to quantized models only; this model is unquantized`,
      );
    }
    return undefined;
  }
  if (requested === undefined) return defaultWeightFormat(quantMode, device);
  const allowed = weightFormatsFor(quantMode);
  if (!allowed.includes(requested)) {
    throw new InvalidArgumentError(
      'weightFormat',
      `must be one of ${allowed.join(', ')} for ${quantMode}, got ${String(requested)}`,
    );
  }
  return requested;
}
