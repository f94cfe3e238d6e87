import { createSession, toOrtTensor } from '@ptq/onnx';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { random } from '../__fixtures__/tiny-gpt2';
import { fakeQuantize, type InputQuantizer } from './fake-quant';

/** Runs the fake-quant fragment on the CPU provider over `values`. */
async function runFragment(quantizer: InputQuantizer, values: Float32Array): Promise<Float32Array> {
  const builder = new GraphBuilder({ name: 'fake_quant_test' });
  const x = builder.input('x', 'float32', ['n']);
  builder.output(fakeQuantize(builder, x, quantizer), 'y', 'float32', ['n']);
  const { session } = await createSession(serializeModel(builder.build()), { device: 'cpu' });
  try {
    const outputs = await session.run({ x: toOrtTensor(createTensor('float32', [values.length], values)) });
    return Float32Array.from(outputs.y!.data as Float32Array);
  } finally {
    await session.release();
  }
}

/**
 * Every finite non-negative e4m3fn value, by code (0x00 … 0x7e; 0x7f is NaN), decoded from the bit
 * layout: exponent bias 7, 3 mantissa bits, subnormals at exponent field 0.
 */
const FLOAT8_VALUES = Array.from({ length: 0x7f }, (_, code) => {
  const exponent = code >> 3;
  const mantissa = code & 7;
  return exponent === 0 ? (mantissa / 8) * 2 ** -6 : (1 + mantissa / 8) * 2 ** (exponent - 7);
});

