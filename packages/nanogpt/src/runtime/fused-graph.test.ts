import { createTensor, type Tensor } from '@ptq/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { maxDifference, row } from '../__fixtures__/compare-logits';
import { tinyModel } from '../__fixtures__/tiny-model';
import type { ModelDType, QuantMode } from '../config';
import { compile } from './compile';
import type { CompiledGPT } from './compiled-gpt';

const opened: CompiledGPT[] = [];
afterAll(async () => {
  await Promise.all(opened.map((model) => model.release()));
});

async function open(...args: Parameters<typeof compile>): Promise<CompiledGPT> {
  const compiled = await compile(args[0], { device: 'cpu', ...args[1] });
  opened.push(compiled);
  return compiled;
}

const PROMPT = [3, 17, 42, 5, 88, 61, 7, 29, 90];
const NEXT = [12, 33, 71];

describe('the fused single-row graph (batch 1)', () => {
  it.each<[QuantMode | undefined, ModelDType, number, number]>([
    [undefined, 'float32', 1e-4, 128],
    ['int8-weight-only', 'float32', 1e-4, 128],
    ['int4-weight-only', 'float32', 1e-4, 128],
    [undefined, 'float16', 2e-2, 128],
    ['int4-weight-only', 'float16', 2e-2, 128],
    // 512 wide: mlp.c_proj's 2048-long inner dimension is split into 4 products (innerSplitParts).
    [undefined, 'float32', 1e-4, 512],
    ['float8', 'float32', 1e-4, 512],
    [undefined, 'float16', 2e-2, 512],
  ])(
    '%s %s: forward, prefill and decode steps give the standard graph’s logits (within %s, width %i)',
    async (quantMode, dtype, tolerance, embeddingSize) => {
      const model = tinyModel({ quantMode, dtype, embeddingSize }, 1, embeddingSize > 128 ? 0.05 : 0.15);
      // The CPU runs split products only when asked (compile splits on WebGPU by default).
      const fused = await open(model, { splitLongProducts: embeddingSize > 128 });
      const standard = await open(model, { operators: 'standard' });
      expect(fused.session.inputNames).not.toContain('attention_mask');
      expect(standard.session.inputNames).toContain('attention_mask');

      const full = [...PROMPT, ...NEXT];
      const expected = (await standard.forward(row(full))).logits;
      expect(maxDifference((await fused.forward(row(full))).logits.data, expected.data)).toBeLessThanOrEqual(
        tolerance,
      );

      const vocab = model.config.vocabSize;
      const { logits, cache } = await fused.prefill(row(PROMPT));
      expect(
        maxDifference(logits.data, expected.data.subarray(0, PROMPT.length * vocab)),
      ).toBeLessThanOrEqual(tolerance);
      for (const [step, token] of NEXT.entries()) {
        const position = PROMPT.length + step;
        const decoded = await fused.decodeStep(cache, [token]);
        const want = expected.data.subarray(position * vocab, (position + 1) * vocab);
        expect(maxDifference(decoded.logits.data, want), `step ${step}`).toBeLessThanOrEqual(tolerance);
      }
      expect(cache.length).toBe(full.length);
      cache.dispose();
    },
  );

  it('splits long products when asked: the logits move by float rounding only', async () => {
    const model = tinyModel({ embeddingSize: 512 }, 1, 0.05);
    const ids = row([...PROMPT, ...NEXT]);
    const split = (await (await open(model, { splitLongProducts: true })).forward(ids)).logits.data;
    const whole = (await (await open(model, {})).forward(ids)).logits.data;
    // Summed in another order, so not bit for bit equal (which would mean the option was dropped).
    const difference = maxDifference(split, whole);
    expect(difference).toBeGreaterThan(0);
    expect(difference).toBeLessThanOrEqual(1e-4);
  });

  it('drops masked positions: real tokens get the unpadded logits, masked ones zeros', async () => {
    const model = tinyModel();
    const fused = await open(model, {});
    const vocab = model.config.vocabSize;
    const ids = [95, 95, ...PROMPT.slice(0, 4), 95, ...PROMPT.slice(4)];
    const mask = [0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1];
    const maskTensor = createTensor('int64', [1, mask.length], BigInt64Array.from(mask, BigInt));
    const alone = (await fused.forward(row(PROMPT))).logits;
    const padded = (await fused.forward(row(ids), maskTensor)).logits;
    expect(padded.shape).toEqual([1, ids.length, vocab]);
    let real = 0;
    mask.forEach((bit, column) => {
      const got = padded.data.subarray(column * vocab, (column + 1) * vocab);
      if (bit === 0) {
        expect(got.every((value) => value === 0)).toBe(true);
        return;
      }
      const want = alone.data.subarray(real * vocab, (real + 1) * vocab);
      expect(maxDifference(got, want)).toBeLessThanOrEqual(1e-5);
      real += 1;
    });

    // The cache of a padded prompt holds the real tokens only, and decoding continues from them.
    const { cache } = await fused.prefill(row(ids), maskTensor);
    expect(cache.length).toBe(PROMPT.length);
    const step = await fused.decodeStep(cache, [NEXT[0]!]);
    const whole = (await fused.forward(row([...PROMPT, NEXT[0]!]))).logits;
    expect(maxDifference(step.logits.data, whole.data.subarray(PROMPT.length * vocab))).toBeLessThanOrEqual(
      1e-5,
    );
    cache.dispose();

    // An all-masked row has nothing to run: zeros, and an empty cache to decode from.
    const none = createTensor('int64', [1, 3], new BigInt64Array(3));
    expect((await fused.forward(row([1, 2, 3]), none)).logits.data.every((value) => value === 0)).toBe(true);
    const empty = await fused.prefill(row([1, 2, 3]), none);
    expect(empty.cache.length).toBe(0);
    const first = await fused.decodeStep(empty.cache, [PROMPT[0]!]);
    expect(
      maxDifference(first.logits.data, (await fused.forward(row([PROMPT[0]!]))).logits.data),
    ).toBeLessThanOrEqual(1e-5);
    empty.cache.dispose();
  });
});

