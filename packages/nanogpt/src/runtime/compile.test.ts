import { namedModules } from '@ptq/module-path';
import { createTensor, float32ArrayToFloat16, type Tensor } from '@ptq/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { compareLogits, referenceDistance } from '../__fixtures__/compare-logits';
import { dequantizedWeight } from '../__fixtures__/dequantized-weight';
import { float8TieDistance, referenceForward } from '../__fixtures__/reference-forward';
import { tinyModel } from '../__fixtures__/tiny-model';
import type { QuantMode } from '../config';
import type { WeightFormat } from '../graph/weight-format';
import type { GPT } from '../modules/gpt';
import { Linear } from '../modules/linear';
import { compile } from './compile';
import type { CompiledGPT } from './compiled-gpt';

const compiled: CompiledGPT[] = [];
afterAll(async () => {
  await Promise.all(compiled.map((model) => model.release()));
});

async function compileOnCpu(model: GPT, options: Parameters<typeof compile>[1] = {}): Promise<CompiledGPT> {
  const result = await compile(model, { device: 'cpu', ...options });
  compiled.push(result);
  return result;
}

function int64(rows: readonly (readonly number[])[]): Tensor<'int64'> {
  return createTensor('int64', [rows.length, rows[0]!.length], BigInt64Array.from(rows.flat(), BigInt));
}

