import { type Tensor, toFloat32 } from '@ptq/tensor';
import { WeightValueError } from '../errors';
import { collectParameterSlots } from '../state-dict/collect-state-dict';

const SCALE_NAMES = new Set(['weight_scale', 'input_scale']);

/** The first index of a float32 / float16 tensor holding NaN or ±Inf, or -1. */
function firstNonFinite(tensor: Tensor): number {
  if (tensor.dtype === 'float16') {
    const bits = tensor.data as Uint16Array;
    for (let index = 0; index < bits.length; index += 1) {
      if ((bits[index]! & 0x7c00) === 0x7c00) return index;
    }
    return -1;
  }
  const values = tensor.data as Float32Array;
  for (let index = 0; index < values.length; index += 1) {
    // v - v is NaN exactly when v is NaN or ±Inf, and avoids a call per element.
    if (values[index]! - values[index]! !== 0) return index;
  }
  return -1;
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
    const nonFinite = firstNonFinite(slot.tensor);
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
