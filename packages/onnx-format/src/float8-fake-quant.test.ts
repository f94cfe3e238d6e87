import { float8E4M3FNBitsToFloat32, float32ToFloat8E4M3FNBits } from '@ptq/tensor';
import fc from 'fast-check';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { appendFloat8FakeQuant } from './float8-fake-quant';
import { GraphBuilder } from './graph-builder';
import { serializeModel } from './serialize-model';

/** The expected value through the JS codec: e4m3(float32(x / s)) · s, rounded to float32. */
function expected(value: number, scale: number): number {
  if (scale === 0) return value * 0;
  const code = float32ToFloat8E4M3FNBits(Math.fround(value / scale));
  return Math.fround(float8E4M3FNBitsToFloat32(code) * scale);
}

async function fakeQuantizeInGraph(
  values: Float32Array,
  scale: number,
  multiplier?: number,
  rescale?: boolean,
): Promise<Float32Array> {
  const builder = new GraphBuilder({ name: 'float8_fake_quant' });
  const x = builder.input('x', 'float32', ['n']);
  const y = appendFloat8FakeQuant(builder, x, {
    scale,
    ...(multiplier === undefined ? {} : { multiplier }),
    ...(rescale === undefined ? {} : { rescale }),
  });
  builder.output(y, 'y', 'float32', ['n']);
  const session = await InferenceSession.create(serializeModel(builder.build()), {
    executionProviders: ['cpu'],
  });
  try {
    const outputs = await session.run({ x: new OrtTensor('float32', values, [values.length]) });
    return outputs.y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function nextUp(value: number): number {
  const bits = new Float32Array([value]);
  const view = new Int32Array(bits.buffer);
  view[0]! += value >= 0 ? 1 : -1;
  return bits[0]!;
}

function nextDown(value: number): number {
  const bits = new Float32Array([value]);
  const view = new Int32Array(bits.buffer);
  view[0]! += value > 0 ? -1 : 1;
  return bits[0]!;
}

/** Every finite e4m3fn value, the midpoints between neighbours (ties) and the floats right beside them. */
function edgeValues(): number[] {
  const grid: number[] = [];
  for (let code = 0; code < 0x7f; code += 1) grid.push(float8E4M3FNBitsToFloat32(code));
  const values: number[] = [];
  for (let index = 0; index < grid.length; index += 1) {
    const value = grid[index]!;
    values.push(value, nextUp(value));
    if (value > 0) values.push(nextDown(value));
    const next = grid[index + 1];
    if (next !== undefined) {
      const middle = (value + next) / 2;
      values.push(middle, nextUp(middle), nextDown(middle));
    }
  }
  // Saturation (464 is the tie between 448 and the missing 512), tiny values (2^-10 is the tie with 0).
  values.push(448, 449, 463.99, 464, 465, 480, 1e6, 3e38, 2 ** -10, 2 ** -11, 1e-30, 2 ** -6, 2 ** -7);
  for (let exponent = -10; exponent <= 9; exponent += 1) {
    values.push(2 ** exponent, nextUp(2 ** exponent), nextDown(2 ** exponent));
  }
  return [
    ...values,
    ...values.map((value) => -value),
    0,
    -0,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ];
}

/** Bit patterns, with -0 read as +0: the fake quantization does not keep the sign of a zero result. */
function float32Bits(values: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(values, (value) => value + 0).buffer));
}

