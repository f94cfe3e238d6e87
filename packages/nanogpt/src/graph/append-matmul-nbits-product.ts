import type { Value } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { type ProductRequest, quantizedWeightOf } from './linear-product';
import { packMatMulNBits } from './matmul-nbits';

/** MatMulNBits block length for int8 weights: per-channel scales are repeated over the blocks of a row. */
const INT8_MATMUL_NBITS_BLOCK = 128;

/**
 * The `matmul-nbits` format (int4 and int8): `com.microsoft::MatMulNBits` on the codes packed as
 * unsigned blocks along `in`, one scale per block, with a fused bias when there is one. The kernel
 * splits the inner dimension itself, so the product is never split.
 */
export function appendMatMulNBitsProduct(request: ProductRequest): Value {
  const { context, path, linear, input, bias } = request;
  const { builder } = context;
  const { inFeatures, outFeatures } = linear;
  const quantDtype = linear.quantDtype as 'int4' | 'int8';
  const { codes, layout, storedScales } = quantizedWeightOf(request);
  const bits = quantDtype === 'int4' ? 4 : 8;
  const blockSize = layout.kind === 'block' ? layout.blockSize : INT8_MATMUL_NBITS_BLOCK;
  const blocks = Math.ceil(inFeatures / blockSize);
  const packed = packMatMulNBits(codes as Int8Array, outFeatures, inFeatures, bits, blockSize);
  // Scales [N · blocks], row-major (n, block): ModelOpt's [out, in / 128] as it is; per-channel and
  // per-tensor scales repeated over every block of their rows.
  const blockScales =
    layout.kind === 'block'
      ? storedScales
      : Float32Array.from({ length: outFeatures * blocks }, (_, index) =>
          layout.kind === 'per-channel' ? storedScales[Math.floor(index / blocks)]! : storedScales[0]!,
        );
  return builder.node(
    'MatMulNBits',
    [
      input,
      builder.initializer(
        `${path}.weight_packed`,
        createTensor('uint8', [outFeatures, blocks, (blockSize * bits) / 8], packed),
      ),
      context.floatInitializer(`${path}.weight_scale`, [outFeatures * blocks], blockScales),
      undefined, // zero points: symmetric codes, stored with the default offset
      undefined, // g_idx
      bias,
    ],
    // accuracy_level 1: float32 compute. Left unset, the CPU kernel may quantize activations to int8.
    { K: inFeatures, N: outFeatures, bits, block_size: blockSize, accuracy_level: 1 },
    { domain: 'com.microsoft' },
  );
}
