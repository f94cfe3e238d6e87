import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, type Tensor } from '@ptq/tensor';
import { RunningMax, weightAmax, weightAmaxShape } from './max-calibration';
import type { TensorQuantizer } from './tensor-quantizer';

/** One calibration batch of a linear's input, captured as its calibrator asked (`needs`). */
export interface InputBatch {
  /** Real tokens (attention mask 1) of the batch; the statistics cover only these. */
  readonly tokenCount: number;
  /** Max |x| over the batch's real tokens (with `needs.absMax`). */
  readonly absMax?: number;
  /** The input rows at real tokens, float32 `[tokenCount, in]` (with `needs.input`). */
  readonly input?: Tensor<'float32'>;
}

/**
 * The statistic that sets one linear's per-tensor input amax: it observes every calibration batch of
 * the linear's input (of the unquantized model, as ModelOpt's calibration sees it), then gives the
 * amax. Max calibration (ModelOpt's `MaxCalibrator`) is the default; `percentileCalibrator` is
 * another; a calibrator of your own plugs in through `modelOptQuantize`'s `inputCalibrator`.
 */
export interface InputCalibrator {
  /**
   * What each batch must carry: `absMax` costs one number per batch; `input` brings the whole
   * activation matrix to the host (tokens × in floats per batch).
   */
  readonly needs: { readonly absMax?: boolean; readonly input?: boolean };
  /**
   * True when observing several batches as one gives the same amax — a statistic of the union of
   * their tokens, as the max is. Block-by-block calibration may then run batches of one sequence
   * length together (one run instead of many: much faster on a GPU). Default false: every batch is
   * observed on its own, as the forward loop sent it.
   */
  readonly mergesBatches?: boolean;
  observe(batch: InputBatch): void;
  /** The per-tensor amax, a finite number ≥ 0, once every batch was observed. */
  amax(): number;
}

/** Makes the calibrator of one linear's input (`linear`: its path, e.g. `transformer.h.0.mlp.c_fc`). */
export type InputCalibratorFactory = (linear: string) => InputCalibrator;

/**
 * A weight quantizer's amax for a linear AWQ does not calibrate, in ModelOpt's shape for the
 * quantizer (see `weightAmax`, the default: max calibration).
 */
export type WeightCalibrator = (
  linear: string,
  weight: Tensor<'float32'>,
  quantizer: TensorQuantizer,
) => Tensor<'float32'>;

/** Max calibration of an input: the largest |x| over every batch (ModelOpt's `MaxCalibrator`, axis None). */
export const maxCalibrator: InputCalibratorFactory = () => {
  const max = new RunningMax();
  return {
    needs: { absMax: true },
    mergesBatches: true,
    observe(batch) {
      if (batch.absMax === undefined) {
        throw new InvalidArgumentError('batch', 'carries no absMax, which max calibration needs');
      }
      max.update(batch.absMax);
    },
    amax: () => max.tensor().data[0]!,
  };
};

/** Most bins a percentile histogram holds: beyond it, neighbouring bins merge (the width doubles). */
export const MAX_HISTOGRAM_BINS = 1 << 16;

export interface PercentileCalibratorOptions {
  /**
   * Bins of the first batch's histogram over [0, its max |x|] (default 2048, at most
   * MAX_HISTOGRAM_BINS); later batches keep the bin width.
   */
  readonly bins?: number;
}

/**
 * Percentile calibration of an input, from a histogram of |x| as ModelOpt's `HistogramCalibrator`
 * builds it: the first batch sets the bin width (its max / `bins`), a later batch with a larger max
 * adds bins of the same width — until MAX_HISTOGRAM_BINS, past which neighbouring bins merge in
 * pairs (the width doubles) so memory stays bounded whatever the range. The amax is the upper edge of the bin where the cumulative share of
 * |x| reaches `percentile` %, capped at the largest |x| seen (so 100 gives max calibration's amax),
 * never below the exact percentile and at most one (final) bin width above it. It keeps outliers from
 * stretching the range at the cost of clipping the largest `100 − percentile` % of activations.
 */
