import { createTensor } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyModel } from '../__fixtures__/tiny-model';
import { compile } from '../runtime/compile';
import type { CompiledGPT } from '../runtime/compiled-gpt';
import { generate } from './generate';

let compiled: CompiledGPT;
beforeAll(async () => {
  compiled = await compile(tinyModel({ quantMode: 'int4-weight-only' }, 3, 0.3), {
    device: 'cpu',
    batch: 2,
    maxSequence: 24,
  });
});
afterAll(async () => {
  await compiled.release();
});

const PROMPTS = [
  [11, 4, 58, 23, 70],
  [36, 81, 2],
];

/** Argmax of the last position of a full forward over `tokens` (no cache). */
async function recomputedArgmax(tokens: number[]): Promise<number> {
  const { logits } = await compiled.forward(
    createTensor('int64', [1, tokens.length], BigInt64Array.from(tokens, BigInt)),
  );
  const last = logits.data.subarray((tokens.length - 1) * 96);
  let best = 0;
  for (let index = 1; index < 96; index += 1) if (last[index]! > last[best]!) best = index;
  return best;
}

describe('generate', () => {
  it('is greedy at temperature 0: every token is the argmax of a full recompute', async () => {
    const steps: (number | undefined)[][] = [];
    const result = await generate(compiled, PROMPTS, {
      maxNewTokens: 8,
      stopAtEos: false,
      onToken: (tokens, step) => steps.push([step, ...tokens]),
    });
    expect(result.newTokens.map((row) => row.length)).toEqual([8, 8]);
    expect(result.tokens[1]).toEqual([...PROMPTS[1]!, ...result.newTokens[1]!]);
    for (const [row, prompt] of PROMPTS.entries()) {
      const tokens = [...prompt];
      for (const token of result.newTokens[row]!) {
        expect(token).toBe(await recomputedArgmax(tokens));
        tokens.push(token);
      }
    }
    expect(steps.map((step) => step[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(steps[3]!.slice(1)).toEqual([result.newTokens[0]![3], result.newTokens[1]![3]]);
    const flat = await generate(compiled, PROMPTS[0]!, { maxNewTokens: 8, stopAtEos: false });
    expect(flat.tokens).toEqual([result.tokens[0]]);
    expect(result.timings.prefillMs).toBeGreaterThanOrEqual(0);
    expect(result.timings.tokensPerSecond).toBeGreaterThan(0);
  });

  it('reproduces a seed, and other seeds give other tokens', async () => {
    const options = { maxNewTokens: 12, temperature: 1.5, stopAtEos: false };
    const first = await generate(compiled, PROMPTS, { ...options, seed: 7 });
    const again = await generate(compiled, PROMPTS, { ...options, seed: 7 });
    const other = await generate(compiled, PROMPTS, { ...options, seed: 8 });
    expect(again.tokens).toEqual(first.tokens);
    expect(other.tokens).not.toEqual(first.tokens);
    const greedy = await generate(compiled, PROMPTS, { maxNewTokens: 12, stopAtEos: false });
    expect(first.tokens).not.toEqual(greedy.tokens);
    // top-1 sampling is greedy whatever the temperature and seed.
    const topOne = await generate(compiled, PROMPTS, { ...options, topK: 1, seed: 99 });
    expect(topOne.tokens).toEqual(greedy.tokens);
  });

  it('stops a row at EOS, keeping the EOS token, while the other row goes on', async () => {
    const greedy = await generate(compiled, PROMPTS, { maxNewTokens: 6, stopAtEos: false });
    const eosTokenId = greedy.newTokens[0]![1]!;
    expect(greedy.newTokens[1]!.slice(0, 2)).not.toContain(eosTokenId);
    const seen: (number | undefined)[][] = [];
    const stopped = await generate(compiled, PROMPTS, {
      maxNewTokens: 6,
      eosTokenId,
      onToken: (tokens) => seen.push([...tokens]),
    });
    const stopAt = greedy.newTokens[0]!.indexOf(eosTokenId);
    expect(stopped.newTokens[0]).toEqual(greedy.newTokens[0]!.slice(0, stopAt + 1));
    const otherStop = greedy.newTokens[1]!.indexOf(eosTokenId);
    expect(stopped.newTokens[1]).toEqual(
      otherStop === -1 ? greedy.newTokens[1] : greedy.newTokens[1]!.slice(0, otherStop + 1),
    );
    expect(seen[stopAt + 1]![0]).toBeUndefined();

    // A single row that stops ends the loop early.
    const single = await generate(compiled, PROMPTS[0]!, { maxNewTokens: 6, eosTokenId });
    expect(single.newTokens[0]).toEqual(greedy.newTokens[0]!.slice(0, stopAt + 1));
  });

  it('returns the prompts for maxNewTokens 0', async () => {
    const result = await generate(compiled, PROMPTS, { maxNewTokens: 0 });
    expect(result.tokens).toEqual(PROMPTS);
    expect(result.timings).toEqual({ prefillMs: 0, decodeMs: 0, tokensPerSecond: 0 });
  });

  it('refuses bad options', async () => {
    await expect(generate(compiled, PROMPTS, { maxNewTokens: 20 })).rejects.toThrow(
      'Invalid argument "maxNewTokens": the longest prompt (5 tokens) plus 20 new tokens exceeds the compiled maxSequence 24',
    );
    await expect(generate(compiled, PROMPTS, { maxNewTokens: -1 })).rejects.toThrow(
      'must be a non-negative integer, got -1',
    );
    await expect(generate(compiled, PROMPTS, { temperature: -0.5 })).rejects.toThrow(
      'Invalid argument "temperature": must be a finite number ≥ 0, got -0.5',
    );
    await expect(generate(compiled, PROMPTS, { topK: 0 })).rejects.toThrow(
      'Invalid argument "topK": must be a positive integer, got 0',
    );
    await expect(generate(compiled, PROMPTS, { eosTokenId: 96 })).rejects.toThrow(
      'Invalid argument "eosTokenId": must be a token id in [0, 95], got 96',
    );
    await expect(generate(compiled, [[1, 2], []])).rejects.toThrow(
      'row 1 must be a non-empty array of token ids',
    );
    await expect(generate(compiled, [[1, -2]])).rejects.toThrow(
      'token -2 at [0, 1] is outside the vocabulary [0, 95]',
    );
    await expect(generate(compiled, [[1], [2], [3]], { maxNewTokens: 1 })).rejects.toThrow(
      'batch must be in [1, 2] (the compiled batch), got 3',
    );
    await expect(generate(compiled, PROMPTS, { tokensPerRead: 0 })).rejects.toThrow(
      'Invalid argument "tokensPerRead": must be an integer in [1, 256], got 0',
    );
  });
});

describe('generate, tokens chosen in the graph (batch 1)', () => {
  let single: CompiledGPT;
  beforeAll(async () => {
    single = await compile(tinyModel({ quantMode: 'int4-weight-only' }, 3, 0.3), {
      device: 'cpu',
      maxSequence: 24,
    });
  });
  afterAll(async () => {
    await single.release();
  });

  it('gives the tokens of host argmax for every read size, reporting each token in order', async () => {
    expect(single.choosesTokens).toBe(true);
    expect(compiled.choosesTokens).toBe(false);
    const options = { maxNewTokens: 12, stopAtEos: false };
    const onHost = await generate(single, PROMPTS[0]!, { ...options, chooseOnDevice: false });
    // The batch-2 graph (masked attention, host argmax) agrees on the same row.
    const batched = await generate(compiled, PROMPTS, options);
    expect(onHost.newTokens[0]).toEqual(batched.newTokens[0]);
    for (const tokensPerRead of [1, 5, 16]) {
      const steps: number[] = [];
      const seen: number[] = [];
      const onDevice = await generate(single, PROMPTS[0]!, {
        ...options,
        tokensPerRead,
        onToken: ([token], step) => {
          steps.push(step);
          seen.push(token!);
        },
      });
      expect(onDevice.tokens).toEqual(onHost.tokens);
      expect(steps).toEqual(Array.from({ length: 12 }, (_, step) => step));
      expect(seen).toEqual(onDevice.newTokens[0]);
      expect(onDevice.timings.tokensPerSecond).toBeGreaterThan(0);
    }
  });

  it('returns the prefill token alone, then chunks of tokensPerRead', async () => {
    const chunks: number[][] = [];
    for await (const chunk of single.greedyChunks(PROMPTS[1]!, 12, 5)) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.length)).toEqual([1, 5, 5, 1]);
    const onHost = await generate(single, PROMPTS[1]!, {
      maxNewTokens: 12,
      stopAtEos: false,
      chooseOnDevice: false,
    });
    expect(chunks.flat()).toEqual(onHost.newTokens[0]);
    // Stopping early frees the cache; the model keeps working.
    for await (const chunk of single.greedyChunks(PROMPTS[1]!, 12, 5)) {
      expect(chunk).toEqual(chunks[0]);
      break;
    }
    await expect(single.greedyChunks(PROMPTS[1]!, 30).next()).rejects.toThrow(/maxSequence 24/);
    await expect(single.greedyChunks(PROMPTS[1]!, -1).next()).rejects.toThrow(/non-negative integer/);
    await expect(single.greedyChunks([3, 1.5], 2).next()).rejects.toThrow('token 1.5 at 1 is not an integer');
    await expect(single.greedyChunks([3, 96], 2).next()).rejects.toThrow(/outside the vocabulary/);
    await expect(single.greedyChunks(PROMPTS[1]!, 2, 0).next()).rejects.toThrow(/tokensPerRead/);
    await expect(compiled.greedyChunks(PROMPTS[1]!, 4).next()).rejects.toThrow(/single-row graph/);
  });

  it('stops at EOS inside a chunk, dropping the steps run past it', async () => {
    const greedy = await generate(single, PROMPTS[0]!, { maxNewTokens: 10, stopAtEos: false });
    const eosTokenId = greedy.newTokens[0]![3]!;
    const stopAt = greedy.newTokens[0]!.indexOf(eosTokenId);
    const seen: number[] = [];
    const stopped = await generate(single, PROMPTS[0]!, {
      maxNewTokens: 10,
      eosTokenId,
      tokensPerRead: 8,
      onToken: ([token]) => seen.push(token!),
    });
    expect(stopped.newTokens[0]).toEqual(greedy.newTokens[0]!.slice(0, stopAt + 1));
    expect(seen).toEqual(stopped.newTokens[0]);
  });
});
