import { InvalidArgumentError } from '@ptq/errors';
import { float8E4M3FNBitsToFloat32, float32ToFloat8E4M3FNBits } from '@ptq/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { convertToScale } from './convert-to-scale';
import { CODES_AMAX_LIMIT, fakeQuantModelOpt, fakeQuantModelOptCodes } from './fake-quant-modelopt';
import type { QuantFormat } from './maxbound';
import type { QuantLayout } from './quant-layout';
import { fakeQuant, quantize } from './quantize';

const PER_TENSOR: QuantLayout = { kind: 'per-tensor' };
const f32 = (values: number[]): Float32Array => Float32Array.from(values);
const fround = Math.fround;

function referenceRound(value: number): number {
  const rounded = Math.round(value);
  const result = rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
  return result === 0 ? value * 0 : result;
}

/** ModelOpt's CPU fake quantization, element by element, written straight from tensor_quant.py. */
function referenceElement(x: number, amax: number, format: QuantFormat): number {
  if (amax <= 2 ** -24) {
    return x * 0;
  }
  if (format === 'float8e4m3fn') {
    const scale = fround(fround(1 / amax) * 448);
    const inverse = fround(1 / scale);
    return fround(float8E4M3FNBitsToFloat32(float32ToFloat8E4M3FNBits(fround(x * scale))) * inverse);
  }
  const maxbound = format === 'int8' ? 127 : 7;
  // torch: `max_bound / amax` is `amax.reciprocal() * max_bound`.
  const scale = fround(fround(1 / amax) * maxbound);
  const clamped = Math.min(maxbound, Math.max(-maxbound - 1, referenceRound(fround(x * scale))));
  return fround(clamped / scale);
}

describe('fakeQuantModelOpt, integers', () => {
  it('rounds half to even, keeps -0 and clamps', () => {
    // amax 127: scale 127 / 127 = 1.
    const output = fakeQuantModelOpt(
      f32([0.5, 1.5, 2.5, -0.5, -1.5, -0.2, 200, -200]),
      [8],
      127,
      'int8',
      PER_TENSOR,
    );
    expect([...output]).toEqual([0, 2, 2, -0, -2, -0, 127, -128]);
    expect(Object.is(output[3], -0)).toBe(true);
    expect([...fakeQuantModelOpt(f32([7.5, -8.5, 6.5]), [3], 7, 'int4', PER_TENSOR)]).toEqual([7, -8, 6]);
  });

  it('multiplies by maxbound / amax and divides by it again', () => {
    // amax 254: scale 0.5. 3 -> 1.5 -> 2 -> 4; 5 -> 2.5 -> 2 -> 4; 300 -> 150 -> 127 -> 254.
    expect([...fakeQuantModelOpt(f32([3, 5, 300, -1]), [4], 254, 'int8', PER_TENSOR)]).toEqual([
      4, 4, 254, -0,
    ]);
  });

  it('can land on the other side of a tie than x / (amax / maxbound)', () => {
    const x = -0.5956340432167053;
    const amax = 1.1912680864334106;
    const modelOptScale = fround(fround(1 / amax) * 127);
    const exportScale = fround(amax / 127);
    // Preconditions: x · (127 / amax) is exactly -63.5 in float32 (a tie, to even: -64);
    // x / (amax / 127) is not (it rounds to -63).
    expect(fround(x * modelOptScale)).toBe(-63.5);
    expect(fround(x / exportScale)).toBe(-63.499996185302734);
    expect([...fakeQuantModelOpt(f32([x]), [1], amax, 'int8', PER_TENSOR)]).toEqual([
      fround(-64 / modelOptScale),
    ]);
    const viaScale = fakeQuant(f32([x]), [1], convertToScale(amax, 127), 'int8', PER_TENSOR);
    expect([...viaScale]).toEqual([fround(-63 * exportScale)]);
  });

  it('gives signed zeros for amax at or below 2^-24 and quantizes just above it', () => {
    const x = f32([3, -2, 0, -0]);
    for (const amax of [0, 2 ** -24]) {
      const output = fakeQuantModelOpt(x, [4], amax, 'int8', PER_TENSOR);
      expect(output.map((value) => (Object.is(value, -0) ? -1 : value))).toEqual(f32([0, -1, 0, -1]));
    }
    expect([...fakeQuantModelOpt(f32([2 ** -23]), [1], 2 ** -23, 'int8', PER_TENSOR)]).toEqual([2 ** -23]);
  });

  it('throws on NaN naming the index, also with a zero amax', () => {
    const x = f32([1, Number.NaN]);
    expect(() => fakeQuantModelOpt(x, [2], 1, 'int8', PER_TENSOR)).toThrow(/NaN at index 1/);
    expect(() => fakeQuantModelOpt(x, [2], 0, 'int4', PER_TENSOR)).toThrow(/NaN at index 1/);
  });
});

