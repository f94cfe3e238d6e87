import { quantize } from '@ptq/scale-math';
import { createTensor, toFloat32 } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { tinyModel } from '../__fixtures__/tiny-model';
import { initializeWeights } from '../initialize-weights';
import { prepareLinear } from '../kernels/kernel-weights';
import { holdsCodes, linearCodes } from './linear-codes';

describe('linearCodes', () => {
  it.each([
    ['int4-weight-only', 'int4', { kind: 'block', blockSize: 128 }],
    ['int8-weight-only', 'int8', { kind: 'per-channel', axis: 0 }],
  ] as const)(
    'of a %s linear: quantize of its float weight, or the codes it holds, the same to the kernels',
    (quantMode, format, layout) => {
      const model = tinyModel({ quantMode, embeddingSize: 256, dtype: 'float16' });
      const linear = model.transformer.h[1]!.mlp.c_fc;
      const scales = toFloat32(linear.weight_scale!);
      const made = linearCodes(linear);
      expect(made).toEqual(quantize(toFloat32(linear.weight), [1024, 256], scales, format, layout));
      // Codes that are not all zeros or all one value: the weights are random.
      expect(new Set(made).size).toBeGreaterThan(format === 'int4' ? 10 : 100);

      const fromFloats = prepareLinear(linear);
      const codes = createTensor('int8', [1024, 256], made as Int8Array);
      model.loadStateDict(new Map([['transformer.h.1.mlp.c_fc.weight', codes]]), { strict: false });
      expect(holdsCodes(linear)).toBe(true);
      expect(linearCodes(linear)).toBe(codes.data);
      expect(prepareLinear(linear)).toEqual(fromFloats);
      // Random weights replace the codes with floats of the model's dtype, as the model was built.
      initializeWeights(model, { seed: 1, std: 0.15 });
      expect(holdsCodes(linear)).toBe(false);
      expect(linear.weight.dtype).toBe(model.config.dtype);
      expect(linearCodes(linear)).toEqual(made);
    },
  );

  it('refuses an unquantized linear, which has no codes', () => {
    expect(() => linearCodes(tinyModel().lm_head)).toThrow('is not quantized');
  });
});
