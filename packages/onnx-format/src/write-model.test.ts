import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, type Tensor } from '@ptq/tensor';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeModel } from './decode-model';
import { OnnxWriteError } from './errors';
import { GraphBuilder } from './graph-builder';
import type { ModelDefinition } from './model-definition';
import { serializeModel } from './serialize-model';
import { writeModel } from './write-model';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'ptq-onnx-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** y = x @ first @ second + bias, with initializers of 4100, 820, 1050 (int4, unused) and 12 bytes. */
function layeredModel(): { model: ModelDefinition; weights: Record<string, Tensor> } {
  const first = createTensor(
    'float32',
    [5, 205],
    Float32Array.from({ length: 1025 }, (_, index) => (index % 7) - 3),
  );
  const second = createTensor(
    'float32',
    [205, 1],
    Float32Array.from({ length: 205 }, (_, index) => (index % 3) - 1),
  );
  const packed = createTensor(
    'int4',
    [2099],
    Uint8Array.from({ length: 1050 }, (_, index) => index % 256),
  );
  const bias = createTensor('float32', [3], new Float32Array([0.5, 0.25, -1]));
  const builder = new GraphBuilder({ name: 'layered' });
  const x = builder.input('x', 'float32', ['batch', 5]);
  const h = builder.node('MatMul', [x, builder.initializer('first', first)]);
  const y = builder.node('MatMul', [h, builder.initializer('second', second)]);
  builder.initializer('packed', packed);
  builder.output(builder.node('Add', [y, builder.initializer('bias', bias)]), 'y', 'float32', ['batch', 3]);
  return { model: builder.build(), weights: { first, second, packed, bias } };
}

function expectedOutput(input: readonly number[], weights: Record<string, Tensor>): number[] {
  const first = weights.first!.data as Float32Array;
  const second = weights.second!.data as Float32Array;
  let projected = 0;
  const hidden = Array.from({ length: 205 }, (_, column) => {
    let sum = 0;
    for (let k = 0; k < 5; k++) {
      sum += input[k]! * first[k * 205 + column]!;
    }
    return sum;
  });
  hidden.forEach((value, index) => {
    projected += value * second[index]!;
  });
  return [0.5, 0.25, -1].map((bias) => projected + bias);
}

