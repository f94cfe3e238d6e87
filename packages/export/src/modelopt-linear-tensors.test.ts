import { InvalidArgumentError } from '@ptq/errors';
import { type QuantizerAttributeConfig, QuantLinear } from '@ptq/quant-core';
import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { UnsupportedExportError } from './errors';
import { modelOptLinearLayout, modelOptLinearTensors } from './modelopt-linear-tensors';

function linear(
  shape: [number, number],
  weight: number[],
  weightQuantizer: QuantizerAttributeConfig,
  amax: { shape: number[]; values: number[] } | undefined,
  inputQuantizer: QuantizerAttributeConfig = { enable: false },
): QuantLinear {
  const module = new QuantLinear(createTensor('float32', shape, Float32Array.from(weight)), undefined);
  module.weight_quantizer.applyAttributes(weightQuantizer);
  module.input_quantizer.applyAttributes(inputQuantizer);
  if (amax !== undefined) {
    module.weight_quantizer.amax = createTensor('float32', amax.shape, Float32Array.from(amax.values));
  }
  return module;
}

const INT8 = { numBits: 8, axis: 0 } as const;
const INT4 = { numBits: 4, blockSizes: { [-1]: 128 } } as const;
const FP8 = { numBits: [4, 3], axis: null } as const;

describe('modelOptLinearTensors, W8A16', () => {
  it('stores clamp(rne(W / (amax / 127))) as int8 [out, in] and the scales as [out]', () => {
    // Row 0: amax 127 → scale 1; row 1: amax 254 → scale 2 (the amax is below |W| so -150 clamps).
    const module = linear([2, 4], [0.5, 1.5, -2.5, 127, 2, -6, 1, -300], INT8, {
      shape: [2, 1],
      values: [127, 254],
    });
    const tensors = modelOptLinearTensors('h.0.attn.c_attn', module, 'W8A16');
    expect(tensors.weight.dtype).toBe('int8');
    expect(tensors.weight.shape).toEqual([2, 4]);
    // Ties go to even (0.5 → 0, 1.5 → 2, -2.5 → -2, 0.5 → 0); -150 clamps to -128.
    expect([...tensors.weight.data]).toEqual([0, 2, -2, 127, 1, -3, 0, -128]);
    expect(tensors.weight_scale.dtype).toBe('float32');
    expect(tensors.weight_scale.shape).toEqual([2]);
    expect([...tensors.weight_scale.data]).toEqual([1, 2]);
    expect(tensors.input_scale).toBeUndefined();
    expect(tensors.pre_quant_scale).toBeUndefined();
  });

  it('keeps a one-row weight scale as [1], not a squeezed scalar', () => {
    const module = linear([1, 2], [1, -1], INT8, { shape: [1, 1], values: [127] });
    expect(modelOptLinearTensors('p', module, 'W8A16').weight_scale.shape).toEqual([1]);
  });

  it('refuses codes given packed, which only W4A16_AWQ stores', () => {
    const module = linear([2, 2], [1, -1, 2, -2], INT8, { shape: [2, 1], values: [127, 127] });
    expect(() =>
      modelOptLinearTensors('p', module, 'W8A16', module.weight, { packedInt4Rows: new Uint8Array(2) }),
    ).toThrow('packed int4 codes are for W4A16_AWQ, not W8A16');
  });

  it('refuses NaN weights (an integer format has no NaN code)', () => {
    const module = linear([1, 2], [1, Number.NaN], INT8, { shape: [1, 1], values: [127] });
    expect(() => modelOptLinearTensors('p', module, 'W8A16')).toThrow(InvalidArgumentError);
  });
});

