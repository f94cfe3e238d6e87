import { createTensor } from '@ptq/tensor';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { describe, expect, it, vi } from 'vitest';
import { bundledModel } from '../__fixtures__/bundled-model';
import { setCalibratedScales } from '../__fixtures__/calibrated-scales';
import { maxDifference, row } from '../__fixtures__/compare-logits';
import { kernelAdapterProblem } from '../__fixtures__/kernel-adapter';
import { MODES, PROMPT, releasedAfterAll, TEXT } from '../__fixtures__/kernel-engine-checks';
import { tinyModel } from '../__fixtures__/tiny-model';
import type { QuantMode } from '../config';
import { generate } from '../generate/generate';
import type { GPT } from '../modules/gpt';
import { compile } from '../runtime/compile';
import type { RuntimeGPT } from '../runtime/runtime-gpt';
import { requestKernelDevice } from './dawn-device';
import { KernelGPT } from './kernel-gpt';

const problem = await kernelAdapterProblem();
if (problem !== undefined) console.warn(`kernel engine tests skipped: ${problem}`);
const open = releasedAfterAll();

/** Prompts of different lengths for a batch of 3 (the middle one shortest, so it is left-padded most). */
const BATCH_PROMPTS = [PROMPT, [40, 2, 77, 13], [9, 81, 30, 55, 5, 64, 18, 70, 3, 47, 26, 91, 60]];

/** A batch's ids left-padded with `pad` and its mask, as `generate` pads them. */
function padded(prompts: readonly (readonly number[])[], pad = 0) {
  const width = Math.max(...prompts.map((prompt) => prompt.length));
  const ids: bigint[] = [];
  const mask: bigint[] = [];
  for (const prompt of prompts) {
    for (let column = 0; column < width; column += 1) {
      const padding = width - prompt.length;
      ids.push(BigInt(column < padding ? pad : prompt[column - padding]!));
      mask.push(column < padding ? 0n : 1n);
    }
  }
  const shape = [prompts.length, width];
  return {
    ids: createTensor('int64', shape, BigInt64Array.from(ids)),
    mask: createTensor('int64', shape, BigInt64Array.from(mask)),
    width,
  };
}

/**
 * float8 (see checkAgainstOnnxruntime): a row's tokens must agree up to a step where the
 * reference's two best logits are within a rounding flip of each other.
 */
async function expectSameTokensUpToFlips(
  reference: RuntimeGPT,
  quantMode: QuantMode | undefined,
  prompt: readonly number[],
  want: readonly number[],
  got: readonly number[],
  label: string,
) {
  if (quantMode !== 'float8') {
    expect(got, label).toEqual(want);
    return;
  }
  const diverged = want.findIndex((token, step) => token !== got[step]);
  if (diverged === -1) {
    expect(got, label).toEqual(want);
    return;
  }
  const last = await reference.prefill(row([...prompt, ...want.slice(0, diverged)]), undefined, {
    logits: 'last',
  });
  last.cache.dispose();
  const sorted = Array.from(last.logits.data).sort((left, right) => right - left);
  expect(sorted[0]! - sorted[1]!, `${label}: tokens diverge at step ${diverged}`).toBeLessThan(0.5);
}

/**
 * A batch of prompts of different lengths on the kernels engine against onnxruntime's batch (left
 * padding and a mask): every row's last-position logits after the prefill and after three decode
 * steps within 1e-3, and `generate`'s greedy tokens (on the device) the reference's, with and
 * without stopping at EOS; each row alone gives its batch row's tokens exactly.
 */
