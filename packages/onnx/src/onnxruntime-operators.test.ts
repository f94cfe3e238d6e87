import type { ModelDefinition } from '@ptq/onnx-format';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { createTensor, type Tensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { createSession } from './create-session';
import { fromOrtTensor, toOrtTensor } from './ort-tensor';

// Every model here runs on a real onnxruntime-node CPU session; expected values come from plain
// loops over the operator definitions (ONNX Operators.md, onnxruntime ContribOperators.md).

async function run(model: ModelDefinition, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const { session, device } = await createSession(serializeModel(model), { device: 'cpu' });
  expect(device).toBe('cpu');
  try {
    const ortFeeds = Object.fromEntries(
      Object.entries(feeds).map(([name, tensor]) => [name, toOrtTensor(tensor)]),
    );
    const results = await session.run(ortFeeds);
    return Object.fromEntries(Object.entries(results).map(([name, tensor]) => [name, fromOrtTensor(tensor)]));
  } finally {
    await session.release();
  }
}

/** Deterministic integers in [min, max] (a linear congruential generator; no dependence on Math.random). */
function integers(count: number, min: number, max: number, seed: number): number[] {
  let state = seed >>> 0;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return min + (state % (max - min + 1));
  });
}

/** float32 → IEEE half bits, rounding to nearest even; an independent helper for these tests only. */
function float16Bits(value: number): number {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (((bits >>> 23) & 0xff) === 0xff) {
    return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  }
  if (exponent >= 0x1f) {
    return sign | 0x7c00;
  }
  if (exponent <= 0) {
    if (exponent < -10) {
      return sign;
    }
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    let half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && (half & 1) === 1)) {
      half++;
    }
    return sign | half;
  }
  let half = (exponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) {
    half++;
  }
  return sign | half;
}

function float16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) {
    return sign * mantissa * 2 ** -24;
  }
  if (exponent === 0x1f) {
    return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  }
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Packs signed 4-bit values two per byte, low nibble first (ONNX int4 layout). */
function packInt4(values: readonly number[]): Uint8Array {
  const packed = new Uint8Array(Math.ceil(values.length / 2));
  values.forEach((value, index) => {
    packed[index >> 1]! |= (value & 0xf) << ((index & 1) * 4);
  });
  return packed;
}

describe('float16 helper (sanity)', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65_504, 0x7bff],
    [0.1, 0x2e66],
    [2 ** -24, 0x0001],
    [1e6, 0x7c00],
  ])('%f is 0x%s', (value, bits) => {
    expect(float16Bits(value)).toBe(bits);
  });
});