export function percentileCalibrator(
  percentile: number,
  options: PercentileCalibratorOptions = {},
): InputCalibratorFactory {
  if (!(percentile > 0 && percentile <= 100)) {
    throw new InvalidArgumentError('percentile', `must be in (0, 100], got ${String(percentile)}`);
  }
  const bins = options.bins ?? 2048;
  if (!Number.isSafeInteger(bins) || bins < 1 || bins > MAX_HISTOGRAM_BINS) {
    throw new InvalidArgumentError(
      'bins',
      `must be an integer in [1, ${MAX_HISTOGRAM_BINS}], got ${String(bins)}`,
    );
  }
  return () => {
    let counts = new Float64Array(0);
    let width = 0;
    let largest = 0;
    let total = 0;
    return {
      needs: { input: true },
      observe(batch) {
        const values = batch.input?.data;
        if (values === undefined) {
          throw new InvalidArgumentError('batch', 'carries no input, which percentile calibration needs');
        }
        let batchMax = 0;
        for (const value of values) {
          if (Number.isNaN(value)) {
            throw new InvalidArgumentError('activations', 'contain NaN; calibration cannot proceed');
          }
          batchMax = Math.max(batchMax, Math.abs(value));
        }
        if (values.length === 0) return;
        if (width === 0) {
          // Until a batch holds a non-zero value, every |x| is 0: one bin of zeros, width set later.
          if (batchMax === 0) {
            total += values.length;
            return;
          }
          width = batchMax / bins;
          const zeros = total;
          counts = new Float64Array(bins);
          counts[0] = zeros;
        }
        while (Math.ceil(batchMax / width) > MAX_HISTOGRAM_BINS) {
          const merged = new Float64Array(Math.ceil(counts.length / 2));
          for (let bin = 0; bin < counts.length; bin += 1) merged[bin >> 1]! += counts[bin]!;
          counts = merged;
          width *= 2;
        }
        const needed = Math.ceil(batchMax / width);
        if (needed > counts.length) {
          const grown = new Float64Array(needed);
          grown.set(counts);
          counts = grown;
        }
        const last = counts.length - 1;
        for (const value of values) {
          counts[Math.min(last, Math.floor(Math.abs(value) / width))]! += 1;
        }
        largest = Math.max(largest, batchMax);
        total += values.length;
      },
      amax() {
        if (width === 0) return 0;
        // Less a hair of the total, so a share the decimal percentile names exactly (99.9 % of 1,000)
        // is not missed by the rounding of percentile / 100.
        const wanted = (percentile / 100) * total - 1e-9 * total;
        let cumulative = 0;
        for (let bin = 0; bin < counts.length; bin += 1) {
          cumulative += counts[bin]!;
          if (cumulative >= wanted) return float32AtLeast(Math.min(largest, (bin + 1) * width));
        }
        return Math.fround(largest);
      },
    };
  };
}

/** The smallest float32 ≥ `value` (≥ 0): an amax rounded to float32 must not fall below its bin's edge. */
function float32AtLeast(value: number): number {
  const rounded = Math.fround(value);
  if (rounded >= value) return rounded;
  const bits = new Uint32Array(Float32Array.of(rounded).buffer);
  bits[0]! += 1;
  return new Float32Array(bits.buffer)[0]!;
}

/** Max calibration of a weight (the default `WeightCalibrator`). */
export const maxWeightCalibrator: WeightCalibrator = (_linear, weight, quantizer) =>
  weightAmax(weight, quantizer);

/** An input calibrator's amax as the quantizer's `[]` tensor, checked. */
export function inputAmaxTensor(linear: string, calibrator: InputCalibrator): Tensor<'float32'> {
  const amax = calibrator.amax();
  if (typeof amax !== 'number' || !Number.isFinite(amax) || amax < 0) {
    throw new InvalidArgumentError(
      'inputCalibrator',
      `gave ${String(amax)} as the input amax of ${linear}; an amax must be a finite number ≥ 0`,
    );
  }
  return createTensor('float32', [], Float32Array.of(amax));
}

/** A weight calibrator's amax, checked against the shape max calibration gives for the quantizer. */
export function calibratedWeightAmax(
  calibrator: WeightCalibrator,
  linear: string,
  weight: Tensor<'float32'>,
  quantizer: TensorQuantizer,
): Tensor<'float32'> {
  const amax = calibrator(linear, weight, quantizer);
  if (calibrator === maxWeightCalibrator) return amax;
  const expected = weightAmaxShape(weight, quantizer);
  if (amax?.dtype !== 'float32' || amax.shape.join(',') !== expected.join(',')) {
    throw new InvalidArgumentError(
      'weightCalibrator',
      `gave ${linear}'s weight amax as ${amax?.dtype} [${amax?.shape?.join(', ')}]; the quantizer needs float32 [${expected.join(', ')}]`,
    );
  }
  for (const value of amax.data) {
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidArgumentError(
        'weightCalibrator',
        `gave ${value} in ${linear}'s weight amax; every amax must be a finite number ≥ 0`,
      );
    }
  }
  return amax;
}
