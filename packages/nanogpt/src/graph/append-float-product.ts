import type { Value } from '@ptq/onnx-format';
import { createTensor, type MatrixStorage, type Tensor, toFloat32, transposeMatrix } from '@ptq/tensor';
import type { GraphContext } from './graph-context';
import { appendMatrixProduct, type ProductRequest, scaleRows, weightShape } from './linear-product';

/**
 * An unquantized linear's product: the weight transposed to `[in, out]` (split into parts when
 * asked) for a `MatMul`, or read in place with `Gemm transB` when it is shared (a tied embedding).
 */
export function appendFloatProduct(request: ProductRequest): Value {
  const { context, path, linear, input, shape, bias, outputScale, sharedWeight } = request;
  const { inFeatures, outFeatures } = linear;
  if (sharedWeight !== undefined && outputScale === undefined && shape.parts === 1) {
    return appendTransposedGemm(context, input, sharedWeight, inFeatures, outFeatures, bias);
  }
  if (outputScale !== undefined) {
    const scaled = scaleRows(toFloat32(linear.weight), outputScale, inFeatures);
    const weight = context.floatInitializer(
      `${path}.weight`,
      weightShape(shape),
      transposeMatrix(scaled, outFeatures, inFeatures),
    );
    return appendMatrixProduct(context, input, weight, shape, bias);
  }
  const transposed = transposeMatrix(linear.weight.data as MatrixStorage, outFeatures, inFeatures);
  const weight = createTensor(linear.weight.dtype, weightShape(shape), transposed as Tensor['data']);
  return appendMatrixProduct(
    context,
    input,
    context.builder.initializer(`${path}.weight`, weight),
    shape,
    bias,
  );
}

/** `x · Wᵀ` for `x [..., in]` and a weight `[out, in]` already in the graph, without copying the weight. */
function appendTransposedGemm(
  context: GraphContext,
  input: Value,
  weight: Value,
  inFeatures: number,
  outFeatures: number,
  bias?: Value,
): Value {
  const { builder } = context;
  const rows = builder.node('Reshape', [input, context.int64s([-1, inFeatures])]);
  const product = builder.node('Gemm', [rows, weight, bias], { transB: 1 });
  const leading = builder.node('Slice', [
    builder.node('Shape', [input]),
    context.int64s([0]),
    context.int64s([-1]),
  ]);
  const shape = builder.node('Concat', [leading, context.int64s([outFeatures])], { axis: 0 });
  return builder.node('Reshape', [product, shape]);
}
