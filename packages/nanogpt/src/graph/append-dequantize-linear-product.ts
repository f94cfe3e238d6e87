import type { Value } from '@ptq/onnx-format';
import { createTensor, packInt4, transposeMatrix } from '@ptq/tensor';
import { float8WeightOf } from './float8-weight';
import { floatTensor } from './graph-context';
import { appendMatrixProduct, type ProductRequest, quantizedWeightOf, weightShape } from './linear-product';

/**
 * The `dequantize-linear` format (int8, int4 and float8): the codes as an initializer of their own
 * dtype, transposed to `[in, out]` so the product needs no Transpose, through `DequantizeLinear`
 * with their scales, then a `MatMul`.
 */
export function appendDequantizeLinearProduct(request: ProductRequest): Value {
  return request.linear.quantDtype === 'float8e4m3fn'
    ? appendFloat8Dequantized(request)
    : appendIntegerDequantized(request);
}

/** float8 codes with one scale (times the input scale when it is folded); split into parts when asked. */
function appendFloat8Dequantized(request: ProductRequest): Value {
  const { context, path, input, shape, bias } = request;
  const { builder, dtype } = context;
  const { codes, scale, inputScale } = float8WeightOf(request);
  const dequantized = builder.node('DequantizeLinear', [
    builder.initializer(`${path}.weight_codes`, createTensor('float8e4m3fn', weightShape(shape), codes)),
    builder.initializer(`${path}.weight_scale`, floatTensor(dtype, [], Float32Array.of(scale * inputScale))),
  ]);
  return appendMatrixProduct(context, input, dequantized, shape, bias);
}

/** int4 codes with block scales `[blocks, out]` (axis 0), int8 with per-channel or per-tensor ones (axis 1). */
function appendIntegerDequantized(request: ProductRequest): Value {
  const { context, path, linear, input, shape, bias } = request;
  const { builder } = context;
  const { inFeatures, outFeatures } = linear;
  const quantDtype = linear.quantDtype as 'int4' | 'int8';
  const { codes, layout, storedScales } = quantizedWeightOf(request);
  const transposedCodes = transposeMatrix(codes as Int8Array, outFeatures, inFeatures);
  const codesTensor =
    quantDtype === 'int4'
      ? createTensor('int4', [inFeatures, outFeatures], packInt4(transposedCodes))
      : createTensor('int8', [inFeatures, outFeatures], transposedCodes);
  const codesValue = builder.initializer(`${path}.weight_codes`, codesTensor);
  if (layout.kind === 'block') {
    const blocks = Math.ceil(inFeatures / layout.blockSize);
    const scaleValue = context.floatInitializer(
      `${path}.weight_scale`,
      [blocks, outFeatures],
      transposeMatrix(storedScales, outFeatures, blocks),
    );
    const dequantized = builder.node('DequantizeLinear', [codesValue, scaleValue], {
      axis: 0,
      block_size: layout.blockSize,
    });
    return appendMatrixProduct(context, input, dequantized, shape, bias);
  }
  const scaleValue =
    layout.kind === 'per-channel'
      ? context.floatInitializer(`${path}.weight_scale`, [outFeatures], storedScales)
      : context.floatInitializer(`${path}.weight_scale`, [], storedScales);
  const dequantized = builder.node('DequantizeLinear', [codesValue, scaleValue], { axis: 1 });
  return appendMatrixProduct(context, input, dequantized, shape, bias);
}
