import { createTensor, type Tensor } from '@ptq/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelAdapterProblem } from '../__fixtures__/kernel-adapter';
import { tinyModel } from '../__fixtures__/tiny-model';
import type { QuantMode } from '../config';
import { generate } from '../generate/generate';
import { compile } from '../runtime/compile';
import type { RuntimeGPT } from '../runtime/runtime-gpt';

const problem = await kernelAdapterProblem();
if (problem !== undefined) console.warn(`kernel engine tests skipped: ${problem}`);

const opened: RuntimeGPT[] = [];
afterAll(async () => {
  for (const model of opened) await model.release();
});

function row(ids: readonly number[]): Tensor<'int64'> {
  return createTensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt));
}

function maxDifference(left: Float32Array, right: Float32Array): number {
  expect(left.length).toBe(right.length);
  let worst = 0;
  for (let index = 0; index < left.length; index += 1) {
    worst = Math.max(worst, Math.abs(left[index]! - right[index]!));
  }
  return worst;
}

const PROMPT = [3, 17, 42, 5, 88, 61, 7, 29, 90];
const NEXT = [12, 33, 71];

describe.skipIf(problem !== undefined)('the kernels engine against onnxruntime (llvmpipe)', () => {
  it.each<[QuantMode | undefined, number]>([
    [undefined, 128],
    ['int8-weight-only', 128],
    ['int4-weight-only', 128],
    ['float8', 128],
  ])('%s, width %i: forward, prefill, decode steps and greedy tokens', async (quantMode, embeddingSize) => {
    const model = tinyModel({ quantMode, embeddingSize, blockSize: 160 });
    const reference = await compile(model, { device: 'cpu' });
    opened.push(reference);
    const kernels = await compile(model, { engine: 'kernels', allowSoftwareAdapter: true });
    opened.push(kernels);
    expect(kernels.engine).toBe('kernels');

    const full = [...PROMPT, ...NEXT];
    const expected = (await reference.forward(row(full))).logits;
    expect(maxDifference((await kernels.forward(row(full))).logits.data, expected.data)).toBeLessThanOrEqual(
      1e-3,
    );

    const vocab = model.config.vocabSize;
    const { logits, cache } = await kernels.prefill(row(PROMPT));
    expect(maxDifference(logits.data, expected.data.subarray(0, PROMPT.length * vocab))).toBeLessThanOrEqual(
      1e-3,
    );
    for (const [step, token] of NEXT.entries()) {
      const position = PROMPT.length + step;
      const decoded = await kernels.decodeStep(cache, [token]);
      const want = expected.data.subarray(position * vocab, (position + 1) * vocab);
      expect(maxDifference(decoded.logits.data, want), `step ${step}`).toBeLessThanOrEqual(1e-3);
    }
    expect(cache.length).toBe(full.length);

    const options = { maxNewTokens: 128, stopAtEos: false };
    const want = (await generate(reference, [PROMPT], options)).newTokens[0]!;
    const got = (await generate(kernels, [PROMPT], options)).newTokens[0]!;
    expect(want).toHaveLength(128);
    if (quantMode !== 'float8') {
      expect(got).toEqual(want);
      return;
    }
    // float8 inputs round to 3 mantissa bits: an activation that differs in its last bit between
    // the engines (another summation order) can land on the other side of a rounding midpoint and
    // move logits by up to ~0.3 here. The tokens must agree up to a step where the reference's two
    // best logits are that close.
    const diverged = want.findIndex((token, step) => token !== got[step]);
    if (diverged === -1) return;
    const before = [...PROMPT, ...want.slice(0, diverged)];
    const { logits: last, cache: referenceCache } = await reference.prefill(row(before), undefined, {
      logits: 'last',
    });
    referenceCache.dispose();
    const sorted = Array.from(last.data).sort((left, right) => right - left);
    expect(sorted[0]! - sorted[1]!, `tokens diverge at step ${diverged}`).toBeLessThan(0.5);
  });
});