async function checkBatchAgainstOnnxruntime(
  model: GPT,
  prompts: readonly (readonly number[])[],
  newTokens: number,
  /** Also generate on the host from `decodeStep`'s logits (slow on llvmpipe: the tiny model only). */
  hostPaths = true,
) {
  const { quantMode, vocabSize: vocab } = model.config;
  const rows = prompts.length;
  const width = Math.max(...prompts.map((prompt) => prompt.length));
  const maxSequence = Math.min(model.config.blockSize, width + newTokens + 4);
  const reference = await open(compile(model, { device: 'cpu', maxSequence, batch: rows }));
  const kernels = await open(
    compile(model, { engine: 'kernels', allowSoftwareAdapter: true, maxSequence, batch: rows }),
  );
  if (!(kernels instanceof KernelGPT)) throw new Error('expected the kernels engine');
  expect(kernels.batch).toBe(rows);

  // Logits of the prefill (every row's real positions, and the last) and of decode steps. float8:
  // a rounding flip of an input (see checkAgainstOnnxruntime) moved one position of the bundled
  // model's third row by 1.9e-3 (the same for that row alone at batch 1), and later positions by up
  // to 0.17 through the cache; every mode's batch rows must equal the rows run alone exactly.
  const tolerance = quantMode === 'float8' ? 0.3 : 1e-3;
  const steps = [
    [12, 33, 71],
    [5, 5, 90],
    [61, 0, 17],
  ].map((tokens) => tokens.slice(0, rows));
  const alone: Float32Array[] = [];
  const aloneSteps: Float32Array[][] = steps.map(() => []);
  for (const [index, prompt] of prompts.entries()) {
    const single = await kernels.prefill(row(prompt));
    alone.push(single.logits.data);
    for (const [step, tokens] of steps.entries()) {
      aloneSteps[step]!.push((await kernels.decodeStep(single.cache, [tokens[index]!])).logits.data);
    }
  }
  const { ids, mask } = padded(prompts);
  const want = await reference.prefill(ids, mask);
  const got = await kernels.prefill(ids, mask);
  prompts.forEach((prompt, index) => {
    const padding = width - prompt.length;
    const rowLogits = got.logits.data.subarray(index * width * vocab, (index + 1) * width * vocab);
    // Each row's prompt runs as it would alone: the same logits bit for bit.
    expect(rowLogits.subarray(padding * vocab), `row ${index} as alone`).toEqual(alone[index]);
    for (let column = padding; column < width; column += 1) {
      const at = (index * width + column) * vocab;
      const difference = maxDifference(
        got.logits.data.subarray(at, at + vocab),
        want.logits.data.subarray(at, at + vocab),
      );
      expect(difference, `prefill row ${index}, column ${column}`).toBeLessThanOrEqual(
        quantMode === 'float8' ? 1e-2 : 1e-3,
      );
    }
  });
  expect(got.cache.nextPositions).toEqual(prompts.map((prompt) => prompt.length));
  for (const [step, tokens] of steps.entries()) {
    const expected = await reference.decodeStep(want.cache, tokens);
    const decoded = await kernels.decodeStep(got.cache, tokens);
    expect(decoded.logits.shape).toEqual([rows, 1, vocab]);
    prompts.forEach((_, index) => {
      const rowLogits = decoded.logits.data.subarray(index * vocab, (index + 1) * vocab);
      expect(rowLogits, `step ${step}, row ${index} as alone`).toEqual(aloneSteps[step]![index]);
    });
    expect(maxDifference(decoded.logits.data, expected.logits.data), `step ${step}`).toBeLessThanOrEqual(
      tolerance,
    );
  }
  want.cache.dispose();
  const last = await kernels.prefill(ids, mask, { logits: 'last' });
  last.cache.dispose();
  const lastWant = await reference.prefill(ids, mask, { logits: 'last' });
  lastWant.cache.dispose();
  expect(last.logits.shape).toEqual([rows, 1, vocab]);
  expect(maxDifference(last.logits.data, lastWant.logits.data)).toBeLessThanOrEqual(
    quantMode === 'float8' ? 1e-2 : 1e-3,
  );

  // Greedy tokens: the batch on the device, the batch on the host (prefill + decodeStep) and each
  // row alone, against onnxruntime's batch.
  const options = { maxNewTokens: newTokens, stopAtEos: false, tokensPerRead: 7 };
  const wantTokens = (await generate(reference, prompts, options)).newTokens;
  const onDevice = vi.spyOn(kernels, 'greedyBatchChunks');
  const batched = await generate(kernels, prompts, options);
  expect(onDevice).toHaveBeenCalledTimes(1);
  onDevice.mockRestore();
  expect(batched.newTokens.map((tokens) => tokens.length)).toEqual(prompts.map(() => newTokens));
  expect(batched.tokens).toEqual(prompts.map((prompt, index) => [...prompt, ...batched.newTokens[index]!]));
  if (hostPaths) {
    const onHost = await generate(kernels, prompts, { ...options, chooseOnDevice: false });
    expect(onHost.newTokens).toEqual(batched.newTokens);
    // A batch samples on the host from the kernels' logits: the seed's tokens, as onnxruntime's.
    const sampling = { ...options, temperature: 0.8, topK: 20, seed: 5 };
    const sampled = (await generate(kernels, prompts, sampling)).newTokens;
    if (quantMode !== 'float8')
      expect(sampled).toEqual((await generate(reference, prompts, sampling)).newTokens);
    expect(sampled).not.toEqual(batched.newTokens);
  }
  for (const [index, prompt] of prompts.entries()) {
    const alone = (await generate(kernels, [prompt], options)).newTokens[0];
    expect(alone, `row ${index} alone`).toEqual(batched.newTokens[index]);
    await expectSameTokensUpToFlips(
      reference,
      quantMode,
      prompt,
      wantTokens[index]!,
      batched.newTokens[index]!,
      `row ${index}`,
    );
  }
  // Rows differ: a batch that repeated one row's tokens would not be caught by the comparisons.
  expect(new Set(batched.newTokens.map((tokens) => tokens.join(','))).size).toBeGreaterThan(1);

  // Stopping at EOS: a token row 0 makes midway, as EOS, stops row 0 there; the others run on.
  const eosTokenId = batched.newTokens[0]![Math.floor(newTokens / 2)]!;
  const stopping = { ...options, stopAtEos: true, eosTokenId };
  const seen: (number | undefined)[][] = [];
  const stopped = await generate(kernels, prompts, {
    ...stopping,
    onToken: (tokens) => seen.push([...tokens]),
  });
  if (hostPaths) {
    const hostStopped = await generate(kernels, prompts, { ...stopping, chooseOnDevice: false });
    expect(stopped.newTokens).toEqual(hostStopped.newTokens);
  }
  batched.newTokens.forEach((tokens, index) => {
    const end = tokens.indexOf(eosTokenId);
    expect(stopped.newTokens[index], `row ${index}`).toEqual(end === -1 ? tokens : tokens.slice(0, end + 1));
  });
  expect(stopped.newTokens[0]!.length).toBeLessThanOrEqual(Math.floor(newTokens / 2) + 1);
  // onToken: one call per step until every row stopped, undefined for rows that had stopped.
  expect(seen).toHaveLength(Math.max(...stopped.newTokens.map((tokens) => tokens.length)));
  seen.forEach((tokens, step) => {
    expect(tokens, `step ${step}`).toEqual(stopped.newTokens.map((made) => made[step]));
  });
  if (quantMode !== 'float8') {
    const referenceStopped = await generate(reference, prompts, { ...stopping, tokensPerRead: undefined });
    expect(stopped.newTokens).toEqual(referenceStopped.newTokens);
  }
}

