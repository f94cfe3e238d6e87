import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { type GPT2LMHeadModel, loadHfGpt2, residentWeights } from '@ptq/hf-gpt2';
import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { kernelAdapterProblem } from './__fixtures__/kernel-adapter-problem';
import type { ForwardLoop } from './calibration-model';
import { type ModelOptQuantizeOptions, modelOptQuantize } from './modelopt-quantize';
import type { QuantizedModel } from './quantized-model';

// Calibrating a model whose weights are read from the checkpoint on demand must give the model that
// calibrating the same checkpoint held in memory gives, bit for bit, and hold no weight afterwards.

const quiet = { log: () => {}, onNotice: () => {} };

function load(weights: 'in-memory' | 'on-demand'): Promise<GPT2LMHeadModel> {
  return loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {}, weights });
}

const kernelProblem = await kernelAdapterProblem();

function batch(rows: number[][], mask: number[][]) {
  const width = rows[0]!.length;
  return {
    ids: createTensor('int64', [rows.length, width], BigInt64Array.from(rows.flat().map(BigInt))),
    mask: createTensor('int64', [rows.length, width], BigInt64Array.from(mask.flat().map(BigInt))),
  };
}
const sequence = (seed: number, length: number) =>
  Array.from({ length }, (_, index) => (seed * 7919 + index * 104729) % 8192);
const batches = [
  batch([sequence(1, 24), sequence(2, 24)], [Array(24).fill(1), [...Array(5).fill(0), ...Array(19).fill(1)]]),
  batch([sequence(3, 40)], [Array(40).fill(1)]),
];
const loop: ForwardLoop = async (model) => {
  for (const { ids, mask } of batches) await model.forward(ids, mask);
};

/** Every tensor the quantized model's modules and quantizers hold, by name, as float32 bits. */
function stateBits(quantized: QuantizedModel): Map<string, Buffer> {
  const bits = new Map<string, Buffer>();
  for (const [name, tensor] of quantized.stateDict()) {
    const data = tensor.data;
    bits.set(name, Buffer.from(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
  }
  return bits;
}

/** Names whose bytes differ (a deep comparison of the embedding's 12.8M elements takes seconds). */
function differingNames(actual: Map<string, Buffer>, expected: Map<string, Buffer>): string[] {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  return [...expected].filter(([name, bytes]) => !bytes.equals(actual.get(name)!)).map(([name]) => name);
}

const cases: Array<
  [string, 'int8-weight-only' | 'int4-weight-only' | 'float8', Partial<ModelOptQuantizeOptions>]
> = [
  ['int8', 'int8-weight-only', { forwardLoop: undefined }],
  ['int4 AWQ-lite block by block on onnxruntime', 'int4-weight-only', { calibrationEngine: 'onnxruntime' }],
  ['int4 AWQ-lite on the whole model', 'int4-weight-only', { calibration: 'whole-model' }],
  ['float8 block by block on onnxruntime', 'float8', { calibrationEngine: 'onnxruntime' }],
];

describe('modelOptQuantize on weights read on demand', () => {
  for (const [title, mode, options] of cases) {
    it(`${title}: the same state bit for bit as in memory, no weight held after`, {
      timeout: 120_000,
    }, async () => {
      const settings = { ...quiet, forwardLoop: loop, ...options };
      const inMemory = await modelOptQuantize(await load('in-memory'), mode, settings);
      const onDemandModel = await load('on-demand');
      const onDemand = await modelOptQuantize(onDemandModel, mode, settings);
      expect(residentWeights(onDemandModel)).toEqual([]);
      expect(differingNames(stateBits(onDemand), stateBits(inMemory))).toEqual([]);
      if (mode === 'int4-weight-only') {
        // AWQ scaled the weights: made again from the checkpoint, they carry the scale.
        const [path, linear] = [...onDemand.linears][0]!;
        expect(linear.input_quantizer.preQuantScale, path).toBeDefined();
      }
      // Reading the state made the weights again; releasing drops them.
      expect(residentWeights(onDemandModel).length).toBeGreaterThan(0);
    });
  }

  it.skipIf(kernelProblem !== undefined)(
    'int4 and float8 on the kernels engine: the same state bit for bit as in memory',
    { timeout: 240_000 },
    async () => {
      for (const mode of ['int4-weight-only', 'float8'] as const) {
        const settings = { ...quiet, forwardLoop: loop, calibrationEngine: 'kernels' as const };
        const inMemory = await modelOptQuantize(await load('in-memory'), mode, settings);
        const onDemandModel = await load('on-demand');
        const onDemand = await modelOptQuantize(onDemandModel, mode, settings);
        expect(residentWeights(onDemandModel)).toEqual([]);
        expect(differingNames(stateBits(onDemand), stateBits(inMemory)), mode).toEqual([]);
      }
    },
  );
});
