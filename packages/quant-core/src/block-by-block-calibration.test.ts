import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { InvalidArgumentError } from '@ptq/errors';
import { type GPT2LMHeadModel, loadHfGpt2 } from '@ptq/hf-gpt2';
import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { type BlockProgress, calibrateBlockByBlock } from './block-by-block-calibration';
import type { ForwardLoop } from './calibration-model';
import { maxCalibrator } from './calibrator';
import { modelOptQuantize, type QuantizeProgress } from './modelopt-quantize';
import { quantConfigForMode } from './quant-config';
import { quantizeLinears } from './quantize-linears';
import { recordBatches } from './record-batches';

const quiet = { log: () => {}, onNotice: () => {} };

function load(): Promise<GPT2LMHeadModel> {
  return loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
}

function batch(rows: number[][], mask: number[][]) {
  const width = rows[0]!.length;
  return {
    ids: createTensor('int64', [rows.length, width], BigInt64Array.from(rows.flat().map(BigInt))),
    mask: createTensor('int64', [rows.length, width], BigInt64Array.from(mask.flat().map(BigInt))),
  };
}

// Three batches of different shapes, left padding, and one batch whose only row is all padding.
const batches = [
  batch(
    [
      [5, 17, 300, 41, 9, 11],
      [0, 0, 77, 1200, 64, 3],
    ],
    [
      [1, 1, 1, 1, 1, 1],
      [0, 0, 1, 1, 1, 1],
    ],
  ),
  batch([[400, 12, 7]], [[1, 1, 1]]),
  batch([[8, 8]], [[0, 0]]),
  batch([[2000, 3000, 4000, 5, 6, 7, 8, 9]], [[1, 1, 1, 1, 1, 1, 1, 1]]),
];
const loop: ForwardLoop = async (model) => {
  for (const { ids, mask } of batches) await model.forward(ids, mask);
};

