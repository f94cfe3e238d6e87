import type { Gpt2Config } from '@ptq/hf-gpt2';
import { describe, expect, it } from 'vitest';
import { linearSlots } from './modelopt-linear-layout';

const config = { n_layer: 2, n_embd: 8, n_inner: 20, vocab_size: 50, n_positions: 16 } as Gpt2Config;

describe('linearSlots', () => {
  it('lists every linear in forward order with [out, in] sizes, lm_head quantized only in float8', () => {
    const block = (layer: number) => [
      [`transformer.h.${layer}.attn.c_attn`, 24, 8, true],
      [`transformer.h.${layer}.attn.c_proj`, 8, 8, false],
      [`transformer.h.${layer}.mlp.c_fc`, 20, 8, true],
      [`transformer.h.${layer}.mlp.c_proj`, 8, 20, false],
    ];
    const expected = [...block(0), ...block(1)].map(([path, outFeatures, inFeatures, foldable]) => ({
      path,
      outFeatures,
      inFeatures,
      quantized: true,
      conv1d: true,
      foldable,
    }));
    const head = { path: 'lm_head', outFeatures: 50, inFeatures: 8, conv1d: false, foldable: false };
    expect(linearSlots(config, 'int8-weight-only')).toEqual([...expected, { ...head, quantized: false }]);
    expect(linearSlots(config, 'int4-weight-only').at(-1)).toEqual({ ...head, quantized: false });
    expect(linearSlots(config, 'float8').at(-1)).toEqual({ ...head, quantized: true });
  });
});
