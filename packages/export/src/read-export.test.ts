import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { InvalidArgumentError } from '@ptq/errors';
import type { QuantMode } from '@ptq/quant-core';
import { toFloat32 } from '@ptq/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  quantizedDefaultModel,
  runtimeDefaultModel,
  temporaryFolder,
} from './__fixtures__/quantized-default-model';
import { UnknownExportError } from './errors';
import { exportModelOptCheckpoint } from './export-modelopt-checkpoint';
import { exportOnnx } from './export-onnx';
import { listFiles } from './list-files';
import { detectExport, inspectExport } from './read-export';

// Parameters of the default model without the tied head: embeddings, 4 blocks, final norm.
const WIDTH = 256;
const BLOCK_PARAMETERS =
  4 * WIDTH +
  (3 * WIDTH * WIDTH + 3 * WIDTH) +
  (WIDTH * WIDTH + WIDTH) +
  (4 * WIDTH * WIDTH + 4 * WIDTH) +
  (4 * WIDTH * WIDTH + WIDTH);
const PARAMETERS = 8192 * WIDTH + 1024 * WIDTH + 4 * BLOCK_PARAMETERS + 2 * WIDTH;
const FP32_SIZE = 4 * PARAMETERS;

const LAYERS = [0, 1, 2, 3].flatMap((layer) =>
  ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map(
    (linear) => `transformer.h.${layer}.${linear}`,
  ),
);

async function folderBytes(directory: string): Promise<number> {
  let total = 0;
  for (const file of await listFiles(directory)) total += (await stat(join(directory, file))).size;
  return total;
}

/** Weight scales computed straight from the quantizers' amax: amax / maxbound in float32. */
async function expectedWeightScales(mode: QuantMode): Promise<Float32Array> {
  const quantized = await quantizedDefaultModel(mode);
  const maxbound = mode === 'int8-weight-only' ? 127 : mode === 'int4-weight-only' ? 7 : 448;
  const values: number[] = [];
  for (const linear of quantized.linears.values()) {
    for (const amax of linear.weight_quantizer.amax!.data) values.push(Math.fround(amax / maxbound));
  }
  return Float32Array.from(values);
}

function summary(values: Float32Array) {
  let sum = 0;
  for (const value of values) sum += value;
  return {
    count: values.length,
    min: Math.min(...values),
    max: Math.max(...values),
    mean: sum / values.length,
  };
}

describe.each(['int8-weight-only', 'int4-weight-only', 'float8'] as const)('inspectExport, %s', (mode) => {
  let modelOpt = '';
  let onnx = '';
  let qdq = '';
  beforeAll(async () => {
    const parent = await temporaryFolder();
    modelOpt = join(parent, 'modelopt');
    onnx = join(parent, 'onnx');
    qdq = join(parent, 'qdq');
    await exportModelOptCheckpoint(await quantizedDefaultModel(mode), modelOpt, {
      sourceDir: DEFAULT_MODEL_DIR,
    });
    const gpt = await runtimeDefaultModel(mode);
    await exportOnnx(gpt, onnx, { sourceDir: DEFAULT_MODEL_DIR });
    await exportOnnx(gpt, qdq, { sourceDir: DEFAULT_MODEL_DIR, format: 'onnx-qdq' });
  });

  it('detects each export', async () => {
    expect(await detectExport(modelOpt)).toBe('modelopt-hf');
    expect(await detectExport(onnx)).toBe('onnx');
    expect(await detectExport(qdq)).toBe('onnx');
  });

  it('summarizes the ModelOpt checkpoint', async () => {
    const inspection = await inspectExport(modelOpt);
    const expectedLayers = mode === 'float8' ? [...LAYERS, 'lm_head'] : LAYERS;
    expect(inspection).toMatchObject({
      format: 'modelopt-hf',
      mode,
      quantAlgo: { 'int8-weight-only': 'W8A16', 'int4-weight-only': 'W4A16_AWQ', float8: 'FP8' }[mode],
      modelFile: 'model.safetensors',
      quantizedLayers: expectedLayers,
      fp32Size: FP32_SIZE + (mode === 'float8' ? 4 * 8192 * WIDTH : 0),
      sizeOnDisk: await folderBytes(modelOpt),
    });
    const expected = summary(await expectedWeightScales(mode));
    const weightScale = inspection.scaleStats.weight_scale!;
    expect(weightScale.count).toBe(expected.count);
    expect(weightScale.min).toBe(expected.min);
    expect(weightScale.max).toBe(expected.max);
    expect(weightScale.mean).toBeCloseTo(expected.mean, 10);
    if (mode === 'float8') {
      const quantized = await quantizedDefaultModel(mode);
      const inputScales = Float32Array.from(
        [...quantized.linears.values()].map((linear) =>
          Math.fround(linear.input_quantizer.amax!.data[0]! / 448),
        ),
      );
      expect(inspection.scaleStats.input_scale).toMatchObject({
        count: 17,
        min: summary(inputScales).min,
        max: summary(inputScales).max,
      });
    } else {
      expect(inspection.scaleStats.input_scale).toBeUndefined();
    }
    if (mode === 'int4-weight-only') {
      // Only the two c_proj of each block keep theirs; c_attn / c_fc were folded into the LayerNorms.
      const quantized = await quantizedDefaultModel(mode);
      const kept = [...quantized.linears]
        .filter(([path]) => path.endsWith('c_proj'))
        .flatMap(([, linear]) => [...toFloat32(linear.input_quantizer.preQuantScale!)]);
      expect(inspection.scaleStats.pre_quant_scale).toMatchObject({
        count: 4 * (WIDTH + 4 * WIDTH),
        min: Math.min(...kept),
        max: Math.max(...kept),
      });
    } else {
      expect(inspection.scaleStats.pre_quant_scale).toBeUndefined();
    }
  });

  it('summarizes the ONNX exports with the same layers and weight scales', async () => {
    const expected = summary(await expectedWeightScales(mode));
    for (const [folder, modelFile] of [
      [
        onnx,
        {
          'int8-weight-only': 'onnx/model_quantized.onnx',
          'int4-weight-only': 'onnx/model_q4.onnx',
          float8: 'onnx/model_fp8.onnx',
        }[mode],
      ],
      [qdq, 'onnx/model_qdq.onnx'],
    ] as const) {
      const inspection = await inspectExport(folder);
      expect(inspection.format).toBe('onnx');
      expect(inspection.mode).toBe(mode);
      expect(inspection.modelFile).toBe(modelFile);
      expect(inspection.quantizedLayers).toEqual(mode === 'float8' ? [...LAYERS, 'lm_head'] : LAYERS);
      expect(inspection.sizeOnDisk).toBe(await folderBytes(folder));
      const weightScale = inspection.scaleStats.weight_scale!;
      // MatMulNBits repeats a per-channel int8 scale over the blocks of its row: same min and max.
      if (!(mode === 'int8-weight-only' && folder === onnx)) expect(weightScale.count).toBe(expected.count);
      expect(weightScale.min).toBe(expected.min);
      expect(weightScale.max).toBe(expected.max);
      // The float parameters and the weights as float32, plus a few graph constants.
      const headSize = mode === 'float8' ? 4 * 8192 * WIDTH : 0;
      expect(inspection.fp32Size).toBeGreaterThanOrEqual(FP32_SIZE + headSize);
      expect(inspection.fp32Size).toBeLessThan((FP32_SIZE + headSize) * 1.001);
      if (mode === 'float8' && folder === qdq) expect(inspection.scaleStats.input_scale?.count).toBe(17);
    }
  });
});

