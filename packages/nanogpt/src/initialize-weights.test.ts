import { toFloat32 } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { initializeWeights } from './initialize-weights';
import { GPT } from './modules/gpt';

const config = { numLayers: 1, numHeads: 2, embeddingSize: 192, vocabSize: 20, blockSize: 8 };

describe('initializeWeights', () => {
  it('is reproducible per seed and keeps the head tied', () => {
    const first = new GPT(config);
    const second = new GPT(config);
    initializeWeights(first, { seed: 5 });
    initializeWeights(second, { seed: 5 });
    expect(toFloat32(first.transformer.h[0]!.mlp.c_fc.weight)).toEqual(
      toFloat32(second.transformer.h[0]!.mlp.c_fc.weight),
    );
    expect(first.weightsTied).toBe(true);
    const third = new GPT(config);
    initializeWeights(third, { seed: 6 });
    expect(toFloat32(third.transformer.wte.weight)).not.toEqual(toFloat32(first.transformer.wte.weight));
  });

  it('max-calibrates weight scales per channel, per 128-block (partial last block) and per tensor', () => {
    const int8 = new GPT({ ...config, quantMode: 'int8-weight-only' });
    initializeWeights(int8, { seed: 1 });
    const linear8 = int8.transformer.h[0]!.attn.c_proj;
    const weight8 = toFloat32(linear8.weight);
    const row3 = weight8.subarray(3 * 192, 4 * 192);
    expect(toFloat32(linear8.weight_scale!)[3]).toBe(Math.fround(Math.max(...row3.map(Math.abs)) / 127));

    const int4 = new GPT({ ...config, quantMode: 'int4-weight-only' });
    initializeWeights(int4, { seed: 1 });
    const linear4 = int4.transformer.h[0]!.attn.c_attn;
    const weight4 = toFloat32(linear4.weight);
    const scales4 = toFloat32(linear4.weight_scale!);
    // Row 5: block 0 is columns 0..127, block 1 the 64 columns 128..191.
    const row5 = weight4.subarray(5 * 192, 6 * 192);
    expect(scales4[10]).toBe(Math.fround(Math.max(...row5.subarray(0, 128).map(Math.abs)) / 7));
    expect(scales4[11]).toBe(Math.fround(Math.max(...row5.subarray(128).map(Math.abs)) / 7));

    const float8 = new GPT({ ...config, quantMode: 'float8' });
    initializeWeights(float8, { seed: 1 });
    const head = toFloat32(float8.lm_head.weight);
    expect(toFloat32(float8.lm_head.weight_scale!)[0]).toBe(
      Math.fround(Math.max(...head.map(Math.abs)) / 448),
    );
    expect(toFloat32(float8.lm_head.input_scale!)[0]).toBe(1);
  });

  it('refuses a bad std', () => {
    expect(() => initializeWeights(new GPT(config), { std: -1 })).toThrow(
      'Invalid argument "std": must be a finite number ≥ 0, got -1',
    );
  });
});
