import type { GPT2LMHeadModel } from '@ptq/hf-gpt2';
import type { Device } from '@ptq/onnx';
import { createTensor, type Tensor } from '@ptq/tensor';
import { AwqSearchGraphs, type SearchInput, searchInputRows } from './awq-search-graph';
import { type GPT2ForwardLoop, tappedModel } from './calibration-model';
import { weightAmax, weightAmaxShape } from './max-calibration';
import type { QuantLinear } from './quant-linear';
import { scaleColumnsInto, scaleWeightColumns } from './scale-weight-columns';

const FLOAT32_TINY = 1.1754943508222875e-38;
const SCALE_MIN = Math.fround(1e-4);
const SCALE_MAX = Math.fround(1e4);

/**
 * AWQ's statistics come from sessions with unpacked weights, as the block sessions of block-by-block
 * calibration on the CPU (which take their weights as inputs): both executions sum alike.
 */
const AWQ_SESSIONS = { unpackedWeights: true } as const;

export interface AwqLayerResult {
  readonly alpha: number;
  readonly losses: number[];
}

export interface AwqProgress {
  readonly phase: 'awq-cache' | 'awq-search';
  readonly linear?: string;
  readonly index?: number;
  readonly total?: number;
  readonly alpha?: number;
  /** How the search computed this linear's losses (see `AwqLossForm`). */
  readonly lossForm?: 'outputs' | 'gram';
}

export interface AwqLiteOptions {
  readonly alphaStep: number;
  /** Where the search graphs run; asked after the cache pass, when the model's device is known. */
  readonly device: () => Device;
  /** Bytes of captured linear inputs held at once; linears are searched in groups under it. */
  readonly memoryBudgetBytes: number;
  readonly onProgress?: (event: AwqProgress) => void;
  readonly onNotice?: (message: string) => void;
}

/**
 * Adds one batch's per-channel mean |x| (`mean[offset…offset + sum.length]`) into `sum`, in float32:
 * AWQ-lite's act_scale accumulates the batches' means in this order.
 */
export function addBatchMean(sum: Float32Array, mean: ArrayLike<number>, offset = 0): void {
  for (let channel = 0; channel < sum.length; channel++) {
    sum[channel] = Math.fround(sum[channel]! + mean[offset + channel]!);
  }
}

/** act_scale: the batches' summed means (`addBatchMean`) divided by the batches, in float32. */
export function actScaleOf(sum: Float32Array, batches: number): Float32Array {
  return sum.map((value) => Math.fround(value / batches));
}

/** The first candidate of least loss, as ModelOpt keeps the first alpha of a tie. */
export function leastLossIndex(losses: readonly number[]): number {
  let best = 0;
  for (let candidate = 1; candidate < losses.length; candidate++) {
    if (losses[candidate]! < losses[best]!) best = candidate;
  }
  return best;
}

/** ModelOpt's alpha grid: `torch.arange(0, 1 + step, step)`: ceil((end − start) / step) values in float32. */
export function awqAlphas(alphaStep: number): number[] {
  const count = Math.ceil((1 + alphaStep) / alphaStep);
  return Array.from({ length: count }, (_, index) => Math.fround(index * alphaStep));
}

/**
 * `get_weight_scale`: |W| divided by the max of its block of `blockSize` along `in`, averaged over the
 * output rows, `[in]` (float32).
 */
export function awqWeightScale(weight: Tensor<'float32'>, blockSize: number): Float32Array {
  const [out = 0, inFeatures = 0] = weight.shape;
  const data = weight.data;
  const sums = new Float64Array(inFeatures);
  let row = 0;
  // Four rows at a time: four independent max chains, and each column's sum read and written once
  // per four rows, its terms still added in row order, so the sums are those of one row at a time.
  for (; row + 3 < out; row += 4) {
    const first = row * inFeatures;
    const second = first + inFeatures;
    const third = second + inFeatures;
    const fourth = third + inFeatures;
    for (let start = 0; start < inFeatures; start += blockSize) {
      const end = Math.min(start + blockSize, inFeatures);
      let firstMax = 0;
      let secondMax = 0;
      let thirdMax = 0;
      let fourthMax = 0;
      for (let column = start; column < end; column++) {
        firstMax = Math.max(firstMax, Math.abs(data[first + column]!));
        secondMax = Math.max(secondMax, Math.abs(data[second + column]!));
        thirdMax = Math.max(thirdMax, Math.abs(data[third + column]!));
        fourthMax = Math.max(fourthMax, Math.abs(data[fourth + column]!));
      }
      const firstDenominator = Math.fround(firstMax + FLOAT32_TINY);
      const secondDenominator = Math.fround(secondMax + FLOAT32_TINY);
      const thirdDenominator = Math.fround(thirdMax + FLOAT32_TINY);
      const fourthDenominator = Math.fround(fourthMax + FLOAT32_TINY);
      for (let column = start; column < end; column++) {
        sums[column] =
          sums[column]! +
          Math.fround(Math.abs(data[first + column]!) / firstDenominator) +
          Math.fround(Math.abs(data[second + column]!) / secondDenominator) +
          Math.fround(Math.abs(data[third + column]!) / thirdDenominator) +
          Math.fround(Math.abs(data[fourth + column]!) / fourthDenominator);
      }
    }
  }
  for (; row < out; row++) {
    const offset = row * inFeatures;
    for (let start = 0; start < inFeatures; start += blockSize) {
      const end = Math.min(start + blockSize, inFeatures);
      let max = 0;
      for (let column = start; column < end; column++) max = Math.max(max, Math.abs(data[offset + column]!));
      const denominator = Math.fround(max + FLOAT32_TINY);
      for (let column = start; column < end; column++) {
        sums[column]! += Math.fround(Math.abs(data[offset + column]!) / denominator);
      }
    }
  }
  const scale = new Float32Array(inFeatures);
  for (let column = 0; column < inFeatures; column++) scale[column] = sums[column]! / out;
  return scale;
}

