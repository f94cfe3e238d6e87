import type { Module } from '@ptq/module-path';
import type { Tensor } from '@ptq/tensor';
import type { InputQuantizer } from './graph/fake-quant';

/**
 * A linear layer as the GPT-2 graph builder sees it. `Conv1D` and `Linear` implement it, and so do
 * quantized linears: the builder looks linears up by path and asks only for these, so it does not care
 * which class it meets.
 */
export interface GraphLinear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Weight used by the graph, float32 [in, out] (for a quantized linear: its fake-quantized weight). */
  graphWeight(): Tensor<'float32'>;
  /**
   * The same weight as `[out, in]`, for linears that hold it that way: a graph that takes its weights
   * as inputs transposes it in the graph instead of on the host.
   */
  graphWeightRows?(): Tensor<'float32'>;
  readonly bias: Tensor<'float32'> | undefined;
  /** AWQ pre_quant_scale multiplied into the input (per input channel) before the matmul, if any. */
  graphPreQuantScale?(): Float32Array | undefined;
  /** Fake quantization of the input (after the pre-quant scale), if any: fp8 e4m3fn (RNE, saturating at ±448) or int8 (RNE, clamp [-128,127]), per-tensor scale. */
  graphInputQuantizer?(): InputQuantizer | undefined;
}

/** A module of the tree that is also a `GraphLinear`: what sits at every linear's path. */
export type LinearModule = Module & GraphLinear;

/** Whether `value` has the shape of a `GraphLinear` (duck-typed, so foreign classes qualify). */
export function isGraphLinear(value: unknown): value is GraphLinear {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<GraphLinear>;
  return (
    typeof candidate.inFeatures === 'number' &&
    typeof candidate.outFeatures === 'number' &&
    typeof candidate.graphWeight === 'function'
  );
}
