import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { InvalidArgumentError } from '@ptq/errors';
import { buildGptGraph, compile, type GPT, generate } from '@ptq/nanogpt';
import { serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import {
  quantizedDefaultModel,
  runtimeDefaultModel,
  temporaryFolder,
} from './__fixtures__/quantized-default-model';
import { runOnnxFile } from './__fixtures__/run-onnx-file';
import { exportModelOptCheckpoint } from './export-modelopt-checkpoint';
import { exportOnnx } from './export-onnx';
import { openOnnxExport } from './open-onnx-export';

const IDS = [486, 856, 438, 472, 12, 199, 552];

/** The runtime's logits from the graph the exports hold (standard operators, not compile's fused ones). */
async function runtimeLogits(gpt: GPT): Promise<Float32Array> {
  const compiled = await compile(gpt, { device: 'cpu', maxSequence: 32, operators: 'standard' });
  try {
    return (await compiled.forward(createTensor('int64', [1, IDS.length], BigInt64Array.from(IDS, BigInt))))
      .logits.data;
  } finally {
    await compiled.release();
  }
}

function maxDifference(left: Float32Array, right: Float32Array): number {
  expect(left.length).toBe(right.length);
  let largest = 0;
  for (let index = 0; index < left.length; index += 1)
    largest = Math.max(largest, Math.abs(left[index]! - right[index]!));
  return largest;
}

describe('openOnnxExport', () => {
  // Quantizes the bundled model with AWQ-lite, then generates with both models.
  it('runs an int4 export exactly as the runtime model, forward and greedy generation', async () => {
    const gpt = await runtimeDefaultModel('int4-weight-only');
    const folder = join(await temporaryFolder(), 'q4');
    await exportOnnx(gpt, folder, { sourceDir: DEFAULT_MODEL_DIR });
    const opened = await openOnnxExport(folder, { device: 'cpu', maxSequence: 32 });
    try {
      expect(opened.mode).toBe('int4-weight-only');
      expect(opened.modelFile).toBe('onnx/model_q4.onnx');
      expect(opened.compiled.config).toEqual(gpt.config);
      expect(opened.compiled.weightFormat).toBe('matmul-nbits');
      const ids = createTensor('int64', [1, IDS.length], BigInt64Array.from(IDS, BigInt));
      expect((await opened.compiled.forward(ids)).logits.data).toEqual(await runtimeLogits(gpt));
      const fromExport = await generate(opened.compiled, IDS, { maxNewTokens: 10 });
      const runtime = await compile(gpt, { device: 'cpu', maxSequence: 32 });
      expect(fromExport.tokens).toEqual((await generate(runtime, IDS, { maxNewTokens: 10 })).tokens);
      await runtime.release();
    } finally {
      await opened.compiled.release();
    }
  }, 120_000);

  it.each(['int8-weight-only', 'int4-weight-only', 'float8'] as const)(
    'runs the %s QDQ export on the CPU as the runtime model does',
    async (mode) => {
      const gpt = await runtimeDefaultModel(mode);
      const folder = join(await temporaryFolder(), 'qdq');
      await exportOnnx(gpt, folder, { sourceDir: DEFAULT_MODEL_DIR, format: 'onnx-qdq' });
      const opened = await openOnnxExport(folder, { device: 'cpu', maxSequence: 32 });
      try {
        expect(opened.mode).toBe(mode);
        expect(opened.compiled.weightFormat).toBe('dequantize-linear');
        const ids = createTensor('int64', [1, IDS.length], BigInt64Array.from(IDS, BigInt));
        const logits = (await opened.compiled.forward(ids)).logits.data;
        if (mode === 'float8') {
          // A step function: compared with the runtime graph under the same optimizations (see export-onnx.test.ts).
          const runtimeGraph = serializeModel(buildGptGraph(gpt, { weightFormat: 'dequantize-linear' }));
          expect(logits).toEqual(await runOnnxFile(runtimeGraph, IDS, { layers: 4, heads: 4, headSize: 64 }));
        } else {
          expect(maxDifference(logits, await runtimeLogits(gpt))).toBeLessThanOrEqual(1e-4);
        }
      } finally {
        await opened.compiled.release();
      }
    },
  );

  it('reads the dtype of a float16 export from its cache inputs', async () => {
    const folder = join(await temporaryFolder(), 'fp16');
    await exportOnnx(await runtimeDefaultModel(undefined, 'float16'), folder, {
      sourceDir: DEFAULT_MODEL_DIR,
    });
    const opened = await openOnnxExport(folder, { device: 'cpu', maxSequence: 16 });
    try {
      expect(opened.modelFile).toBe('onnx/model_fp16.onnx');
      expect(opened.compiled.config.dtype).toBe('float16');
      expect(opened.mode).toBeUndefined();
    } finally {
      await opened.compiled.release();
    }
  });

  it('refuses a folder without an ONNX model, and a maxSequence past n_positions', async () => {
    const parent = await temporaryFolder();
    const checkpoint = join(parent, 'checkpoint');
    await exportModelOptCheckpoint(await quantizedDefaultModel('int8-weight-only'), checkpoint, {
      sourceDir: DEFAULT_MODEL_DIR,
    });
    await expect(openOnnxExport(checkpoint, { device: 'cpu' })).rejects.toThrow(
      /has no onnx\/\*\.onnx model/,
    );
    const folder = join(parent, 'onnx');
    await exportOnnx(await runtimeDefaultModel('int8-weight-only'), folder, { sourceDir: DEFAULT_MODEL_DIR });
    await expect(openOnnxExport(folder, { device: 'cpu', maxSequence: 5000 })).rejects.toThrow(
      InvalidArgumentError,
    );
  });
});
