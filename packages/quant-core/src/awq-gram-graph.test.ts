import { createForwardLoop } from '@ptq/calibration';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { createSession, type SessionHandle, toOrtTensor } from '@ptq/onnx';
import { serializeModel } from '@ptq/onnx-format';
import { createTensor, type Tensor } from '@ptq/tensor';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeQuantizedScaled } from './__fixtures__/awq-fake-quant-reference';
import { awqGramLossGraph } from './awq-gram-graph';
import { awqAlphas, awqScale, awqWeightScale } from './awq-lite';
import { AwqSearchGraphs } from './awq-search-graph';
import { tappedModel } from './calibration-model';
import { quantConfigForMode } from './quant-config';
import { quantizeLinears } from './quantize-linears';

/**
 * ModelOpt's loss as defined, in float64 from the float32 inputs (Q's steps in float32, as
 * ModelOpt's): Σ_b mean over (N_b × out) of ((X_b·diag(1/s))·Qᵀ − X_b·Wᵀ)², token by token — no Gram
 * matrix. Also returns Σ_b mean(y²), the scale of the outputs whose float32 rounding the graph's
 * loss inherits.
 */
function definitionLoss(
  batches: readonly Float32Array[],
  w: Float32Array,
  s: Float32Array,
  inverse: Float32Array,
  out: number,
  inFeatures: number,
  blockSize: number,
): { loss: number; outputSquares: number } {
  const quantized = fakeQuantizedScaled(w, s, out, inFeatures, blockSize);
  let loss = 0;
  let outputSquares = 0;
  for (const x of batches) {
    const tokens = x.length / inFeatures;
    let sum = 0;
    let squares = 0;
    for (let token = 0; token < tokens; token++) {
      for (let row = 0; row < out; row++) {
        let reference = 0;
        let candidate = 0;
        for (let column = 0; column < inFeatures; column++) {
          const input = x[token * inFeatures + column]!;
          reference += input * w[row * inFeatures + column]!;
          candidate += input * inverse[column]! * quantized[row * inFeatures + column]!;
        }
        sum += (candidate - reference) ** 2;
        squares += reference ** 2;
      }
    }
    loss += sum / (tokens * out);
    outputSquares += squares / (tokens * out);
  }
  return { loss, outputSquares };
}

/**
 * Random float32 values in [-amplitude, amplitude], as fast-check draws them; below 1e-6 of it they
 * are 0 (a block of subnormal weights has 7/amax = ∞ and NaN codes in ModelOpt's arithmetic too).
 */
function floats(count: number, amplitude: number) {
  return fc
    .array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: count, maxLength: count })
    .map((values) =>
      Float32Array.from(values, (value) => (Math.abs(value) < 1e-6 ? 0 : Math.fround(value * amplitude))),
    );
}

const shapes = fc.record({
  inFeatures: fc.integer({ min: 1, max: 40 }),
  out: fc.integer({ min: 1, max: 6 }),
  blockSize: fc.constantFrom(4, 8, 16, 128),
  tokens: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
  alphas: fc.integer({ min: 1, max: 3 }),
});

const cases = shapes.chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    batches: fc.tuple(...shape.tokens.map((tokens) => floats(tokens * shape.inFeatures, 3))),
    weight: floats(shape.out * shape.inFeatures, 0.2),
    // Scales in [1/8, 8], as AWQ's normalised scales are spread.
    scales: fc.array(
      fc
        .array(fc.double({ min: -3, max: 3, noNaN: true }), {
          minLength: shape.inFeatures,
          maxLength: shape.inFeatures,
        })
        .map((exponents) => Float32Array.from(exponents, (exponent) => Math.fround(2 ** exponent))),
      { minLength: shape.alphas, maxLength: shape.alphas },
    ),
  }),
);