const IDS = [
  [3, 17, 42, 5, 88, 61, 7, 29, 90, 12, 33, 71],
  [95, 95, 95, 95, 8, 19, 64, 2, 47, 75, 30, 9],
];
const MASK = [
  [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
];

const FLOAT8_SEED = 14;
const FLOAT8_IDS = [
  [3, 17, 42, 5, 88, 61, 7, 29],
  [95, 95, 64, 2, 47, 75, 30, 9],
];
const FLOAT8_MASK = [
  [1, 1, 1, 1, 1, 1, 1, 1],
  [0, 0, 1, 1, 1, 1, 1, 1],
];

function modelTensor(model: GPT, shape: number[], values: Float32Array): Tensor {
  return model.config.dtype === 'float16'
    ? createTensor('float16', shape, float32ArrayToFloat16(values))
    : createTensor('float32', shape, values);
}

/** Calibration-like scales: AWQ scales in [0.5, 2] per input channel, float8 input scales that clip a little. */
function setActivationScales(model: GPT): void {
  let index = 0;
  for (const [, module] of namedModules(model)) {
    if (!(module instanceof Linear)) continue;
    index += 1;
    if (module.pre_quant_scale !== undefined) {
      const values = Float32Array.from(
        { length: module.inFeatures },
        (_, j) => 0.5 + ((j * 37 + index * 11) % 97) / 64,
      );
      module.pre_quant_scale = modelTensor(model, [module.inFeatures], values);
    }
    if (module.input_scale !== undefined) {
      module.input_scale = modelTensor(model, [], Float32Array.of((1.5 + (index % 3)) / 448));
    }
  }
}

describe('compile (CPU)', () => {
  it('gives the logits of an independent float64 forward, unquantized float32', async () => {
    const model = tinyModel();
    const result = await compileOnCpu(model, { batch: 2 });
    expect(result.device).toBe('cpu');
    expect(result.weightFormat).toBeUndefined();
    const { logits } = await result.forward(int64(IDS), int64(MASK));
    expect(logits.shape).toEqual([2, 12, 96]);
    const { maxDifference, range } = compareLogits(logits, referenceForward(model, IDS, MASK));
    expect(maxDifference).toBeLessThanOrEqual(1e-4);
    expect(range).toBeGreaterThan(2);
  });

  it('treats left padding exactly: real tokens get the unpadded row’s logits', async () => {
    const model = tinyModel({ bias: false });
    const result = await compileOnCpu(model, { batch: 2 });
    const padded = await result.forward(int64(IDS), int64(MASK));
    const alone = await result.forward(int64([IDS[1]!.slice(4)]));
    let difference = 0;
    for (let position = 0; position < 8; position += 1) {
      for (let token = 0; token < 96; token += 1) {
        const left = padded.logits.data[(12 + 4 + position) * 96 + token]!;
        difference = Math.max(difference, Math.abs(left - alone.logits.data[position * 96 + token]!));
      }
    }
    expect(difference).toBeLessThanOrEqual(1e-4);
    expect(padded.logits.data.every(Number.isFinite)).toBe(true);
  });

  it.each<[QuantMode, WeightFormat, number]>([
    ['int8-weight-only', 'matmul-nbits', 128],
    ['int8-weight-only', 'dequantize-linear', 128],
    ['int4-weight-only', 'matmul-nbits', 128],
    ['int4-weight-only', 'dequantize-linear', 128],
    ['int4-weight-only', 'matmul-nbits', 192],
    ['int4-weight-only', 'dequantize-linear', 192],
  ])(
    '%s with %s (width %d) gives the forward of the dequantized weights',
    async (quantMode, weightFormat, width) => {
      const model = tinyModel({ quantMode, embeddingSize: width });
      setActivationScales(model);
      const result = await compileOnCpu(model, { batch: 2, weightFormat });
      expect(result.weightFormat).toBe(weightFormat);
      const { logits } = await result.forward(int64(IDS), int64(MASK));
      const reference = referenceForward(model, IDS, MASK, {
        weightOf: (_, linear) => dequantizedWeight(linear),
      });
      expect(compareLogits(logits, reference).maxDifference).toBeLessThanOrEqual(1e-4);
      // Not vacuous: quantizing the weights changes the logits far beyond the tolerance.
      expect(referenceDistance(reference, referenceForward(model, IDS, MASK))).toBeGreaterThan(1e-2);
    },
  );

  // A float8 input that lies within float32 noise of a rounding boundary (a tie between two e4m3
  // values) may round one way in the float32 graph and the other in the float64 reference, and one
  // flipped element moves the logits far beyond 1e-4. So this model (width 64, seed 14) was picked
  // so that no input of a real token lies within 1e-5 (relative) of a boundary, which is asserted
  // first: if the weights or the prompt change, pick another seed that passes that check.
  it.each<[WeightFormat]>([['dequantize-linear'], ['lookup']])(
    'float8 with %s gives the forward of the dequantized weights and codec-quantized inputs',
    async (weightFormat) => {
      const model = tinyModel({ quantMode: 'float8', embeddingSize: 64 }, FLOAT8_SEED);
      setActivationScales(model);
      let nearTies = 0;
      let quantized = 0;
      const reference = referenceForward(model, FLOAT8_IDS, FLOAT8_MASK, {
        weightOf: (_, linear) => dequantizedWeight(linear),
        onFakeQuant: (value, scale) => {
          quantized += 1;
          if (float8TieDistance(value, scale) < 1e-5) nearTies += 1;
        },
      });
      expect(quantized).toBe(14 * (2 * (64 + 64 + 64 + 256) + 64));
      expect(nearTies).toBe(0);
      const result = await compileOnCpu(model, { batch: 2, weightFormat });
      const { logits } = await result.forward(int64(FLOAT8_IDS), int64(FLOAT8_MASK));
      expect(compareLogits(logits, reference).maxDifference).toBeLessThanOrEqual(1e-4);
      const unquantizedInputs = referenceForward(model, FLOAT8_IDS, FLOAT8_MASK, {
        weightOf: (_, linear) => dequantizedWeight(linear),
        quantizeInputs: false,
      });
      expect(referenceDistance(reference, unquantizedInputs)).toBeGreaterThan(1e-2);
    },
  );

  it('gives the same logits with pre_quant_scale folded into the LayerNorms or multiplied in', async () => {
    const model = tinyModel({ quantMode: 'int4-weight-only', embeddingSize: 192 });
    setActivationScales(model);
    const folded = await (await compileOnCpu(model, { batch: 2 })).forward(int64(IDS), int64(MASK));
    const unfolded = await (await compileOnCpu(model, { batch: 2, foldPreQuantScale: false })).forward(
      int64(IDS),
      int64(MASK),
    );
    const reference = referenceForward(model, IDS, MASK);
    expect(compareLogits(folded.logits, reference).maxDifference).toBeGreaterThan(0);
    let difference = 0;
    folded.logits.data.forEach((value, index) => {
      if (index >= 12 * 96 + 0 && index < 16 * 96) return; // the left-pad positions of row 1
      difference = Math.max(difference, Math.abs(value - unfolded.logits.data[index]!));
    });
    expect(difference).toBeLessThanOrEqual(1e-4);
  });

  it.each<[QuantMode | undefined]>([[undefined], ['int8-weight-only'], ['int4-weight-only']])(
    'float16 %s stays within 2e-2 of the logit range',
    async (quantMode) => {
      const model = tinyModel({ dtype: 'float16', quantMode });
      setActivationScales(model);
      const result = await compileOnCpu(model, { batch: 2 });
      const { logits } = await result.forward(int64(IDS), int64(MASK));
      expect(logits.dtype).toBe('float32');
      const reference = referenceForward(model, IDS, MASK, {
        weightOf: (_, linear) => dequantizedWeight(linear),
      });
      const { maxDifference, range } = compareLogits(logits, reference);
      expect(maxDifference).toBeLessThanOrEqual(2e-2 * range);
    },
  );

  // float16 activations carry ~1e-3 relative error, enough to move many float8 inputs across a
  // rounding boundary, and each crossing is a whole float8 step (1/16 to 1/8 relative). So the
  // float16 float8 model is held to its mean error (measured 0.4 to 0.8 % of the range over four
  // seeds) and to a looser maximum (measured 3 to 5 %).
  it('float16 float8 stays close to the reference on average', async () => {
    const model = tinyModel({ dtype: 'float16', quantMode: 'float8', embeddingSize: 64 }, FLOAT8_SEED);
    setActivationScales(model);
    const result = await compileOnCpu(model, { batch: 2 });
    const { logits } = await result.forward(int64(FLOAT8_IDS), int64(FLOAT8_MASK));
    const reference = referenceForward(model, FLOAT8_IDS, FLOAT8_MASK, {
      weightOf: (_, linear) => dequantizedWeight(linear),
    });
    const { maxDifference, range } = compareLogits(logits, reference);
    let total = 0;
    let count = 0;
    reference.forEach((row, rowIndex) => {
      row.forEach((values, position) => {
        values?.forEach((value, token) => {
          total += Math.abs(logits.data[(rowIndex * 8 + position) * 96 + token]! - value);
          count += 1;
        });
      });
    });
    expect(total / count).toBeLessThanOrEqual(1e-2 * range);
    expect(maxDifference).toBeLessThanOrEqual(1e-1 * range);
  });

  it('refuses bad options and inputs with the limit named', async () => {
    const model = tinyModel();
    await expect(compile(model, { device: 'cpu', maxSequence: 33 })).rejects.toThrow(
      'Invalid argument "maxSequence": must be an integer in [1, 32], got 33',
    );
    await expect(compile(model, { device: 'cpu', batch: 0 })).rejects.toThrow(
      'Invalid argument "batch": must be a positive integer, got 0',
    );
    await expect(compile(model, { device: 'cpu', weightFormat: 'lookup' })).rejects.toThrow(
      'applies to quantized models only',
    );
    await expect(compile(model, { device: 'tpu' as never })).rejects.toThrow(
      'must be one of auto, cpu, webgpu, cuda',
    );
    const result = await compileOnCpu(model, { maxSequence: 8, batch: 1 });
    await expect(result.forward(int64(IDS))).rejects.toThrow(
      'Invalid argument "inputIds": batch must be in [1, 1] (the compiled batch), got 2',
    );
    await expect(result.forward(int64([IDS[0]!]))).rejects.toThrow(
      'sequence length must be in [1, 8] (the compiled maxSequence), got 12',
    );
    await expect(result.forward(int64([[1, 96]]))).rejects.toThrow(
      'token id 96 at [0, 1] is outside the vocabulary [0, 95]',
    );
    await expect(result.forward(int64([[1, 2]]), int64([[1, 2]]))).rejects.toThrow(
      'Invalid argument "attentionMask": entries must be 0 or 1, got 2 at [0, 1]',
    );
    await expect(result.forward(int64([[1, 2]]), int64([[1]]))).rejects.toThrow(
      'must have the shape of inputIds [1, 2], got [1, 1]',
    );
    await expect(result.forward(createTensor('int32', [1, 2]) as never)).rejects.toThrow(
      'must be an int64 tensor [batch, sequence], got int32 [1, 2]',
    );
    await result.release();
    await expect(result.forward(int64([[1, 2]]))).rejects.toThrow('the session has been released');
  });
});
