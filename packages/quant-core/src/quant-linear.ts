import type { GraphLinear, InputQuantizer } from '@ptq/hf-gpt2';
import { Module } from '@ptq/module-path';
import { modelOptScale } from '@ptq/scale-math';
import { type Tensor, transposeMatrixInPlace, transposeTensor } from '@ptq/tensor';
import { fakeQuantizeWeight } from './fake-quantize-weight';
import { TensorQuantizer } from './tensor-quantizer';

/** One array the lazily transposed weights of a model share, grown to the largest. */
export interface TransposeScratch {
  array: Float32Array;
}

/**
 * A quantized linear as ModelOpt makes it: weight `[out, in]` (GPT-2's Conv1D weights transposed,
 * as `_QuantConv1D` does), bias, and `weight_quantizer` / `input_quantizer` / `output_quantizer`.
 * The HF graph sees it through `GraphLinear`: its fake-quantized weight, AWQ's pre-quant scale and
 * the input's fake quantization.
 */
export class QuantLinear extends Module implements GraphLinear {
  #weight: Tensor<'float32'>;
  /**
   * Set while the weight's array still holds GPT-2's Conv1D layout `[in, out]` (its shape already
   * says `[out, in]`): the array is transposed in place on the first read of `weight`, so a weight
   * that calibration's kernels transpose on the device and read back is never transposed on the host.
   */
  #conv1d: TransposeScratch | undefined;
  bias: Tensor<'float32'> | undefined;
  readonly weight_quantizer = new TensorQuantizer();
  readonly input_quantizer = new TensorQuantizer();
  readonly output_quantizer = new TensorQuantizer();
  #graphWeight: { key: string; value: Tensor<'float32'> } | undefined;
  #weightVersion = 0;

  /**
   * Whether `weight`'s array is this linear's alone (a Conv1D weight transposed in place when the
   * linear was made), so calibration may rewrite it in place; otherwise it may be shared (a tied
   * embedding) and is replaced instead.
   */
  readonly ownsWeight: boolean;

  /**
   * `conv1d`: the weight's array holds `[in, out]` under a `[out, in]` shape, to be transposed in
   * place (through the shared scratch) when `weight` is first read; the linear then owns it.
   */
  constructor(
    weight: Tensor<'float32'>,
    bias: Tensor<'float32'> | undefined,
    options: { readonly ownsWeight?: boolean; readonly conv1d?: TransposeScratch } = {},
  ) {
    super();
    this.#weight = weight;
    this.#conv1d = options.conv1d;
    this.bias = bias;
    this.ownsWeight = options.ownsWeight === true || options.conv1d !== undefined;
    this.output_quantizer.enabled = false;
  }

  /** The weight `[out, in]`. */
  get weight(): Tensor<'float32'> {
    const scratch = this.#conv1d;
    if (scratch !== undefined) {
      this.#conv1d = undefined;
      const size = this.#weight.data.length;
      if (scratch.array.length < size) scratch.array = new Float32Array(size);
      transposeMatrixInPlace(this.#weight.data, this.inFeatures, this.outFeatures, scratch.array);
    }
    return this.#weight;
  }

  set weight(weight: Tensor<'float32'>) {
    this.#conv1d = undefined;
    this.#weight = weight;
  }

  /**
   * The weight's array while it still holds the Conv1D layout `[in, out]` (nothing has read `weight`
   * yet), else undefined. Whoever writes the `[out, in]` weight into it calls `markTransposed`.
   */
  conv1dWeight(): Float32Array | undefined {
    return this.#conv1d === undefined ? undefined : this.#weight.data;
  }

  /** Says the weight's array now holds `[out, in]`, written there from elsewhere (a device). */
  markTransposed(): void {
    this.#conv1d = undefined;
  }

  get inFeatures(): number {
    return this.#weight.shape[1] ?? 0;
  }

  get outFeatures(): number {
    return this.#weight.shape[0] ?? 0;
  }

  /** Call after changing `weight` or the weight quantizer's state in place. */
  invalidate(): void {
    this.#weightVersion++;
  }

  /** Drops the cached graph weight (a copy of the weight), e.g. once a block's session holds its own. */
  releaseGraphWeight(): void {
    this.#graphWeight = undefined;
  }

  /** The weight the graph multiplies by: fake-quantized when the weight quantizer is on, `[in, out]`. */
  graphWeight(): Tensor<'float32'> {
    const quantizer = this.weight_quantizer;
    const key = `${this.#weightVersion}:${quantizer.enabled}:${quantizer.amax === undefined ? '-' : 'c'}`;
    if (this.#graphWeight?.key !== key || this.#graphWeight.value === undefined) {
      this.#graphWeight = { key, value: transposeTensor(this.graphWeightRows()) };
    }
    return this.#graphWeight.value;
  }

  /** `graphWeight` as the linear holds it, `[out, in]`: the weight itself unless it is fake-quantized. */
  graphWeightRows(): Tensor<'float32'> {
    const quantizer = this.weight_quantizer;
    return quantizer.enabled && quantizer.amax !== undefined
      ? fakeQuantizeWeight(this.weight, quantizer)
      : this.weight;
  }

  graphPreQuantScale(): Float32Array | undefined {
    return this.input_quantizer.preQuantScale?.data;
  }

  graphInputQuantizer(): InputQuantizer | undefined {
    const quantizer = this.input_quantizer;
    if (!quantizer.enabled || quantizer.amax === undefined) return undefined;
    const format = quantizer.format;
    if (format === 'int4') return undefined;
    const amax = quantizer.amax.data[0] ?? 0;
    // ModelOpt multiplies by m = maxbound / amax and dequantizes by 1/m; the graph multiplies by
    // inverseScale and then by scale.
    const multiplier = modelOptScale(Math.fround(amax), quantizer.maxbound);
    return { format, scale: Math.fround(1 / multiplier), inverseScale: multiplier };
  }
}
