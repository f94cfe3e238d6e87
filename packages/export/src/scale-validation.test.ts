import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { decodeModel } from '@ptq/onnx-format';
import type { QuantMode } from '@ptq/quant-core';
import { createTensor, type Tensor, toFloat32 } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import {
  quantizedDefaultModel,
  runtimeDefaultModel,
  temporaryFolder,
} from './__fixtures__/quantized-default-model';
import { rewriteCheckpoint } from './__fixtures__/rewrite-checkpoint';
import { codesZeroAt, firstInvalidScale } from './check-scale-values';
import { CheckpointTensorError } from './errors';
import { exportModelOptCheckpoint } from './export-modelopt-checkpoint';
import { exportOnnx } from './export-onnx';
import { openOnnxExport } from './open-onnx-export';
import { inspectExport } from './read-export';
import { loadModelOptCheckpoint, readModelOptCheckpoint } from './read-modelopt-checkpoint';

const exported = new Map<QuantMode, Promise<string>>();
function exportedCheckpoint(mode: QuantMode): Promise<string> {
  let promise = exported.get(mode);
  if (promise === undefined) {
    promise = (async () => {
      const folder = join(await temporaryFolder(), mode);
      await exportModelOptCheckpoint(await quantizedDefaultModel(mode), folder, {
        sourceDir: DEFAULT_MODEL_DIR,
      });
      return folder;
    })();
    exported.set(mode, promise);
  }
  return promise;
}

async function edited(mode: QuantMode, edit: (tensors: Map<string, Tensor>) => void): Promise<string> {
  const target = join(await temporaryFolder(), 'edited');
  await rewriteCheckpoint(await exportedCheckpoint(mode), target, edit);
  return target;
}

/** `tensors[name]` with element `index` set to `value` (float32 scales). */
function setValue(tensors: Map<string, Tensor>, name: string, index: number, value: number): void {
  const tensor = tensors.get(name)!;
  const values = Float32Array.from(toFloat32(tensor));
  values[index] = value;
  tensors.set(name, createTensor('float32', tensor.shape, values));
}

/** Both readers (what `generate` and `inspect` use) refuse the folder with exactly `message`. */
async function expectBothRefuse(folder: string, message: string): Promise<void> {
  const expected = `${join(folder, 'model.safetensors')}: ${message}`;
  await expect(loadModelOptCheckpoint(folder)).rejects.toThrow(
    new CheckpointTensorError('', '', '').constructor,
  );
  await expect(readModelOptCheckpoint(folder)).rejects.toThrow(expected);
  await expect(inspectExport(folder)).rejects.toThrow(expected);
  const error = await inspectExport(folder).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(CheckpointTensorError);
  expect((error as CheckpointTensorError).message).toBe(expected);
}

const SCALE = 'transformer.h.1.mlp.c_fc.weight_scale';