describe('onnxruntime CPU sessions on ptq-serialized graphs', () => {
  it('runs MatMul and Add with a symbolic batch dimension', async () => {
    const builder = new GraphBuilder({ name: 'linear' });
    const x = builder.input('x', 'float32', ['batch', 3]);
    const w = builder.initializer('w', createTensor('float32', [3, 2], new Float32Array([1, 2, 3, 4, 5, 6])));
    const b = builder.constant(createTensor('float32', [2], new Float32Array([0.5, -1])));
    builder.output(builder.node('Add', [builder.node('MatMul', [x, w]), b]), 'y', 'float32', ['batch', 2]);
    const model = builder.build();
    for (const rows of [1, 4]) {
      const input = integers(rows * 3, -5, 5, rows);
      const expected: number[] = [];
      for (let row = 0; row < rows; row++) {
        for (let column = 0; column < 2; column++) {
          let sum = column === 0 ? 0.5 : -1;
          for (let k = 0; k < 3; k++) {
            sum += input[row * 3 + k]! * [1, 2, 3, 4, 5, 6][k * 2 + column]!;
          }
          expected.push(sum);
        }
      }
      const { y } = await run(model, { x: createTensor('float32', [rows, 3], new Float32Array(input)) });
      expect(y!.shape).toEqual([rows, 2]);
      expect([...(y!.data as Float32Array)]).toEqual(expected);
    }
  });

  it('runs LayerNormalization (opset 17+) and Softmax', async () => {
    const builder = new GraphBuilder({ name: 'norm' });
    const x = builder.input('x', 'float32', [2, 5]);
    const gamma = [1, 0.5, 2, -1, 1.5];
    const beta = [0, 0.1, -0.2, 0.3, 0];
    const scale = builder.initializer('gamma', createTensor('float32', [5], new Float32Array(gamma)));
    const bias = builder.initializer('beta', createTensor('float32', [5], new Float32Array(beta)));
    builder.output(
      builder.node('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: 1e-5 }),
      'normalized',
      'float32',
      [2, 5],
    );
    builder.output(builder.node('Softmax', [x], { axis: -1 }), 'probabilities', 'float32', [2, 5]);
    const input = [0.3, -1.2, 2.5, 0, 0.7, 10, 10.5, 9, 11, 10.25];
    const { normalized, probabilities } = await run(builder.build(), {
      x: createTensor('float32', [2, 5], new Float32Array(input)),
    });
    for (let row = 0; row < 2; row++) {
      const values = input.slice(row * 5, row * 5 + 5);
      const mean = values.reduce((sum, value) => sum + value, 0) / 5;
      const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / 5;
      const maximum = Math.max(...values);
      const exponentials = values.map((value) => Math.exp(value - maximum));
      const total = exponentials.reduce((sum, value) => sum + value, 0);
      for (let column = 0; column < 5; column++) {
        const expectedNorm =
          ((values[column]! - mean) / Math.sqrt(variance + 1e-5)) * gamma[column]! + beta[column]!;
        expect(normalized!.data[row * 5 + column]).toBeCloseTo(expectedNorm, 5);
        expect(probabilities!.data[row * 5 + column]).toBeCloseTo(exponentials[column]! / total, 6);
      }
    }
  });

  it('passes float16 inputs and outputs as Uint16Array bits', async () => {
    const builder = new GraphBuilder({ name: 'half' });
    const x = builder.input('x', 'float16', [4]);
    const wide = builder.input('wide', 'float32', [3]);
    const quarter = builder.constant(
      createTensor('float16', [4], new Uint16Array(4).fill(float16Bits(0.25))),
    );
    builder.output(builder.node('Add', [x, quarter]), 'sum', 'float16', [4]);
    builder.output(builder.node('Cast', [x], { to: 1 }), 'widened', 'float32', [4]);
    builder.output(builder.node('Cast', [wide], { to: 10 }), 'narrowed', 'float16', [3]);
    const values = [1.5, -2, 1024, 0.125];
    const { sum, widened, narrowed } = await run(builder.build(), {
      x: createTensor('float16', [4], new Uint16Array(values.map(float16Bits))),
      wide: createTensor('float32', [3], new Float32Array([0.1, 65_504, -1.2345])),
    });
    expect(sum!.dtype).toBe('float16');
    expect(sum!.data).toBeInstanceOf(Uint16Array);
    // 1024.25 is not a float16: the sum rounds to 1024, as the helper's rounding says it must.
    expect([...sum!.data]).toEqual(values.map((value) => float16Bits(value + 0.25)));
    expect([...sum!.data].map((bits) => float16Value(Number(bits)))).toEqual([1.75, -1.75, 1024, 0.375]);
    expect([...(widened!.data as Float32Array)]).toEqual(values);
    expect([...narrowed!.data]).toEqual([0x2e66, 0x7bff, float16Bits(-1.2345)]);
  });

  it('takes int64 inputs and gives bool outputs', async () => {
    const builder = new GraphBuilder({ name: 'integers' });
    const ids = builder.input('ids', 'int64', ['count']);
    const big = builder.input('big', 'int64', [2]);
    const table = builder.initializer(
      'table',
      createTensor('float32', [4, 2], new Float32Array([0, 1, 10, 11, 20, 21, 30, 31])),
    );
    const offset = builder.constant(createTensor('int64', [2], new BigInt64Array([2n ** 41n, -3n])));
    builder.output(builder.node('Gather', [table, ids], { axis: 0 }), 'rows', 'float32', ['count', 2]);
    builder.output(builder.node('Add', [big, offset]), 'shifted', 'int64', [2]);
    builder.output(builder.node('Greater', [big, offset]), 'greater', 'bool', [2]);
    const { rows, shifted, greater } = await run(builder.build(), {
      ids: createTensor('int64', [3], new BigInt64Array([3n, 0n, 2n])),
      big: createTensor('int64', [2], new BigInt64Array([2n ** 40n + 1n, 2n ** 53n + 1n])),
    });
    expect([...(rows!.data as Float32Array)]).toEqual([30, 31, 0, 1, 20, 21]);
    expect([...(shifted!.data as BigInt64Array)]).toEqual([2n ** 40n + 1n + 2n ** 41n, 2n ** 53n - 2n]);
    expect(greater!.dtype).toBe('bool');
    expect([...greater!.data]).toEqual([0, 1]);
  });

  it('runs DequantizeLinear int8 per-axis', async () => {
    const builder = new GraphBuilder({ name: 'dq8' });
    const x = builder.input('x', 'int8', [3, 4]);
    const scales = [0.5, 0.25, 2, 0.125];
    const zeroPoints = [0, -3, 5, 127];
    const scale = builder.initializer('scale', createTensor('float32', [4], new Float32Array(scales)));
    const zeroPoint = builder.initializer('zero_point', createTensor('int8', [4], new Int8Array(zeroPoints)));
    builder.output(
      builder.node('DequantizeLinear', [x, scale, zeroPoint], { axis: 1 }),
      'y',
      'float32',
      [3, 4],
    );
    const input = integers(12, -128, 127, 7);
    const { y } = await run(builder.build(), { x: createTensor('int8', [3, 4], new Int8Array(input)) });
    expect([...(y!.data as Float32Array)]).toEqual(
      input.map((value, index) => (value - zeroPoints[index % 4]!) * scales[index % 4]!),
    );
  });

  it('runs DequantizeLinear int4 blocked (opset 21 block_size) on a packed int4 initializer', async () => {
    const rows = 2;
    const columns = 80; // 3 blocks of 32, the last one partial
    const blockSize = 32;
    const blocks = Math.ceil(columns / blockSize);
    const values = integers(rows * columns, -8, 7, 11);
    const scales = [0.5, 1, 0.25, 2, 0.125, 4];
    const zeroPoints = [0, -8, 7, 3, -1, 1];
    const builder = new GraphBuilder({ name: 'dq4' });
    const x = builder.initializer('x', createTensor('int4', [rows, columns], packInt4(values)));
    const scale = builder.initializer(
      'scale',
      createTensor('float32', [rows, blocks], new Float32Array(scales)),
    );
    const zeroPoint = builder.initializer(
      'zero_point',
      createTensor('int4', [rows, blocks], packInt4(zeroPoints)),
    );
    builder.output(
      builder.node('DequantizeLinear', [x, scale, zeroPoint], { axis: 1, block_size: blockSize }),
      'y',
      'float32',
      [rows, columns],
    );
    const { y } = await run(builder.build(), {});
    const expected = values.map((value, index) => {
      const block = Math.floor(index / columns) * blocks + Math.floor((index % columns) / blockSize);
      return (value - zeroPoints[block]!) * scales[block]!;
    });
    expect([...(y!.data as Float32Array)]).toEqual(expected);
  });

  describe('com.microsoft MatMulNBits', () => {
    interface Case {
      bits: 4 | 8;
      blockSize: number;
      k: number;
      withZeroPoints: boolean;
    }

    /**
     * B is [N, k_blocks, blob_size] uint8 with blob_size = block_size * bits / 8, codes packed low
     * bits first along K; scales are [N * k_blocks]; zero points are packed like B (4 bits: two per
     * byte, each row padded to whole bytes) and default to 2^(bits-1) when absent.
     */
    async function check({ bits, blockSize, k, withZeroPoints }: Case): Promise<void> {
      const m = 3;
      const n = 5;
      const blocks = Math.ceil(k / blockSize);
      const blobSize = (blockSize * bits) / 8;
      const maximum = 2 ** bits - 1;
      const codes = integers(n * k, 0, maximum, bits * 1000 + blockSize + k);
      const scales = integers(n * blocks, 0, 3, 5).map((exponent) => 2 ** (exponent - 2));
      const zeroPoints = withZeroPoints
        ? integers(n * blocks, 0, maximum, 9)
        : new Array<number>(n * blocks).fill(2 ** (bits - 1));
      const activations = integers(m * k, -3, 3, 17);

      const packed = new Uint8Array(n * blocks * blobSize);
      for (let row = 0; row < n; row++) {
        for (let index = 0; index < k; index++) {
          const code = codes[row * k + index]!;
          const block = Math.floor(index / blockSize);
          const within = index % blockSize;
          const base = (row * blocks + block) * blobSize;
          if (bits === 8) {
            packed[base + within] = code;
          } else {
            packed[base + (within >> 1)]! |= code << ((within & 1) * 4);
          }
        }
      }
      const zeroPointBytesPerRow = Math.ceil((blocks * bits) / 8);
      const packedZeroPoints = new Uint8Array(n * zeroPointBytesPerRow);
      for (let row = 0; row < n; row++) {
        for (let block = 0; block < blocks; block++) {
          const zeroPoint = zeroPoints[row * blocks + block]!;
          if (bits === 8) {
            packedZeroPoints[row * zeroPointBytesPerRow + block] = zeroPoint;
          } else {
            packedZeroPoints[row * zeroPointBytesPerRow + (block >> 1)]! |= zeroPoint << ((block & 1) * 4);
          }
        }
      }

      const builder = new GraphBuilder({ name: 'nbits' });
      const a = builder.input('a', 'float32', [m, k]);
      const b = builder.initializer('b', createTensor('uint8', [n, blocks, blobSize], packed));
      const s = builder.initializer(
        'scales',
        createTensor('float32', [n * blocks], new Float32Array(scales)),
      );
      const z = withZeroPoints
        ? builder.initializer(
            'zero_points',
            createTensor('uint8', [packedZeroPoints.length], packedZeroPoints),
          )
        : undefined;
      const y = builder.node(
        'MatMulNBits',
        [a, b, s, z],
        { K: k, N: n, bits, block_size: blockSize },
        { domain: 'com.microsoft' },
      );
      builder.output(y, 'y', 'float32', [m, n]);
      const { y: result } = await run(builder.build(), {
        a: createTensor('float32', [m, k], new Float32Array(activations)),
      });

      const expected: number[] = [];
      for (let row = 0; row < m; row++) {
        for (let column = 0; column < n; column++) {
          let sum = 0;
          for (let index = 0; index < k; index++) {
            const block = column * blocks + Math.floor(index / blockSize);
            sum +=
              activations[row * k + index]! *
              (codes[column * k + index]! - zeroPoints[block]!) *
              scales[block]!;
          }
          expected.push(sum);
        }
      }
      // Small integers times powers of two: every product and partial sum is exact in float32.
      expect([...(result!.data as Float32Array)]).toEqual(expected);
    }

    it('4 bits, block 32, explicit zero points', () =>
      check({ bits: 4, blockSize: 32, k: 96, withZeroPoints: true }));
    it('4 bits, block 128, default zero point 8, K not a multiple of the block', () =>
      check({ bits: 4, blockSize: 128, k: 200, withZeroPoints: false }));
    it('4 bits, block 128, odd number of blocks with packed zero points', () =>
      check({ bits: 4, blockSize: 128, k: 384, withZeroPoints: true }));
    it('8 bits, block 32, default zero point 128', () =>
      check({ bits: 8, blockSize: 32, k: 64, withZeroPoints: false }));
  });
});

describe('known onnxruntime-node 1.30 limits', () => {
  it('rejects int4 tensors as session inputs: int4 must stay in initializers', async () => {
    const builder = new GraphBuilder({ name: 'int4_input' });
    const x = builder.input('x', 'int4', [2]);
    builder.output(builder.node('Cast', [x], { to: 1 }), 'y', 'float32', [2]);
    const { session } = await createSession(serializeModel(builder.build()), { device: 'cpu' });
    await expect(
      session.run({ x: toOrtTensor(createTensor('int4', [2], new Uint8Array([0x21]))) }),
    ).rejects.toThrow('Tensor.type is not supported: int4');
    await session.release();
  });
});
