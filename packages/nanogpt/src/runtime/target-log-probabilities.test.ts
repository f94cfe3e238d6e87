import { createTensor, type Tensor } from '@ptq/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyModel } from '../__fixtures__/tiny-model';
import type { ModelDType } from '../config';
import { compile } from './compile';
import type { CompiledGPT } from './compiled-gpt';

const opened: CompiledGPT[] = [];
afterAll(async () => {
  await Promise.all(opened.map((model) => model.release()));
});

function int64(rows: readonly (readonly number[])[]): Tensor<'int64'> {
  return createTensor('int64', [rows.length, rows[0]!.length], BigInt64Array.from(rows.flat(), BigInt));
}

/** log softmax(row)[target] in float64. */
function reference(row: Float32Array, target: number): number {
  let maximum = Number.NEGATIVE_INFINITY;
  for (const value of row) maximum = Math.max(maximum, value);
  let sum = 0;
  for (const value of row) sum += Math.exp(value - maximum);
  return row[target]! - maximum - Math.log(sum);
}

const IDS = [
  [3, 17, 42, 5, 88, 61, 7, 29],
  [90, 12, 33, 71, 4, 4, 60, 1],
];
const TARGETS = [
  [17, 42, 5, 88, 61, 7, 29, 0],
  [12, 33, 71, 4, 4, 60, 1, 95],
];

describe('CompiledGPT.targetLogProbabilities', () => {
  it.each<[ModelDType, number]>([
    ['float32', 1],
    ['float32', 2],
    ['float16', 1],
  ])(
    '%s, batch %i: equals a float64 log softmax of forward’s logits at the targets',
    async (dtype, batch) => {
      const model = tinyModel({ dtype }, 1, 0.15);
      const compiled = await compile(model, { device: 'cpu', batch });
      opened.push(compiled);
      const vocab = model.config.vocabSize;
      const ids = int64(IDS.slice(0, batch));
      const targets = int64(TARGETS.slice(0, batch));
      const scored = await compiled.targetLogProbabilities(ids, targets);
      expect(scored.shape).toEqual([batch, IDS[0]!.length]);
      const { logits } = await compiled.forward(ids);
      TARGETS.slice(0, batch).forEach((row, rowIndex) => {
        row.forEach((target, position) => {
          const offset = (rowIndex * row.length + position) * vocab;
          const want = reference(logits.data.subarray(offset, offset + vocab), target);
          expect(Math.abs(scored.data[rowIndex * row.length + position]! - want)).toBeLessThanOrEqual(2e-5);
        });
      });
    },
  );

  it('refuses targets of another shape or outside the vocabulary, naming them', async () => {
    const model = tinyModel({ dtype: 'float32' }, 1, 0.15);
    const compiled = await compile(model, { device: 'cpu' });
    opened.push(compiled);
    const ids = int64([IDS[0]!]);
    await expect(compiled.targetLogProbabilities(ids, int64([IDS[0]!.slice(1)]))).rejects.toThrow(
      /targets.*int64 \[1, 8\] like inputIds, got int64 \[1, 7\]/,
    );
    await expect(compiled.targetLogProbabilities(ids, int64([[...IDS[0]!.slice(1), 96]]))).rejects.toThrow(
      /targets.*token id 96 at \[0, 7\] is outside the vocabulary \[0, 95\]/,
    );
  });
});