describe('scale values: both readers name the tensor and the file', () => {
  it.each([
    [Number.NaN, 'NaN'],
    [-0.5, '-0.5'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
  ])('a W8A16 weight_scale holding %s', async (value, shown) => {
    const folder = await edited('int8-weight-only', (tensors) => setValue(tensors, SCALE, 3, value));
    await expectBothRefuse(
      folder,
      `tensor "${SCALE}" holds ${shown} at index 3; a scale must be a finite number > 0`,
    );
  });

  it('a zero weight_scale over codes that are not all zero', async () => {
    const folder = await edited('int8-weight-only', (tensors) => setValue(tensors, SCALE, 3, 0));
    await expectBothRefuse(
      folder,
      `tensor "${SCALE}" holds 0 at index 3, while the codes it scales are not all zero; a scale must be a finite number > 0`,
    );
  });

  it('a zero weight_scale over an all-zero row is what ptq writes for a zero row, and reads as zeros', async () => {
    const width = 256;
    const folder = await edited('int8-weight-only', (tensors) => {
      setValue(tensors, SCALE, 3, 0);
      const weight = tensors.get('transformer.h.1.mlp.c_fc.weight')!;
      const codes = Int8Array.from(weight.data as Int8Array);
      codes.fill(0, 3 * width, 4 * width);
      tensors.set('transformer.h.1.mlp.c_fc.weight', createTensor('int8', weight.shape, codes));
    });
    const checkpoint = await readModelOptCheckpoint(folder);
    const weight = toFloat32(checkpoint.runtimeState.get('transformer.h.1.mlp.c_fc.weight')!);
    expect(weight.subarray(3 * width, 4 * width).every((value) => value === 0)).toBe(true);
    expect(weight.subarray(4 * width, 5 * width).some((value) => value !== 0)).toBe(true);
    const inspection = await inspectExport(folder);
    expect(inspection.scaleStats.weight_scale?.min).toBe(0);
  });

  it('a negative AWQ pre_quant_scale', async () => {
    const name = 'transformer.h.2.attn.c_proj.pre_quant_scale';
    const folder = await edited('int4-weight-only', (tensors) => setValue(tensors, name, 7, -1));
    await expectBothRefuse(
      folder,
      `tensor "${name}" holds -1 at index 7; a scale must be a finite number > 0`,
    );
  });

  it('a NaN FP8 input_scale (one value: no index)', async () => {
    const name = 'transformer.h.0.attn.c_attn.input_scale';
    const folder = await edited('float8', (tensors) => setValue(tensors, name, 0, Number.NaN));
    await expectBothRefuse(folder, `tensor "${name}" holds NaN; a scale must be a finite number > 0`);
  });

  it('a zero FP8 weight_scale over codes that are not zero', async () => {
    const name = 'transformer.h.3.mlp.c_proj.weight_scale';
    const folder = await edited('float8', (tensors) => setValue(tensors, name, 0, 0));
    await expectBothRefuse(
      folder,
      `tensor "${name}" holds 0, while the codes it scales are not all zero; a scale must be a finite number > 0`,
    );
  });
});

describe('inspect checks the tensors against the algorithm the config names', () => {
  it('an int8 export whose hf_quant_config.json says W4A16_AWQ is an error, not "int4"', async () => {
    const folder = await edited('int8-weight-only', () => {});
    const configFile = join(folder, 'hf_quant_config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8'));
    config.quantization.quant_algo = 'W4A16_AWQ';
    await writeFile(configFile, JSON.stringify(config));
    await expect(inspectExport(folder)).rejects.toThrow(
      new CheckpointTensorError(
        join(folder, 'model.safetensors'),
        'transformer.h.0.attn.c_attn.weight',
        "is I8 (W8A16's codes), but hf_quant_config.json says W4A16_AWQ, whose weights are U8: the export contradicts itself",
      ),
    );
  });

  it('an F32 weight where I8 belongs', async () => {
    const name = 'transformer.h.2.mlp.c_proj.weight';
    const folder = await edited('int8-weight-only', (tensors) => {
      const weight = tensors.get(name)!;
      tensors.set(name, createTensor('float32', weight.shape, Float32Array.from(weight.data as Int8Array)));
    });
    await expect(inspectExport(folder)).rejects.toThrow(
      `${join(folder, 'model.safetensors')}: tensor "${name}" is F32, but it has a weight_scale and hf_quant_config.json says W8A16, whose weights are I8`,
    );
    await expect(readModelOptCheckpoint(folder)).rejects.toThrow(CheckpointTensorError);
  });

  it('a missing weight_scale', async () => {
    const name = 'transformer.h.1.attn.c_proj';
    const folder = await edited('int8-weight-only', (tensors) => tensors.delete(`${name}.weight_scale`));
    await expect(inspectExport(folder)).rejects.toThrow(
      `${join(folder, 'model.safetensors')}: tensor "${name}.weight_scale" is missing: ${name}.weight is stored as I8 codes, which mean nothing without it`,
    );
  });

  it('a missing FP8 input_scale', async () => {
    const name = 'transformer.h.1.mlp.c_fc';
    const folder = await edited('float8', (tensors) => tensors.delete(`${name}.input_scale`));
    await expect(inspectExport(folder)).rejects.toThrow(
      `${join(folder, 'model.safetensors')}: tensor "${name}.input_scale" is missing; every FP8 linear has one`,
    );
  });

  it('a valid export of each mode passes', async () => {
    for (const mode of ['int8-weight-only', 'int4-weight-only', 'float8'] as const) {
      await expect(inspectExport(await exportedCheckpoint(mode))).resolves.toMatchObject({ mode });
    }
  });
});