/**
 * Tokens each tiny-model batch check generates: `pnpm test` runs the same checks over fewer steps
 * (every one still covers the device, host and per-row paths and stopping midway); `pnpm
 * test:full` runs the longer sequences.
 */
const BATCH_NEW_TOKENS = FULL_TESTS ? 48 : 16;
const CHUNK_TOKENS = FULL_TESTS ? 40 : 20;

describe.skipIf(problem !== undefined)('batched decode on the kernels engine (llvmpipe)', () => {
  // Each batch check runs both engines and every row alone as well: ~20 s on llvmpipe when the
  // machine is otherwise idle, more while other test files share it.
  const BATCH_CHECK = { timeout: 120_000 };

  it.each(MODES)(
    'tiny model, %s: a batch of 3 against onnxruntime and each row alone',
    BATCH_CHECK,
    async (quantMode) => {
      const model = tinyModel({ quantMode, blockSize: 96 });
      setCalibratedScales(model, 4);
      await checkBatchAgainstOnnxruntime(model, BATCH_PROMPTS, BATCH_NEW_TOKENS);
    },
  );

  // The bundled model in `pnpm test:full` only: batching does not depend on the model, and the tiny
  // model's batches above check every mode against onnxruntime and each row alone (the bundled
  // model's greedy decode stays in `pnpm test`, in kernel-gpt.test.ts).
  it.runIf(FULL_TESTS).each(MODES)(
    'bundled model, %s: a batch of 3 against onnxruntime and each row alone',
    { timeout: 400_000 },
    async (quantMode) => {
      const { model, tokens } = await bundledModel(quantMode, 40);
      await checkBatchAgainstOnnxruntime(
        model,
        [tokens.slice(0, 8), tokens.slice(20, 23), tokens.slice(25, 36)],
        40,
        false,
      );
    },
  );

  it(
    'greedy batch chunks: any chunk size gives the same tokens, and stopping early spoils nothing',
    BATCH_CHECK,
    async () => {
      const model = tinyModel({ quantMode: 'int4-weight-only', blockSize: 96 });
      setCalibratedScales(model, 4);
      const kernels = await open(
        compile(model, { engine: 'kernels', allowSoftwareAdapter: true, maxSequence: 96, batch: 4 }),
      );
      if (!(kernels instanceof KernelGPT)) throw new Error('expected the kernels engine');
      const alone = [];
      for (const prompt of BATCH_PROMPTS) {
        alone.push(
          (await generate(kernels, [prompt], { maxNewTokens: CHUNK_TOKENS, stopAtEos: false })).newTokens[0]!,
        );
      }
      const collect = async (tokensPerRead: number, stopAfter = Number.POSITIVE_INFINITY) => {
        const got: number[][] = BATCH_PROMPTS.map(() => []);
        let reads = 0;
        for await (const chunk of kernels.greedyBatchChunks(BATCH_PROMPTS, CHUNK_TOKENS, tokensPerRead)) {
          expect(chunk).toHaveLength(BATCH_PROMPTS.length);
          for (const [index, tokens] of chunk.entries()) got[index]!.push(...tokens);
          reads += 1;
          if (reads >= stopAfter) break;
        }
        return got;
      };
      // One token a read, a few, most of the sequence, all but one, and more than the sequence.
      for (const tokensPerRead of [1, 3, 16, CHUNK_TOKENS - 1, 64]) {
        expect(await collect(tokensPerRead), `${tokensPerRead} per read`).toEqual(alone);
      }
      // Stopped with the next chunk already submitted: the next sequence starts clean.
      expect(await collect(3, 2)).toEqual(alone.map((tokens) => tokens.slice(0, 4)));
      expect(await collect(5)).toEqual(alone);
      // Fewer rows than the compiled batch, and one row, on the same model.
      const two: number[][] = [[], []];
      for await (const chunk of kernels.greedyBatchChunks(BATCH_PROMPTS.slice(1), CHUNK_TOKENS, 8)) {
        for (const [index, tokens] of chunk.entries()) two[index]!.push(...tokens);
      }
      expect(two).toEqual(alone.slice(1));
      const one: number[] = [];
      for await (const chunk of kernels.greedyChunks(BATCH_PROMPTS[2]!, CHUNK_TOKENS, 8)) one.push(...chunk);
      expect(one).toEqual(alone[2]);
    },
  );

  it('forward and perplexity of a batch: each row as alone, zeros at padded positions', async () => {
    const model = tinyModel({ quantMode: 'int8-weight-only', blockSize: 64 });
    setCalibratedScales(model, 4);
    const kernels = await open(
      compile(model, { engine: 'kernels', allowSoftwareAdapter: true, maxSequence: 64, batch: 3 }),
    );
    const vocab = model.config.vocabSize;
    const { ids, mask, width } = padded(BATCH_PROMPTS);
    const logits = (await kernels.forward(ids, mask)).logits;
    expect(logits.shape).toEqual([3, width, vocab]);
    for (const [index, prompt] of BATCH_PROMPTS.entries()) {
      const alone = (await kernels.forward(row(prompt))).logits.data;
      const padding = width - prompt.length;
      const rowLogits = logits.data.subarray(index * width * vocab, (index + 1) * width * vocab);
      expect(rowLogits.subarray(padding * vocab)).toEqual(alone);
      expect(rowLogits.subarray(0, padding * vocab).every((value) => value === 0)).toBe(true);
    }
    const text = createTensor('int64', [2, 20], BigInt64Array.from(TEXT.slice(0, 40), BigInt));
    const targets = createTensor('int64', [2, 20], BigInt64Array.from(TEXT.slice(1, 41), BigInt));
    const scored = await kernels.targetLogProbabilities(text, targets);
    expect(scored.shape).toEqual([2, 20]);
    const second = await kernels.targetLogProbabilities(row(TEXT.slice(20, 40)), row(TEXT.slice(21, 41)));
    expect(scored.data.subarray(20)).toEqual(second.data);
  });

  it('refuses batches over its limits by name', async () => {
    const model = tinyModel();
    const options = { engine: 'kernels', allowSoftwareAdapter: true } as const;
    await expect(compile(model, { ...options, batch: 33 })).rejects.toThrow(
      'kernels: it decodes batch 1 to 32 only, not batch 33',
    );
    const kernelDevice = await requestKernelDevice({ allowSoftwareAdapter: true });
    await expect(KernelGPT.create({ gpt: model, kernelDevice, maxSequence: 32, batch: 33 })).rejects.toThrow(
      '"batch": the kernels engine decodes 1 to 32 rows at once, got 33',
    );
    const kernels = await open(compile(model, { ...options, batch: 2 }));
    if (!(kernels instanceof KernelGPT)) throw new Error('expected the kernels engine');
    const three = BATCH_PROMPTS.map((prompt) => prompt.slice(0, 3));
    const drain = async (prompts: readonly (readonly number[])[], maxNewTokens = 4) => {
      for await (const _ of kernels.greedyBatchChunks(prompts, maxNewTokens)) {
        // drain
      }
    };
    await expect(drain(three)).rejects.toThrow(
      '"prompts": must hold 1 to 2 rows (the compiled batch), got 3',
    );
    await expect(drain([])).rejects.toThrow('"prompts": must hold 1 to 2 rows (the compiled batch), got 0');
    await expect(drain([[1], []])).rejects.toThrow('"prompts": row 1 must hold at least one token');
    await expect(drain([[1], [2, 96]])).rejects.toThrow(
      '"prompts": token 96 at [1, 1] is outside the vocabulary [0, 95]',
    );
    await expect(drain([[1], [2]], 32)).rejects.toThrow(
      'the prompt (1 tokens) plus 32 new tokens exceeds the compiled maxSequence 32',
    );
    await expect(generate(kernels, three, { maxNewTokens: 4 })).rejects.toThrow(
      '"prompts": must hold 1 to 2 rows (the compiled batch), got 3',
    );
    const { ids, mask } = padded(three);
    await expect(kernels.prefill(ids, mask)).rejects.toThrow(
      '"inputIds": batch must be in [1, 2] (the compiled batch), got 3',
    );
    const { cache } = await kernels.prefill(padded(three.slice(0, 2)).ids);
    await expect(kernels.decodeStep(cache, [1])).rejects.toThrow(
      '"tokens": must hold one token per cached row (2), got 1',
    );
    await expect(kernels.decodeStep(cache, [1, 96])).rejects.toThrow(
      '"tokens": token 96 of row 1 is outside the vocabulary [0, 95]',
    );
  });
});
