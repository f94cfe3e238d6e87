import { DTYPES } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import {
  isSafetensorsDType,
  SAFETENSORS_DTYPE_BYTES,
  SAFETENSORS_DTYPES,
  toPtqDType,
  toSafetensorsDType,
} from './safetensors-dtype';

// Written out from the safetensors format description, one row per dtype it defines.
const TABLE = [
  ['F64', 8, undefined],
  ['F32', 4, 'float32'],
  ['F16', 2, 'float16'],
  ['BF16', 2, 'bfloat16'],
  ['F8_E4M3', 1, 'float8e4m3fn'],
  ['F8_E5M2', 1, undefined],
  ['I64', 8, 'int64'],
  ['I32', 4, 'int32'],
  ['I16', 2, undefined],
  ['I8', 1, 'int8'],
  ['U64', 8, undefined],
  ['U32', 4, undefined],
  ['U16', 2, undefined],
  ['U8', 1, 'uint8'],
  ['BOOL', 1, 'bool'],
] as const;

describe('safetensors dtypes', () => {
  it('lists exactly the 15 dtypes of the format', () => {
    expect([...SAFETENSORS_DTYPES].sort()).toEqual(TABLE.map(([dtype]) => dtype).sort());
  });

  it.each(TABLE)('%s: %i bytes per element, read as %s', (dtype, bytes, ptq) => {
    expect(SAFETENSORS_DTYPE_BYTES[dtype]).toBe(bytes);
    expect(toPtqDType(dtype)).toBe(ptq);
    expect(isSafetensorsDType(dtype)).toBe(true);
  });

  it('writes every ptq dtype but int4 as the safetensors dtype it reads back from', () => {
    for (const dtype of DTYPES) {
      const safetensors = toSafetensorsDType(dtype);
      if (dtype === 'int4') {
        expect(safetensors).toBeUndefined();
      } else {
        expect(safetensors).toBeDefined();
        expect(toPtqDType(safetensors!)).toBe(dtype);
      }
    }
  });

  it.each(['f32', 'F128', 'float32', '', 'toString', '__proto__', 4, null])(
    'does not take %s for a dtype',
    (value) => {
      expect(isSafetensorsDType(value)).toBe(false);
    },
  );
});
