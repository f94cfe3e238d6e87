// Dequantized weights computed from the definitions, independently of src/quantization, for tests.
import { float8E4M3FNBitsToFloat32, float32ToFloat8E4M3FNBits, toFloat32 } from '@ptq/tensor';
import type { Linear } from '../modules/linear';

/** Nearest integer, ties to the even one, by definition. */
function roundTiesToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return fraction > 0.5 ? floor + 1 : floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** `q · scale` per element, with `q = clamp(rne(float32(W / scale)))` or the e4m3fn code, in float64. */
export function dequantizedWeight(linear: Linear): Float64Array {
  const weight = toFloat32(linear.weight);
  if (linear.quantDtype === undefined) return Float64Array.from(weight);
  const scales = toFloat32(linear.weight_scale!);
  const { inFeatures, outFeatures } = linear;
  const result = new Float64Array(outFeatures * inFeatures);
  for (let o = 0; o < outFeatures; o += 1) {
    for (let j = 0; j < inFeatures; j += 1) {
      const w = weight[o * inFeatures + j]!;
      let scale: number;
      if (linear.quantDtype === 'int4')
        scale = scales[o * Math.ceil(inFeatures / 128) + Math.floor(j / 128)]!;
      else if (linear.quantDtype === 'int8' && linear.weightQuantDim === 0) scale = scales[o]!;
      else scale = scales[0]!;
      let value: number;
      if (scale === 0) {
        value = 0;
      } else if (linear.quantDtype === 'float8e4m3fn') {
        value = float8E4M3FNBitsToFloat32(float32ToFloat8E4M3FNBits(Math.fround(w / scale))) * scale;
      } else {
        const limit = linear.quantDtype === 'int4' ? 8 : 128;
        value = Math.min(limit - 1, Math.max(-limit, roundTiesToEven(Math.fround(w / scale)))) * scale;
      }
      result[o * inFeatures + j] = value;
    }
  }
  return result;
}