describe('fakeQuantModelOpt, float8', () => {
  it('rounds to nearest even and saturates', () => {
    // amax 448: scale 1, inverse 1.
    const x = f32([1.0625, 1000, -1000, 2 ** -10, 3 * 2 ** -10, Number.NaN]);
    const output = fakeQuantModelOpt(x, [6], 448, 'float8e4m3fn', PER_TENSOR);
    expect([...output.subarray(0, 5)]).toEqual([1, 448, -448, 0, 2 ** -8]);
    expect(output[5]).toBeNaN();
    // amax 896: scale 0.5, inverse 2; 2.125 -> 1.0625 -> 1 -> 2.
    expect([...fakeQuantModelOpt(f32([2.125]), [1], 896, 'float8e4m3fn', PER_TENSOR)]).toEqual([2]);
  });

  it('multiplies the decoded value by 1 / scale rather than dividing by scale', () => {
    const amax = 1.0317614078521729;
    const x = 0.029939504340291023;
    const scale = fround(fround(1 / amax) * 448);
    // Precondition: x · scale is exactly 13, an e4m3 value, so only the way back differs.
    expect(fround(x * scale)).toBe(13);
    const output = fakeQuantModelOpt(f32([x]), [1], amax, 'float8e4m3fn', PER_TENSOR);
    expect(output[0]).toBe(0.029939502477645874);
    expect(fround(13 / scale)).toBe(x);
  });

  it('gives signed zeros for amax 0', () => {
    const output = fakeQuantModelOpt(f32([5, -5]), [2], 0, 'float8e4m3fn', PER_TENSOR);
    expect(Object.is(output[0], 0) && Object.is(output[1], -0)).toBe(true);
  });
});

