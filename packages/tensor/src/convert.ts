import { InvalidArgumentError } from '@ptq/errors';
import { bfloat16ToFloat32Array, float32ArrayToBfloat16 } from './bfloat16';
import { float8E4M3FNToFloat32Array, float32ArrayToFloat8E4M3FN } from './float8-e4m3fn';
import { float16ToFloat32Array, float32ArrayToFloat16 } from './float16';
import { unpackInt4 } from './int4';
import { createTensor, type DTypeStorage, numElements, type Tensor } from './tensor';

/** The float dtypes `castTensor` converts between. */
export type FloatDType = 'float32' | 'float16' | 'bfloat16' | 'float8e4m3fn';

export const FLOAT_DTYPES: readonly FloatDType[] = ['float32', 'float16', 'bfloat16', 'float8e4m3fn'];

export function isFloatDType(dtype: string): dtype is FloatDType {
  return (FLOAT_DTYPES as readonly string[]).includes(dtype);
}

export interface CastOptions {
  /** For float8e4m3fn targets: saturate to ±448 (default true) or give NaN past ±464 (see `Float8Options`). */
  saturate?: boolean;
}

/**
 * The elements of any tensor as a new Float32Array: floats decode exactly, int4 is unpacked and
 * sign-extended, int32 / int64 round to the nearest float32 (int64 through `Number`), bool is 0 or 1.
 */
export function toFloat32(tensor: Tensor): Float32Array {
  const count = numElements(tensor.shape);
  switch (tensor.dtype) {
    case 'float32':
      return (tensor.data as Float32Array).slice();
    case 'float16':
      return float16ToFloat32Array(tensor.data as Uint16Array);
    case 'bfloat16':
      return bfloat16ToFloat32Array(tensor.data as Uint16Array);
    case 'float8e4m3fn':
      return float8E4M3FNToFloat32Array(tensor.data as Uint8Array);
    case 'int4':
      return new Float32Array(unpackInt4(tensor.data as Uint8Array, count));
    case 'int64': {
      const source = tensor.data as BigInt64Array;
      const result = new Float32Array(source.length);
      for (let index = 0; index < source.length; index += 1) {
        result[index] = Number(source[index]!);
      }
      return result;
    }
    case 'bool': {
      const source = tensor.data as Uint8Array;
      const result = new Float32Array(source.length);
      for (let index = 0; index < source.length; index += 1) {
        result[index] = source[index] === 0 ? 0 : 1;
      }
      return result;
    }
    case 'int8':
    case 'uint8':
    case 'int32':
      return new Float32Array(tensor.data as Int8Array | Uint8Array | Int32Array);
  }
}

function fromFloat32<D extends FloatDType>(
  values: Float32Array,
  dtype: D,
  saturate: boolean,
): DTypeStorage[D] {
  switch (dtype) {
    case 'float16':
      return float32ArrayToFloat16(values) as DTypeStorage[D];
    case 'bfloat16':
      return float32ArrayToBfloat16(values) as DTypeStorage[D];
    case 'float8e4m3fn':
      return float32ArrayToFloat8E4M3FN(values, { saturate }) as DTypeStorage[D];
    default:
      return values as DTypeStorage[D];
  }
}

/**
 * Converts a float tensor to another float dtype with one rounding (to nearest, ties to even): the
 * source decodes exactly to float32, then encodes to the target. float8e4m3fn targets saturate by
 * default. Same-dtype casts return a copy.
 */
export function castTensor<D extends FloatDType>(
  tensor: Tensor,
  dtype: D,
  options: CastOptions = {},
): Tensor<D> {
  if (!isFloatDType(tensor.dtype)) {
    throw new InvalidArgumentError(
      'tensor',
      `castTensor converts between ${FLOAT_DTYPES.join(', ')}; got a tensor of dtype ${tensor.dtype} (use toFloat32 for integer dtypes)`,
    );
  }
  if (!isFloatDType(dtype)) {
    throw new InvalidArgumentError(
      'dtype',
      `must be one of ${FLOAT_DTYPES.join(', ')}, got ${String(dtype)}`,
    );
  }
  // Encoding writes a new array, so a float32 source is read where it is rather than copied first.
  const values =
    tensor.dtype === 'float32' && dtype !== 'float32' ? (tensor.data as Float32Array) : toFloat32(tensor);
  return createTensor(dtype, tensor.shape, fromFloat32(values, dtype, options.saturate ?? true));
}