/**
 * `get_scale`: `clamp(act^α / (w^(1−α) + tiny), 1e-4, 1e4)`, normalised so `sqrt(max · min) = 1`,
 * every step in float32.
 */
export function awqScale(actScale: Float32Array, weightScale: Float32Array, alpha: number): Float32Array {
  const scale = new Float32Array(actScale.length);
  const weightExponent = Math.fround(1 - alpha);
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  for (let index = 0; index < scale.length; index++) {
    const numerator = Math.fround(actScale[index]! ** alpha);
    const denominator = Math.fround(Math.fround(weightScale[index]! ** weightExponent) + FLOAT32_TINY);
    const value = Math.min(SCALE_MAX, Math.max(SCALE_MIN, Math.fround(numerator / denominator)));
    scale[index] = value;
    max = Math.max(max, value);
    min = Math.min(min, value);
  }
  const norm = Math.fround(Math.sqrt(Math.fround(max * min)));
  for (let index = 0; index < scale.length; index++) scale[index] = Math.fround(scale[index]! / norm);
  return scale;
}

function reciprocal(values: Float32Array): Float32Array {
  const result = new Float32Array(values.length);
  for (let index = 0; index < values.length; index++) result[index] = Math.fround(1 / values[index]!);
  return result;
}

/**
 * AWQ-lite as ModelOpt 0.41 runs it (model_calib.py `awq_lite`), with statistics over real tokens
 * only: a cache pass averages each linear's per-channel mean |x| over batches; a search pass tries
 * every alpha on the captured inputs of the unquantized model, summing per-batch output MSE; the best
 * alpha's scale s is applied as ModelOpt does (`W ← W·diag(s)`, `input_quantizer._pre_quant_scale =
 * 1/s`, weight `_amax` recalibrated on the scaled weight).
 */
export async function awqLite(
  model: GPT2LMHeadModel,
  linears: ReadonlyMap<string, QuantLinear>,
  forwardLoop: GPT2ForwardLoop,
  options: AwqLiteOptions,
): Promise<Map<string, AwqLayerResult>> {
  const paths = [...linears.keys()];
  const sums = new Map(paths.map((path) => [path, new Float32Array(linears.get(path)!.inFeatures)]));
  let batches = 0;
  let tokens = 0;
  options.onProgress?.({ phase: 'awq-cache' });
  await forwardLoop(
    tappedModel(
      model,
      paths.map((module) => ({ module, absMeanPerChannel: true })),
      (taps) => {
        for (const path of paths) addBatchMean(sums.get(path)!, taps.get(path)!.absMeanPerChannel!);
        tokens += taps.get(paths[0]!)!.tokenCount;
        batches++;
      },
      AWQ_SESSIONS,
    ),
  );
  const actScales = new Map<string, Float32Array>();
  for (const [path, sum] of sums) actScales.set(path, actScaleOf(sum, batches));

  const alphas = awqAlphas(options.alphaStep);
  const graphs = new AwqSearchGraphs(options.device(), options.memoryBudgetBytes, options.onNotice);
  const results = new Map<string, AwqLayerResult>();
  // Scales are applied once every group is searched, so later groups still see the unquantized model.
  const chosen = new Map<string, Float32Array>();
  try {
    let index = 0;
    for (const group of groupByBudget(paths, linears, tokens, options.memoryBudgetBytes)) {
      const inputs = new Map(group.map((path) => [path, [] as Tensor<'float32'>[]]));
      await forwardLoop(
        tappedModel(
          model,
          group.map((module) => ({ module, input: true })),
          (taps) => {
            for (const path of group) inputs.get(path)!.push(taps.get(path)!.input!);
          },
          AWQ_SESSIONS,
        ),
      );
      for (const path of group) {
        const found = await searchAwqScale(
          linears.get(path)!,
          actScales.get(path)!,
          inputs.get(path)!,
          alphas,
          graphs,
        );
        chosen.set(path, found.scale);
        results.set(path, { alpha: found.alpha, losses: found.losses });
        inputs.set(path, []);
        options.onProgress?.({
          phase: 'awq-search',
          linear: path,
          index: ++index,
          total: paths.length,
          alpha: found.alpha,
          lossForm: 'outputs',
        });
      }
    }
  } finally {
    await graphs.dispose();
  }
  for (const [path, scale] of chosen) applyAwqScale(linears.get(path)!, scale);
  return results;
}

