import { firstNonFinite, firstNonFiniteFloat16, type Tensor, toFloat32 } from '@ptq/tensor';
import { WeightValueError } from '../errors';
import { collectParameterSlots } from '../state-dict/collect-state-dict';

const SCALE_NAMES = new Set(['weight_scale', 'input_scale']);

/** The first index of a float32 / float16 tensor holding NaN or ±Inf, or -1 (always for codes). */
function firstNonFiniteOf(tensor: Tensor): number {
  if (tensor.dtype === 'int8') return -1;
  return tensor.dtype === 'float16'
    ? firstNonFiniteFloat16(tensor.data as Uint16Array)
    : firstNonFinite(tensor.data as Float32Array);
}

function firstNegative(tensor: Tensor): number {
  const values = toFloat32(tensor);
  for (let index = 0; index < values.length; index += 1) {
    if (values[index]! < 0) return index;
  }
  return -1;
}

/**
 * Refuses weights a graph cannot be built from: any NaN or ±Inf, and negative scales. Named by
 * state-dict key and element index, so the bad checkpoint entry can be found.
 */
export function checkWeightValues(root: object): void {
  const checked = new Set<Tensor>();
  for (const [key, slot] of collectParameterSlots(root)) {
    // A tied tensor is checked under its first key only.
    if (checked.has(slot.tensor)) continue;
    checked.add(slot.tensor);
    const nonFinite = firstNonFiniteOf(slot.tensor);
    if (nonFinite !== -1) {
      throw new WeightValueError(
        key,
        `element ${nonFinite} is not finite; weights and scales must be finite numbers`,
      );
    }
    if (SCALE_NAMES.has(slot.name)) {
      const negative = firstNegative(slot.tensor);
      if (negative !== -1) {
        throw new WeightValueError(key, `element ${negative} is negative; scales must be ≥ 0`);
      }
    }
  }
}