describe('firstInvalidScale and codesZeroAt', () => {
  it('finds NaN, infinities, negatives and -0 / 0 unless allowed', () => {
    const table: [number[], { index: number; value: number } | undefined][] = [
      [[1, 2, 3], undefined],
      [[1, Number.NaN], { index: 1, value: Number.NaN }],
      [[1, -1e-30], { index: 1, value: Math.fround(-1e-30) }],
      [[Number.POSITIVE_INFINITY], { index: 0, value: Number.POSITIVE_INFINITY }],
      [[1, 0], { index: 1, value: 0 }],
      [[-0], { index: 0, value: -0 }],
      [[1.4e-45], undefined],
    ];
    for (const [values, expected] of table) {
      expect(firstInvalidScale(Float32Array.from(values))).toEqual(expected);
    }
    expect(firstInvalidScale(Float32Array.from([0, 1, 0]), (index) => index === 0)).toEqual({
      index: 2,
      value: 0,
    });
  });

  it('knows which codes each scale covers', () => {
    // W8A16: one scale per row of 3.
    const int8 = createTensor('int8', [2, 3], Int8Array.from([0, 0, 0, 0, 1, 0]));
    const byRow = codesZeroAt('W8A16', int8, 2, 3);
    expect([byRow(0), byRow(1)]).toEqual([true, false]);
    // W4A16: rows 0 and 1 share bytes (row 0 low nibble); 130 columns make two blocks per row.
    const packed = new Uint8Array(130);
    packed[129] = 0x10; // row 1, column 129: block 1 of row 1
    const byBlock = codesZeroAt('W4A16_AWQ', createTensor('uint8', [1, 130], packed), 2, 130);
    expect([byBlock(0), byBlock(1), byBlock(2), byBlock(3)]).toEqual([true, true, true, false]);
    // FP8: one scale; 0x80 is -0.
    expect(
      codesZeroAt('FP8', createTensor('float8e4m3fn', [1, 2], Uint8Array.from([0, 0x80])), 1, 2)(0),
    ).toBe(true);
    expect(
      codesZeroAt('FP8', createTensor('float8e4m3fn', [1, 2], Uint8Array.from([0, 0x01])), 1, 2)(0),
    ).toBe(false);
  });
});

describe('ONNX exports: inspect and openOnnxExport (what generate uses) check the scales too', () => {
  it.each([
    [Number.NaN, 'NaN'],
    [-3, '-3'],
  ])('a weight scale holding %s, stored in external data', async (value, shown) => {
    const folder = join(await temporaryFolder(), 'onnx');
    await exportOnnx(await runtimeDefaultModel('int8-weight-only'), folder, {
      sourceDir: DEFAULT_MODEL_DIR,
      externalData: true,
    });
    const modelPath = join(folder, 'onnx', 'model_quantized.onnx');
    const model = decodeModel(new Uint8Array(await readFile(modelPath)), { file: modelPath });
    const name = 'transformer.h.2.attn.c_proj.weight_scale';
    const scale = model.graph.initializers.find((initializer) => initializer.name === name);
    expect(scale?.dtype).toBe('float32');
    const { location, offset } = scale!.externalData!;
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    const handle = await open(join(folder, 'onnx', location), 'r+');
    await handle.write(bytes, 0, 4, offset + 4 * 2);
    await handle.close();

    const expected = `${modelPath}: tensor "${name}" holds ${shown} at index 2; a scale must be a finite number > 0`;
    await expect(inspectExport(folder)).rejects.toThrow(expected);
    await expect(openOnnxExport(folder, { device: 'cpu' })).rejects.toThrow(expected);
  });
});
