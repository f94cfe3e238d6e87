import { createTensor, type Tensor } from '@ptq/tensor';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyModel } from '../__fixtures__/tiny-model';
import type { QuantMode } from '../config';
import { compile } from './compile';
import type { CompiledGPT } from './compiled-gpt';

const released: CompiledGPT[] = [];
afterAll(async () => {
  await Promise.all(released.map((model) => model.release()));
});

function int64(rows: readonly (readonly number[])[]): Tensor<'int64'> {
  return createTensor('int64', [rows.length, rows[0]!.length], BigInt64Array.from(rows.flat(), BigInt));
}

// Row 1 is two tokens shorter and left-padded with EOS (95), masked out.
const PROMPT = [
  [11, 4, 58, 23, 70],
  [95, 95, 36, 81, 2],
];
const PROMPT_MASK = [
  [1, 1, 1, 1, 1],
  [0, 0, 1, 1, 1],
];
// Tokens fed at each decode step, per row.
const STEPS = [
  [9, 41],
  [63, 5],
  [27, 27],
  [88, 14],
  [1, 50],
  [72, 66],
];

describe('KV-cache decode', () => {
  it.each<[QuantMode | undefined]>([[undefined], ['int4-weight-only'], ['float8']])(
    '%s: every decode step gives the logits of a full recompute (batch 2, left padding)',
    async (quantMode) => {
      const model = tinyModel({ quantMode });
      const compiled = await compile(model, { device: 'cpu', batch: 2, maxSequence: 16 });
      released.push(compiled);
      const { cache } = await compiled.prefill(int64(PROMPT), int64(PROMPT_MASK));
      const ids = PROMPT.map((row) => [...row]);
      const mask = PROMPT_MASK.map((row) => [...row]);
      for (const tokens of STEPS) {
        const { logits } = await compiled.decodeStep(cache, tokens);
        expect(logits.shape).toEqual([2, 1, 96]);
        tokens.forEach((token, row) => {
          ids[row]!.push(token);
          mask[row]!.push(1);
        });
        const full = await compiled.forward(int64(ids), int64(mask));
        const length = ids[0]!.length;
        let difference = 0;
        for (let row = 0; row < 2; row += 1) {
          for (let token = 0; token < 96; token += 1) {
            const recomputed = full.logits.data[(row * length + length - 1) * 96 + token]!;
            difference = Math.max(difference, Math.abs(logits.data[row * 96 + token]! - recomputed));
          }
        }
        expect(difference).toBeLessThanOrEqual(1e-4);
      }
      // The cache holds onnxruntime tensors [batch, heads, positions, head size], never copied into JS arrays.
      expect(cache.length).toBe(11);
      expect(cache.keys[0]).toBeInstanceOf(OrtTensor);
      expect(cache.keys[1]!.dims).toEqual([2, 4, 11, 32]);
      expect(cache.nextPositions).toEqual([11, 9]);
      cache.dispose();
      expect(cache.disposed).toBe(true);
    },
  );

  it('refuses steps that do not fit the cache', async () => {
    const compiled = await compile(tinyModel(), { device: 'cpu', batch: 2, maxSequence: 6 });
    released.push(compiled);
    const { cache } = await compiled.prefill(int64(PROMPT), int64(PROMPT_MASK));
    await expect(compiled.decodeStep(cache, [1])).rejects.toThrow(
      'Invalid argument "tokens": must hold one token per cached row (2), got 1',
    );
    await expect(compiled.decodeStep(cache, [1, 96])).rejects.toThrow(
      'token 96 of row 1 is outside the vocabulary [0, 95]',
    );
    await compiled.decodeStep(cache, [1, 2]);
    await expect(compiled.decodeStep(cache, [1, 2])).rejects.toThrow(
      'Invalid argument "cache": holds 6 positions; one more exceeds the compiled maxSequence 6',
    );
    cache.dispose();
    await expect(compiled.decodeStep(cache, [1, 2])).rejects.toThrow(
      'Invalid argument "cache": has been disposed',
    );
  });
});
