import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { describe, expect, it } from 'vitest';
import { modelOptQuantize } from './modelopt-quantize';
import { FP8_DEFAULT_CFG, INT4_AWQ_CFG, INT8_DEFAULT_CFG, quantConfigForMode } from './quant-config';

const quiet = { log: () => {}, onNotice: () => {} };

function load() {
  return loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
}

describe('modelOptQuantize(model, { mode, ... })', () => {
  it('gives the same state dict as the seed-shaped call', async () => {
    const named = await modelOptQuantize(await load(), { mode: 'int8-weight-only', ...quiet });
    const positional = await modelOptQuantize(await load(), 'int8-weight-only', quiet);
    expect(named.mode).toBe('int8-weight-only');
    const expected = positional.stateDict();
    const actual = named.stateDict();
    expect([...actual.keys()]).toEqual([...expected.keys()]);
    for (const [key, tensor] of expected) {
      expect(actual.get(key)!.shape, key).toEqual(tensor.shape);
      expect(Buffer.from(actual.get(key)!.data.buffer).equals(Buffer.from(tensor.data.buffer)), key).toBe(
        true,
      );
    }
  });
});

describe('a custom config is checked against the mode', () => {
  const cases = [
    [
      'int4 blocks under int8-weight-only',
      'int8-weight-only',
      INT4_AWQ_CFG,
      /^Invalid argument "config": quantizes transformer\.h\.0\.attn\.c_attn as weight int4 blocks of 128, but mode "int8-weight-only" runs and exports int8 weights per output channel, inputs not quantized$/,
    ],
    [
      'int8 with int8 inputs under int8-weight-only',
      'int8-weight-only',
      INT8_DEFAULT_CFG,
      /as weight int8 axis 0, input int8 per tensor, but mode "int8-weight-only"/,
    ],
    [
      'float8 under int4-weight-only',
      'int4-weight-only',
      FP8_DEFAULT_CFG,
      /as weight float8e4m3fn per tensor, input/,
    ],
  ] as const;

  it.each(cases)('refuses %s before calibrating', async (_name, mode, config, message) => {
    await expect(modelOptQuantize(await load(), mode, { ...quiet, config })).rejects.toThrow(message);
  });

  it("accepts each mode's own preset, and int4 with max calibration (round to nearest)", async () => {
    for (const mode of ['int8-weight-only', 'float8', 'int4-weight-only'] as const) {
      const config =
        mode === 'int4-weight-only'
          ? { ...INT4_AWQ_CFG, algorithm: 'max' as const }
          : quantConfigForMode(mode);
      const quantized = await modelOptQuantize(await load(), mode, {
        ...quiet,
        config,
        numSamples: 1,
        batchSize: 1,
        maxSampleLength: 8,
      });
      expect(quantized.mode).toBe(mode);
    }
  });
});
