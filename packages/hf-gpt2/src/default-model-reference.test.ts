/**
 * The embedded default model against Hugging Face transformers (fp32, eager attention, CPU): logits
 * of three prompts and the held-out perplexity, computed by tooling/fixture-model/reference.py.
 */
import path from 'node:path';
import {
  DEFAULT_MODEL_DIR,
  REFERENCE_DIR,
  readHeldOutText,
  readTransformersReference,
} from '@ptq/default-model';
import { openSafetensors } from '@ptq/safetensors';
import { createTensor } from '@ptq/tensor';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { afterAll, describe, expect, it } from 'vitest';
import type { GPT2LMHeadModel } from './gpt2-lm-head-model';
import { loadHfGpt2 } from './load-hf-gpt2';
import { perplexity } from './perplexity';

describe('default model vs transformers', () => {
  let model: GPT2LMHeadModel | undefined;
  const loaded = async () => {
    model ??= await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu' });
    return model;
  };
  const reference = readTransformersReference;
  afterAll(async () => {
    await model?.dispose();
  });

  it('tokenizes the prompts as transformers does and matches its fp32 logits within 1e-3', async () => {
    const { prompts, inputIds, logitsFile, logitsKeys } = await reference();
    const gpt2 = await loaded();
    const logitsReference = await openSafetensors(path.join(REFERENCE_DIR, logitsFile));
    try {
      for (const [index, prompt] of prompts.entries()) {
        const ids = inputIds[index]!;
        expect(gpt2.tokenizer!.encode(prompt)).toEqual(ids);
        const { logits } = await gpt2.forward(
          createTensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt)),
          createTensor('int64', [1, ids.length], new BigInt64Array(ids.length).fill(1n)),
        );
        const expected = await logitsReference.readTensor(logitsKeys[index]!);
        const rows = Math.min(expected.shape[0]!, ids.length);
        const vocab = gpt2.config.vocab_size;
        expect(expected.shape[1]).toBe(vocab);
        let worst = 0;
        for (let offset = 0; offset < rows * vocab; offset++) {
          worst = Math.max(worst, Math.abs(logits!.data[offset]! - (expected.data as Float32Array)[offset]!));
        }
        expect(worst).toBeLessThan(1e-3);
      }
    } finally {
      await logitsReference.close();
    }
  });

  // The cheap part of the held-out check below: the text as transformers tokenized it. (The model on
  // long windows is held to the runtime model on held-out text in @ptq/tripy-loader's tests.)
  it('tokenizes the held-out text into as many tokens as transformers', async () => {
    const { heldOutPerplexity } = await reference();
    const ids = (await loaded()).tokenizer!.encode(await readHeldOutText());
    expect(ids).toHaveLength(heldOutPerplexity.textTokens);
  }, 120_000);

  // Scores all 100,019 held-out tokens: `pnpm test:full` only.
  it.runIf(FULL_TESTS)(
    'matches the held-out perplexity within 0.1% relative',
    async () => {
      const { heldOutPerplexity } = await reference();
      const result = await perplexity(await loaded(), await readHeldOutText(), {
        window: heldOutPerplexity.window,
        stride: heldOutPerplexity.stride,
      });
      console.log(
        `held-out perplexity ${result.perplexity} (transformers ${heldOutPerplexity.perplexity}) over ${result.tokenCount} tokens`,
      );
      expect(result.tokenCount).toBe(heldOutPerplexity.tokenCount);
      expect(
        Math.abs(result.perplexity - heldOutPerplexity.perplexity) / heldOutPerplexity.perplexity,
      ).toBeLessThan(1e-3);
    },
    300_000,
  );
});
