import { InvalidArgumentError } from '@ptq/errors';
import { createTensor } from '@ptq/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QuantFormat } from './maxbound';
import type { QuantLayout } from './quant-layout';
import { dequantize, fakeQuant, firstInt4CodeOutside, quantize } from './quantize';

const PER_TENSOR: QuantLayout = { kind: 'per-tensor' };
const f32 = (values: number[]): Float32Array => Float32Array.from(values);

describe('quantize, per-tensor integers', () => {
  it('rounds half to even and clamps to [-128, 127] for int8', () => {
    const x = f32([
      0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.4999998, 127.4, 127.5, 200, -128.4, -128.5, -1e9,
    ]);
    const codes = quantize(x, [x.length], 1, 'int8', PER_TENSOR);
    expect(codes).toBeInstanceOf(Int8Array);
    expect([...codes]).toEqual([0, 2, 2, 0, -2, -2, 0, 3, 127, 127, 127, -128, -128, -128]);
  });

  it('clamps to [-8, 7] for int4, after rounding', () => {
    const x = f32([7.4, 7.5, 8, -8.4, -8.5, -9, 6.5, 5.5, -7.5, -6.5]);
    expect([...quantize(x, [10], 1, 'int4', PER_TENSOR)]).toEqual([7, 7, 7, -8, -8, -8, 6, 6, -8, -6]);
  });

  it('divides by the scale: with scale 0.5, 0.25 is a tie to 0 and 0.75 a tie to 2', () => {
    const x = f32([0.25, 0.75, -0.75, 1.25, 63.5, 64]);
    expect([...quantize(x, [6], 0.5, 'int8', PER_TENSOR)]).toEqual([0, 2, -2, 2, 127, 127]);
  });

  it('divides in float32: a quotient that only float32 rounding puts on a tie goes to even', () => {
    const x = 1.5518313646316528;
    const scale = 0.03928687050938606;
    // Preconditions: both are float32; x / s is 39.4999994… in float64 but exactly 39.5 in float32.
    expect(Math.fround(x)).toBe(x);
    expect(Math.fround(scale)).toBe(scale);
    expect(x / scale).toBeLessThan(39.5);
    expect(Math.fround(x / scale)).toBe(39.5);
    expect([...quantize(f32([x]), [1], scale, 'int8', PER_TENSOR)]).toEqual([40]);
  });

  it('clamps ±Inf and throws on NaN naming the index', () => {
    const x = f32([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect([...quantize(x, [2], 1, 'int8', PER_TENSOR)]).toEqual([127, -128]);
    const withNaN = f32([1, 2, Number.NaN, Number.NaN]);
    expect(() => quantize(withNaN, [4], 1, 'int8', PER_TENSOR)).toThrow(InvalidArgumentError);
    expect(() => quantize(withNaN, [4], 1, 'int4', PER_TENSOR)).toThrow(/NaN at index 2/);
    expect(() => fakeQuant(withNaN, [4], 1, 'int8', PER_TENSOR)).toThrow(/NaN at index 2/);
  });
});

describe('quantize, per-tensor float8', () => {
  it('rounds to nearest even and saturates at ±448; NaN stays NaN', () => {
    const x = f32([
      1.0625,
      1.1875,
      1000,
      -1000,
      464,
      465,
      2 ** -10,
      3 * 2 ** -10,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ]);
    const codes = quantize(x, [x.length], 1, 'float8e4m3fn', PER_TENSOR);
    expect(codes).toBeInstanceOf(Uint8Array);
    expect([...codes]).toEqual([0x38, 0x3a, 0x7e, 0xfe, 0x7e, 0x7e, 0x00, 0x02, 0x7f, 0x7e]);
  });

  it('scales before encoding and after decoding', () => {
    // 2.125 / 2 = 1.0625 ties to 1 (0x38); 896 / 2 = 448; 1e6 / 2 saturates; -0.5 / 2 = -2^-2 (0xA8).
    const codes = quantize(f32([2.125, 896, 1e6, -0.5]), [4], 2, 'float8e4m3fn', PER_TENSOR);
    expect([...codes]).toEqual([0x38, 0x7e, 0x7e, 0xa8]);
    expect([...dequantize(codes, [4], 2, 'float8e4m3fn', PER_TENSOR)]).toEqual([2, 896, 896, -0.5]);
  });
});

describe('per-channel layout', () => {
  it('uses one scale per row for axis 0', () => {
    const x = f32([1.4, -2.6, 0.5, 0.2, 0.25, -0.75]);
    const scale = f32([1, 0.5]);
    const codes = quantize(x, [2, 3], scale, 'int8', { kind: 'per-channel', axis: 0 });
    expect([...codes]).toEqual([1, -3, 0, 0, 0, -2]);
    expect([...dequantize(codes, [2, 3], scale, 'int8', { kind: 'per-channel', axis: 0 })]).toEqual([
      1, -3, 0, 0, 0, -1,
    ]);
  });

  it('uses one scale per column for axis 1 and for axis -1', () => {
    const x = f32([1, 2, 4, 3, 5, -6]);
    const scale = f32([1, 2, 4]);
    for (const axis of [1, -1]) {
      expect([...quantize(x, [2, 3], scale, 'int4', { kind: 'per-channel', axis })]).toEqual([
        1, 1, 1, 3, 2, -2,
      ]);
    }
  });

  it('handles a middle axis of a 3-D tensor', () => {
    const x = f32([1, 2, 10, 20, 3, 4, 30, 40]);
    expect([...quantize(x, [2, 2, 2], f32([1, 10]), 'int8', { kind: 'per-channel', axis: 1 })]).toEqual([
      1, 2, 1, 2, 3, 4, 3, 4,
    ]);
  });

  it('accepts a ModelOpt-shaped [out, 1] scale tensor', () => {
    const scale = createTensor('float32', [2, 1], f32([1, 0.5]));
    expect([...quantize(f32([1, 1]), [2, 1], scale, 'int8', { kind: 'per-channel', axis: 0 })]).toEqual([
      1, 2,
    ]);
  });
});

describe('block layout', () => {
  it('uses one scale per block of the last axis; the partial last block has fewer elements', () => {
    // Shape [2, 5], blocks of 2: blocks cover columns {0,1}, {2,3}, {4}; scales shape [2, 3].
    const x = f32([1.5, 2.5, 5, 7, 10, 0.25, 0.75, 1.5, 2.5, 4]);
    const scale = f32([1, 2, 4, 0.5, 1, 8]);
    const layout: QuantLayout = { kind: 'block', blockSize: 2 };
    const codes = quantize(x, [2, 5], scale, 'int8', layout);
    expect([...codes]).toEqual([2, 2, 2, 4, 2, 0, 2, 2, 2, 0]);
    expect([...dequantize(codes, [2, 5], scale, 'int8', layout)]).toEqual([2, 2, 4, 8, 8, 0, 1, 2, 2, 0]);
  });

  it('accepts the scale as a [rows, blocks] tensor and rejects a transposed one', () => {
    const layout: QuantLayout = { kind: 'block', blockSize: 2 };
    const scale = createTensor('float32', [2, 3], f32([1, 1, 1, 1, 1, 1]));
    expect([...quantize(new Float32Array(10), [2, 5], scale, 'int8', layout)]).toEqual(new Array(10).fill(0));
    const transposed = createTensor('float32', [3, 2], f32([1, 1, 1, 1, 1, 1]));
    expect(() => quantize(new Float32Array(10), [2, 5], transposed, 'int8', layout)).toThrow(
      /scale.*shape \[3, 2\] does not match the layout's \[2, 3\]/,
    );
  });
});

describe('scale 0', () => {
  it('quantizes everything to 0 and dequantizes to 0, for every format', () => {
    const x = f32([1e9, -3, 0.5, Number.POSITIVE_INFINITY]);
    for (const format of ['int8', 'int4', 'float8e4m3fn'] as const) {
      const codes = quantize(x, [4], 0, format, PER_TENSOR);
      expect([...codes]).toEqual([0, 0, 0, 0]);
      expect([...dequantize(codes, [4], 0, format, PER_TENSOR)]).toEqual([0, 0, 0, 0]);
      expect([...fakeQuant(x, [4], 0, format, PER_TENSOR)]).toEqual([0, 0, 0, 0]);
    }
  });

  it('only touches the channels whose scale is 0', () => {
    const codes = quantize(f32([5, 5, 5, 5]), [2, 2], f32([0, 1]), 'int8', { kind: 'per-channel', axis: 0 });
    expect([...codes]).toEqual([0, 0, 5, 5]);
  });
});

/** A random shape, layout, matching float32 scales and values mostly inside the representable range. */
const quantizationCase = fc
  .record({
    shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
    kind: fc.constantFrom('per-tensor', 'per-channel', 'block'),
    axisSeed: fc.nat(),
    blockSize: fc.integer({ min: 1, max: 4 }),
    format: fc.constantFrom<QuantFormat>('int8', 'int4', 'float8e4m3fn'),
    seed: fc.integer(),
  })
  .chain(({ shape, kind, axisSeed, blockSize, format }) => {
    const layout: QuantLayout =
      kind === 'per-tensor'
        ? { kind }
        : kind === 'per-channel'
          ? { kind, axis: (axisSeed % shape.length) - (axisSeed % 2 ? shape.length : 0) }
          : { kind, blockSize };
    const count = shape.reduce((product, dimension) => product * dimension, 1);
    const last = shape[shape.length - 1]!;
    const scaleCount =
      layout.kind === 'per-tensor'
        ? 1
        : layout.kind === 'per-channel'
          ? shape.at(layout.axis)!
          : (count / last) * Math.ceil(last / blockSize);
    return fc.record({
      shape: fc.constant(shape),
      layout: fc.constant(layout),
      format: fc.constant(format),
      scales: fc.array(fc.float({ min: Math.fround(1e-3), max: 10, noNaN: true }), {
        minLength: scaleCount,
        maxLength: scaleCount,
      }),
      // Fractions of the range: [-1, 1] of maxbound times the element's scale, applied below.
      fractions: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), {
        minLength: count,
        maxLength: count,
      }),
    });
  });