function bytesOf(tensor: Tensor): Buffer {
  return Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

describe('writeModel', () => {
  it('writes the same bytes as serializeModel without external data', async () => {
    const { model } = layeredModel();
    const path = join(directory, 'model.onnx');
    await writeModel(model, path);
    expect(await readFile(path)).toEqual(Buffer.from(serializeModel(model)));
    expect(await readdir(directory)).toEqual(['model.onnx']);
  });

  it('moves initializers at or above the threshold to <name>_data at 64-byte aligned offsets', async () => {
    const { model, weights } = layeredModel();
    const path = join(directory, 'model_q4.onnx');
    await writeModel(model, path, { externalData: true });
    expect((await readdir(directory)).sort()).toEqual(['model_q4.onnx', 'model_q4.onnx_data']);

    const decoded = decodeModel(await readFile(path));
    const byName = Object.fromEntries(
      decoded.graph.initializers.map((initializer) => [initializer.name, initializer]),
    );
    // 4100 bytes at 0; 1050 bytes at the next multiple of 64 after 4100 (4160). 820 and 12 bytes stay inline.
    expect(byName.first!.externalData).toEqual({ location: 'model_q4.onnx_data', offset: 0, length: 4100 });
    expect(byName.packed!.externalData).toEqual({
      location: 'model_q4.onnx_data',
      offset: 4160,
      length: 1050,
    });
    expect(byName.second!.externalData).toBeUndefined();
    expect(Buffer.from(byName.second!.rawData!)).toEqual(bytesOf(weights.second!));
    expect(byName.bias!.rawData).toBeDefined();

    const data = await readFile(join(directory, 'model_q4.onnx_data'));
    expect(data.length).toBe(5210);
    expect(data.subarray(0, 4100)).toEqual(bytesOf(weights.first!));
    expect(data.subarray(4100, 4160)).toEqual(Buffer.alloc(60));
    expect(data.subarray(4160, 5210)).toEqual(bytesOf(weights.packed!));
  });

  it('gives the same results from the external-data model loaded by path', async () => {
    const { model, weights } = layeredModel();
    const path = join(directory, 'model.onnx');
    await writeModel(model, path, { externalData: { threshold: 0 } });
    const decoded = decodeModel(await readFile(path));
    expect(decoded.graph.initializers.every((initializer) => initializer.externalData !== undefined)).toBe(
      true,
    );

    const session = await InferenceSession.create(path, { executionProviders: ['cpu'] });
    const input = [1, -2, 0.5, 3, -1];
    const { y } = await session.run({ x: new OrtTensor('float32', new Float32Array(input), [1, 5]) });
    expect([...(y!.data as Float32Array)]).toEqual(expectedOutput(input, weights));
    await session.release();
  });

  it('honours a custom threshold and data file name', async () => {
    const { model } = layeredModel();
    const path = join(directory, 'model.onnx');
    await writeModel(model, path, { externalData: { threshold: 4096, location: 'weights.bin' } });
    expect((await readdir(directory)).sort()).toEqual(['model.onnx', 'weights.bin']);
    const external = decodeModel(await readFile(path)).graph.initializers.filter(
      (initializer) => initializer.externalData,
    );
    expect(external.map((initializer) => [initializer.name, initializer.externalData])).toEqual([
      ['first', { location: 'weights.bin', offset: 0, length: 4100 }],
    ]);
    expect((await stat(join(directory, 'weights.bin'))).size).toBe(4100);
  });

  it('writes no data file when no initializer reaches the threshold', async () => {
    const { model } = layeredModel();
    const path = join(directory, 'model.onnx');
    await writeModel(model, path, { externalData: { threshold: 1 << 20 } });
    expect(await readdir(directory)).toEqual(['model.onnx']);
    expect(await readFile(path)).toEqual(Buffer.from(serializeModel(model)));
  });

  it('replaces existing files', async () => {
    const { model } = layeredModel();
    const path = join(directory, 'model.onnx');
    await writeModel(model, path, { externalData: true });
    await writeModel(model, path, { externalData: true });
    expect((await readdir(directory)).sort()).toEqual(['model.onnx', 'model.onnx_data']);
    expect(decodeModel(await readFile(path)).graph.name).toBe('layered');
  });
});

describe('writeModel bad input', () => {
  it('leaves nothing behind when the model file cannot take its place', async () => {
    const { model } = layeredModel();
    // A directory where the model should go: the data file lands, then the model rename fails.
    const path = join(directory, 'model.onnx');
    await mkdir(path);
    let error: unknown;
    try {
      await writeModel(model, path, { externalData: true });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OnnxWriteError);
    expect((error as OnnxWriteError).code).toBe('PTQ_ONNX_WRITE');
    expect((error as OnnxWriteError).file).toBe(path);
    expect((error as Error).message).toMatch(/^.+model\.onnx: could not write the model \(.+\)$/);
    expect(await readdir(directory)).toEqual(['model.onnx']);
    expect(await readdir(path)).toEqual([]);
  });

  it('reports a missing directory without creating anything', async () => {
    const { model } = layeredModel();
    const path = join(directory, 'missing', 'model.onnx');
    await expect(writeModel(model, path, { externalData: true })).rejects.toThrow(OnnxWriteError);
    expect(await readdir(directory)).toEqual([]);
  });

  it.each<[unknown, string]>([
    [
      { threshold: -1 },
      'Invalid argument "externalData.threshold": must be a non-negative integer number of bytes, got -1',
    ],
    [{ threshold: 1.5 }, 'got 1.5'],
    [
      { location: '../weights.bin' },
      'Invalid argument "externalData.location": must be a plain file name beside the model, got "../weights.bin"',
    ],
    [{ location: 'sub/weights.bin' }, 'must be a plain file name beside the model'],
    [{ location: '' }, 'must be a plain file name beside the model'],
    [{ location: 'model.onnx' }, 'must differ from the model file name "model.onnx"'],
  ])('rejects external data options %o', async (externalData, message) => {
    const { model } = layeredModel();
    const write = writeModel(model, join(directory, 'model.onnx'), { externalData: externalData as never });
    await expect(write).rejects.toThrow(InvalidArgumentError);
    await expect(
      writeModel(model, join(directory, 'model.onnx'), { externalData: externalData as never }),
    ).rejects.toThrow(message);
    expect(await readdir(directory)).toEqual([]);
  });

  it('validates the model before touching the disk', async () => {
    const { model } = layeredModel();
    const broken: ModelDefinition = {
      ...model,
      graph: { ...model.graph, outputs: [{ name: 'z', dtype: 'float32', shape: [] }] },
    };
    await expect(writeModel(broken, join(directory, 'model.onnx'))).rejects.toThrow(
      'graph "layered": output "z" is not produced by any node, input or initializer',
    );
    expect(await readdir(directory)).toEqual([]);
  });
});
