import type { Value } from '@ptq/onnx-format';
import { createTensor, float8E4M3FNBitsToFloat32 } from '@ptq/tensor';
import { float8WeightOf } from './float8-weight';
import { ONNX_INT32 } from './graph-context';
import { appendMatrixProduct, type ProductRequest, weightShape } from './linear-product';

/**
 * The `lookup` format (float8 only): the e4m3 codes as a uint8 `[in, out]` initializer, decoded by
 * `Gather` from a 256-entry table that holds `value(code) · weight_scale` (· `input_scale` when it
 * is folded), then a `MatMul`.
 */
export function appendLookupProduct(request: ProductRequest): Value {
  const { context, path, input, shape, bias } = request;
  const { builder } = context;
  const { codes, scale, inputScale } = float8WeightOf(request);
  // Each entry already holds value(code) · scale (· input scale), rounded once: the product of a
  // 4-bit value and two float32 scales is exact in a double.
  const table = new Float32Array(256);
  for (let code = 0; code < 256; code += 1) {
    table[code] = Math.fround(float8E4M3FNBitsToFloat32(code) * scale * inputScale);
  }
  const indices = builder.node(
    'Cast',
    [builder.initializer(`${path}.weight_codes`, createTensor('uint8', weightShape(shape), codes))],
    { to: ONNX_INT32 },
  );
  const decoded = builder.node(
    'Gather',
    [context.floatInitializer(`${path}.weight_table`, [256], table), indices],
    { axis: 0 },
  );
  return appendMatrixProduct(context, input, decoded, shape, bias);
}
