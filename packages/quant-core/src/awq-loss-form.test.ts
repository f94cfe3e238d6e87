import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { InvalidArgumentError } from '@ptq/errors';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { describe, expect, it } from 'vitest';
import { type AwqLossForm, awqLossFormFor } from './awq-loss-form';
import { modelOptQuantize, type QuantizeProgress } from './modelopt-quantize';

const quiet = { log: () => {}, onNotice: () => {} };

function load() {
  return loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
}

describe('the AWQ loss form', () => {
  it('auto takes the form of fewer multiply-adds, at the exact crossover', () => {
    // [tokens, in, out, alphas, form]; outputs: T·in·out·(A+1), Gram: T·in² + A·out·in².
    const table: [number, number, number, number, 'outputs' | 'gram'][] = [
      // The bundled model's c_attn (256 → 768), 11 alphas: 241 tokens 568,590,336 against 569,442,304;
      // 242 tokens 570,949,632 against 569,507,840.
      [241, 256, 768, 11, 'outputs'],
      [242, 256, 768, 11, 'gram'],
      // GPT-2-124M at the defaults' 8192 tokens: every linear, mlp.c_proj 232 G against 157 G.
      [8192, 768, 2304, 11, 'gram'],
      [8192, 768, 768, 11, 'gram'],
      [8192, 768, 3072, 11, 'gram'],
      [8192, 3072, 768, 11, 'gram'],
      // GPT-2-large's c_fc on 64 tokens: 5.0 G against 92 G.
      [64, 1280, 5120, 11, 'outputs'],
      // in ≥ out·(A+1): the Gram matrix alone costs more than the outputs, whatever the tokens.
      [1_000_000, 1024, 64, 11, 'outputs'],
    ];
    for (const [tokens, inFeatures, out, alphas, form] of table) {
      expect(
        awqLossFormFor('auto', tokens, inFeatures, out, alphas),
        `${tokens} × ${inFeatures} → ${out}`,
      ).toBe(form);
    }
    expect(awqLossFormFor('outputs', 8192, 768, 3072, 11)).toBe('outputs');
    expect(awqLossFormFor('gram', 1, 1024, 64, 11)).toBe('gram');
  });

  // `pnpm test` calibrates on 4 of the default 16 samples (the reference tests run the defaults, in
  // whichever form `auto` picks); `pnpm test:full` on all 16.
  const samples = FULL_TESTS ? 16 : 4;
  it(`int4 of the bundled model on ${samples} samples: the same alphas and state dict in the Gram and outputs forms, auto choosing Gram`, async () => {
    const calibrate = async (awqLossForm: AwqLossForm) => {
      const forms: string[] = [];
      const quantized = await modelOptQuantize(await load(), 'int4-weight-only', {
        ...quiet,
        numSamples: samples,
        awqLossForm,
        onProgress: (event: QuantizeProgress) => {
          if (event.phase === 'awq-search') forms.push(event.lossForm!);
        },
      });
      return {
        awq: quantized.awq!,
        forms,
        tokens: quantized.calibrationData!.tokenCount,
        state: quantized.stateDict(),
      };
    };
    const gram = await calibrate('gram');
    const outputs = await calibrate('outputs');
    expect(gram.forms).toEqual(Array(16).fill('gram'));
    expect(outputs.forms).toEqual(Array(16).fill('outputs'));
    expect([...gram.awq.keys()]).toEqual([...outputs.awq.keys()]);
    for (const [path, expected] of outputs.awq) {
      const actual = gram.awq.get(path)!;
      expect(actual.alpha, path).toBe(expected.alpha);
      for (let index = 0; index < expected.losses.length; index++) {
        // The outputs form's float32 sums of N × out squares run a few 1e-4 low (see the graph tests).
        expect(Math.abs(actual.losses[index]! / expected.losses[index]! - 1), path).toBeLessThan(1e-3);
      }
    }
    // The same alphas give the same scales: the quantized models are the same to the bit.
    expect([...gram.state.keys()]).toEqual([...outputs.state.keys()]);
    const bytes = ({ data }: { data: ArrayBufferView }) =>
      Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (const [name, tensor] of outputs.state) {
      expect(bytes(gram.state.get(name)!).equals(bytes(tensor)), name).toBe(true);
    }
    // What `auto` picks for the bundled model's four shapes at these tokens (and so at the defaults'
    // 16 × 512, the reference tests' run).
    expect(gram.tokens).toBeGreaterThan(samples * 500);
    for (const [inFeatures, out] of [
      [256, 768],
      [256, 256],
      [256, 1024],
      [1024, 256],
    ] as const) {
      expect(awqLossFormFor('auto', gram.tokens, inFeatures, out, 11)).toBe('gram');
    }
  }, 300_000);

  it('refuses an unknown form, and the Gram form with whole-model calibration', async () => {
    const loop = async () => {};
    for (const [awqLossForm, calibration] of [
      ['matrix', 'block-by-block'],
      ['gram', 'whole-model'],
    ] as const) {
      const attempt = modelOptQuantize(await load(), 'int4-weight-only', {
        ...quiet,
        forwardLoop: loop,
        calibration,
        awqLossForm: awqLossForm as AwqLossForm,
      });
      await expect(attempt).rejects.toThrow(InvalidArgumentError);
      await expect(attempt).rejects.toThrow(
        `Invalid argument "awqLossForm": must be "auto", "outputs" or "gram" ("gram" with block-by-block calibration only), got "${awqLossForm}" with ${calibration} calibration`,
      );
    }
  });
});
