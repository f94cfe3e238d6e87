import { type QuantizerAttributeConfig, QuantLinear } from '@ptq/quant-core';
import { createTensor, toFloat32 } from '@ptq/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { float8Value, roundHalfEvenReference } from './__fixtures__/independent-codecs';
import { dequantizeModelOptWeight } from './dequantize-modelopt-weight';
import { modelOptLinearTensors } from './modelopt-linear-tensors';
import type { ModelOptQuantAlgo } from './modelopt-quant-algo';

const ATTRIBUTES: Record<ModelOptQuantAlgo, QuantizerAttributeConfig> = {
  W8A16: { numBits: 8, axis: 0 },
  W4A16_AWQ: { numBits: 4, blockSizes: { [-1]: 128 } },
  FP8: { numBits: [4, 3], axis: null },
};
const MAXBOUND: Record<ModelOptQuantAlgo, number> = { W8A16: 127, W4A16_AWQ: 7, FP8: 448 };

/** Finite e4m3fn magnitudes in increasing order (codes 0 … 0x7E). */
const FLOAT8_MAGNITUDES = Array.from({ length: 0x7f }, (_, code) => float8Value(code));

/** The nearest e4m3fn value (ties to the even code), saturating at 448, by searching the whole grid. */
function nearestFloat8(x: number): number {
  const magnitude = Math.min(Math.abs(x), 448);
  let best = 0;
  for (let code = 1; code < FLOAT8_MAGNITUDES.length; code += 1) {
    const distance = Math.abs(magnitude - FLOAT8_MAGNITUDES[code]!);
    const bestDistance = Math.abs(magnitude - FLOAT8_MAGNITUDES[best]!);
    if (distance < bestDistance || (distance === bestDistance && code % 2 === 0)) best = code;
  }
  return Math.sign(x) * FLOAT8_MAGNITUDES[best]!;
}

/** What a weight reads back as, from the format definitions: `q(W / s) · s` in float32. */
function referenceWeight(
  algo: ModelOptQuantAlgo,
  weight: Float32Array,
  scales: Float32Array,
  inFeatures: number,
): Float32Array {
  return weight.map((value, index) => {
    const row = Math.floor(index / inFeatures);
    const column = index % inFeatures;
    const scale =
      algo === 'FP8'
        ? scales[0]!
        : algo === 'W8A16'
          ? scales[row]!
          : scales[row * Math.ceil(inFeatures / 128) + Math.floor(column / 128)]!;
    if (scale === 0) return 0;
    const x = Math.fround(value / scale);
    if (algo === 'FP8') return Math.fround(nearestFloat8(x) * scale);
    const [minimum, maximum] = algo === 'W8A16' ? [-128, 127] : [-8, 7];
    return Math.fround(Math.min(maximum, Math.max(minimum, roundHalfEvenReference(x))) * scale);
  });
}

const shapes = fc.record({
  outFeatures: fc.integer({ min: 1, max: 4 }).map((half) => 2 * half),
  inFeatures: fc.integer({ min: 1, max: 300 }),
});

describe('modelOptLinearTensors then dequantizeModelOptWeight', () => {
  for (const algo of ['W8A16', 'W4A16_AWQ', 'FP8'] as const) {
    it(`gives q(W / s) · s for every element (${algo})`, () => {
      fc.assert(
        fc.property(
          shapes.chain(({ outFeatures, inFeatures }) =>
            fc.record({
              outFeatures: fc.constant(outFeatures),
              inFeatures: fc.constant(inFeatures),
              weight: fc.float32Array({
                minLength: outFeatures * inFeatures,
                maxLength: outFeatures * inFeatures,
                noNaN: true,
                noDefaultInfinity: true,
                min: -1e4,
                max: 1e4,
              }),
              // amax per scale, from far below |W| (clamping, saturation) to above it; 0 included.
              amax: fc.array(
                fc.oneof(fc.constant(0), fc.float({ min: Math.fround(1e-3), max: 2e4, noNaN: true })),
                {
                  minLength:
                    algo === 'FP8'
                      ? 1
                      : outFeatures * Math.ceil(inFeatures / (algo === 'W8A16' ? inFeatures : 128)),
                  maxLength:
                    algo === 'FP8'
                      ? 1
                      : outFeatures * Math.ceil(inFeatures / (algo === 'W8A16' ? inFeatures : 128)),
                },
              ),
            }),
          ),
          ({ outFeatures, inFeatures, weight, amax }) => {
            const linear = new QuantLinear(
              createTensor('float32', [outFeatures, inFeatures], weight),
              undefined,
            );
            linear.weight_quantizer.applyAttributes(ATTRIBUTES[algo]);
            linear.weight_quantizer.amax = createTensor(
              'float32',
              algo === 'FP8' ? [] : [amax.length, 1],
              Float32Array.from(amax),
            );
            if (algo === 'FP8') {
              linear.input_quantizer.applyAttributes(ATTRIBUTES.FP8);
              linear.input_quantizer.amax = createTensor('float32', [], Float32Array.of(1));
            } else {
              linear.input_quantizer.applyAttributes({ enable: false });
            }
            const tensors = modelOptLinearTensors('linear', linear, algo);
            const scales = toFloat32(tensors.weight_scale);
            expect([...scales]).toEqual(amax.map((value) => Math.fround(value / MAXBOUND[algo])));
            const decoded = dequantizeModelOptWeight(algo, tensors.weight, scales, outFeatures, inFeatures);
            const expected = referenceWeight(algo, weight, scales, inFeatures);
            for (let index = 0; index < expected.length; index += 1) {
              // === makes -0 and 0 equal: a code holds no sign of zero.
              if (decoded[index] !== expected[index])
                expect(`[${index}] ${decoded[index]}`).toBe(`[${index}] ${expected[index]}`);
            }
          },
        ),
        { numRuns: 150 },
      );
    });
  }
});
