import { InvalidArgumentError } from '@ptq/errors';
import { appendFloat8FakeQuant, type GraphBuilder, type Value } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';

/** Per-tensor fake quantization of a linear's input, as ModelOpt's input quantizers do it. */
export interface InputQuantizer {
  readonly format: 'float8e4m3fn' | 'int8';
  /** Per-tensor scale (amax / maxbound); must be positive and finite. */
  readonly scale: number;
  /**
   * The multiplier applied before rounding; default `1 / scale` in float32. ModelOpt's is
   * `maxbound / amax`, which is not always the float32 reciprocal of `amax / maxbound`.
   */
  readonly inverseScale?: number;
}

function scalar(builder: GraphBuilder, value: number): Value {
  return builder.constant(createTensor('float32', [], Float32Array.of(value)));
}

/**
 * Appends `dequantize(quantize(x))` to the graph with ops every execution provider runs (no
 * QuantizeLinear/DequantizeLinear on activations: the CPU EP's QDQ fusion refuses float8 there).
 *
 * - int8: `Clip(Round(x · (1/s)), -128, 127) · s` (Round is half-to-even, as torch.round).
 * - float8 e4m3fn: `@ptq/onnx`'s `appendFloat8FakeQuant` with the multiplier `1/s`.
 *
 * Only multiplications touch the data, as ModelOpt multiplies by maxbound/amax: WebGPU's float32
 * division is not correctly rounded (WGSL allows 2.5 ulp), so `x / s` there lands on the other side
 * of a rounding boundary for about 0.2% of elements, while float32 products are correctly rounded on
 * every provider and give the CPU's bits.
 */
export function fakeQuantize(builder: GraphBuilder, x: Value, quantizer: InputQuantizer): Value {
  const { format, scale } = quantizer;
  const inverse = Math.fround(quantizer.inverseScale ?? 1 / Math.fround(scale));
  if (!(Number.isFinite(scale) && Math.fround(scale) > 0 && Number.isFinite(inverse))) {
    throw new InvalidArgumentError(
      'scale',
      `a fake-quantization scale must be positive and finite in float32 (with a finite reciprocal), got ${scale}`,
    );
  }
  if (format === 'float8e4m3fn') return appendFloat8FakeQuant(builder, x, { scale, multiplier: inverse });
  const rounded = builder.node('Round', [builder.node('Mul', [x, scalar(builder, inverse)])]);
  const clipped = builder.node('Clip', [rounded, scalar(builder, -128), scalar(builder, 127)]);
  return builder.node('Mul', [clipped, scalar(builder, scale)]);
}
