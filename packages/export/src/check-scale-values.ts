import { type Tensor, unpackInt4Rows } from '@ptq/tensor';
import { CheckpointTensorError } from './errors';
import { INT4_GROUP_SIZE, type ModelOptQuantAlgo } from './modelopt-quant-algo';

/** The first value a scale must not hold, with its index: NaN, ±Infinity, a negative, or a zero where not allowed. */
export function firstInvalidScale(
  values: Float32Array,
  zeroAllowedAt: (index: number) => boolean = () => false,
): { index: number; value: number } | undefined {
  for (let index = 0; index < values.length; index += 1) {
    const value = values[index]!;
    if (Number.isFinite(value) && value > 0) continue;
    if (value === 0 && zeroAllowedAt(index)) continue;
    return { index, value };
  }
  return undefined;
}

/**
 * Throws a `CheckpointTensorError` naming `file` and `tensor` when a scale holds NaN, ±Infinity, a
 * negative or (unless `zeroAllowedAt` says its codes are all zero) a zero: such a scale turns a
 * whole row or block of weights into NaN or zero, and the model into garbage.
 */
export function checkScaleValues(
  file: string,
  tensor: string,
  values: Float32Array,
  zeroAllowedAt?: (index: number) => boolean,
): void {
  const invalid = firstInvalidScale(values, zeroAllowedAt);
  if (invalid === undefined) return;
  const where = values.length === 1 ? '' : ` at index ${invalid.index}`;
  const zero =
    invalid.value === 0 && zeroAllowedAt !== undefined ? ', while the codes it scales are not all zero' : '';
  throw new CheckpointTensorError(
    file,
    tensor,
    `holds ${Object.is(invalid.value, -0) ? '-0' : String(invalid.value)}${where}${zero}; a scale must be a finite number > 0`,
  );
}

/**
 * Whether every code scaled by `weight_scale[index]` is zero: a zero scale is what ptq (and
 * ModelOpt) write for an all-zero row or block, and is valid only there.
 */
export function codesZeroAt(
  algo: ModelOptQuantAlgo,
  codes: Tensor,
  outFeatures: number,
  inFeatures: number,
): (index: number) => boolean {
  switch (algo) {
    case 'W8A16': {
      const data = codes.data as Int8Array;
      return (row) => data.subarray(row * inFeatures, (row + 1) * inFeatures).every((code) => code === 0);
    }
    case 'W4A16_AWQ': {
      let unpacked: Int8Array | undefined;
      const blocks = Math.ceil(inFeatures / INT4_GROUP_SIZE);
      return (index) => {
        unpacked ??= unpackInt4Rows(codes.data as Uint8Array, outFeatures, inFeatures);
        const row = Math.floor(index / blocks);
        const start = row * inFeatures + (index % blocks) * INT4_GROUP_SIZE;
        const end = Math.min(start + INT4_GROUP_SIZE, (row + 1) * inFeatures);
        return unpacked.subarray(start, end).every((code) => code === 0);
      };
    }
    case 'FP8': {
      // e4m3fn has two zeros: 0x00 and 0x80.
      const data = codes.data as Uint8Array;
      return () => data.every((code) => (code & 0x7f) === 0);
    }
  }
}