describe('block-by-block calibration', () => {
  // Each calibrates the bundled model twice, block by block and whole.
  it('float8: input amax bit for bit as the whole-model execution, one progress event per block and batch', async () => {
    const whole = await modelOptQuantize(await load(), 'float8', {
      ...quiet,
      forwardLoop: loop,
      calibration: 'whole-model',
    });
    const events: QuantizeProgress[] = [];
    let calls = 0;
    const blockwise = await modelOptQuantize(await load(), 'float8', {
      ...quiet,
      forwardLoop: async (model) => {
        calls++;
        await loop(model);
      },
      onProgress: (event) => events.push(event),
    });
    expect(calls).toBe(1);
    expect(blockwise.calibrationBatches).toBe(4);
    const paths = [...whole.linears.keys()];
    expect(paths).toHaveLength(17);
    for (const path of paths) {
      const expected = whole.linears.get(path)!.input_quantizer.amax!;
      const actual = blockwise.linears.get(path)!.input_quantizer.amax!;
      expect(actual.data[0], path).toBe(expected.data[0]);
      expect(actual.data[0]!).toBeGreaterThan(0);
    }
    // The loop's batches as it records them, then 4 blocks × 4 batches numbered across blocks.
    expect(events.slice(0, 4)).toEqual([1, 2, 3, 4].map((batch) => ({ phase: 'calibrate', batch })));
    const blockEvents = events.filter((event) => event.phase === 'calibrate-block');
    expect(blockEvents).toHaveLength(16);
    expect(blockEvents[5]).toEqual({
      phase: 'calibrate-block',
      block: 2,
      blocks: 4,
      batch: 2,
      batches: 4,
      done: 6,
      total: 16,
    });
    expect(blockEvents.at(-1)).toMatchObject({ block: 4, batch: 4, done: 16, total: 16 });
  }, 300_000);

  it('int4 AWQ-lite: the same alphas and losses as the whole-model execution', async () => {
    const whole = await modelOptQuantize(await load(), 'int4-weight-only', {
      ...quiet,
      forwardLoop: loop,
      calibration: 'whole-model',
    });
    const events: QuantizeProgress[] = [];
    const blockwise = await modelOptQuantize(await load(), 'int4-weight-only', {
      ...quiet,
      forwardLoop: loop,
      onProgress: (event) => events.push(event),
    });
    expect([...blockwise.awq!.keys()]).toEqual([...whole.awq!.keys()]);
    expect(blockwise.awq!.size).toBe(16);
    for (const [path, expected] of whole.awq!) {
      const actual = blockwise.awq!.get(path)!;
      expect(actual.alpha, path).toBe(expected.alpha);
      expect(actual.losses, path).toEqual(expected.losses);
      const expectedScale = whole.linears.get(path)!.input_quantizer.preQuantScale!.data;
      expect([...blockwise.linears.get(path)!.input_quantizer.preQuantScale!.data]).toEqual([
        ...expectedScale,
      ]);
    }
    // Each block's four linears are searched right after the block ran.
    const order = events.map((event) =>
      event.phase === 'calibrate-block'
        ? `b${event.block}`
        : event.phase === 'awq-search'
          ? 's'
          : event.phase,
    );
    expect(order.slice(0, 13).join(' ')).toBe(
      'calibrate calibrate calibrate calibrate b1 b1 b1 b1 s s s s b2',
    );
  }, 300_000);

  it('int4 AWQ-lite in the Gram form: the whole-model alphas, losses within float32 rounding, an all-padding batch skipped', async () => {
    const whole = await modelOptQuantize(await load(), 'int4-weight-only', {
      ...quiet,
      forwardLoop: loop,
      calibration: 'whole-model',
    });
    const forms = new Set<string | undefined>();
    const blockwise = await modelOptQuantize(await load(), 'int4-weight-only', {
      ...quiet,
      forwardLoop: loop,
      awqLossForm: 'gram',
      onProgress: (event) => {
        if (event.phase === 'awq-search') forms.add(event.lossForm);
      },
    });
    expect([...forms]).toEqual(['gram']);
    expect(blockwise.awq!.size).toBe(16);
    for (const [path, expected] of whole.awq!) {
      const actual = blockwise.awq!.get(path)!;
      expect(actual.alpha, path).toBe(expected.alpha);
      // 21 tokens: the outputs form's float32 sums are short here, so both are close to exact.
      for (let index = 0; index < expected.losses.length; index++) {
        expect(Math.abs(actual.losses[index]! / expected.losses[index]! - 1), path).toBeLessThan(1e-5);
      }
    }
  }, 300_000);

  it('float8 with batches of one length run together: the same input amax as batch by batch', async () => {
    // Runs of equal length merge (rows 1–4: a padded batch of 2 and two of 1), then a shorter batch
    // and one more of 6 (a new run: a run never spans another length).
    const sameLength = [
      batches[0]!,
      batch([[9, 10, 11, 12, 13, 14]], [[1, 1, 1, 1, 1, 1]]),
      batch([[0, 0, 0, 0, 512, 600]], [[0, 0, 0, 0, 1, 1]]),
      batches[1]!,
      batch([[31, 32, 33, 34, 35, 36]], [[1, 1, 1, 1, 1, 1]]),
    ];
    const calibrate = async (mergeBatches: boolean) => {
      const model = await load();
      const linears = quantizeLinears(model, quantConfigForMode('float8'));
      const recorded = await recordBatches(model, async (calibration) => {
        for (const { ids, mask } of sameLength) await calibration.forward(ids, mask);
      });
      const events: BlockProgress[] = [];
      const result = await calibrateBlockByBlock(model, linears, recorded, {
        inputCalibrators: new Map([...linears.keys()].map((path) => [path, maxCalibrator(path)])),
        device: 'cpu',
        memoryBudgetBytes: 2 ** 28,
        mergeBatches,
        onProgress: (event) => {
          if (event.phase === 'calibrate-block') events.push(event);
        },
      });
      return { amax: result.inputAmax, events };
    };
    const alone = await calibrate(false);
    const merged = await calibrate(true);
    expect(alone.amax.size).toBe(17);
    for (const [path, expected] of alone.amax) {
      expect(merged.amax.get(path)!.data[0], path).toBe(expected.data[0]);
    }
    expect(alone.events).toHaveLength(4 * 5);
    // Three runs a block; `batch` counts the recorded batches done, `done` the block × batch runs.
    expect(merged.events.slice(0, 3).map((event) => [event.batch, event.done])).toEqual([
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
    expect(merged.events.at(-1)).toMatchObject({ block: 4, batch: 5, batches: 5, done: 20, total: 20 });
  }, 300_000);

  it('refuses an unknown calibration execution, and a loop that runs no batch', async () => {
    await expect(
      modelOptQuantize(await load(), 'float8', {
        ...quiet,
        forwardLoop: loop,
        calibration: 'layered' as never,
      }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      modelOptQuantize(await load(), 'float8', { ...quiet, forwardLoop: async () => {} }),
    ).rejects.toThrow(/ran no batch/);
  });
});
