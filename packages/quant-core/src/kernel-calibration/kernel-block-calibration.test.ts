import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { InvalidArgumentError } from '@ptq/errors';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { requestKernelDevice } from '@ptq/nanogpt';
import { createTensor } from '@ptq/tensor';
import { FULL_TESTS } from '@ptq/vitest-config/full-tests';
import { describe, expect, it } from 'vitest';
import { kernelAdapterProblem } from '../__fixtures__/kernel-adapter-problem';
import type { ForwardLoop } from '../calibration-model';
import { percentileCalibrator } from '../calibrator';
import { type ModelOptQuantizeOptions, modelOptQuantize, type QuantizeProgress } from '../modelopt-quantize';
import { quantConfigForMode } from '../quant-config';
import { quantizeLinears } from '../quantize-linears';
import { recordBatches } from '../record-batches';
import { calibrateOnKernels } from './kernel-block-calibration';

const quiet = { log: () => {}, onNotice: () => {} };

function load() {
  return loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
}

const problem = await kernelAdapterProblem();
if (problem !== undefined) console.warn(`kernel calibration tests skipped: ${problem}`);

function ids(rows: number[][], mask?: number[][]) {
  const width = rows[0]!.length;
  return {
    ids: createTensor('int64', [rows.length, width], BigInt64Array.from(rows.flat().map(BigInt))),
    mask: createTensor(
      'int64',
      [rows.length, width],
      BigInt64Array.from((mask ?? rows.map((row) => row.map(() => 1))).flat().map(BigInt)),
    ),
  };
}

/**
 * Batches of three lengths, one with a row padded on the left and one with a row padded on the right.
 * For float8's maxima the kernels run them all together, longest first, each padded to 70 tokens; for
 * AWQ only the two of length 40 run together.
 */
function textBatches() {
  const sequence = (seed: number, length: number) =>
    Array.from({ length }, (_, index) => (seed * 7919 + index * 104729) % 8192);
  const padded = (length: number, left: number, right: number) =>
    Array.from({ length }, (_, index) => (index < left || index >= length - right ? 0 : 1));
  return [
    ids([sequence(1, 40), sequence(2, 40)], [padded(40, 0, 0), padded(40, 9, 0)]),
    ids([sequence(3, 40)]),
    ids([sequence(4, 17)]),
    ids(
      [sequence(5, 70), sequence(6, 70), sequence(7, 70)],
      [padded(70, 0, 0), padded(70, 0, 25), padded(70, 0, 0)],
    ),
  ];
}

/** The first index where two arrays differ (by `Object.is`, lengths included), or -1. */
function firstDifference(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Math.min(actual.length, expected.length);
  return expected.findIndex((value, index) => !Object.is(actual[index], value));
}

function loopOver(batches: ReturnType<typeof ids>[]): ForwardLoop {
  return async (model) => {
    for (const { ids: inputIds, mask } of batches) await model.forward(inputIds, mask);
  };
}

