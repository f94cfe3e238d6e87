import { InvalidArgumentError } from '@ptq/errors';
import { namedModules } from '@ptq/module-path';
import { amaxPerBlock, amaxPerChannel, amaxPerTensor, convertToScale, MAXBOUND } from '@ptq/scale-math';
import {
  createTensor,
  createXoshiro128,
  float32ArrayToFloat16,
  type RandomSource,
  type Tensor,
  toFloat32,
} from '@ptq/tensor';
import type { ModelDType } from './config';
import { Embedding } from './modules/embedding';
import type { GPT } from './modules/gpt';
import { LayerNorm } from './modules/layer-norm';
import { Linear } from './modules/linear';
import { ParameterModule } from './modules/parameters';

export interface InitializeWeightsOptions {
  /** Seed of the xoshiro128** stream the values come from (default 0). */
  seed?: number;
  /** Standard deviation of weights and biases (default 0.02, GPT-2's initializer range). */
  std?: number;
}

function normal(random: RandomSource): number {
  // Box–Muller; 1 - u keeps the logarithm away from 0.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function inDtype(like: Tensor, values: Float32Array, dtype: ModelDType): Tensor {
  return dtype === 'float16'
    ? createTensor('float16', like.shape, float32ArrayToFloat16(values))
    : createTensor('float32', like.shape, values);
}

/** Random values of `like`'s shape in the model's dtype (a linear holding codes gets floats again). */
function randomLike(
  like: Tensor,
  random: RandomSource,
  mean: number,
  std: number,
  dtype: ModelDType,
): Tensor {
  const values = new Float32Array(like.data.length);
  for (let index = 0; index < values.length; index += 1) values[index] = mean + std * normal(random);
  return inDtype(like, values, dtype);
}

/** Max-calibrated weight scales of a quantized linear: amax / maxbound per channel, block or tensor. */
export function weightScalesOf(linear: Linear): Tensor | undefined {
  if (linear.weight_scale === undefined || linear.quantDtype === undefined) return undefined;
  const weight = toFloat32(linear.weight);
  const shape = [linear.outFeatures, linear.inFeatures];
  const amax =
    linear.blockSize !== undefined
      ? amaxPerBlock(weight, shape, linear.blockSize)
      : linear.weightQuantDim === 0
        ? amaxPerChannel(weight, shape, 0)
        : amaxPerTensor(weight);
  const scales = convertToScale(amax, MAXBOUND[linear.quantDtype]);
  return inDtype(linear.weight_scale, scales.data, linear.dtype);
}

/**
 * Fills a model with reproducible random values, for tests, examples and benchmarks: weights and
 * biases `N(0, std)`, LayerNorm weights `N(1, 0.1)` and biases `N(0, 0.1)`, weight scales
 * max-calibrated from the weights (amax / 127, 7 or 448 per channel, block or tensor). Input and
 * pre-quant scales keep their value (1), since they come from calibration on real activations.
 * A tied `lm_head` stays tied.
 */
export function initializeWeights(model: GPT, options: InitializeWeightsOptions = {}): void {
  const std = options.std ?? 0.02;
  if (!(typeof std === 'number' && Number.isFinite(std) && std >= 0)) {
    throw new InvalidArgumentError('std', `must be a finite number ≥ 0, got ${String(std)}`);
  }
  const random = createXoshiro128(options.seed ?? 0);
  const { dtype } = model.config;
  const tied = model.weightsTied;
  for (const [, module] of namedModules(model)) {
    if (!ParameterModule.isParameterModule(module)) continue;
    if (module instanceof Embedding) {
      module.weight = randomLike(module.weight, random, 0, std, dtype);
    } else if (module instanceof LayerNorm) {
      module.weight = randomLike(module.weight, random, 1, 0.1, dtype);
      if (module.bias !== undefined) module.bias = randomLike(module.bias, random, 0, 0.1, dtype);
    } else if (module instanceof Linear) {
      if (!(tied && module === model.lm_head))
        module.weight = randomLike(module.weight, random, 0, std, dtype);
      if (module.bias !== undefined) module.bias = randomLike(module.bias, random, 0, std, dtype);
    }
  }
  if (tied) model.lm_head.weight = model.transformer.wte.weight;
  for (const [, module] of namedModules(model)) {
    if (module instanceof Linear) module.weight_scale = weightScalesOf(module);
  }
}