describe('detectExport and inspectExport, other folders', () => {
  it('reads a plain Hugging Face folder as hf, unquantized', async () => {
    expect(await detectExport(DEFAULT_MODEL_DIR)).toBe('hf');
    const inspection = await inspectExport(DEFAULT_MODEL_DIR);
    expect(inspection).toEqual({
      format: 'hf',
      directory: DEFAULT_MODEL_DIR.replace(/\/$/, ''),
      mode: undefined,
      modelFile: 'model.safetensors',
      quantizedLayers: [],
      scaleStats: {},
      sizeOnDisk: await folderBytes(DEFAULT_MODEL_DIR),
      fp32Size: FP32_SIZE,
    });
  });

  it('refuses folders that hold no export', async () => {
    const parent = await temporaryFolder();
    await expect(detectExport(parent)).rejects.toThrow(UnknownExportError);
    await expect(detectExport(join(parent, 'missing'))).rejects.toThrow(/does not exist/);
    await writeFile(join(parent, 'file'), 'x');
    await expect(detectExport(join(parent, 'file'))).rejects.toThrow(/is not a folder/);
    await writeFile(join(parent, 'config.json'), '{}');
    await expect(inspectExport(parent)).rejects.toThrow(/not an export ptq reads/);
  });

  it('detects a ModelOpt checkpoint from config.json alone', async () => {
    const parent = await temporaryFolder();
    await writeFile(
      join(parent, 'config.json'),
      JSON.stringify({ quantization_config: { quant_method: 'modelopt' } }),
    );
    expect(await detectExport(parent)).toBe('modelopt-hf');
  });

  it('asks which model to inspect when onnx/ holds several', async () => {
    const folder = join(await temporaryFolder(), 'two');
    const gpt = await runtimeDefaultModel('int8-weight-only');
    await exportOnnx(gpt, folder, { sourceDir: DEFAULT_MODEL_DIR });
    await mkdir(join(folder, 'spare'));
    const other = join(await temporaryFolder(), 'other');
    await exportOnnx(gpt, other, { sourceDir: DEFAULT_MODEL_DIR, format: 'onnx-qdq' });
    const { copyFile } = await import('node:fs/promises');
    await copyFile(join(other, 'onnx/model_qdq.onnx'), join(folder, 'onnx/model_qdq.onnx'));
    await expect(inspectExport(folder)).rejects.toThrow(InvalidArgumentError);
    await expect(inspectExport(folder)).rejects.toThrow(/onnx\/model_qdq\.onnx, onnx\/model_quantized\.onnx/);
    expect((await inspectExport(folder, { modelFile: 'onnx/model_qdq.onnx' })).modelFile).toBe(
      'onnx/model_qdq.onnx',
    );
    await expect(inspectExport(folder, { modelFile: 'onnx/model_q4.onnx' })).rejects.toThrow(
      /has no onnx\/model_q4\.onnx/,
    );
  });

  it('reads scales stored in external data', async () => {
    const folder = join(await temporaryFolder(), 'external');
    await exportOnnx(await runtimeDefaultModel('int4-weight-only'), folder, {
      sourceDir: DEFAULT_MODEL_DIR,
      externalData: true,
    });
    const expected = summary(await expectedWeightScales('int4-weight-only'));
    const inspection = await inspectExport(folder);
    expect(inspection.scaleStats.weight_scale).toMatchObject({
      count: expected.count,
      min: expected.min,
      max: expected.max,
    });
  });
});
