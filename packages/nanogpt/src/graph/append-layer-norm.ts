import type { Value } from '@ptq/onnx-format';
import { type Tensor, toFloat32 } from '@ptq/tensor';
import type { LayerNorm } from '../modules/layer-norm';
import type { GraphContext } from './graph-context';

/** A LayerNorm's weight and bias, with an AWQ pre-quant scale folded in when given. */
function layerNormParameters(
  context: GraphContext,
  path: string,
  norm: LayerNorm,
  foldedScale: Tensor | undefined,
): [Value, Value | undefined] {
  const { builder } = context;
  if (foldedScale === undefined) {
    return [
      builder.initializer(`${path}.weight`, norm.weight),
      norm.bias === undefined ? undefined : builder.initializer(`${path}.bias`, norm.bias),
    ];
  }
  const scale = toFloat32(foldedScale);
  const scaled = (tensor: Tensor) => toFloat32(tensor).map((value, index) => value * scale[index]!);
  return [
    context.floatInitializer(`${path}.weight`, [norm.width], scaled(norm.weight)),
    norm.bias === undefined
      ? undefined
      : context.floatInitializer(`${path}.bias`, [norm.width], scaled(norm.bias)),
  ];
}

/** `LayerNormalization` over the last axis (weight and bias times `foldedScale` when given). */
export function appendLayerNorm(
  context: GraphContext,
  path: string,
  norm: LayerNorm,
  x: Value,
  foldedScale?: Tensor,
): Value {
  const [weight, bias] = layerNormParameters(context, path, norm, foldedScale);
  return context.builder.node('LayerNormalization', [x, weight, bias], {
    axis: -1,
    epsilon: { type: 'float', value: norm.epsilon },
  });
}

export interface SkipLayerNormInputs {
  /** The branch output (a linear's product before its bias). */
  readonly input: Value;
  /** The residual stream it is added to. */
  readonly skip: Value;
  /** The branch's bias, added with the sum. */
  readonly bias?: Value | undefined;
}

/**
 * `com.microsoft::SkipLayerNormalization`: `sum = input + skip + bias` and `LayerNorm(sum)` in one
 * kernel. Returns the normalized value and, when `wantSum`, the sum (the next residual stream).
 */
export function appendSkipLayerNorm(
  context: GraphContext,
  path: string,
  norm: LayerNorm,
  { input, skip, bias }: SkipLayerNormInputs,
  options: { foldedScale?: Tensor | undefined; wantSum: boolean },
): { normalized: Value; sum: Value | undefined } {
  const [weight, beta] = layerNormParameters(context, path, norm, options.foldedScale);
  // Outputs: normalized, mean, inverse standard deviation, sum; the statistics are not needed.
  const [normalized, , , sum] = context.builder.nodeWithOptionalOutputs(
    'SkipLayerNormalization',
    [input, skip, weight, beta, bias],
    [true, false, false, options.wantSum],
    { epsilon: { type: 'float', value: norm.epsilon } },
    { domain: 'com.microsoft' },
  );
  return { normalized: normalized!, sum };
}
