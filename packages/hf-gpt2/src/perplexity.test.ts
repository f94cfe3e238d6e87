import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTensor } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceForward } from './__fixtures__/reference-gpt2';
import {
  random,
  referenceWeights,
  TINY_REFERENCE_CONFIG,
  tinyWeights,
  writeTinyCheckpoint,
} from './__fixtures__/tiny-gpt2';
import { GPT2LMHeadModel } from './gpt2-lm-head-model';
import { loadHfGpt2 } from './load-hf-gpt2';
import { logitsScorer, type PerplexityProgress, perplexity, type WindowScorer } from './perplexity';

const weights = tinyWeights(11);
const reference = referenceWeights(weights);
let folder: string;
let model: GPT2LMHeadModel;

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'hf-gpt2-perplexity-'));
  await writeTinyCheckpoint(folder, weights);
  model = await loadHfGpt2(folder, { device: 'cpu' });
});
afterAll(async () => {
  await model.dispose();
  await rm(folder, { recursive: true, force: true });
});

function randomTokens(count: number, seed: number): number[] {
  const next = random(seed);
  return Array.from({ length: count }, () => Math.floor(next() * 50));
}

function ids(tokens: readonly number[]) {
  return createTensor('int64', [tokens.length], BigInt64Array.from(tokens, BigInt));
}

/** −log p(tokens[target] | tokens[contextStart … target−1]) from the float64 reference. */
function referenceNll(tokens: readonly number[], contextStart: number, target: number): number {
  const context = tokens.slice(contextStart, target);
  const { logits } = referenceForward(TINY_REFERENCE_CONFIG, reference, [context], [context.map(() => 1)]);
  const row = logits[0]![context.length - 1]!;
  const max = Math.max(...row);
  const logSum = max + Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
  return logSum - row[tokens[target]!]!;
}

/** The model's logits scored on the host (`logitsScorer`). */
function hostScorer(): WindowScorer {
  return logitsScorer(
    async (inputIds, attentionMask) => ({ logits: (await model.forward(inputIds, attentionMask)).logits! }),
    model.config.n_positions,
  );
}