describe('modelOptLinearTensors, W4A16_AWQ', () => {
  // [2, 256]: two blocks of 128 per row. amax (o, b) order: [7, 14, 3.5, 7] → scales [[1, 2], [0.5, 1]].
  const weight = new Array<number>(512).fill(0);
  for (let column = 0; column < 128; column += 1) {
    weight[column] = (column % 16) - 8; // scale 1: codes -8 … 7
    weight[256 + column] = 0.25; // scale 0.5: 0.5 → 0 (tie to even)
    weight[128 + column] = 5; // scale 2: 2.5 → 2 (tie to even)
    weight[384 + column] = -1; // scale 1: -1
  }
  weight[129] = 7; // 3.5 → 4
  weight[130] = 40; // 20 → clamps to 7
  weight[131] = -40; // -20 → clamps to -8
  weight[257] = 0.75; // 1.5 → 2
  weight[258] = -0.75; // -1.5 → -2
  weight[259] = -1.25; // -2.5 → -2
  const module = linear([2, 256], weight, INT4, { shape: [4, 1], values: [7, 14, 3.5, 7] });
  module.input_quantizer.preQuantScale = createTensor(
    'float32',
    [256],
    Float32Array.from({ length: 256 }, (_, index) => 1 + index / 256),
  );

  it('packs two output rows per byte, row 2r in the low nibble: uint8 [out / 2, in]', () => {
    const tensors = modelOptLinearTensors('h.0.mlp.c_proj', module, 'W4A16_AWQ');
    expect(tensors.weight.dtype).toBe('uint8');
    expect(tensors.weight.shape).toEqual([1, 256]);
    const bytes = tensors.weight.data as Uint8Array;
    // byte = (q[0, j] & 0xF) | (q[1, j] & 0xF) << 4, worked out by hand from the codes above.
    expect(bytes[0]).toBe(0x08); // -8, 0
    expect(bytes[1]).toBe(0x29); // -7, 2
    expect(bytes[2]).toBe(0xea); // -6, -2
    expect(bytes[3]).toBe(0xeb); // -5, -2
    expect(bytes[4]).toBe(0x0c); // -4, 0
    expect(bytes[15]).toBe(0x07); // 7, 0
    expect(bytes[16]).toBe(0x08); // -8, 0
    expect(bytes[128]).toBe(0xf2); // 2, -1
    expect(bytes[129]).toBe(0xf4); // 4, -1
    expect(bytes[130]).toBe(0xf7); // 7, -1
    expect(bytes[131]).toBe(0xf8); // -8, -1
    expect(bytes[255]).toBe(0xf2); // 2, -1
  });

  it('stores weight_scale [out, in / 128] = amax / 7 and the pre-quant scale [in]', () => {
    const tensors = modelOptLinearTensors('h.0.mlp.c_proj', module, 'W4A16_AWQ');
    expect(tensors.weight_scale.shape).toEqual([2, 2]);
    expect([...tensors.weight_scale.data]).toEqual([1, 2, 0.5, 1]);
    expect(tensors.pre_quant_scale?.shape).toEqual([256]);
    expect(tensors.pre_quant_scale?.data).toEqual(module.input_quantizer.preQuantScale!.data);
    expect(tensors.input_scale).toBeUndefined();
  });

  it('takes codes given packed as they are, and refuses a packed array of the wrong length', () => {
    const computed = modelOptLinearTensors('h.0.mlp.c_proj', module, 'W4A16_AWQ');
    const packed = Uint8Array.from({ length: 256 }, (_, index) => index);
    const given = modelOptLinearTensors('h.0.mlp.c_proj', module, 'W4A16_AWQ', module.weight, {
      packedInt4Rows: packed,
    });
    expect(given.weight.data).toBe(packed);
    expect(given.weight.shape).toEqual([1, 256]);
    expect(given.weight_scale.data).toEqual(computed.weight_scale.data);
    expect(() =>
      modelOptLinearTensors('p', module, 'W4A16_AWQ', module.weight, { packedInt4Rows: new Uint8Array(255) }),
    ).toThrow('must hold 256 packed bytes, got 255');
  });

  it('refuses an odd number of output rows, which cannot be packed in pairs', () => {
    const odd = linear([1, 128], new Array(128).fill(1), INT4, { shape: [1, 1], values: [7] });
    expect(() => modelOptLinearTensors('p', odd, 'W4A16_AWQ')).toThrow(/even count/);
  });
});

describe('modelOptLinearTensors, FP8', () => {
  it('stores e4m3fn codes of W / (amax / 448), nearest even and saturating, with scalar scales', () => {
    const module = linear(
      [2, 4],
      [1, -2, 0.1, 448, 1000, 0.001, -(2 ** -10), 0],
      FP8,
      { shape: [], values: [448] },
      FP8,
    );
    module.input_quantizer.amax = createTensor('float32', [], Float32Array.of(896));
    const tensors = modelOptLinearTensors('lm_head', module, 'FP8');
    expect(tensors.weight.dtype).toBe('float8e4m3fn');
    expect(tensors.weight.shape).toEqual([2, 4]);
    // 1 = 2^0 → 0x38; -2 → 0xC0; 0.1 = 1.6·2^-4 → mantissa 4.8 → 5 → 0x1D; 448 → 0x7E; 1000 saturates
    // to 0x7E; 0.001 = 0.512·2^-9 → subnormal 1 → 0x01; -2^-10 is a tie between 0 and 2^-9 → -0 (0x80).
    expect([...tensors.weight.data]).toEqual([0x38, 0xc0, 0x1d, 0x7e, 0x7e, 0x01, 0x80, 0x00]);
    expect(tensors.weight_scale.shape).toEqual([]);
    expect([...tensors.weight_scale.data]).toEqual([1]);
    expect(tensors.input_scale?.shape).toEqual([]);
    expect([...tensors.input_scale!.data]).toEqual([2]);
  });

  it('refuses a linear without a calibrated input quantizer', () => {
    const module = linear([1, 2], [1, 2], FP8, { shape: [], values: [448] }, FP8);
    expect(() => modelOptLinearTensors('p', module, 'FP8')).toThrow(/uncalibrated/);
  });
});

