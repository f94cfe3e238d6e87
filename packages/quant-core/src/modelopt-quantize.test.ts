import {
  DEFAULT_MODEL_DIR,
  type ModelOptReference,
  readHeldOutText,
  readModelOptReference,
} from '@ptq/default-model';
import { type GPT2LMHeadModel, loadHfGpt2, perplexity } from '@ptq/hf-gpt2';
import { createTensor, type Tensor } from '@ptq/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { readmePerplexities } from './__fixtures__/readme-figures';
import { modelOptQuantize } from './modelopt-quantize';
import { UnknownQuantModeError } from './quant-config';

const quiet = { log: () => {}, onNotice: () => {} };
let reference: ModelOptReference;
let heldOut: string;

beforeAll(async () => {
  reference = await readModelOptReference();
  heldOut = await readHeldOutText();
});

function load(): Promise<GPT2LMHeadModel> {
  return loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
}

function expectRelativelyClose(
  actual: ArrayLike<number>,
  expected: readonly number[],
  tolerance: number,
  what: string,
) {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  for (let index = 0; index < expected.length; index++) {
    const scale = Math.max(Math.abs(expected[index]!), 1e-30);
    worst = Math.max(worst, Math.abs(actual[index]! - expected[index]!) / scale);
  }
  expect(worst, `${what}: worst relative difference`).toBeLessThanOrEqual(tolerance);
}

async function heldOutPerplexity(model: GPT2LMHeadModel): Promise<number> {
  return (await perplexity(model, heldOut)).perplexity;
}

/** The READMEs state this figure for the mode, to three decimals: hold them to what ptq computes. */
async function expectReadmeFigures(mode: string, ppl: number) {
  const stated = await readmePerplexities(mode);
  expect(stated.package, `packages/quant-core/README.md, ${mode}`).toBe(ppl.toFixed(3));
  expect(stated.root, `README.md, ${mode}`).toBe(ppl.toFixed(3));
}

describe('modelOptQuantize on the default model, against the independent PyTorch reference', () => {
  // Each mode quantizes the bundled model and scores all 100,019 held-out tokens: minutes under load.
  it('int8 weight-only: per-channel weight amax equal in float32, fake-quant perplexity within 0.2%', async () => {
    const model = await load();
    const quantized = await modelOptQuantize(model, 'int8-weight-only', quiet);
    const expected = reference.modes['int8-weight-only'];
    const state = quantized.stateDict();
    for (const [name, values] of Object.entries(expected.weightAmax)) {
      const amax = state.get(`${name}.weight_quantizer._amax`)!;
      expect(amax.shape).toEqual(expected.weightAmaxShape[name]);
      expect([...amax.data]).toEqual(values);
      expect(state.get(`${name}.weight`)!.shape[0]).toBe(amax.shape[0]);
      expect(state.has(`${name}.input_quantizer._amax`)).toBe(false);
    }
    expect(state.has('lm_head.weight_quantizer._amax')).toBe(false);
    const ppl = await heldOutPerplexity(quantized.model);
    expect(Math.abs(ppl / expected.perplexity - 1)).toBeLessThan(0.002);
    await expectReadmeFigures('int8-weight-only', ppl);
  }, 600_000);

  it('float8: weight amax equal, input amax within 1e-5 relative (lm_head included), perplexity within 0.2%', async () => {
    const model = await load();
    const quantized = await modelOptQuantize(model, 'float8', quiet);
    const expected = reference.modes.float8;
    const state = quantized.stateDict();
    const names = Object.keys(expected.inputAmax);
    expect(names).toContain('lm_head');
    for (const name of names) {
      const weightAmax = state.get(`${name}.weight_quantizer._amax`)!;
      expect(weightAmax.shape).toEqual([]);
      expect(weightAmax.data[0]).toBe(expected.weightAmax[name]);
      const inputAmax = state.get(`${name}.input_quantizer._amax`)!;
      expect(inputAmax.shape).toEqual([]);
      expectRelativelyClose(
        inputAmax.data as Float32Array,
        [expected.inputAmax[name]!],
        1e-5,
        `${name} input amax`,
      );
    }
    const ppl = await heldOutPerplexity(quantized.model);
    expect(Math.abs(ppl / expected.perplexity - 1)).toBeLessThan(0.002);
    await expectReadmeFigures('float8', ppl);
  }, 600_000);

  it('int4 weight-only (AWQ-lite): identical alphas, pre_quant_scale and block amax close, perplexity within 0.2%', async () => {
    const model = await load();
    const quantized = await modelOptQuantize(model, 'int4-weight-only', quiet);
    const expected = reference.modes['int4-weight-only'];
    const state = quantized.stateDict();
    const alphas = Object.fromEntries([...quantized.awq!].map(([name, result]) => [name, result.alpha]));
    expect(alphas).toEqual(expected.alphas);
    for (const name of Object.keys(expected.alphas)) {
      const amax = state.get(`${name}.weight_quantizer._amax`)!;
      expect(amax.shape).toEqual(expected.weightAmaxShape[name]);
      expectRelativelyClose(
        amax.data as Float32Array,
        expected.weightAmax[name]!,
        1e-4,
        `${name} weight amax`,
      );
      const scale = state.get(`${name}.input_quantizer._pre_quant_scale`)!;
      expect(scale.shape).toEqual([expected.preQuantScale[name]!.length]);
      expectRelativelyClose(
        scale.data as Float32Array,
        expected.preQuantScale[name]!,
        1e-4,
        `${name} pre_quant_scale`,
      );
      expectRelativelyClose(
        quantized.awq!.get(name)!.losses,
        expected.losses[name]!,
        1e-3,
        `${name} AWQ losses`,
      );
    }
    const ppl = await heldOutPerplexity(quantized.model);
    expect(Math.abs(ppl / expected.perplexity - 1)).toBeLessThan(0.002);
    await expectReadmeFigures('int4-weight-only', ppl);
  }, 600_000);
});

describe('modelOptQuantize with a custom forward loop', () => {
  it('calibrates input amax from exactly the batches the loop runs', async () => {
    const tokens = [
      [5, 17, 300, 41, 9],
      [0, 0, 77, 1200, 64],
    ];
    const ids = createTensor('int64', [2, 5], BigInt64Array.from(tokens.flat().map(BigInt)));
    const mask = createTensor(
      'int64',
      [2, 5],
      BigInt64Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 1].map(BigInt)),
    );
    const expectedModel = await load();
    const observed = await expectedModel.forward(ids, mask, {
      taps: expectedModel.linearPaths.map((module) => ({ module, absMax: true })),
      logits: false,
    });

    const model = await load();
    let calls = 0;
    const quantized = await modelOptQuantize(model, 'float8', {
      ...quiet,
      forwardLoop: async (calibrationModel) => {
        calls++;
        await calibrationModel.forward(ids, mask);
      },
    });
    expect(calls).toBe(1);
    expect(quantized.calibrationBatches).toBe(1);
    for (const path of model.linearPaths) {
      const amax: Tensor = quantized.stateDict().get(`${path}.input_quantizer._amax`)!;
      expect(amax.data[0]).toBe(Math.fround(observed.taps.get(path)!.absMax!));
    }
  }, 120_000);

  it('rejects an unknown mode before touching the model', async () => {
    const model = await load();
    await expect(modelOptQuantize(model, 'int3' as never, quiet)).rejects.toThrow(UnknownQuantModeError);
    expect(model.linearPaths.every((path) => !path.includes('quant'))).toBe(true);
  });
});
