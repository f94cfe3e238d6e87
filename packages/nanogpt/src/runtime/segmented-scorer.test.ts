import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { bundledModel } from '../__fixtures__/bundled-model';
import { tinyModel } from '../__fixtures__/tiny-model';
import type { QuantMode } from '../config';
import { StateDictError } from '../errors';
import { loadGptSegment, segmentKey } from '../modules/gpt-segment';
import { compile } from './compile';
import { type ScoredWindow, scoreWindowsBySegments, segmentRanges, segmentsOf } from './segmented-scorer';

/** Windows of the sliding-window definition's shape: the next token at every position, 0 after the last. */
function windowsOf(tokens: readonly number[], lengths: readonly number[]): ScoredWindow[] {
  let begin = 0;
  return lengths.map((length) => {
    const ids = BigInt64Array.from(tokens.slice(begin, begin + length), BigInt);
    const next = new BigInt64Array(length);
    next.set(ids.subarray(1));
    begin += length;
    return { ids, next };
  });
}

describe('scoreWindowsBySegments', () => {
  it.each<[QuantMode | undefined]>([[undefined], ['int8-weight-only'], ['int4-weight-only'], ['float8']])(
    '%s: one block a segment gives the whole compiled graph’s log-probabilities bit for bit',
    async (quantMode) => {
      const { model, tokens } = await bundledModel(quantMode, 160);
      const windows = windowsOf(tokens, [96, 64]);
      const compiled = await compile(model, { device: 'cpu' });
      const whole: Float32Array[] = [];
      try {
        for (const { ids, next } of windows) {
          const shape = [1, ids.length];
          const scored = await compiled.targetLogProbabilities(
            createTensor('int64', shape, ids),
            createTensor('int64', shape, next),
          );
          whole.push(scored.data);
        }
      } finally {
        await compiled.release();
      }
      const steps: number[] = [];
      const segmented = await scoreWindowsBySegments(segmentsOf(model), windows, {
        device: 'cpu',
        segmentBytes: 1,
        onStep: (done, total) => steps.push(done, total),
      });
      expect(segmentRanges(model.config, 1)).toHaveLength(model.config.numLayers);
      expect(segmented).toEqual(whole);
      // Every window of every segment, in order.
      const count = model.config.numLayers * windows.length;
      expect(steps).toEqual(Array.from({ length: count }, (_, index) => [index + 1, count]).flat());
      // The default budget holds this model whole: one segment, the same numbers.
      expect(segmentRanges(model.config)).toEqual([{ start: 0, end: model.config.numLayers }]);
      expect(await scoreWindowsBySegments(segmentsOf(model), windows, { device: 'cpu' })).toEqual(whole);
      // Sessions made from files with external data rather than serialized bytes: the same numbers.
      const fromFiles = await scoreWindowsBySegments(segmentsOf(model), windows, {
        device: 'cpu',
        segmentBytes: 1,
        externalDataAbove: 0,
      });
      expect(fromFiles).toEqual(whole);
    },
  );

  it('float16: two segments of unequal length give the whole graph’s numbers', async () => {
    const model = tinyModel({ numLayers: 3, dtype: 'float16' });
    const windows = windowsOf([5, 9, 33, 2, 71, 40, 18, 64, 7, 11, 90, 3], [12]);
    // Two blocks fit in 12 · 128² · 2 bytes · 2: segments [0, 2) and [2, 3).
    const segmentBytes = 12 * 128 * 128 * 2 * 2;
    expect(segmentRanges(model.config, segmentBytes)).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 3 },
    ]);
    const compiled = await compile(model, { device: 'cpu' });
    const { ids, next } = windows[0]!;
    const whole = await compiled.targetLogProbabilities(
      createTensor('int64', [1, ids.length], ids),
      createTensor('int64', [1, ids.length], next),
    );
    await compiled.release();
    const [segmented] = await scoreWindowsBySegments(segmentsOf(model), windows, {
      device: 'cpu',
      segmentBytes,
    });
    expect(segmented).toEqual(whole.data);
  });

  it('refuses windows it cannot score, naming the window', async () => {
    const model = tinyModel();
    const source = segmentsOf(model);
    const tooLong = windowsOf(
      Array.from({ length: 40 }, (_, index) => index),
      [40],
    );
    await expect(scoreWindowsBySegments(source, tooLong, { device: 'cpu' })).rejects.toThrow(
      /windows\[0\].*1 to blockSize 32 tokens, got 40/,
    );
    const outside = windowsOf([1, 2, 96], [3]);
    await expect(scoreWindowsBySegments(source, outside, { device: 'cpu' })).rejects.toThrow(
      /windows\[0\]\.ids.*token id 96 at \[0, 2\] is outside the vocabulary \[0, 95\]/,
    );
    expect(() => segmentRanges(model.config, 0)).toThrow(/segmentBytes.*positive/);
  });
});

describe('model segments', () => {
  it('renumber a segment’s blocks and read the embeddings first, ln_f and the head last', () => {
    const range = { start: 2, end: 4 };
    expect(segmentKey('transformer.h.3.attn.c_attn.weight', range, 6)).toBe(
      'transformer.h.1.attn.c_attn.weight',
    );
    expect(segmentKey('transformer.h.1.ln_1.bias', range, 6)).toBeUndefined();
    expect(segmentKey('transformer.h.4.ln_1.bias', range, 6)).toBeUndefined();
    for (const key of [
      'transformer.wte.weight',
      'transformer.wpe.weight',
      'transformer.ln_f.weight',
      'lm_head.weight',
    ]) {
      expect(segmentKey(key, range, 6)).toBeUndefined();
    }
    expect(segmentKey('transformer.wte.weight', { start: 0, end: 2 }, 6)).toBe('transformer.wte.weight');
    expect(segmentKey('transformer.wpe.weight', { start: 0, end: 2 }, 6)).toBe('transformer.wpe.weight');
    expect(segmentKey('transformer.ln_f.weight', { start: 0, end: 2 }, 6)).toBeUndefined();
    // The last segment: ln_f, the head and wte (which a tied head is), but not wpe.
    for (const key of ['transformer.wte.weight', 'transformer.ln_f.bias', 'lm_head.weight_scale']) {
      expect(segmentKey(key, { start: 4, end: 6 }, 6)).toBe(key);
    }
    expect(segmentKey('transformer.wpe.weight', { start: 4, end: 6 }, 6)).toBeUndefined();
  });

  it('share the model’s tensors and refuse a state that lacks one the segment reads', () => {
    const model = tinyModel({ numLayers: 3 });
    const state = model.stateDict();
    const segment = loadGptSegment(model.config, { start: 1, end: 3 }, state);
    expect(segment.config.numLayers).toBe(2);
    expect(segment.transformer.h[0]!.attn.c_attn.weight).toBe(model.transformer.h[1]!.attn.c_attn.weight);
    expect(segment.transformer.ln_f.weight).toBe(model.transformer.ln_f.weight);
    expect(segment.weightsTied).toBe(true);
    state.delete('transformer.h.2.mlp.c_fc.bias');
    state.delete('transformer.h.0.mlp.c_fc.bias');
    let error: unknown;
    try {
      loadGptSegment(model.config, { start: 1, end: 3 }, state);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StateDictError);
    // Named as the model numbers its blocks; block 0 is not the segment's, so not asked for.
    expect((error as StateDictError).message).toContain('missing "transformer.h.2.mlp.c_fc.bias"');
    expect((error as StateDictError).problems).toHaveLength(1);
  });
});
