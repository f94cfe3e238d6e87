import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSafetensorsHeader } from './encode-safetensors-header';

const decoder = new TextDecoder();

describe('encodeSafetensorsHeader', () => {
  it('writes the exact bytes of a small header, padded with spaces to a multiple of 8', () => {
    const bytes = encodeSafetensorsHeader([{ name: 'a', dtype: 'F32', shape: [2], byteLength: 8 }], {
      format: 'pt',
    });
    const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(json.length).toBe(85);
    // 85 bytes of JSON + 3 spaces = 88 = 0x58.
    expect([...bytes.subarray(0, 8)]).toEqual([0x58, 0, 0, 0, 0, 0, 0, 0]);
    expect(decoder.decode(bytes.subarray(8))).toBe(`${json}   `);
  });

  it('lays tensors back to back in the order given and keeps integer-like names in that order', () => {
    const bytes = encodeSafetensorsHeader([
      { name: 'b', dtype: 'I64', shape: [1], byteLength: 8 },
      { name: '1', dtype: 'U8', shape: [3], byteLength: 3 },
      { name: '0', dtype: 'U8', shape: [0], byteLength: 0 },
    ]);
    expect(decoder.decode(bytes.subarray(8)).trimEnd()).toBe(
      '{"b":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
        '"1":{"dtype":"U8","shape":[3],"data_offsets":[8,11]},' +
        '"0":{"dtype":"U8","shape":[0],"data_offsets":[11,11]}}',
    );
  });

  it('omits __metadata__ when none is given, and writes {} for an empty header', () => {
    expect(decoder.decode(encodeSafetensorsHeader([]).subarray(8))).toBe('{}      ');
  });

  it('always pads the JSON to a multiple of 8 with at most 7 spaces, and records the padded length', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 20 }), { maxLength: 6 }), (names) => {
        const unique = [...new Set(names)];
        const bytes = encodeSafetensorsHeader(
          unique.map((name) => ({ name, dtype: 'U8', shape: [1], byteLength: 1 })),
        );
        const length = new DataView(bytes.buffer).getBigUint64(0, true);
        expect(Number(length)).toBe(bytes.byteLength - 8);
        expect(bytes.byteLength % 8).toBe(0);
        const text = decoder.decode(bytes.subarray(8));
        const json = text.trimEnd();
        expect(text.length - json.length).toBeLessThan(8);
        expect(Object.keys(JSON.parse(json))).toEqual(expect.arrayContaining(unique));
      }),
    );
  });
});