describe('perplexity', () => {
  it('follows the sliding-window definition on a hand-worked case (n 12, window 8, stride 5)', async () => {
    const tokens = randomTokens(12, 5);
    // Window 1 = tokens 0‥7: targets 1‥7, each with the context from token 0.
    // Window 2 = tokens 5‥11 (end = min(5 + 8, 12)): targets are its last 12 − 8 = 4 tokens, 8‥11,
    // each with the context from token 5. end = n, so it stops: 7 + 4 = 11 predicted tokens.
    const terms = [
      ...[1, 2, 3, 4, 5, 6, 7].map((target) => referenceNll(tokens, 0, target)),
      ...[8, 9, 10, 11].map((target) => referenceNll(tokens, 5, target)),
    ];
    const expected = terms.reduce((a, b) => a + b, 0);
    const progress: PerplexityProgress[] = [];
    const result = await perplexity(model, ids(tokens), {
      window: 8,
      stride: 5,
      onProgress: (p) => progress.push(p),
    });
    expect(result.tokenCount).toBe(11);
    expect(Math.abs(result.negativeLogLikelihood - expected) / expected).toBeLessThan(1e-5);
    expect(Math.abs(result.perplexity - Math.exp(expected / 11)) / result.perplexity).toBeLessThan(1e-5);
    expect(progress).toEqual([
      { windowsDone: 1, windowCount: 2, tokenCount: 7 },
      { windowsDone: 2, windowCount: 2, tokenCount: 11 },
    ]);
  });

  it('scores any logits model the same way through logitsScorer (log-softmax on the host)', async () => {
    const tokens = randomTokens(12, 5);
    const expected = await perplexity(model, ids(tokens), { window: 8, stride: 5 });
    const scorer = hostScorer();
    const result = await perplexity(scorer, ids(tokens), { window: 8, stride: 5 });
    expect(result.tokenCount).toBe(expected.tokenCount);
    expect(Math.abs(result.negativeLogLikelihood / expected.negativeLogLikelihood - 1)).toBeLessThan(1e-5);
    await expect(perplexity(scorer, 'text')).rejects.toThrow('text needs a model with a tokenizer');
  });

  it('gives a scorer that takes every window at once all of them in one call, the same result', async () => {
    const tokens = randomTokens(20, 6);
    const expected = await perplexity(model, ids(tokens), { window: 8, stride: 5 });
    const single = hostScorer();
    const calls: number[][] = [];
    const atOnce = {
      contextSize: single.contextSize,
      logProbabilities: () => Promise.reject(new Error('scored one window at a time')),
      async logProbabilitiesOfWindows(windows: ReadonlyArray<{ ids: BigInt64Array; next: BigInt64Array }>) {
        calls.push(windows.map(({ ids }) => Number(ids[0])));
        return Promise.all(windows.map(({ ids, next }) => single.logProbabilities(ids, next)));
      },
    };
    const progress: PerplexityProgress[] = [];
    const result = await perplexity(atOnce, ids(tokens), {
      window: 8,
      stride: 5,
      onProgress: (step) => progress.push(step),
    });
    // Windows [0, 8), [5, 13), [10, 18), [15, 20), each starting at its own first token.
    expect(calls).toEqual([[tokens[0], tokens[5], tokens[10], tokens[15]]]);
    expect(result.tokenCount).toBe(expected.tokenCount);
    expect(Math.abs(result.negativeLogLikelihood / expected.negativeLogLikelihood - 1)).toBeLessThan(1e-5);
    expect(progress.map((step) => step.windowsDone)).toEqual([1, 2, 3, 4]);
  });

  it('defaults to non-overlapping windows of n_positions', async () => {
    const tokens = randomTokens(70, 8);
    // Windows [0, 32), [32, 64), [64, 70); the first token of each is context for nothing before it.
    const terms: number[] = [];
    for (const [start, end] of [
      [0, 32],
      [32, 64],
      [64, 70],
    ] as const) {
      for (let target = start + 1; target < end; target++) terms.push(referenceNll(tokens, start, target));
    }
    const expected = terms.reduce((a, b) => a + b, 0);
    const result = await perplexity(
      model,
      createTensor('int64', [1, 70], BigInt64Array.from(tokens, BigInt)),
    );
    expect(result.tokenCount).toBe(67);
    expect(Math.abs(result.negativeLogLikelihood - expected) / expected).toBeLessThan(1e-5);
  });

  it('with stride 1 predicts every token from a full window of context', async () => {
    const tokens = randomTokens(11, 9);
    const terms = [1, 2, 3, 4].map((target) => referenceNll(tokens, 0, target));
    for (let target = 5; target < 11; target++) terms.push(referenceNll(tokens, target - 4, target));
    const expected = terms.reduce((a, b) => a + b, 0);
    const result = await perplexity(model, ids(tokens), { window: 5, stride: 1 });
    expect(result.tokenCount).toBe(10);
    expect(Math.abs(result.negativeLogLikelihood - expected) / expected).toBeLessThan(1e-5);
  });

  it('tokenizes text with the model tokenizer', async () => {
    const text = 'the cat sat on the mat. the cat sat.';
    const tokens = model.tokenizer!.encode(text);
    expect(tokens.length).toBeGreaterThan(5);
    const fromText = await perplexity(model, text);
    const fromIds = await perplexity(model, ids(tokens));
    expect(fromText).toEqual(fromIds);
  });

  it.each([
    [{ window: 1 }, /window.*\[2, n_positions 32\]/],
    [{ window: 33 }, /window/],
    [{ window: 2.5 }, /window/],
    [{ window: 8, stride: 0 }, /stride.*\[1, window 8\]/],
    [{ window: 8, stride: 9 }, /stride/],
  ])('refuses options %j', async (options, message) => {
    await expect(perplexity(model, ids([1, 2, 3]), options)).rejects.toThrow(
      expect.objectContaining({ code: 'PTQ_INVALID_ARGUMENT', message: expect.stringMatching(message) }),
    );
  });

  it('refuses fewer than two tokens, non-int64 ids, and text without a tokenizer', async () => {
    await expect(perplexity(model, ids([1]))).rejects.toThrow(/at least 2 tokens/);
    await expect(perplexity(model, createTensor('int32', [3]) as never)).rejects.toThrow(
      /int64 \[n\] or \[1, n\]/,
    );
    await expect(perplexity(model, createTensor('int64', [2, 3]))).rejects.toThrow(/int64 \[n\] or \[1, n\]/);
    const bare = new GPT2LMHeadModel({
      config: model.config,
      transformer: model.transformer,
      lm_head: model.lm_head as never,
      device: 'cpu',
    });
    await expect(perplexity(bare, 'text')).rejects.toThrow(/needs a model with a tokenizer/);
  });
});