describe('modelOptLinearTensors, mismatches', () => {
  it('refuses a quantizer that does not fit the algorithm', () => {
    const module = linear([2, 2], [1, 2, 3, 4], INT8, { shape: [2, 1], values: [2, 4] });
    expect(() => modelOptLinearTensors('h.0.attn.c_attn', module, 'FP8')).toThrow(UnsupportedExportError);
    expect(() => modelOptLinearTensors('h.0.attn.c_attn', module, 'W4A16_AWQ')).toThrow(/h\.0\.attn\.c_attn/);
  });

  it('refuses an enabled input quantizer in a weight-only algorithm', () => {
    const module = linear(
      [2, 2],
      [1, 2, 3, 4],
      INT8,
      { shape: [2, 1], values: [2, 4] },
      { numBits: 8, axis: null },
    );
    expect(() => modelOptLinearTensors('p', module, 'W8A16')).toThrow(/disabled input quantizer/);
  });

  it('refuses an uncalibrated weight quantizer', () => {
    const module = linear([2, 2], [1, 2, 3, 4], INT8, undefined);
    expect(() => modelOptLinearTensors('p', module, 'W8A16')).toThrow(/uncalibrated/);
  });

  it('refuses a disabled weight quantizer', () => {
    const module = linear([2, 2], [1, 2, 3, 4], { enable: false }, undefined);
    expect(() => modelOptLinearTensors('p', module, 'W8A16')).toThrow(/enabled weight quantizer/);
  });
});

describe('modelOptLinearLayout', () => {
  const pqs = createTensor('float32', [256], new Float32Array(256).fill(0.5));
  const int4 = () => {
    const module = linear([4, 256], new Array(1024).fill(0.25), INT4, {
      shape: [8, 1],
      values: [1, 2, 3, 4, 5, 6, 7, 8],
    });
    module.input_quantizer.preQuantScale = pqs;
    return module;
  };
  const fp8 = () => {
    const module = linear([2, 2], [1, 2, 3, 4], FP8, { shape: [], values: [4] }, FP8);
    module.input_quantizer.amax = createTensor('float32', [], Float32Array.of(8));
    return module;
  };
  const cases = [
    [
      'W8A16',
      () => linear([2, 2], [1, 2, 3, 4], INT8, { shape: [2, 1], values: [2, 4] }),
      { weight: 'int8 [2,2]', weight_scale: 'float32 [2]' },
    ],
    [
      'W4A16_AWQ',
      int4,
      { weight: 'uint8 [2,256]', weight_scale: 'float32 [4,2]', pre_quant_scale: 'float32 [256]' },
    ],
    ['FP8', fp8, { weight: 'float8e4m3fn [2,2]', weight_scale: 'float32 []', input_scale: 'float32 []' }],
  ] as const;
  for (const [algo, make, expected] of cases) {
    it(`gives the dtypes and shapes modelOptLinearTensors makes (${algo})`, () => {
      const describeAll = (tensors: object) =>
        Object.fromEntries(
          Object.entries(tensors).map(([name, { dtype, shape }]) => [name, `${dtype} [${shape.join(',')}]`]),
        );
      expect(describeAll(modelOptLinearLayout('p', make(), algo))).toEqual(expected);
      expect(describeAll(modelOptLinearTensors('p', make(), algo))).toEqual(expected);
    });
  }

  it('refuses, without any weight data, what modelOptLinearTensors refuses', () => {
    const refusals = [
      [linear([2, 2], [1, 2, 3, 4], INT8, undefined), 'W8A16', /uncalibrated/],
      [linear([2, 2], [1, 2, 3, 4], { enable: false }, undefined), 'W8A16', /enabled weight quantizer/],
      [
        linear([1, 128], new Array(128).fill(1), INT4, { shape: [1, 1], values: [7] }),
        'W4A16_AWQ',
        /even count/,
      ],
      [
        linear([2, 256], new Array(512).fill(1), INT4, { shape: [2, 1], values: [7, 7] }),
        'W4A16_AWQ',
        /holds 2 values/,
      ],
      [linear([1, 2], [1, 2], FP8, { shape: [], values: [448] }, FP8), 'FP8', /uncalibrated/],
      [linear([1, 2], [1, 2], INT8, { shape: [1, 1], values: [-1] }), 'W8A16', /non-negative/],
    ] as const;
    for (const [module, algo, message] of refusals) {
      expect(() => modelOptLinearLayout('p', module, algo)).toThrow(message);
      expect(() => modelOptLinearTensors('p', module, algo)).toThrow(message);
    }
  });
});
