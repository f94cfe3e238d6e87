import { float8E4M3FNToFloat32Array } from '@ptq/tensor';

/** The float32 value of each of the 256 e4m3fn codes, for table lookups in hot loops. */
export const FLOAT8_E4M3FN_VALUES: Float32Array = float8E4M3FNToFloat32Array(
  Uint8Array.from({ length: 256 }, (_, code) => code),
);