/** Nearest e4m3fn value by search over the table, ties to the even code, saturating at ±448. */
function float8Reference(y: number): number {
  const sign = y < 0 || Object.is(y, -0) ? -1 : 1;
  const magnitude = Math.abs(y);
  if (magnitude >= 448) return sign * 448;
  let low = 0;
  while (low + 1 < FLOAT8_VALUES.length && FLOAT8_VALUES[low + 1]! <= magnitude) low++;
  const below = FLOAT8_VALUES[low]!;
  const above = FLOAT8_VALUES[low + 1]!;
  const code =
    magnitude - below < above - magnitude
      ? low
      : magnitude - below > above - magnitude
        ? low + 1
        : low % 2 === 0
          ? low
          : low + 1;
  return sign * FLOAT8_VALUES[code]!;
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function expectedOutput(quantizer: InputQuantizer, x: number): number {
  // The graph holds the scale and its reciprocal as float32 constants and multiplies in float32.
  const scale = Math.fround(quantizer.scale);
  const y = Math.fround(x * Math.fround(1 / scale));
  const q =
    quantizer.format === 'int8'
      ? Math.min(127, Math.max(-128, roundHalfEven(y))) || (y < 0 ? -0 : 0)
      : float8Reference(y);
  return Math.fround(q * scale);
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

/**
 * Compares bit patterns, so every ulp counts, and so does the sign of zero for int8; the float8 graph
 * gives +0 where the codec gives -0 (see `@ptq/onnx`'s `appendFloat8FakeQuant`).
 */
function expectBitExact(quantizer: InputQuantizer, inputs: Float32Array, outputs: Float32Array): void {
  const unsignedZero = (values: Float32Array) =>
    quantizer.format === 'float8e4m3fn' ? values.map((value) => value + 0) : values;
  const expected = unsignedZero(Float32Array.from(inputs, (x) => expectedOutput(quantizer, x)));
  const expectedBits = new Uint32Array(expected.buffer);
  const actualBits = new Uint32Array(unsignedZero(Float32Array.from(outputs)).buffer);
  const mismatches: string[] = [];
  for (let index = 0; index < inputs.length && mismatches.length < 10; index++) {
    if (expectedBits[index] !== actualBits[index]) {
      mismatches.push(`x=${inputs[index]} expected ${expected[index]} got ${outputs[index]}`);
    }
  }
  expect(mismatches).toEqual([]);
}

function float8Probes(): number[] {
  const probes: number[] = [
    0, -0, 1e-30, -1e-30, 448, 449, 463.99, 464, 464.01, 479, 480, 500, 1e6, -1e6, 3.4e38,
  ];
  for (let code = 0; code < FLOAT8_VALUES.length; code++) {
    const value = FLOAT8_VALUES[code]!;
    probes.push(value, nextUp(value), value > 0 ? nextDown(value) : 0);
    const next = FLOAT8_VALUES[code + 1];
    if (next !== undefined) {
      const middle = (value + next) / 2; // exact in float32: a tie
      probes.push(middle, nextUp(middle), nextDown(middle));
    }
  }
  return [...probes, ...probes.map((value) => -value)];
}

function randomProbes(seed: number, count: number): number[] {
  const next = random(seed);
  return Array.from({ length: count }, () => {
    const magnitude = 2 ** (next() * 30 - 16); // 2^-16 … 2^14: subnormal range to saturation
    return Math.fround((next() < 0.5 ? -1 : 1) * magnitude);
  });
}

describe('fakeQuantize float8e4m3fn', () => {
  it('is bit-exact against an e4m3fn table search on every grid value, tie, neighbour and subnormal (scale 1)', async () => {
    const inputs = Float32Array.from(float8Probes());
    expect(inputs.length).toBeGreaterThan(1500);
    const quantizer = { format: 'float8e4m3fn', scale: 1 } as const;
    expectBitExact(quantizer, inputs, await runFragment(quantizer, inputs));
  });

  it.each([0.0123, 3.7, 2 ** -5, 1 / 448])(
    'is bit-exact on scaled random values (scale %s)',
    async (scale) => {
      const quantizer = { format: 'float8e4m3fn', scale } as const;
      const inputs = Float32Array.from([
        ...randomProbes(Math.round(scale * 1e6), 20_000).map((value) => Math.fround(value * scale)),
        ...float8Probes().map((value) => Math.fround(value * scale)),
      ]);
      expectBitExact(quantizer, inputs, await runFragment(quantizer, inputs));
    },
  );

  it('saturates instead of giving NaN or infinity', async () => {
    const outputs = await runFragment(
      { format: 'float8e4m3fn', scale: 0.5 },
      Float32Array.of(1e30, -1e30, 3.4e38, 240),
    );
    expect([...outputs]).toEqual([224, -224, 224, 224]);
  });
});

describe('fakeQuantize int8', () => {
  it('rounds half to even and clamps to [-128, 127] (hand-checked values)', async () => {
    const quantizer = { format: 'int8', scale: 0.5 } as const;
    const outputs = await runFragment(
      quantizer,
      Float32Array.of(0.25, 0.75, 1.25, -0.25, -0.75, 0.2, 63.4, 63.75, 64, 100, -64.25, -100),
    );
    // x / 0.5 = 0.5 → 0, 1.5 → 2, 2.5 → 2, -0.5 → -0, -1.5 → -2, 0.4 → 0, 126.8 → 127, 127.5 → 127 (clamp), …
    expect([...outputs]).toEqual([0, 1, 1, -0, -1, 0, 63.5, 63.5, 63.5, 63.5, -64, -64]);
  });

  it.each([1, 0.0123, 7.5])('is bit-exact on random values (scale %s)', async (scale) => {
    const quantizer = { format: 'int8', scale } as const;
    const next = random(99);
    const inputs = Float32Array.from({ length: 20_000 }, () => Math.fround((next() * 300 - 150) * scale));
    const ties = Float32Array.from({ length: 257 }, (_, index) => Math.fround((index - 128.5) * scale));
    const all = Float32Array.from([...inputs, ...ties]);
    expectBitExact(quantizer, all, await runFragment(quantizer, all));
  });
});

describe('fakeQuantize arguments', () => {
  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e-46, 1e-39])('refuses scale %s', (scale) => {
    const builder = new GraphBuilder({ name: 'bad_scale' });
    const x = builder.input('x', 'float32', ['n']);
    expect(() => fakeQuantize(builder, x, { format: 'int8', scale })).toThrow(
      expect.objectContaining({ code: 'PTQ_INVALID_ARGUMENT' }),
    );
  });
});
