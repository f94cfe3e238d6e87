// The plain way to write quantization, kept as the benchmark's baseline: a function call per element,
// the scale index recomputed per element, Math.round (which rounds ties up, not to even).
import { float8E4M3FNBitsToFloat32, float32ToFloat8E4M3FNBits } from '@ptq/tensor';
import type { QuantFormat, QuantLayout } from '../src/index';

function scaleIndexOf(index: number, shape: readonly number[], layout: QuantLayout): number {
  if (layout.kind === 'per-tensor') {
    return 0;
  }
  const columns = shape[shape.length - 1]!;
  if (layout.kind === 'per-channel') {
    // Only the bench's 2-D axis-0 case.
    return Math.floor(index / columns);
  }
  const blocks = Math.ceil(columns / layout.blockSize);
  return Math.floor(index / columns) * blocks + Math.floor((index % columns) / layout.blockSize);
}

function quantizeValue(value: number, scale: number, format: QuantFormat): number {
  if (format === 'float8e4m3fn') {
    return float32ToFloat8E4M3FNBits(value / scale);
  }
  const maximum = format === 'int8' ? 127 : 7;
  return Math.min(maximum, Math.max(-maximum - 1, Math.round(value / scale)));
}

function dequantizeValue(code: number, scale: number, format: QuantFormat): number {
  return format === 'float8e4m3fn' ? float8E4M3FNBitsToFloat32(code) * scale : code * scale;
}

export function naiveQuantize(
  x: Float32Array,
  shape: readonly number[],
  scales: Float32Array,
  format: QuantFormat,
  layout: QuantLayout,
): Int8Array | Uint8Array {
  const codes = format === 'float8e4m3fn' ? new Uint8Array(x.length) : new Int8Array(x.length);
  for (let index = 0; index < x.length; index += 1) {
    codes[index] = quantizeValue(x[index]!, scales[scaleIndexOf(index, shape, layout)]!, format);
  }
  return codes;
}

export function naiveDequantize(
  codes: Int8Array | Uint8Array,
  shape: readonly number[],
  scales: Float32Array,
  format: QuantFormat,
  layout: QuantLayout,
): Float32Array {
  const output = new Float32Array(codes.length);
  for (let index = 0; index < codes.length; index += 1) {
    output[index] = dequantizeValue(codes[index]!, scales[scaleIndexOf(index, shape, layout)]!, format);
  }
  return output;
}
