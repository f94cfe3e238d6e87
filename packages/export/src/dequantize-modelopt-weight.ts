import { dequantize } from '@ptq/scale-math';
import { type Tensor, unpackInt4Rows } from '@ptq/tensor';
import { INT4_GROUP_SIZE, type ModelOptQuantAlgo } from './modelopt-quant-algo';

/**
 * The float weight `[out, in]` a ModelOpt checkpoint stores for one linear: `codes × scale` in
 * float32 (int8 per row, int4 unpacked from two output rows per byte and scaled per block of 128
 * along `in`, float8 decoded exactly and scaled once). Dtypes and shapes are the caller's to check.
 */
export function dequantizeModelOptWeight(
  algo: ModelOptQuantAlgo,
  weight: Tensor,
  scale: Float32Array,
  outFeatures: number,
  inFeatures: number,
): Float32Array {
  const shape = [outFeatures, inFeatures];
  switch (algo) {
    case 'W8A16':
      return dequantize(weight.data as Int8Array, shape, scale, 'int8', { kind: 'per-channel', axis: 0 });
    case 'W4A16_AWQ': {
      const codes = unpackInt4Rows(weight.data as Uint8Array, outFeatures, inFeatures);
      return dequantize(codes, shape, scale, 'int4', { kind: 'block', blockSize: INT4_GROUP_SIZE });
    }
    case 'FP8':
      return dequantize(weight.data as Uint8Array, shape, scale, 'float8e4m3fn', { kind: 'per-tensor' });
  }
}
