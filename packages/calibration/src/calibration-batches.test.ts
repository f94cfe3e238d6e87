import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildBatches, padTokenIdOf, tokenizeTexts } from './calibration-batches';
import { EmptySampleError } from './calibration-errors';

const PAD = 50256;

function rows(data: BigInt64Array, width: number): number[][] {
  const result: number[][] = [];
  for (let start = 0; start < data.length; start += width)
    result.push([...data.subarray(start, start + width)].map(Number));
  return result;
}

describe('buildBatches', () => {
  it('groups in order, left-pads each batch to its longest sample, masks the pads', () => {
    const batches = buildBatches([[1, 2], [3], [4, 5, 6, 7], [8, 9], [10]], 2, PAD);
    expect(batches.map((batch) => batch.inputIds.shape)).toEqual([
      [2, 2],
      [2, 4],
      [1, 1],
    ]);
    expect(rows(batches[0]!.inputIds.data, 2)).toEqual([
      [1, 2],
      [PAD, 3],
    ]);
    expect(rows(batches[0]!.attentionMask.data, 2)).toEqual([
      [1, 1],
      [0, 1],
    ]);
    expect(rows(batches[1]!.inputIds.data, 4)).toEqual([
      [4, 5, 6, 7],
      [PAD, PAD, 8, 9],
    ]);
    expect(rows(batches[1]!.attentionMask.data, 4)).toEqual([
      [1, 1, 1, 1],
      [0, 0, 1, 1],
    ]);
    expect(rows(batches[2]!.inputIds.data, 1)).toEqual([[10]]);
    expect(batches.map((batch) => [batch.sampleCount, batch.tokenCount])).toEqual([
      [2, 3],
      [2, 6],
      [1, 1],
    ]);
    expect(
      batches.every((batch) => batch.inputIds.dtype === 'int64' && batch.attentionMask.dtype === 'int64'),
    ).toBe(true);
    expect(batches[0]!.inputIds.data).toBeInstanceOf(BigInt64Array);
  });

  it('keeps every sample, in order, right-aligned behind pads and ones in the mask (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 50_000 }), { minLength: 1, maxLength: 9 }), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.integer({ min: 1, max: 8 }),
        (samples, batchSize) => {
          const batches = buildBatches(samples, batchSize, PAD);
          expect(batches).toHaveLength(Math.ceil(samples.length / batchSize));
          const recovered: number[][] = [];
          batches.forEach((batch, index) => {
            const group = samples.slice(index * batchSize, (index + 1) * batchSize);
            const [height, width] = batch.inputIds.shape as [number, number];
            expect(height).toBe(group.length);
            expect(width).toBe(Math.max(...group.map((sample) => sample.length)));
            const ids = rows(batch.inputIds.data, width);
            const mask = rows(batch.attentionMask.data, width);
            ids.forEach((row, rowIndex) => {
              const real = mask[rowIndex]!.reduce((sum, bit) => sum + bit, 0);
              const padCount = width - real;
              expect(mask[rowIndex]).toEqual([...Array(padCount).fill(0), ...Array(real).fill(1)]);
              expect(row.slice(0, padCount)).toEqual(Array(padCount).fill(PAD));
              recovered.push(row.slice(padCount));
            });
          });
          expect(recovered).toEqual(samples);
        },
      ),
    );
  });
});

describe('tokenizeTexts', () => {
  const characters = { encode: (text: string) => [...text].map((character) => character.codePointAt(0)!) };

  it('keeps the first maxSampleLength tokens of each text', () => {
    expect(tokenizeTexts(['abcdef', 'xy'], characters, 3, 'test')).toEqual([
      [97, 98, 99],
      [120, 121],
    ]);
  });

  it('names the index of a text that tokenizes to nothing', () => {
    const error = (() => {
      try {
        tokenizeTexts(['a', ''], characters, 8, 'the 2 texts passed in');
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(EmptySampleError);
    expect(error).toMatchObject({ code: 'PTQ_EMPTY_SAMPLE', index: 1 });
    expect((error as Error).message).toBe(
      'Calibration text 1 of the 2 texts passed in tokenizes to zero tokens',
    );
  });

  it('rejects token ids that are not non-negative integers', () => {
    expect(() => tokenizeTexts(['a'], { encode: () => [-1] }, 8, 'x')).toThrow(
      'Invalid argument "tokenizer"',
    );
    expect(() => tokenizeTexts(['a'], { encode: () => [1.5] }, 8, 'x')).toThrow(
      'Invalid argument "tokenizer"',
    );
  });
});

describe('padTokenIdOf', () => {
  it('takes the EOS id, and refuses a tokenizer without one', () => {
    expect(padTokenIdOf({ encode: () => [], eos_token_id: 50256 })).toBe(50256);
    expect(() => padTokenIdOf({ encode: () => [] })).toThrow(
      'Invalid argument "tokenizer": has no EOS token to pad with (eos_token_id is undefined)',
    );
    expect(() => padTokenIdOf({ encode: () => [], eos_token_id: null })).toThrow('eos_token_id is null');
  });
});
