import { describe, expect, it } from 'vitest';
import { castOnce } from './cast-once';
import { float32ToFloat16Bits } from './float16';
import { createTensor } from './tensor';

describe('castOnce', () => {
  it('casts each source tensor once, so tied tensors stay one tensor', () => {
    const cast = castOnce('float16');
    const shared = createTensor('float32', [2], Float32Array.of(1.5, -0.1));
    const first = cast(shared);
    expect(cast(shared)).toBe(first);
    expect(first.dtype).toBe('float16');
    expect(Array.from(first.data as Uint16Array)).toEqual([
      float32ToFloat16Bits(1.5),
      float32ToFloat16Bits(-0.1),
    ]);
    expect(first.data).toEqual(Uint16Array.of(0x3e00, 0xae66));
  });

  it('returns a tensor already in the dtype as it is, and widens half precision to float32 exactly', () => {
    const cast = castOnce('float32');
    const same = createTensor('float32', [1], Float32Array.of(3));
    expect(cast(same)).toBe(same);
    const half = createTensor('float16', [2], Uint16Array.of(0x3c00, 0xc000));
    const widened = cast(half);
    expect(widened.dtype).toBe('float32');
    expect(Array.from(widened.data as Float32Array)).toEqual([1, -2]);
    expect(widened.shape).toEqual([2]);
  });

  it('keeps separate memories per call', () => {
    const tensor = createTensor('float32', [1], Float32Array.of(2));
    expect(castOnce('float16')(tensor)).not.toBe(castOnce('float16')(tensor));
  });
});
