import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, type Tensor } from '@ptq/tensor';
import { forEachRun, type LayoutPlan, planLayout } from './quant-layout';

function throwNaN(index: number): never {
  throw new InvalidArgumentError('x', `contains NaN at index ${index}; amax is undefined`);
}

/** max |x| over each run's scale slot. */
function amaxOverRuns(x: Float32Array, plan: LayoutPlan): Float32Array {
  const amax = new Float32Array(plan.scaleCount);
  forEachRun(plan, (start, end, scaleIndex) => {
    // Four independent max chains instead of one; Math.max keeps a NaN, so no test per element.
    let first = amax[scaleIndex]!;
    let second = 0;
    let third = 0;
    let fourth = 0;
    let index = start;
    for (; index + 3 < end; index += 4) {
      first = Math.max(first, Math.abs(x[index]!));
      second = Math.max(second, Math.abs(x[index + 1]!));
      third = Math.max(third, Math.abs(x[index + 2]!));
      fourth = Math.max(fourth, Math.abs(x[index + 3]!));
    }
    for (; index < end; index += 1) first = Math.max(first, Math.abs(x[index]!));
    const maximum = Math.max(Math.max(first, second), Math.max(third, fourth));
    if (Number.isNaN(maximum)) {
      throwNaN(x.subarray(start, end).findIndex(Number.isNaN) + start);
    }
    amax[scaleIndex] = maximum;
  });
  return amax;
}

/** max |x| over the whole array (ModelOpt's 0-d `_amax`); 0 for an empty array. NaN throws. */
export function amaxPerTensor(x: Float32Array): number {
  return amaxOverRuns(x, planLayout([x.length], { kind: 'per-tensor' }, x.length))[0]!;
}

/**
 * max |x| for each index along `axis` (negative counts from the end), shape `[shape[axis]]`. For a
 * weight `[out, in]` and axis 0 this is ModelOpt's int8 `_amax` `[out, 1]`, squeezed.
 */
export function amaxPerChannel(x: Float32Array, shape: readonly number[], axis: number): Tensor<'float32'> {
  const plan = planLayout(shape, { kind: 'per-channel', axis }, x.length);
  return createTensor('float32', plan.scaleShape, amaxOverRuns(x, plan));
}

/**
 * max |x| over each block of `blockSize` elements along the last axis, shape `[...leading, blocks]`
 * with `blocks = ceil(last / blockSize)`; a shorter last block takes the max over the elements it has.
 * For a weight `[out, in]` this is ModelOpt's `export_amax()` `[out, in / blockSize]`.
 */
export function amaxPerBlock(
  x: Float32Array,
  shape: readonly number[],
  blockSize: number,
): Tensor<'float32'> {
  const plan = planLayout(shape, { kind: 'block', blockSize }, x.length);
  return createTensor('float32', plan.scaleShape, amaxOverRuns(x, plan));
}