describe("prefill's logits: 'last'", () => {
  const lastRow = (logits: Tensor<'float32'>, row: number) => {
    const [, sequence, vocab] = logits.shape as [number, number, number];
    const start = (row * sequence + sequence - 1) * vocab;
    return logits.data.subarray(start, start + vocab);
  };

  it('gives each row’s last position, [batch, 1, vocab], and the same cache', async () => {
    const model = tinyModel({ dtype: 'float32' }, 1, 0.15);
    const vocab = model.config.vocabSize;
    const single = await open(model);
    const batched = await open(model, { batch: 2 });
    for (const compiled of [single, batched]) {
      const ids =
        compiled === single
          ? row(PROMPT)
          : createTensor(
              'int64',
              [2, PROMPT.length],
              BigInt64Array.from([...PROMPT, ...[...PROMPT].reverse()], BigInt),
            );
      const all = await compiled.prefill(ids);
      const last = await compiled.prefill(ids, undefined, { logits: 'last' });
      expect(last.logits.shape).toEqual([ids.shape[0], 1, vocab]);
      for (let index = 0; index < ids.shape[0]!; index += 1) {
        // The single-row graph runs its head on one row (a different product shape): float rounding.
        expect(
          maxDifference(
            last.logits.data.subarray(index * vocab, (index + 1) * vocab),
            lastRow(all.logits, index),
          ),
        ).toBeLessThanOrEqual(1e-5);
      }
      const tokens = Array.from({ length: ids.shape[0]! }, () => NEXT[0]!);
      const afterAll = await compiled.decodeStep(all.cache, tokens);
      const afterLast = await compiled.decodeStep(last.cache, tokens);
      expect(maxDifference(afterLast.logits.data, afterAll.logits.data)).toBe(0);
      all.cache.dispose();
      last.cache.dispose();
    }
    // A single-row graph computes the last row only: the head's input is cut to one position.
    expect(single.session.inputNames).toContain('num_logits_to_keep');
    expect(batched.session.inputNames).not.toContain('num_logits_to_keep');
  });

  it('follows the mask: a masked last position has zero logits, as with all', async () => {
    const model = tinyModel({ dtype: 'float32' }, 1, 0.15);
    const single = await open(model);
    const ids = row([...PROMPT, 0]);
    const mask = createTensor(
      'int64',
      [1, PROMPT.length + 1],
      BigInt64Array.from([...PROMPT.map(() => 1n), 0n]),
    );
    const last = await single.prefill(ids, mask, { logits: 'last' });
    expect(last.logits.shape).toEqual([1, 1, model.config.vocabSize]);
    expect(last.logits.data.every((value) => value === 0)).toBe(true);
    last.cache.dispose();
    const leftPadded = createTensor(
      'int64',
      [1, PROMPT.length + 1],
      BigInt64Array.from([0n, ...PROMPT.map(() => 1n)]),
    );
    const padded = await single.prefill(row([0, ...PROMPT]), leftPadded, { logits: 'last' });
    const alone = await single.prefill(row(PROMPT), undefined, { logits: 'last' });
    expect(maxDifference(padded.logits.data, alone.logits.data)).toBe(0);
    padded.cache.dispose();
    alone.cache.dispose();
    await expect(single.prefill(row(PROMPT), undefined, { logits: 'first' as never })).rejects.toThrow(
      /logits.*'all' or 'last'/,
    );
  });
});
