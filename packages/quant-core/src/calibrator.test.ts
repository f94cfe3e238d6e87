import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { createTensor, type Tensor } from '@ptq/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type InputCalibrator,
  type InputCalibratorFactory,
  MAX_HISTOGRAM_BINS,
  maxCalibrator,
  percentileCalibrator,
  type WeightCalibrator,
} from './calibrator';
import { weightAmax } from './max-calibration';
import { type ModelOptQuantizeOptions, modelOptQuantize } from './modelopt-quantize';

const rows = (values: readonly number[]): Tensor<'float32'> =>
  createTensor('float32', [values.length, 1], Float32Array.from(values));

/** The largest |x| (a loop: activations are too many to spread into Math.max). */
const largestAbs = (values: readonly number[]): number =>
  values.reduce((largest, value) => Math.max(largest, Math.abs(value)), 0);

/**
 * The smallest |x| with at least `percentile` % of the values at or below it (the exact percentile),
 * the share read as the calibrator reads it: less a billionth of the count, for decimal rounding.
 */
function exactPercentile(values: readonly number[], percentile: number): number {
  const sorted = values.map(Math.abs).sort((left, right) => left - right);
  const wanted = (percentile / 100) * sorted.length - 1e-9 * sorted.length;
  return sorted[Math.max(0, Math.ceil(wanted) - 1)]!;
}

describe('maxCalibrator', () => {
  it('gives the largest absMax of every batch, as float32', () => {
    const calibrator = maxCalibrator('lm_head');
    for (const absMax of [0.5, 3.25, 1.1, 0.1 + 0.2]) calibrator.observe({ tokenCount: 1, absMax });
    expect(calibrator.amax()).toBe(Math.fround(3.25));
    expect(() => calibrator.observe({ tokenCount: 1 })).toThrow(/no absMax/);
  });
});

describe('percentileCalibrator', () => {
  const batches = fc.array(
    fc.array(fc.float({ min: -50, max: 50, noNaN: true, noDefaultInfinity: true }), {
      minLength: 1,
      maxLength: 200,
    }),
    { minLength: 1, maxLength: 5 },
  );

  it('lies within one bin width above the exact percentile, never above the largest |x|', () => {
    fc.assert(
      fc.property(
        batches,
        fc.double({ min: 50, max: 100, noNaN: true }),
        fc.integer({ min: 4, max: 64 }),
        (data, percentile, bins) => {
          const calibrator = percentileCalibrator(percentile, { bins })('lm_head');
          for (const batch of data) calibrator.observe({ tokenCount: batch.length, input: rows(batch) });
          const all = data.flat();
          const largest = largestAbs(all);
          const firstNonZero = data.find((batch) => batch.some((value) => value !== 0));
          let width = firstNonZero === undefined ? 0 : largestAbs(firstNonZero) / bins;
          // Past MAX_HISTOGRAM_BINS bins the histogram's bins merge in pairs.
          while (width > 0 && Math.ceil(largest / width) > MAX_HISTOGRAM_BINS) width *= 2;
          const exact = exactPercentile(all, percentile);
          const amax = calibrator.amax();
          expect(amax).toBeLessThanOrEqual(Math.fround(largest));
          expect(amax).toBeGreaterThanOrEqual(Math.fround(exact) * (1 - 1e-6));
          // One bin above, plus the float32 rounding (up) of the amax.
          expect(amax).toBeLessThanOrEqual((exact + width) * (1 + 2 ** -22) + 2 ** -149);
        },
      ),
    );
  });

  it('at 100 gives max calibration’s amax exactly', () => {
    fc.assert(
      fc.property(batches, (data) => {
        const percentile = percentileCalibrator(100)('lm_head');
        const max = maxCalibrator('lm_head');
        for (const batch of data) {
          percentile.observe({ tokenCount: batch.length, input: rows(batch) });
          max.observe({ tokenCount: batch.length, absMax: largestAbs(batch) });
        }
        expect(percentile.amax()).toBe(max.amax());
      }),
    );
  });

  it('clips outliers: 99.9 % of a batch with one large value', () => {
    const values = [...Array.from({ length: 999 }, (_, index) => (index % 10) / 10), 1000];
    const calibrator = percentileCalibrator(99.9, { bins: 2048 })('lm_head');
    calibrator.observe({ tokenCount: values.length, input: rows(values) });
    // 999 values ≤ 0.9 are 99.9 %: the amax is the upper edge of 0.9's bin, the second of width
    // 1000 / 2048; max calibration would give 1000.
    expect(calibrator.amax()).toBe(Math.fround((2 * 1000) / 2048));
  });

  it('keeps its memory bounded when a later batch’s range is far larger than the first’s', () => {
    const calibrator = percentileCalibrator(50, { bins: 2048 })('lm_head');
    calibrator.observe({ tokenCount: 2, input: rows([1e-30, -1e-30]) });
    calibrator.observe({ tokenCount: 2, input: rows([1e30, 0.5]) });
    // Half the values are ≤ 1e-30, within the first (merged) bin; the width is now ≥ 1e30 / 65536.
    expect(calibrator.amax()).toBeLessThanOrEqual((Math.fround(1e30) / MAX_HISTOGRAM_BINS) * 2);
    expect(calibrator.amax()).toBeGreaterThan(0);
  });

  it('refuses a bad percentile, bin count or batch by name', () => {
    expect(() => percentileCalibrator(0)).toThrow(/percentile.*\(0, 100\]/);
    expect(() => percentileCalibrator(100.5)).toThrow(/percentile/);
    expect(() => percentileCalibrator(99, { bins: 0 })).toThrow(/bins/);
    expect(() => percentileCalibrator(99, { bins: MAX_HISTOGRAM_BINS + 1 })).toThrow(/bins.*65536/);
    expect(() => percentileCalibrator(99)('x').observe({ tokenCount: 1, absMax: 1 })).toThrow(/no input/);
    expect(() =>
      percentileCalibrator(99)('x').observe({ tokenCount: 1, input: rows([1, Number.NaN]) }),
    ).toThrow(/NaN/);
  });
});

