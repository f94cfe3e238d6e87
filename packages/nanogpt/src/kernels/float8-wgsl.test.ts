import {
  bitsToFloat32,
  FLOAT8_E4M3FN_MAX,
  float8E4M3FNBitsToFloat32,
  float32ToBits,
  float32ToFloat8E4M3FNBits,
} from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { kernelTestDevice } from '../__fixtures__/kernel-adapter';
import { runWgslFunction } from '../__fixtures__/run-wgsl-function';
import { FLOAT8_WGSL } from './float8-wgsl';

const { problem, kernel } = await kernelTestDevice('float8 kernel');

/** Float32 bits of the codec's `e4m3(x / scale)` on the grid (+0 for a zero scale, as the graph). */
function expectedFakeQuant(x: number, scale: number): number {
  if (scale === 0) return 0;
  const quotient = Math.fround(x / scale);
  const clipped = Math.min(Math.max(quotient, -FLOAT8_E4M3FN_MAX), FLOAT8_E4M3FN_MAX);
  return float32ToBits(float8E4M3FNBitsToFloat32(float32ToFloat8E4M3FNBits(clipped)));
}

describe.skipIf(problem !== undefined)('float8 e4m3fn in WGSL (llvmpipe)', () => {
  it('decodes every one of the 256 codes bit for bit as @ptq/tensor does', async () => {
    const codes = Uint32Array.from({ length: 256 }, (_, code) => code);
    const decoded = await runWgslFunction(
      kernel.device,
      FLOAT8_WGSL,
      'bitcast<u32>(float8_decode(value))',
      codes,
    );
    for (let code = 0; code < 256; code += 1) {
      const expected = float8E4M3FNBitsToFloat32(code);
      const got = bitsToFloat32(decoded[code]!);
      if (Number.isNaN(expected)) {
        expect(Number.isNaN(got), `code ${code}`).toBe(true);
      } else {
        expect(decoded[code], `code ${code}`).toBe(float32ToBits(expected));
      }
    }
  });

  it.each([1, 0.0137, 3.5, 0])(
    'fake-quantizes to the codec’s grid value at every midpoint, boundary and a sweep (scale %s)',
    async (scale) => {
      const values: number[] = [0, -0, FLOAT8_E4M3FN_MAX, 500, -1e30, 2 ** -6, 2 ** -10, -(2 ** -9) * 1.5];
      // Every grid value, the midpoints between neighbours and the floats just either side of them.
      const grid = Array.from({ length: 127 }, (_, code) => float8E4M3FNBitsToFloat32(code));
      for (let code = 0; code < grid.length - 1; code += 1) {
        const midpoint = Math.fround((grid[code]! + grid[code + 1]!) / 2);
        const bits = float32ToBits(midpoint);
        for (const value of [grid[code]!, midpoint, bitsToFloat32(bits - 1), bitsToFloat32(bits + 1)]) {
          values.push(value * scale, -value * scale);
        }
      }
      for (let index = 0; index < 20000; index += 1) {
        values.push(Math.fround(Math.sin(index * 12.9898) * 43758.5453) % 600);
      }
      const inputs = Uint32Array.from(values, (value) => float32ToBits(value));
      const scaleBits = float32ToBits(scale);
      const outputs = await runWgslFunction(
        kernel.device,
        FLOAT8_WGSL,
        `bitcast<u32>(float8_fake_quant(bitcast<f32>(value), bitcast<f32>(${scaleBits}u)))`,
        inputs,
      );
      const mismatches: string[] = [];
      inputs.forEach((input, index) => {
        const expected = expectedFakeQuant(bitsToFloat32(input), scale);
        const got = outputs[index]!;
        // -0 and +0 are the same to every product and sum after this.
        const bothZero = (got & 0x7fffffff) === 0 && (expected & 0x7fffffff) === 0;
        if (got !== expected && !bothZero) mismatches.push(`${bitsToFloat32(input)} → ${bitsToFloat32(got)}`);
      });
      expect(mismatches.slice(0, 5)).toEqual([]);
      expect(new Set(outputs).size).toBeGreaterThan(scale === 0 ? 0 : 200);
    },
  );
});