/** Independent scale lookup: the element's multi-index, then the layout's rule. */
function scaleIndexOf(flatIndex: number, shape: number[], layout: QuantLayout): number {
  const indices: number[] = [];
  let rest = flatIndex;
  for (let axis = shape.length - 1; axis >= 0; axis -= 1) {
    indices.unshift(rest % shape[axis]!);
    rest = Math.floor(rest / shape[axis]!);
  }
  if (layout.kind === 'per-tensor') {
    return 0;
  }
  if (layout.kind === 'per-channel') {
    return indices.at(layout.axis)!;
  }
  const last = shape[shape.length - 1]!;
  const blocks = Math.ceil(last / layout.blockSize);
  const row = Math.floor(flatIndex / last);
  return row * blocks + Math.floor(indices[indices.length - 1]! / layout.blockSize);
}

const RANGE = { int8: [-128, 127], int4: [-8, 7], float8e4m3fn: [-448, 448] } as const;

describe('quantization properties', () => {
  it('puts every element within half a step of its value (integers) and within e4m3 precision (float8)', () => {
    fc.assert(
      fc.property(quantizationCase, ({ shape, layout, format, scales, fractions }) => {
        const [minimum, maximum] = RANGE[format];
        const x = Float32Array.from(fractions, (fraction, index) => {
          const scale = scales[scaleIndexOf(index, shape, layout)]!;
          return fraction * (fraction < 0 ? -minimum : maximum) * scale;
        });
        const scaleArray = Float32Array.from(scales);
        const restored = dequantize(
          quantize(x, shape, scaleArray, format, layout),
          shape,
          scaleArray,
          format,
          layout,
        );
        for (let index = 0; index < x.length; index += 1) {
          const scale = scaleArray[scaleIndexOf(index, shape, layout)]!;
          const error = Math.abs(restored[index]! - x[index]!);
          // Half a step, plus float32 rounding of the quotient and of the product.
          const slack = 2 ** -20 * (Math.abs(x[index]!) + scale);
          const bound =
            format === 'float8e4m3fn'
              ? Math.max(Math.abs(x[index]!) * 2 ** -4, 2 ** -10 * scale) // half an e4m3 ulp
              : scale / 2;
          expect(error).toBeLessThanOrEqual(bound + slack);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('quantizes each element with its own scale, like per-tensor quantization of that element', () => {
    fc.assert(
      fc.property(quantizationCase, ({ shape, layout, format, scales, fractions }) => {
        const x = Float32Array.from(fractions, (fraction) => fraction * 200);
        const scaleArray = Float32Array.from(scales);
        const codes = quantize(x, shape, scaleArray, format, layout);
        for (let index = 0; index < x.length; index += 1) {
          const single = quantize(
            x.subarray(index, index + 1),
            [1],
            scaleArray[scaleIndexOf(index, shape, layout)]!,
            format,
            PER_TENSOR,
          );
          expect(codes[index]).toBe(single[0]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('fakeQuant equals dequantize(quantize(x))', () => {
    fc.assert(
      fc.property(quantizationCase, ({ shape, layout, format, scales, fractions }) => {
        const x = Float32Array.from(fractions, (fraction) => fraction * 500);
        const scaleArray = Float32Array.from(scales);
        const expected = dequantize(
          quantize(x, shape, scaleArray, format, layout),
          shape,
          scaleArray,
          format,
          layout,
        );
        expect([...fakeQuant(x, shape, scaleArray, format, layout)]).toEqual([...expected]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('bad input', () => {
  const x = new Float32Array(6);

  it('rejects data that does not match the shape', () => {
    expect(() => quantize(x, [2, 2], 1, 'int8', PER_TENSOR)).toThrow(
      /shape \[2, 2\] needs 4 elements, got 6/,
    );
  });

  it.each([2, -3, 0.5])('rejects axis %s for a rank-2 shape', (axis) => {
    expect(() => quantize(x, [2, 3], f32([1, 1]), 'int8', { kind: 'per-channel', axis })).toThrow(
      /axis.*\[-2, 1\]/,
    );
  });

  it.each([0, -1, 1.5])('rejects block size %s', (blockSize) => {
    expect(() => quantize(x, [2, 3], 1, 'int8', { kind: 'block', blockSize })).toThrow(/blockSize/);
  });

  it('rejects block quantization of a scalar', () => {
    expect(() => quantize(new Float32Array(1), [], 1, 'int8', { kind: 'block', blockSize: 2 })).toThrow(
      /at least one axis/,
    );
  });

  it('rejects an unknown layout or format', () => {
    expect(() => quantize(x, [6], 1, 'int8', { kind: 'rows' } as unknown as QuantLayout)).toThrow(
      /layout.*got rows/,
    );
    expect(() => quantize(x, [6], 1, 'int2' as 'int8', PER_TENSOR)).toThrow(/format.*got int2/);
  });

  it('rejects the wrong number of scales', () => {
    expect(() => quantize(x, [2, 3], f32([1, 2, 3]), 'int8', { kind: 'per-channel', axis: 0 })).toThrow(
      /scale.*needs 2 values \(shape \[2\]\), got 3/,
    );
    expect(() => quantize(x, [2, 3], f32([1]), 'int8', { kind: 'block', blockSize: 2 })).toThrow(
      /needs 4 values/,
    );
  });

  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [-0.5, '-0.5'],
  ])('rejects scale %s naming the index', (bad, printed) => {
    expect(() => quantize(x, [2, 3], f32([1, bad]), 'int8', { kind: 'per-channel', axis: 0 })).toThrow(
      `got ${printed} at index 1`,
    );
    expect(() =>
      dequantize(new Int8Array(6), [2, 3], f32([1, bad]), 'int8', { kind: 'per-channel', axis: 0 }),
    ).toThrow(InvalidArgumentError);
  });

  it('rejects codes of the wrong type or outside int4', () => {
    expect(() => dequantize(new Uint8Array(6), [6], 1, 'int8', PER_TENSOR)).toThrow(
      /int8 codes must be a Int8Array/,
    );
    expect(() => dequantize(new Int8Array(6), [6], 1, 'float8e4m3fn', PER_TENSOR)).toThrow(/Uint8Array/);
    expect(() => dequantize(Int8Array.from([0, 7, -8, 8]), [4], 1, 'int4', PER_TENSOR)).toThrow(
      /got 8 at index 3/,
    );
  });
});

describe('firstInt4CodeOutside', () => {
  it('flags exactly the int8 values outside [-8, 7], each of the 256, at any position', () => {
    const codes = new Int8Array(9).fill(3);
    for (const position of [0, 4, 8]) {
      for (let code = -128; code <= 127; code++) {
        codes[position] = code;
        expect(firstInt4CodeOutside(codes)).toBe(code < -8 || code > 7 ? position : -1);
      }
      codes[position] = 3;
    }
    expect(firstInt4CodeOutside(Int8Array.of(7, -8, 9, -9))).toBe(2);
    expect(() => dequantize(Int8Array.of(0, -9), [2], 1, 'int4', { kind: 'per-tensor' })).toThrow(
      'int4 codes must lie in [-8, 7] (one per element, unpacked), got -9 at index 1',
    );
  });
});
