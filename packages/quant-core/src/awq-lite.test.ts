import { readModelOptReference } from '@ptq/default-model';
import { describe, expect, it } from 'vitest';
import { awqAlphas, awqScale } from './awq-lite';

describe('AWQ-lite math', () => {
  it("uses ModelOpt's float32 alpha grid of 11 values", async () => {
    const reference = await readModelOptReference();
    const alphas = awqAlphas(0.1);
    expect(alphas).toHaveLength(11);
    expect(alphas[3]).toBe(0.30000001192092896);
    const chosen = new Set(Object.values(reference.modes['int4-weight-only'].alphas));
    for (const alpha of chosen) expect(alphas).toContain(alpha);
  });

  it('normalises the scale so that sqrt(max · min) = 1 and clamps to [1e-4, 1e4]', () => {
    const scale = awqScale(new Float32Array([4, 1, 0]), new Float32Array([1, 1, 1]), 1);
    // s = clamp([4, 1, 0]) = [4, 1, 1e-4]; norm = sqrt(4 · 1e-4) = 0.02.
    expect(scale[0]).toBeCloseTo(200, 3);
    expect(scale[1]).toBeCloseTo(50, 4);
    expect(scale[2]).toBeCloseTo(0.005, 8);
  });
});