describe('modelOptQuantize with calibrators of its caller', () => {
  const quiet = { log: () => {}, onNotice: () => {} };
  const small = { ...quiet, numSamples: 3, maxSampleLength: 48 } satisfies ModelOptQuantizeOptions;
  const load = () => loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
  const inputAmax = async (options: ModelOptQuantizeOptions) => {
    const quantized = await modelOptQuantize(await load(), 'float8', options);
    return new Map(
      [...quantized.linears].map(([path, linear]) => [path, linear.input_quantizer.amax!.data[0]!]),
    );
  };

  it('float8 inputs: max by default; percentile 100 the same; 99 % within a bin of the exact percentile of what the model saw', async () => {
    const byDefault = await inputAmax(small);
    expect(await inputAmax({ ...small, inputCalibrator: maxCalibrator })).toEqual(byDefault);
    expect(await inputAmax({ ...small, inputCalibrator: percentileCalibrator(100) })).toEqual(byDefault);

    // A calibrator of our own that keeps every |x| it is shown, beside the percentile calibrator.
    const seen = new Map<string, number[][]>();
    const recording: InputCalibratorFactory = (linear) => {
      const inner = percentileCalibrator(99, { bins: 256 })(linear);
      const batches: number[][] = [];
      seen.set(linear, batches);
      return {
        needs: { input: true },
        observe(batch) {
          batches.push(Array.from(batch.input!.data));
          inner.observe(batch);
        },
        amax: () => inner.amax(),
      } satisfies InputCalibrator;
    };
    const clipped = await inputAmax({ ...small, inputCalibrator: recording });
    expect(clipped.size).toBe(byDefault.size);
    let smaller = 0;
    for (const [path, amax] of clipped) {
      const batches = seen.get(path)!;
      expect(batches, path).toHaveLength(3);
      const all = batches.flat();
      // What the calibrator saw is what max calibration saw: the same largest |x|.
      expect(Math.fround(largestAbs(all)), path).toBe(byDefault.get(path));
      const width = largestAbs(batches[0]!) / 256;
      const exact = exactPercentile(all, 99);
      expect(amax, path).toBeGreaterThanOrEqual(Math.fround(exact) * (1 - 1e-6));
      expect(amax, path).toBeLessThanOrEqual((exact + width) * (1 + 2 ** -22));
      if (amax < byDefault.get(path)!) smaller++;
    }
    expect(smaller).toBeGreaterThan(0);
    // Whole-model calibration feeds the calibrators the same batches.
    expect(
      await inputAmax({
        ...small,
        calibration: 'whole-model',
        inputCalibrator: percentileCalibrator(99, { bins: 256 }),
      }),
    ).toEqual(clipped);
  });

  it('a weight calibrator of its own sets the weights’ amax; a wrong shape is refused by linear', async () => {
    const halved: WeightCalibrator = (_linear, weight, quantizer) => {
      const amax = weightAmax(weight, quantizer);
      return createTensor(
        'float32',
        [...amax.shape],
        amax.data.map((value) => value / 2),
      );
    };
    const quantized = await modelOptQuantize(await load(), 'int8-weight-only', {
      ...quiet,
      weightCalibrator: halved,
    });
    for (const [path, linear] of quantized.linears) {
      const expected = weightAmax(linear.weight, linear.weight_quantizer).data.map((value) => value / 2);
      expect(Array.from(linear.weight_quantizer.amax!.data), path).toEqual(Array.from(expected));
    }
    const flat: WeightCalibrator = () => createTensor('float32', [1], Float32Array.of(1));
    await expect(
      modelOptQuantize(await load(), 'int8-weight-only', { ...quiet, weightCalibrator: flat }),
    ).rejects.toThrow(
      /weightCalibrator.*transformer\.h\.0\.attn\.c_attn's weight amax as float32 \[1\]; the quantizer needs float32 \[768, 1\]/,
    );
  });

  it('refuses a factory that makes no usable calibrator, naming the linear', async () => {
    const useless = (() => ({ needs: {}, observe() {}, amax: () => 1 })) as InputCalibratorFactory;
    await expect(
      modelOptQuantize(await load(), 'float8', { ...small, inputCalibrator: useless }),
    ).rejects.toThrow(/inputCalibrator.*transformer\.h\.0\.attn\.c_attn/);
  });
});
