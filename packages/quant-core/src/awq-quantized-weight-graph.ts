import type { GraphBuilder, Value } from '@ptq/onnx-format';
import { createTensor, type Tensor } from '@ptq/tensor';

/** float32 1.5·2²³: adding it rounds any |v| < 2²² to an integer, half to even. */
export const ROUNDING_MAGIC = 12582912;

export function int64(values: number[]): Tensor<'int64'> {
  return createTensor('int64', [values.length], BigInt64Array.from(values.map(BigInt)));
}

export function scalar(value: number): Tensor<'float32'> {
  return createTensor('float32', [], new Float32Array([value]));
}

export interface AwqLossGraphOptions {
  /**
   * The GPU form: onnxruntime's WebGPU provider has no Round kernel (Round would run on the CPU,
   * with two weight-sized copies a run), and its one-step mean over every product runs one
   * workgroup per candidate. So rounding is the float32 magic-number addition — `(v + 1.5·2²³) −
   * 1.5·2²³`, round half to even like Round for |v| < 2²², and here |v| ≤ 7 — and the mean is taken
   * per token row first, then over rows (equal counts: the same mean up to float rounding).
   */
  readonly forGpu?: boolean;
}

/**
 * The AWQ search's fake-quantized scaled weights, `Q(W·diag(s_a))` `[alphas, out, in]`, appended to
 * `graph` for the candidates' scales `s` `[alphas, 1, in]`: int4 in blocks of `blockSize` along `in`,
 * as ModelOpt does it on the CPU (`w·(7/amax)`, round half to even, clamp [-8, 7], divide back;
 * amax = 0 gives 0). `padded` zero-pads `in` to whole blocks and slices the padding off again, as
 * ModelOpt does for a last partial block. `forGpu` rounds with the float32 magic-number addition
 * instead of Round (see `AwqLossGraphOptions.forGpu`). Every loss form of the search shares it.
 */
export function quantizedScaledWeight(
  graph: GraphBuilder,
  w: Value,
  s: Value,
  blockSize: number,
  padded: boolean,
  options: AwqLossGraphOptions,
): Value {
  const forGpu = options.forGpu === true;
  const inFeatures = graph.node('Gather', [graph.node('Shape', [w]), graph.constant(int64([1]))], {
    axis: 0,
  });
  let scaled = graph.node('Mul', [w, s]);
  if (padded) {
    const blockSizeValue = graph.constant(int64([blockSize]));
    // ModelOpt zero-pads a last partial block; zeros change neither the block's amax nor its codes.
    const padding = graph.node('Mod', [
      graph.node('Sub', [blockSizeValue, graph.node('Mod', [inFeatures, blockSizeValue])]),
      blockSizeValue,
    ]);
    const pads = graph.node('Concat', [graph.constant(int64([0, 0, 0, 0, 0])), padding], { axis: 0 });
    scaled = graph.node('Pad', [scaled, pads]);
  }
  // [alphas, out, blocks, blockSize]
  const grouped = graph.node('Reshape', [scaled, graph.constant(int64([0, 0, -1, blockSize]))]);
  // max |v| as max(max v, −min v): two reductions read the weight-sized values, where Abs would also
  // write them once more. The same value (a block of ±0 may give −0, which is not > 0 either).
  const lastAxis = graph.constant(int64([3]));
  const amax = graph.node('Max', [
    graph.node('ReduceMax', [grouped, lastAxis], { keepdims: 1 }),
    graph.node('Neg', [graph.node('ReduceMin', [grouped, lastAxis], { keepdims: 1 })]),
  ]);
  // PyTorch evaluates `7 / amax` as `amax.reciprocal() * 7`; so does this graph. A block of amax 0
  // (every value ±0) takes scale 1 instead of ∞, which turns its values into ±0 rather than NaN: the
  // zeros ModelOpt gives it, without a weight-sized Where over every block.
  const positive = graph.node('Greater', [amax, graph.constant(scalar(0))]);
  const scale = graph.node('Where', [
    positive,
    graph.node('Mul', [graph.node('Reciprocal', [amax]), graph.constant(scalar(7))]),
    graph.constant(scalar(1)),
  ]);
  const unrounded = graph.node('Mul', [grouped, scale]);
  const magic = forGpu ? graph.constant(scalar(ROUNDING_MAGIC)) : undefined;
  const rounded = magic
    ? graph.node('Sub', [graph.node('Add', [unrounded, magic]), magic])
    : graph.node('Round', [unrounded]);
  const codes = graph.node('Clip', [rounded, graph.constant(scalar(-8)), graph.constant(scalar(7))]);
  const dequantized = graph.node('Div', [codes, scale]);
  let quantized = graph.node('Reshape', [dequantized, graph.constant(int64([0, 0, -1]))]);
  if (padded) {
    quantized = graph.node('Slice', [
      quantized,
      graph.constant(int64([0])),
      inFeatures,
      graph.constant(int64([2])),
    ]);
  }
  return quantized;
}