describe.skipIf(problem !== undefined)('calibration on the kernels engine', () => {
  it('float8: every input amax (lm_head included) within 1e-5 of onnxruntime on the CPU, progress per block and batch', async () => {
    const forwardLoop = loopOver(textBatches());
    const reference = await modelOptQuantize(await load(), 'float8', {
      ...quiet,
      forwardLoop,
      calibrationEngine: 'onnxruntime',
    });
    const events: QuantizeProgress[] = [];
    const kernels = await modelOptQuantize(await load(), 'float8', {
      ...quiet,
      forwardLoop,
      calibrationEngine: 'kernels',
      onProgress: (event) => events.push(event),
    });
    const paths = [...reference.linears.keys()];
    expect(paths).toHaveLength(17);
    for (const path of paths) {
      const expected = reference.linears.get(path)!.input_quantizer.amax!.data[0]!;
      const actual = kernels.linears.get(path)!.input_quantizer.amax!.data[0]!;
      expect(expected, path).toBeGreaterThan(0);
      expect(Math.abs(actual / expected - 1), path).toBeLessThan(1e-5);
      // The weights' amax come from the weights alone: equal to the bit.
      expect([...kernels.linears.get(path)!.weight_quantizer.amax!.data], path).toEqual([
        ...reference.linears.get(path)!.weight_quantizer.amax!.data,
      ]);
      // The block linears' weights came back transposed from the device, as the host transposes them.
      if (path !== 'lm_head') expect(kernels.linears.get(path)!.conv1dWeight(), path).toBeUndefined();
      expect(
        firstDifference(kernels.linears.get(path)!.weight.data, reference.linears.get(path)!.weight.data),
        path,
      ).toBe(-1);
    }
    const blockEvents = events.filter((event) => event.phase === 'calibrate-block');
    expect(blockEvents).toHaveLength(4 * 4);
    expect(blockEvents.at(-1)).toEqual({
      phase: 'calibrate-block',
      block: 4,
      blocks: 4,
      batch: 4,
      batches: 4,
      done: 16,
      total: 16,
    });
  }, 300_000);

  // `pnpm test` calibrates on one sample of 128 tokens (llvmpipe runs the kernels slowly);
  // `pnpm test:full` on the default 16 samples of 512. Both engines score the Gram form.
  const samples = FULL_TESTS ? { numSamples: 16 } : { numSamples: 1, maxSampleLength: 128 };
  it(`int4 AWQ on ${samples.numSamples} sample(s) of the default dataset: the same alphas as onnxruntime on the CPU, the same losses up to float32 rounding`, async () => {
    const calibrate = async (engine: ModelOptQuantizeOptions['calibrationEngine']) => {
      const forms: string[] = [];
      const quantized = await modelOptQuantize(await load(), 'int4-weight-only', {
        ...quiet,
        ...samples,
        awqLossForm: 'gram',
        calibrationEngine: engine,
        onProgress: (event: QuantizeProgress) => {
          if (event.phase === 'awq-search') forms.push(event.lossForm!);
        },
      });
      return { awq: quantized.awq!, forms, state: quantized.stateDict() };
    };
    const reference = await calibrate('onnxruntime');
    const kernels = await calibrate('kernels');
    expect(kernels.forms).toEqual(Array(16).fill('gram'));
    expect([...kernels.awq.keys()]).toEqual([...reference.awq.keys()]);
    const differences: number[] = [];
    for (const [path, expected] of reference.awq) {
      const actual = kernels.awq.get(path)!;
      expect(actual.alpha, path).toBe(expected.alpha);
      expect(actual.losses).toHaveLength(11);
      for (let index = 0; index < expected.losses.length; index++) {
        differences.push(Math.abs(actual.losses[index]! / expected.losses[index]! - 1));
      }
    }
    // Most losses agree within 1e-6. The kernels' act_scale and weight statistic differ from the
    // host's in their last bits (other summation orders), and a candidate's scale that moves a weight
    // across a rounding midpoint moves that loss by up to about 1e-3.
    differences.sort((left, right) => left - right);
    expect(differences[Math.floor(differences.length / 2)]).toBeLessThan(1e-5);
    expect(differences.at(-1)).toBeLessThan(1e-2);
    // The kernels hand each scale over while the next block runs, and it is applied then: the
    // scaled weights, their block amax and the pre-quant scales match the host's up to the scales'
    // last bits (a scale applied twice, or not at all, would be off by the scale itself).
    const scaled = [...reference.state.keys()].filter((key) =>
      /\.(weight|weight_quantizer\._amax|input_quantizer\._pre_quant_scale)$/.test(key),
    );
    expect(scaled.filter((key) => key.endsWith('_pre_quant_scale'))).toHaveLength(16);
    for (const key of scaled) {
      const expected = reference.state.get(key)!.data as Float32Array;
      const actual = kernels.state.get(key)!.data as Float32Array;
      let worst = 0;
      let largest = 0;
      for (let index = 0; index < expected.length; index++) {
        worst = Math.max(worst, Math.abs(actual[index]! - expected[index]!));
        largest = Math.max(largest, Math.abs(expected[index]!));
      }
      expect(worst / largest, key).toBeLessThan(1e-4);
    }
  }, 600_000);

  it('int4: each chosen scale comes back applied on the device, W·diag(s) and its block amax equal to what the host computes, to the bit', async () => {
    const model = await load();
    const linears = quantizeLinears(model, quantConfigForMode('int4-weight-only'));
    // The Conv1D weights as loaded, [in, out], transposed here without reading `weight` (which would
    // transpose them on the host): the kernels take them as they are and transpose them on the device.
    const original = new Map(
      [...linears].map(([path, linear]) => {
        const conv1d = linear.conv1dWeight()!;
        const { inFeatures, outFeatures } = linear;
        const rows = Float32Array.from(
          { length: conv1d.length },
          (_, index) => conv1d[(index % inFeatures) * outFeatures + Math.floor(index / inFeatures)]!,
        );
        return [path, rows];
      }),
    );
    const batches = await recordBatches(model, loopOver(textBatches().slice(0, 2)));
    const found = await requestKernelDevice({ allowSoftwareAdapter: true });
    const handed: string[] = [];
    try {
      const result = await calibrateOnKernels(model, linears, batches, {
        device: found.device,
        inputCalibrators: new Map(),
        awqAlphaStep: 0.1,
        onAwqScale: (path, scale, scaled) => {
          handed.push(path);
          const linear = linears.get(path)!;
          // Transposed on the device: the host's array holds [out, in] already.
          expect(linear.conv1dWeight(), path).toBeUndefined();
          const [out = 0, inFeatures = 0] = linear.weight.shape;
          const weight = original.get(path)!;
          const expected = Float32Array.from(weight, (value, index) =>
            Math.fround(value * scale[index % inFeatures]!),
          );
          expect(scaled!.blockSize).toBe(128);
          expect(firstDifference(scaled!.weight, expected), path).toBe(-1);
          const blocks = Math.ceil(inFeatures / 128);
          const amax = new Float32Array(out * blocks);
          expected.forEach((value, index) => {
            const at = Math.floor(index / inFeatures) * blocks + Math.floor((index % inFeatures) / 128);
            amax[at] = Math.max(amax[at]!, Math.abs(value));
          });
          expect(firstDifference(scaled!.blockAmax, amax), path).toBe(-1);
        },
      });
      // Every linear once, in order, with the scale the result reports.
      expect(handed).toEqual([...result.awqScales.keys()]);
      expect(handed).toHaveLength(16);
    } finally {
      found.device.destroy();
    }
  }, 300_000);

  it('refuses, by name, what the kernels do not run when they are asked for outright', async () => {
    const percentile = modelOptQuantize(await load(), 'float8', {
      ...quiet,
      forwardLoop: loopOver(textBatches()),
      calibrationEngine: 'kernels',
      inputCalibrator: percentileCalibrator(99.9),
    });
    await expect(percentile).rejects.toThrow(InvalidArgumentError);
    await expect(percentile).rejects.toThrow(
      /calibrationEngine.*transformer\.h\.0\.attn\.c_attn reads whole activations/,
    );
    await expect(
      modelOptQuantize(await load(), 'int4-weight-only', {
        ...quiet,
        forwardLoop: loopOver(textBatches()),
        calibrationEngine: 'kernels',
        awqLossForm: 'outputs',
      }),
    ).rejects.toThrow(/Gram form/);
  }, 120_000);
});
