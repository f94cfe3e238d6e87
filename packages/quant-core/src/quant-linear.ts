import type { GraphLinear, InputQuantizer } from '@ptq/hf-gpt2';
import { Module } from '@ptq/module-path';
import { modelOptScale } from '@ptq/scale-math';
import {
  ReloadableTensor,
  releaseTensor,
  type Tensor,
  transposeMatrixInPlace,
  transposeTensor,
} from '@ptq/tensor';
import { fakeQuantizeWeight } from './fake-quantize-weight';
import { scaleColumnsInto } from './scale-weight-columns';
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
  /**
   * With a reloadable Conv1D weight `[in, out]` (a model loaded with `weights: 'on-demand'`),
   * `#weight` is a `ReloadableTensor` made from it when its data is read — transposed, and scaled
   * by `#columnScale` once AWQ has chosen one — and again after each `releaseWeights`.
   */
  #source: ReloadableTensor<'float32'> | undefined;
  /** AWQ's scale of the input columns, applied again whenever the weight is made from `#source`. */
  #columnScale: Float32Array | undefined;
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
   * `source`: a reloadable Conv1D weight `[in, out]` the weight is made from whenever its data is
   * needed (`weight` is then ignored, and may be the source itself).
   */
  constructor(
    weight: Tensor<'float32'>,
    bias: Tensor<'float32'> | undefined,
    options: {
      readonly ownsWeight?: boolean;
      readonly conv1d?: TransposeScratch;
      readonly source?: ReloadableTensor<'float32'>;
    } = {},
  ) {
    super();
    const { source } = options;
    if (source === undefined) {
      this.#weight = weight;
      this.#conv1d = options.conv1d;
    } else {
      const [inFeatures = 0, outFeatures = 0] = source.shape;
      const scratch = options.conv1d ?? { array: new Float32Array(0) };
      this.#source = source;
      this.#weight = new ReloadableTensor('float32', [outFeatures, inFeatures], () =>
        this.#weightFromSource(scratch),
      );
    }
    this.bias = bias;
    this.ownsWeight = options.ownsWeight === true || options.conv1d !== undefined || source !== undefined;
    this.output_quantizer.enabled = false;
  }

  /** The weight `[out, in]`. */
  get weight(): Tensor<'float32'> {
    const scratch = this.#conv1d;
    if (scratch !== undefined) {
      this.#conv1d = undefined;
      this.#transposeConv1d(this.#weight.data, scratch);
    }
    return this.#weight;
  }

  set weight(weight: Tensor<'float32'>) {
    this.#conv1d = undefined;
    this.#source = undefined;
    this.#columnScale = undefined;
    this.#weight = weight;
  }

  /** Transposes a Conv1D weight `[in, out]` to `[out, in]` in place, through the shared scratch. */
  #transposeConv1d(data: Float32Array, scratch: TransposeScratch): void {
    if (scratch.array.length < data.length) scratch.array = new Float32Array(data.length);
    transposeMatrixInPlace(data, this.inFeatures, this.outFeatures, scratch.array);
  }

  /** The `[out, in]` weight made from the source: its array taken over, transposed, scaled. */
  #weightFromSource(scratch: TransposeScratch): Float32Array {
    const source = this.#source!;
    const data = source.data;
    // The array is transposed in place: the source must not hand it out again.
    source.release();
    this.#transposeConv1d(data, scratch);
    const scale = this.#columnScale;
    if (scale !== undefined) scaleColumnsInto(data, data, this.outFeatures, this.inFeatures, scale);
    return data;
  }

  /**
   * The weight's array while it still holds the Conv1D layout `[in, out]` (nothing has read `weight`
   * yet), else undefined. Whoever writes the `[out, in]` weight into it calls `markTransposed`.
   */
  conv1dWeight(): Float32Array | undefined {
    const source = this.#source;
    if (source !== undefined) {
      // The source's own array, read from the checkpoint, unless the weight is made already or
      // AWQ has scaled it (then it is made on the host).
      const weight = this.#weight as ReloadableTensor<'float32'>;
      return weight.resident || this.#columnScale !== undefined ? undefined : source.data;
    }
    return this.#conv1d === undefined ? undefined : this.#weight.data;
  }

  /** Says the weight's array now holds `[out, in]`, written there from elsewhere (a device). */
  markTransposed(): void {
    const source = this.#source;
    if (source?.resident) {
      // The source's array became the weight (see `conv1dWeight`).
      (this.#weight as ReloadableTensor<'float32'>).hold(source.data);
      source.release();
    }
    this.#conv1d = undefined;
  }

  /**
   * Says the weight's input columns were scaled in place by `scale` (AWQ's postprocess): a weight
   * made again from its source after `releaseWeights` is scaled the same way, `fround(w · s)`.
   */
  noteColumnScale(scale: Float32Array): void {
    if (this.#source !== undefined) this.#columnScale = Float32Array.from(scale);
  }

  /**
   * Drops a weight that can be made again (from a reloadable source, or read again as a tied
   * embedding is), the graph weight made from it, and a reloadable bias; the quantizers' state
   * stays. Weights held for good stay.
   */
  releaseWeights(): void {
    this.#graphWeight = undefined;
    releaseTensor(this.bias);
    // A reloadable weight this linear does not own (a tied embedding) is never changed in place.
    releaseTensor(this.#weight);
    this.#source?.release();
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
