import { createXoshiro128 } from '@ptq/tensor';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { describe, expect, it, vi } from 'vitest';
import { bundledModel } from '../__fixtures__/bundled-model';
import { kernelAdapterProblem } from '../__fixtures__/kernel-adapter';
import { PROMPT, releasedAfterAll } from '../__fixtures__/kernel-engine-checks';
import { tinyModel } from '../__fixtures__/tiny-model';
import { generate } from '../generate/generate';
import type { GPT } from '../modules/gpt';
import { compile } from '../runtime/compile';
import { KernelGPT } from './kernel-gpt';

const problem = await kernelAdapterProblem();
if (problem !== undefined) console.warn(`kernel engine tests skipped: ${problem}`);
const open = releasedAfterAll();

/**
 * The device's draws against `generate`'s host sampler with the same seeds: the same 64 tokens, with
 * `sampledChunks` directly (three read sizes) and through `generate`; sampled, not greedy, unless
 * top-k leaves one candidate.
 */
async function checkSampling(
  model: GPT,
  tokens: readonly number[],
  temperature: number,
  topK: number | undefined,
): Promise<void> {
  const reference = await open(compile(model, { device: 'cpu', maxSequence: 80 }));
  const kernels = await open(
    compile(model, { engine: 'kernels', allowSoftwareAdapter: true, maxSequence: 80 }),
  );
  if (!(kernels instanceof KernelGPT)) throw new Error('expected the kernels engine');
  for (const [seed, tokensPerRead] of [
    [1, 16],
    [2, 5],
    [3, 64],
  ] as const) {
    const options = { maxNewTokens: 64, temperature, topK, seed, stopAtEos: false };
    const want = (await generate(reference, [tokens], options)).newTokens[0]!;
    const got: number[] = [];
    const random = createXoshiro128(seed);
    for await (const chunk of kernels.sampledChunks(
      tokens,
      64,
      { temperature, topK, random },
      tokensPerRead,
    )) {
      got.push(...chunk);
    }
    expect(got, `seed ${seed}`).toEqual(want);
    // generate takes the device sampler for the kernels engine: the same tokens.
    const onDevice = vi.spyOn(kernels, 'sampledChunks');
    const generated = await generate(kernels, [tokens], { ...options, tokensPerRead });
    expect(onDevice).toHaveBeenCalledTimes(1);
    onDevice.mockRestore();
    expect(generated.newTokens[0], `generate, seed ${seed}`).toEqual(want);
    // Sampling, not greedy decoding, unless only one candidate is left.
    const greedy = (await generate(reference, [tokens], { maxNewTokens: 64, stopAtEos: false }))
      .newTokens[0]!;
    if (topK === 1) expect(got).toEqual(greedy);
    else expect(got).not.toEqual(greedy);
  }
}

const SETTINGS = [
  { temperature: 0.8, topK: 40 },
  { temperature: 0.8, topK: 1 },
  { temperature: 1, topK: undefined },
];

describe.skipIf(problem !== undefined)('sampling on the device against onnxruntime (llvmpipe)', () => {
  // Three seeds, each sampled on the device, through generate and on the host: ~10 s on llvmpipe.
  it.each(SETTINGS)(
    'tiny model, temperature $temperature, top-k $topK: the seed’s 64 tokens',
    { timeout: 120_000 },
    async ({ temperature, topK }) => {
      const model = tinyModel({ blockSize: 80 });
      await checkSampling(model, PROMPT.slice(0, 8), temperature, topK);
    },
  );

  // The bundled model in `pnpm test:full` only: sampling on the device does not depend on the
  // model, and the tiny model's runs above check every setting against onnxruntime's tokens (the
  // bundled model's greedy decode stays in `pnpm test`, in kernel-gpt.test.ts).
  it.runIf(FULL_TESTS).each(SETTINGS)(
    'bundled model, temperature $temperature, top-k $topK: the seed’s 64 tokens',
    { timeout: 240_000 },
    async ({ temperature, topK }) => {
      const { model, tokens } = await bundledModel(undefined, 8);
      await checkSampling(model, tokens, temperature, topK);
    },
  );

  it('refuses bad sampling options by name', async () => {
    const kernels = await open(compile(tinyModel(), { engine: 'kernels', allowSoftwareAdapter: true }));
    if (!(kernels instanceof KernelGPT)) throw new Error('expected the kernels engine');
    const random = createXoshiro128(1);
    const run = async (options: Parameters<KernelGPT['sampledChunks']>[2]) => {
      for await (const _ of kernels.sampledChunks(PROMPT.slice(0, 3), 4, options)) {
        // drain
      }
    };
    await expect(run({ temperature: 0, random })).rejects.toThrow(
      '"temperature": must be a finite number > 0, got 0',
    );
    await expect(run({ temperature: 1, topK: 0, random })).rejects.toThrow(
      '"topK": must be a positive integer, got 0',
    );
    await expect(run({ temperature: 1, random: () => 1 })).rejects.toThrow(
      '"random": must return numbers in [0, 1), returned 1',
    );
  });
});
