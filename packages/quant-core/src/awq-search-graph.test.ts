import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { AwqSearchGraphs } from './awq-search-graph';

/** The loss of one candidate as ModelOpt computes it, elementwise in float32, the mean in float64. */
function referenceLoss(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  s: Float32Array,
  tokens: number,
  inFeatures: number,
  out: number,
  blockSize: number,
): number {
  const quantized = new Float32Array(out * inFeatures);
  for (let row = 0; row < out; row++) {
    for (let start = 0; start < inFeatures; start += blockSize) {
      const end = Math.min(start + blockSize, inFeatures);
      let amax = 0;
      for (let column = start; column < end; column++) {
        amax = Math.max(amax, Math.abs(Math.fround(w[row * inFeatures + column]! * s[column]!)));
      }
      const scale = Math.fround(Math.fround(1 / amax) * 7);
      for (let column = start; column < end; column++) {
        const value = Math.fround(w[row * inFeatures + column]! * s[column]!);
        const code = Math.min(7, Math.max(-8, roundHalfEven(Math.fround(value * scale))));
        quantized[row * inFeatures + column] = amax > 0 ? Math.fround(code / scale) : 0;
      }
    }
  }
  let sum = 0;
  for (let token = 0; token < tokens; token++) {
    for (let row = 0; row < out; row++) {
      let reference = 0;
      let candidate = 0;
      for (let column = 0; column < inFeatures; column++) {
        const input = x[token * inFeatures + column]!;
        reference += input * w[row * inFeatures + column]!;
        candidate += Math.fround(input * Math.fround(1 / s[column]!)) * quantized[row * inFeatures + column]!;
      }
      const difference = candidate + b[row]! - (reference + b[row]!);
      sum += difference * difference;
    }
  }
  return sum / (tokens * out);
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

function values(count: number, seed: number, amplitude: number): Float32Array {
  return Float32Array.from({ length: count }, (_, index) =>
    Math.fround(Math.sin(index * 12.9898 + seed) * amplitude),
  );
}

describe('AwqSearchGraphs', () => {
  it('scores stacked candidates as one candidate alone, and as a float64 reference (in a partial last block too)', async () => {
    for (const [inFeatures, out, tokens] of [
      [200, 24, 5],
      [256, 16, 3],
    ] as const) {
      const x = values(tokens * inFeatures, 1, 2);
      const w = values(out * inFeatures, 2, 0.05);
      const b = values(out, 3, 0.1);
      const scales = [0.5, 1, 2, 3].map((exponent, index) =>
        Float32Array.from({ length: inFeatures }, (_, column) =>
          Math.fround(1 + ((column * (index + 1)) % 7) / exponent),
        ),
      );
      const inverses = scales.map((scale) => scale.map((value) => Math.fround(1 / value)));
      const input = createTensor('float32', [tokens, inFeatures], x);
      const weight = createTensor('float32', [out, inFeatures], w);
      const bias = createTensor('float32', [out], b);
      const graphs = new AwqSearchGraphs('cpu', 2 ** 30);
      const stacked = await graphs.losses(input, weight, bias, scales, inverses, 128);
      const alone: number[] = [];
      for (let index = 0; index < scales.length; index++) {
        alone.push(...(await graphs.losses(input, weight, bias, [scales[index]!], [inverses[index]!], 128)));
      }
      await graphs.dispose();
      expect(stacked).toEqual(alone);
      for (let index = 0; index < scales.length; index++) {
        const expected = referenceLoss(x, w, b, scales[index]!, tokens, inFeatures, out, 128);
        expect(expected).toBeGreaterThan(0);
        expect(Math.abs(stacked[index]! / expected - 1), `${inFeatures}: candidate ${index}`).toBeLessThan(
          1e-3,
        );
      }
    }
  });

  it('splits candidates into runs under the memory budget', () => {
    const graphs = new AwqSearchGraphs('cpu', 2 ** 30);
    // GPT-2-large's c_fc, 64 tokens: 8 weight-sized copies of 26 MB each exceed the 256 MiB cap alone.
    expect(graphs.candidatesPerRun(64, 1280, 5120)).toBe(1);
    expect(graphs.candidatesPerRun(64, 256, 1024)).toBe(29);
    expect(new AwqSearchGraphs('cpu', 2 ** 20).candidatesPerRun(64, 256, 1024)).toBe(1);
  });
});
