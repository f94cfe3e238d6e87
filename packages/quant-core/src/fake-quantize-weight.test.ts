import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { fakeQuantizeWeight } from './fake-quantize-weight';
import { TensorQuantizer } from './tensor-quantizer';

function quantizer(setup: Partial<TensorQuantizer>, amax: number[], amaxShape: number[]): TensorQuantizer {
  const result = Object.assign(new TensorQuantizer(), setup);
  result.amax = createTensor('float32', amaxShape, new Float32Array(amax));
  return result;
}

describe('fakeQuantizeWeight', () => {
  it('int8 per channel: w · (127/amax), round half to even, divide back', () => {
    // Row 0: amax 127 → scale 1, so the codes are the rounded values themselves (2.5 → 2, 3.5 → 4, -0.5 → -0).
    // Row 1: amax 254 → scale 0.5: 3 · 0.5 = 1.5 → 2 → 4; 1 · 0.5 = 0.5 → 0.
    const weight = createTensor('float32', [2, 3], new Float32Array([2.5, 3.5, -0.5, 3, 1, -254]));
    const result = fakeQuantizeWeight(weight, quantizer({ axis: 0 }, [127, 254], [2, 1]));
    expect([...result.data]).toEqual([2, 4, -0, 4, 0, -254]);
  });

  it('int4 blocks along in, with a partial last block', () => {
    // One row of 3: blocks [0, 1] and [2]; amax 7 → scale 1; amax 0.7 → scale 10.
    const weight = createTensor('float32', [1, 3], new Float32Array([6.5, -7, 0.7]));
    const result = fakeQuantizeWeight(
      weight,
      quantizer({ numBits: 4, blockSizes: { [-1]: 2 } }, [7, 0.7], [2, 1]),
    );
    expect(result.data[0]).toBe(6); // 6.5 → 6 (tie to even)
    expect(result.data[1]).toBe(-7);
    expect(result.data[2]).toBeCloseTo(0.7, 6);
  });

  it('float8 per tensor: e4m3 grid after scaling by 448/amax, saturating; amax 0 gives 0', () => {
    // amax 448 → scale 1: values land on the e4m3 grid directly. 17 is a tie between 16 and 18 → 16;
    // 2^-10 is a tie between 0 and the smallest subnormal 2^-9 → 0.
    const weight = createTensor('float32', [1, 3], new Float32Array([17, 1000, -0.0009765625]));
    const fp8 = { numBits: [4, 3] as const, axis: null };
    expect([...fakeQuantizeWeight(weight, quantizer(fp8, [448], [])).data]).toEqual([16, 448, -0]);
    expect([...fakeQuantizeWeight(weight, quantizer(fp8, [0], [])).data]).toEqual([0, 0, -0]);
  });
});
