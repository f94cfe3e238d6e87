import type { DType } from '@ptq/tensor';

/** Element types the safetensors format defines, as spelled in its header. */
export type SafetensorsDType =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'F8_E4M3'
  | 'F8_E5M2'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';

/** Bytes per element of every safetensors dtype. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

export const SAFETENSORS_DTYPES = Object.keys(SAFETENSORS_DTYPE_BYTES) as readonly SafetensorsDType[];

/**
 * The safetensors dtypes ptq reads into a `Tensor`, and the ptq dtype each becomes. The others
 * (F64, F8_E5M2, I16, U16, U32, U64) have no ptq dtype that holds them without loss or a silent
 * type change, so they are only available as raw bytes.
 */
const TO_PTQ: Readonly<Partial<Record<SafetensorsDType, DType>>> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F8_E4M3: 'float8e4m3fn',
  I64: 'int64',
  I32: 'int32',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

/** int4 is absent: safetensors has no 4-bit dtype (exports pack int4 into U8 themselves). */
const FROM_PTQ: Readonly<Partial<Record<DType, SafetensorsDType>>> = Object.fromEntries(
  Object.entries(TO_PTQ).map(([safetensors, ptq]) => [ptq, safetensors]),
);

export function isSafetensorsDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_BYTES, value);
}

/** The ptq dtype a safetensors dtype is read as, or `undefined` when ptq has none for it. */
export function toPtqDType(dtype: SafetensorsDType): DType | undefined {
  return TO_PTQ[dtype];
}

/** The safetensors dtype a ptq dtype is written as, or `undefined` for int4. */
export function toSafetensorsDType(dtype: DType): SafetensorsDType | undefined {
  return FROM_PTQ[dtype];
}