describe('the Gram form of the AWQ search', () => {
  const gpuForms = new Map<string, Promise<SessionHandle>>();
  afterAll(async () => {
    for (const handle of gpuForms.values()) await (await handle).session.release();
  });

  it('gives the float64 loss of the definition, summed over batches of unequal length, in both graph forms', async () => {
    const graphs = new AwqSearchGraphs('cpu', 2 ** 30);
    await fc.assert(
      fc.asyncProperty(cases, async ({ shape, batches, weight, scales }) => {
        const { inFeatures, out, blockSize } = shape;
        const inverses = scales.map((scale) => scale.map((value) => Math.fround(1 / value)));
        let gram: Awaited<ReturnType<AwqSearchGraphs['addToGram']>>;
        for (const x of batches) {
          gram = await graphs.addToGram(
            createTensor('float32', [x.length / inFeatures, inFeatures], x),
            gram,
          );
        }
        const weightTensor = createTensor('float32', [out, inFeatures], weight);
        const losses = await graphs.gramLosses(gram!, weightTensor, scales, inverses, blockSize);
        // The GPU form (magic-number rounding), run on the CPU provider.
        const key = `${blockSize}/${inFeatures % blockSize !== 0}`;
        if (!gpuForms.has(key)) {
          const graph = awqGramLossGraph(blockSize, inFeatures % blockSize !== 0, { forGpu: true });
          gpuForms.set(key, createSession(serializeModel(graph), { device: 'cpu' }));
        }
        const { session } = await gpuForms.get(key)!;
        const stacked = (rows: Float32Array[]) =>
          toOrtTensor(
            createTensor(
              'float32',
              [rows.length, 1, inFeatures],
              Float32Array.from(rows.flatMap((row) => [...row])),
            ),
          );
        const gpu = await session.run({
          w: toOrtTensor(weightTensor),
          h: gram!,
          s: stacked(scales),
          inverse_s: stacked(inverses),
        });
        const gpuLosses = [...(gpu.losses!.data as Float32Array)];
        gram!.dispose();
        expect(losses).toHaveLength(scales.length);
        for (let index = 0; index < scales.length; index++) {
          const { loss, outputSquares } = definitionLoss(
            batches,
            weight,
            scales[index]!,
            inverses[index]!,
            out,
            inFeatures,
            blockSize,
          );
          // float32 rounds H, D and the sums to ~1e-7 of the values they carry; the loss can cancel
          // down to rounding noise of the outputs (a block quantized exactly), hence the second term.
          const tolerance = 1e-5 * loss + 1e-6 * outputSquares;
          expect(Math.abs(losses[index]! - loss)).toBeLessThanOrEqual(tolerance);
          expect(Math.abs(gpuLosses[index]! - loss)).toBeLessThanOrEqual(tolerance);
        }
      }),
      { numRuns: 150 },
    );
    await graphs.dispose();
  }, 120_000);

  it('on real calibration inputs, gives the float64 losses to 1e-6 where the outputs form is off by its float32 sums (padded too)', async () => {
    const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    const linears = quantizeLinears(model, quantConfigForMode('int4-weight-only'));
    const path = 'transformer.h.0.attn.c_attn';
    const loop = await createForwardLoop(model, 'cnn_dailymail', model.tokenizer!, 'cpu', 8, 8, {
      onNotice: () => {},
    });
    let captured: Tensor<'float32'> | undefined;
    let actScale: Float32Array | undefined;
    await loop(
      tappedModel(model, [{ module: path, input: true, absMeanPerChannel: true }], (taps) => {
        captured = taps.get(path)!.input!;
        actScale = taps.get(path)!.absMeanPerChannel!;
      }),
    );
    const linear = linears.get(path)!;
    const [out = 0, inFeatures = 0] = linear.weight.shape;
    expect([out, inFeatures]).toEqual([768, 256]);
    // 8 samples of up to 512 tokens, padding left out.
    expect(captured!.shape[0]).toBeGreaterThan(4000);
    // The one batch's rows regrouped into two batches of unequal length: each is weighted by 1/N_b.
    const split = 1000 * inFeatures;
    const batches = [captured!.data.slice(0, split), captured!.data.slice(split)];
    const inputs = batches.map((x) => createTensor('float32', [x.length / inFeatures, inFeatures], x));
    const gramDouble = new Float64Array(inFeatures * inFeatures);
    for (const x of batches) {
      const tokens = x.length / inFeatures;
      for (let token = 0; token < tokens; token++) {
        for (let i = 0; i < inFeatures; i++) {
          const value = x[token * inFeatures + i]! / tokens;
          for (let j = 0; j < inFeatures; j++)
            gramDouble[i * inFeatures + j]! += value * x[token * inFeatures + j]!;
        }
      }
    }
    const alphas = awqAlphas(0.1);
    const graphs = new AwqSearchGraphs('cpu', 2 ** 30);
    let gram: Awaited<ReturnType<AwqSearchGraphs['addToGram']>>;
    for (const input of inputs) gram = await graphs.addToGram(input, gram);
    // Block size 96 leaves a partial last block of 64: the padded graphs.
    for (const blockSize of [128, 96]) {
      const weightScale = awqWeightScale(linear.weight, blockSize);
      const scales = alphas.map((alpha) => awqScale(actScale!, weightScale, alpha));
      const inverses = scales.map((scale) => scale.map((value) => Math.fround(1 / value)));
      const fromGram = await graphs.gramLosses(gram!, linear.weight, scales, inverses, blockSize);
      const fromOutputs = alphas.map(() => 0);
      for (const input of inputs) {
        const batchLosses = await graphs.losses(
          input,
          linear.weight,
          linear.bias!,
          scales,
          inverses,
          blockSize,
        );
        for (let index = 0; index < alphas.length; index++) fromOutputs[index]! += batchLosses[index]!;
      }
      // Σ_o D·H·Dᵀ / out in float64 (H from the float32 rows, D from Q's float32 steps).
      const exact = scales.map((scale, index) => {
        const quantized = fakeQuantizedScaled(linear.weight.data, scale, out, inFeatures, blockSize);
        const difference = new Float64Array(inFeatures);
        let sum = 0;
        for (let row = 0; row < out; row++) {
          for (let i = 0; i < inFeatures; i++) {
            difference[i] =
              quantized[row * inFeatures + i]! * inverses[index]![i]! -
              linear.weight.data[row * inFeatures + i]!;
          }
          for (let i = 0; i < inFeatures; i++) {
            let product = 0;
            for (let j = 0; j < inFeatures; j++) product += gramDouble[i * inFeatures + j]! * difference[j]!;
            sum += product * difference[i]!;
          }
        }
        return sum / out;
      });
      const argmin = (losses: number[]) => losses.indexOf(Math.min(...losses));
      for (let index = 0; index < alphas.length; index++) {
        const what = `block ${blockSize}, alpha ${alphas[index]}`;
        expect(Math.abs(fromGram[index]! / exact[index]! - 1), what).toBeLessThan(1e-6);
        // The outputs form sums N × out squares in float32 (4081 × 768 here): a few 1e-4 low.
        expect(Math.abs(fromOutputs[index]! / exact[index]! - 1), what).toBeLessThan(1e-3);
        expect(Math.abs(fromGram[index]! / fromOutputs[index]! - 1), what).toBeLessThan(1e-3);
      }
      expect(argmin(fromGram)).toBe(argmin(exact));
      expect(argmin(fromOutputs)).toBe(argmin(exact));
    }
    gram!.dispose();
    await graphs.dispose();
  }, 120_000);

  it('takes as many candidates a run as the memory of ten weight-sized intermediates allows, whatever the tokens', () => {
    // GPT-2-124M's c_fc: 94.4 MB a candidate, 2 in the host's 256 MiB; on a GPU 45 in 4 GiB.
    expect(new AwqSearchGraphs('cpu', 2 ** 30).gramCandidatesPerRun(768, 3072)).toBe(2);
    expect(new AwqSearchGraphs('webgpu', 2 ** 20).gramCandidatesPerRun(768, 3072, 'webgpu')).toBe(45);
    // The bundled model's c_attn: 7.9 MB a candidate, 34 in 256 MiB.
    expect(new AwqSearchGraphs('cpu', 2 ** 30).gramCandidatesPerRun(256, 768)).toBe(34);
    expect(new AwqSearchGraphs('cpu', 2 ** 20).gramCandidatesPerRun(256, 768)).toBe(1);
  });
});