describe('appendFloat8FakeQuant', () => {
  it('matches the e4m3fn codec bit for bit on the whole grid, its ties, subnormals and saturation (scale 1)', async () => {
    const values = Float32Array.from(edgeValues());
    const graph = await fakeQuantizeInGraph(values, 1);
    expect(float32Bits(graph)).toEqual(float32Bits(Array.from(values, (value) => expected(value, 1))));
  });

  it.each([0.0123, 3.7, 2 ** -10, 1 / 448])(
    'matches the codec bit for bit with scale %d',
    async (rawScale) => {
      const scale = Math.fround(rawScale);
      // The grid, its ties and neighbours again, now times the scale, plus random floats of all magnitudes.
      const onGrid = edgeValues().map((value) => Math.fround(value * scale));
      const random = fc.sample(fc.float({ noNaN: true, noDefaultInfinity: true }), {
        numRuns: 20_000,
        seed: 7,
      });
      const near = fc.sample(
        fc.float({ min: Math.fround(-500 * scale), max: Math.fround(500 * scale), noNaN: true }),
        {
          numRuns: 20_000,
          seed: 11,
        },
      );
      const values = Float32Array.from([...onGrid, ...random, ...near]);
      const graph = await fakeQuantizeInGraph(values, scale);
      const want = Array.from(values, (value) => expected(value, scale));
      const mismatches = float32Bits(graph)
        .map((bits, index) => (bits === float32Bits([want[index]!])[0] ? undefined : index))
        .filter((index) => index !== undefined);
      expect(mismatches.slice(0, 5).map((index) => [values[index!], graph[index!], want[index!]])).toEqual(
        [],
      );
    },
  );

  it('multiplies by a given multiplier instead of dividing by the scale', async () => {
    // ModelOpt's 448 / amax as PyTorch computes it is not the float32 reciprocal of amax / 448 here.
    const amax = Math.fround(7.895528316497803);
    const multiplier = Math.fround(Math.fround(1 / amax) * 448);
    const scale = Math.fround(1 / multiplier);
    expect(Math.fround(1 / scale)).not.toBe(multiplier);
    const values = Float32Array.from(
      fc.sample(fc.float({ min: -10, max: 10, noNaN: true }), { numRuns: 20_000, seed: 5 }),
    );
    const graph = await fakeQuantizeInGraph(values, scale, multiplier);
    const want = Array.from(values, (value) => {
      const code = float32ToFloat8E4M3FNBits(Math.fround(value * multiplier));
      return Math.fround(float8E4M3FNBitsToFloat32(code) * scale);
    });
    expect(float32Bits(graph)).toEqual(float32Bits(want));
  });

  it('leaves the result on the e4m3 grid with rescale false, one op fewer', async () => {
    const scale = Math.fround(0.0123);
    const values = Float32Array.from([
      ...edgeValues().map((value) => Math.fround(value * scale)),
      ...fc.sample(fc.float({ min: -6, max: 6, noNaN: true }), { numRuns: 20_000, seed: 13 }),
    ]);
    const graph = await fakeQuantizeInGraph(values, scale, undefined, false);
    const want = Array.from(values, (value) =>
      float8E4M3FNBitsToFloat32(float32ToFloat8E4M3FNBits(Math.fround(value / scale))),
    );
    expect(float32Bits(graph)).toEqual(float32Bits(want));
    const count = (rescale: boolean) => {
      const builder = new GraphBuilder({ name: 'count' });
      const y = appendFloat8FakeQuant(builder, builder.input('x', 'float32', ['n']), { scale, rescale });
      builder.output(y, 'y', 'float32', ['n']);
      return builder.build().graph.nodes.length;
    };
    expect(count(true) - count(false)).toBe(1);
  });

  it('keeps NaN as NaN and maps everything to zero for a zero scale', async () => {
    expect(Number.isNaN((await fakeQuantizeInGraph(Float32Array.of(Number.NaN), 0.5))[0])).toBe(true);
    expect([...(await fakeQuantizeInGraph(Float32Array.of(3, -2, 1e-3), 0))]).toEqual([0, -0, 0]);
  });

  it('gives +0 where the codec gives -0, and keeps every other sign', async () => {
    const values = Float32Array.of(-0, 0, -1e-4, 1e-4, -(2 ** -10), -(2 ** -9), -448, -1e9);
    expect([...(await fakeQuantizeInGraph(values, 1))]).toEqual([0, 0, 0, 0, 0, -(2 ** -9), -448, -448]);
  });
});