/**
 * What the search scores the candidates on: each batch's captured input rows (the outputs form), or
 * their Gram matrix `Σ_b X_bᵀ·X_b / N_b` from `AwqSearchGraphs.addToGram` (`undefined` when no batch
 * had a row).
 */
export type AwqSearchInputs = readonly SearchInput[] | { readonly gram: SearchInput | undefined };

/**
 * The search for one linear: every alpha's scale, the loss of each summed over the batches' captured
 * inputs (the unquantized model's), and the first alpha of least loss.
 */
export async function searchAwqScale(
  linear: QuantLinear,
  actScale: Float32Array,
  inputs: AwqSearchInputs,
  alphas: readonly number[],
  graphs: AwqSearchGraphs,
  /** The weight and bias already on the search's device (a block session's copies), if any. */
  onDevice: { readonly weight?: SearchInput; readonly bias?: SearchInput } = {},
): Promise<AwqLayerResult & { scale: Float32Array }> {
  const blockSize = linear.weight_quantizer.blockSize ?? 128;
  const bias = onDevice.bias ?? linear.bias ?? createTensor('float32', [linear.outFeatures]);
  const weight = onDevice.weight ?? linear.weight;
  const weightScale = awqWeightScale(linear.weight, blockSize);
  const scales = alphas.map((alpha) => awqScale(actScale, weightScale, alpha));
  const inverses = scales.map(reciprocal);
  let losses = alphas.map(() => 0);
  if ('gram' in inputs) {
    if (inputs.gram !== undefined) {
      losses = await graphs.gramLosses(inputs.gram, weight, scales, inverses, blockSize);
    }
  } else {
    for (const input of inputs) {
      if (searchInputRows(input) === 0) continue;
      const batchLosses = await graphs.losses(input, weight, bias, scales, inverses, blockSize);
      for (let candidate = 0; candidate < losses.length; candidate++) {
        losses[candidate]! += batchLosses[candidate]!;
      }
    }
  }
  const best = leastLossIndex(losses);
  return { alpha: alphas[best]!, losses, scale: scales[best]! };
}

/**
 * The weight `[out, in]` already scaled by AWQ's chosen scale, and its amax per block of the weight
 * quantizer's block size, `[out · blocks]` in (row, block) order: what the kernels engine computes on
 * the device and reads back, instead of the host's pass over the weight.
 */
export interface ScaledWeight {
  readonly weight: Float32Array;
  readonly blockSize: number;
  readonly blockAmax: Float32Array;
}

/**
 * ModelOpt's postprocess: scale the weight's input channels by s, store 1/s, recalibrate the weight.
 * A weight the linear owns is scaled in place (no fresh weight-sized array to page in); block amax
 * comes out of the same pass over the weight. With `scaled`, the weight and its block amax are taken
 * as computed elsewhere.
 */
export function applyAwqScale(linear: QuantLinear, scale: Float32Array, scaled?: ScaledWeight): void {
  const [out = 0, inFeatures = 0] = linear.weight.shape;
  const source = linear.weight.data;
  const quantizer = linear.weight_quantizer;
  const blockSize = quantizer.blockSize;
  let target = linear.ownsWeight ? source : new Float32Array(source.length);
  let blockAmax: Float32Array | undefined;
  if (scaled !== undefined) {
    target = scaled.weight;
    if (scaled.blockSize === blockSize) blockAmax = scaled.blockAmax;
  } else if (blockSize !== undefined && Number.isSafeInteger(blockSize) && blockSize >= 1) {
    blockAmax = scaleWeightColumns(source, target, out, inFeatures, scale, blockSize);
  } else {
    scaleColumnsInto(source, target, out, inFeatures, scale);
  }
  if (target !== source) linear.weight = createTensor('float32', [out, inFeatures], target);
  linear.noteColumnScale(scale);
  linear.input_quantizer.preQuantScale = createTensor('float32', [inFeatures], reciprocal(scale));
  // Without a block amax (other layouts, or a NaN that weightAmax reports), weightAmax computes it.
  quantizer.amax =
    blockAmax === undefined
      ? weightAmax(linear.weight, quantizer)
      : createTensor('float32', weightAmaxShape(linear.weight, quantizer), blockAmax);
  linear.invalidate();
}

function* groupByBudget(
  paths: readonly string[],
  linears: ReadonlyMap<string, QuantLinear>,
  tokens: number,
  budget: number,
): Generator<string[]> {
  let group: string[] = [];
  let bytes = 0;
  for (const path of paths) {
    const size = tokens * linears.get(path)!.inFeatures * 4;
    if (group.length > 0 && bytes + size > budget) {
      yield group;
      group = [];
      bytes = 0;
    }
    group.push(path);
    bytes += size;
  }
  if (group.length > 0) yield group;
}