describe('fakeQuantModelOpt layouts', () => {
  it('uses per-channel and block amax', () => {
    // Rows with amax 127 and 254: scales 1 and 0.5.
    const perRow = fakeQuantModelOpt(f32([1.5, 2.5, 3, 5]), [2, 2], f32([127, 254]), 'int8', {
      kind: 'per-channel',
      axis: 0,
    });
    expect([...perRow]).toEqual([2, 2, 4, 4]);
    // [1, 3] in blocks of 2: amax 127 for {0, 1}, 254 for the partial block {2}.
    const blocks = fakeQuantModelOpt(f32([0.5, 1.5, 5]), [1, 3], f32([127, 254]), 'int8', {
      kind: 'block',
      blockSize: 2,
    });
    expect([...blocks]).toEqual([0, 2, 4]);
  });

  it('matches an element-by-element transcription of ModelOpt for random data', () => {
    const testCase = fc
      .record({
        rows: fc.integer({ min: 1, max: 4 }),
        columns: fc.integer({ min: 1, max: 7 }),
        blockSize: fc.integer({ min: 1, max: 3 }),
        kind: fc.constantFrom('per-tensor', 'per-channel', 'block'),
        format: fc.constantFrom<QuantFormat>('int8', 'int4', 'float8e4m3fn'),
      })
      .chain((base) => {
        const blocks = Math.ceil(base.columns / base.blockSize);
        const amaxCount =
          base.kind === 'per-tensor' ? 1 : base.kind === 'per-channel' ? base.rows : base.rows * blocks;
        return fc.record({
          base: fc.constant(base),
          amax: fc.array(fc.float({ min: 0, max: 100, noNaN: true }), {
            minLength: amaxCount,
            maxLength: amaxCount,
          }),
          x: fc.array(fc.float({ min: -150, max: 150, noNaN: true }), {
            minLength: base.rows * base.columns,
            maxLength: base.rows * base.columns,
          }),
        });
      });
    fc.assert(
      fc.property(testCase, ({ base, amax, x }) => {
        const { rows, columns, blockSize, kind, format } = base;
        const layout: QuantLayout =
          kind === 'per-tensor' ? { kind } : kind === 'per-channel' ? { kind, axis: 0 } : { kind, blockSize };
        const output = fakeQuantModelOpt(
          Float32Array.from(x),
          [rows, columns],
          Float32Array.from(amax),
          format,
          layout,
        );
        const blocks = Math.ceil(columns / blockSize);
        x.forEach((value, index) => {
          const row = Math.floor(index / columns);
          const amaxIndex =
            kind === 'per-tensor'
              ? 0
              : kind === 'per-channel'
                ? row
                : row * blocks + Math.floor((index % columns) / blockSize);
          const expected = referenceElement(value, amax[amaxIndex]!, format);
          expect(
            Object.is(output[index], expected) || (Number.isNaN(expected) && Number.isNaN(output[index])),
          ).toBe(true);
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('fakeQuantModelOptCodes', () => {
  it('gives the codes that quantizing the fake-quantized values with convertToScale gives, over every amax range', () => {
    const amaxValue = fc.oneof(
      fc.constantFrom(0, 2 ** -24, 2 ** -23, 1e-30, 1, 7, 127, 1e30, CODES_AMAX_LIMIT),
      fc.float({ min: Math.fround(2 ** -24), max: Math.fround(CODES_AMAX_LIMIT), noNaN: true }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom<['int8' | 'int4', QuantLayout, number]>(
          ['int4', { kind: 'block', blockSize: 4 }, 6],
          ['int8', { kind: 'per-channel', axis: 0 }, 3],
        ),
        fc.array(amaxValue, { minLength: 6, maxLength: 6 }),
        fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 24, maxLength: 24 }),
        ([format, layout, count], amaxValues, fractions) => {
          const amax = Float32Array.from(amaxValues.slice(0, count));
          // Values within each run's amax (as a calibrated amax bounds them), signed zeros included.
          const x = Float32Array.from(fractions, (fraction, index) => {
            const run = format === 'int4' ? Math.floor(index / 4) : Math.floor(index / 8);
            return fround(fraction * amax[run]!);
          });
          const fakeQuantized = fakeQuantModelOpt(x, [3, 8], amax, format, layout);
          const expected = quantize(
            fakeQuantized,
            [3, 8],
            convertToScale(amax, format === 'int4' ? 7 : 127).data,
            format,
            layout,
          );
          expect(fakeQuantModelOptCodes(x, [3, 8], amax, format, layout)).toEqual(expected);
          // Into a reused array of leftover codes: every code is written, zeros included.
          const into = new Int8Array(30).fill(5);
          expect(fakeQuantModelOptCodes(x, [3, 8], amax, format, layout, into)).toEqual(expected);
          expect([...into.subarray(24)]).toEqual([5, 5, 5, 5, 5, 5]);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('rounds half to even and clamps as the fake quantization does, and throws on NaN', () => {
    // amax 127: x · 1; amax 7 for int4: x · 1.
    expect([
      ...fakeQuantModelOptCodes(f32([0.5, 1.5, -2.5, 200, -300, -0]), [6], 127, 'int8', PER_TENSOR),
    ]).toEqual([0, 2, -2, 127, -128, 0]);
    expect([...fakeQuantModelOptCodes(f32([7.4, -8.6, 3.5]), [3], 7, 'int4', PER_TENSOR)]).toEqual([
      7, -8, 4,
    ]);
    expect(() => fakeQuantModelOptCodes(f32([1, Number.NaN]), [2], 0, 'int8', PER_TENSOR)).toThrow('index 1');
    expect(() => fakeQuantModelOptCodes(f32([1, Number.NaN]), [2], 1, 'int8', PER_TENSOR)).toThrow('index 1');
  });
});

describe('fakeQuantModelOpt into an array', () => {
  it('writes what it returns into a longer array, or over x itself, for every format and layout', () => {
    const x = Float32Array.from({ length: 24 }, (_, index) => fround(Math.sin(index * 1.7) * 3));
    const cases: [QuantFormat, QuantLayout, Float32Array | number][] = [
      ['int8', { kind: 'per-channel', axis: 0 }, f32([2, 0, 3])],
      ['int4', { kind: 'block', blockSize: 4 }, f32([1, 2, 3, 0, 2, 1])],
      ['float8e4m3fn', PER_TENSOR, 2.5],
    ];
    for (const [format, layout, amax] of cases) {
      const expected = fakeQuantModelOpt(x, [3, 8], amax, format, layout);
      const into = new Float32Array(30).fill(5);
      const written = fakeQuantModelOpt(x, [3, 8], amax, format, layout, into);
      expect(written.buffer).toBe(into.buffer);
      expect(written).toEqual(expected);
      expect(into.subarray(0, 24)).toEqual(expected);
      expect([...into.subarray(24)]).toEqual([5, 5, 5, 5, 5, 5]);
      const over = x.slice();
      expect(fakeQuantModelOpt(over, [3, 8], amax, format, layout, over)).toEqual(expected);
      expect(over).toEqual(expected);
    }
  });

  it('refuses an array shorter than x', () => {
    expect(() =>
      fakeQuantModelOpt(new Float32Array(4), [2, 2], 1, 'int8', PER_TENSOR, new Float32Array(3)),
    ).toThrow('Invalid argument "into": must hold 4 elements, got 3');
  });
});

describe('fakeQuantModelOpt bad input', () => {
  it.each([
    [-1, '-1'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('rejects amax %s naming the index', (bad, printed) => {
    expect(() =>
      fakeQuantModelOpt(new Float32Array(4), [2, 2], f32([1, bad]), 'int8', { kind: 'per-channel', axis: 0 }),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      fakeQuantModelOpt(new Float32Array(4), [2, 2], f32([1, bad]), 'int8', { kind: 'per-channel', axis: 0 }),
    ).toThrow(`Invalid argument "amax": must be finite and non-negative, got ${printed} at index 1`);
  });

  it('rejects a wrong amax count, shape or format', () => {
    expect(() =>
      fakeQuantModelOpt(new Float32Array(4), [2, 2], 1, 'int8', { kind: 'per-channel', axis: 0 }),
    ).toThrow(/amax.*needs 2 values/);
    expect(() => fakeQuantModelOpt(new Float32Array(3), [2, 2], 1, 'int8', PER_TENSOR)).toThrow(
      /needs 4 elements/,
    );
    expect(() => fakeQuantModelOpt(new Float32Array(4), [4], 1, 'fp8' as 'int8', PER_TENSOR)).toThrow(
      /format/,
    );
  });
});
