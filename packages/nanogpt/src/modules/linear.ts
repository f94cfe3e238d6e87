import { InvalidArgumentError } from '@ptq/errors';
import type { Tensor } from '@ptq/tensor';
import type { ModelDType } from '../config';
import { filledTensor, ParameterModule } from './parameters';

/** Integer or float format a linear's weight is quantized to. */
export type QuantDType = 'int8' | 'int4' | 'float8e4m3fn';

export const QUANT_DTYPES: readonly QuantDType[] = ['int8', 'int4', 'float8e4m3fn'];

/** Block length along `in` for int4 weights (ModelOpt's `block_sizes {-1: 128}`). */
export const INT4_BLOCK_SIZE = 128;

export interface LinearOptions {
  /** Default true. */
  bias?: boolean;
  /** Default 'float32'. */
  dtype?: ModelDType;
  /** Default undefined: the weight is used as is. */
  quantDtype?: QuantDType | undefined;
  /**
   * int8 only: 0 gives one scale per output row (`weight_scale [out]`), undefined one scale for the
   * tensor. int4 always uses blocks of 128 along `in` and float8 one scale, so both take undefined.
   */
  weightQuantDim?: 0 | undefined;
  /** float8 only: fake-quantize the input with a calibrated per-tensor `input_scale` (default true for float8). */
  quantizeInput?: boolean;
  /** Hold an AWQ `pre_quant_scale [in]` that multiplies the input (default false). */
  preQuantScale?: boolean;
}

/**
 * A linear layer like Tripy's `tp.Linear`: `y = x · Wᵀ + b` with `weight [out, in]`. A quantized linear
 * keeps its float weight plus the scales that say how to quantize it; the integer or float8 codes are
 * made when the model is compiled. Parameters:
 *
 * - `weight [out, in]`, `bias [out]` (optional); an int4 or int8 linear may hold its weight as its
 *   integer codes instead (an int8 tensor, `loadStateDict` checks int4's range), which the graph and
 *   the kernels then take as they are (`linearCodes`);
 * - `weight_scale`: int8 per channel `[out]` (per tensor `[]`), int4 `[out, ceil(in / 128)]` with
 *   `W[o, j]` using `scale[o, floor(j / 128)]` (ModelOpt's export layout), float8 `[]`;
 * - `input_scale []` (float8 inputs), `pre_quant_scale [in]` (AWQ).
 */
export class Linear extends ParameterModule {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly dtype: ModelDType;
  readonly quantDtype: QuantDType | undefined;
  readonly weightQuantDim: 0 | undefined;
  /** Block length along `in` of int4 weights; undefined for other formats. */
  readonly blockSize: number | undefined;
  weight: Tensor;
  bias: Tensor | undefined;
  weight_scale: Tensor | undefined;
  input_scale: Tensor | undefined;
  pre_quant_scale: Tensor | undefined;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, value] of [
      ['inFeatures', inFeatures],
      ['outFeatures', outFeatures],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new InvalidArgumentError(name, `must be a positive integer, got ${value}`);
      }
    }
    const dtype = options.dtype ?? 'float32';
    const quantDtype = options.quantDtype;
    if (quantDtype !== undefined && !QUANT_DTYPES.includes(quantDtype)) {
      throw new InvalidArgumentError(
        'quantDtype',
        `must be one of ${QUANT_DTYPES.join(', ')} or undefined, got ${String(quantDtype)}`,
      );
    }
    const weightQuantDim = options.weightQuantDim;
    if (weightQuantDim !== undefined && (quantDtype !== 'int8' || weightQuantDim !== 0)) {
      throw new InvalidArgumentError(
        'weightQuantDim',
        `only int8 weights take a quantization axis, and only 0 (one scale per output row); got ${String(weightQuantDim)} for ${quantDtype ?? 'an unquantized weight'}`,
      );
    }
    const quantizeInput = options.quantizeInput ?? quantDtype === 'float8e4m3fn';
    if (quantizeInput && quantDtype !== 'float8e4m3fn') {
      throw new InvalidArgumentError(
        'quantizeInput',
        'input fake quantization is only supported for float8 linears',
      );
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.dtype = dtype;
    this.quantDtype = quantDtype;
    this.weightQuantDim = weightQuantDim;
    this.blockSize = quantDtype === 'int4' ? INT4_BLOCK_SIZE : undefined;
    this.weight = filledTensor(dtype, [outFeatures, inFeatures], 0);
    this.bias = (options.bias ?? true) ? filledTensor(dtype, [outFeatures], 0) : undefined;
    const scaleShape = weightScaleShape(quantDtype, weightQuantDim, outFeatures, inFeatures);
    this.weight_scale = scaleShape === undefined ? undefined : filledTensor(dtype, scaleShape, 1);
    this.input_scale = quantizeInput ? filledTensor(dtype, [], 1) : undefined;
    this.pre_quant_scale = options.preQuantScale ? filledTensor(dtype, [inFeatures], 1) : undefined;
  }

  override parameterNames(): readonly string[] {
    const names = ['weight'];
    if (this.bias !== undefined) names.push('bias');
    if (this.weight_scale !== undefined) names.push('weight_scale');
    if (this.input_scale !== undefined) names.push('input_scale');
    if (this.pre_quant_scale !== undefined) names.push('pre_quant_scale');
    return names;
  }

  /** A one-line description of the expected `weight_scale` layout, for error messages. */
  describeWeightScaleLayout(): string {
    switch (this.quantDtype) {
      case 'int8':
        return this.weightQuantDim === 0 ? 'int8 per-channel scales [out]' : 'an int8 per-tensor scale []';
      case 'int4':
        return `int4 block scales [out, ceil(in / ${INT4_BLOCK_SIZE})], blocks of ${INT4_BLOCK_SIZE} along in`;
      case 'float8e4m3fn':
        return 'a float8 per-tensor scale []';
      default:
        return 'no weight scale (unquantized)';
    }
  }
}

/** The `weight_scale` shape of a quantized `[out, in]` weight, or undefined when unquantized. */
export function weightScaleShape(
  quantDtype: QuantDType | undefined,
  weightQuantDim: 0 | undefined,
  outFeatures: number,
  inFeatures: number,
): number[] | undefined {
  switch (quantDtype) {
    case 'int8':
      return weightQuantDim === 0 ? [outFeatures] : [];
    case 'int4':
      return [outFeatures, Math.ceil(inFeatures / INT4_BLOCK_SIZE)];
    case 'float8e4m3fn':
      return [];
    default:
      return undefined;
  }
}
