import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { env, pipeline, type TextGenerationPipeline } from '@huggingface/transformers';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { InvalidArgumentError } from '@ptq/errors';
import { MissingTokenizerError } from '@ptq/hf-gpt2';
import { buildGptGraph, compile, defaultWeightFormat, type GPT, generate } from '@ptq/nanogpt';
import { type DecodedModel, type DecodedNode, decodeModel, serializeModel } from '@ptq/onnx-format';
import type { QuantMode } from '@ptq/quant-core';
import { createTensor } from '@ptq/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { runtimeDefaultModel, temporaryFolder } from './__fixtures__/quantized-default-model';
import { runOnnxFile } from './__fixtures__/run-onnx-file';
import { ExportTargetExistsError, UnsupportedExportError } from './errors';
import { exportOnnx } from './export-onnx';
import { onnxModelFile } from './onnx-model-file';

const SHAPE = { layers: 4, heads: 4, headSize: 64 };
const PROMPT = 'The old man said';
const NEW_TOKENS = 20;

env.allowRemoteModels = false;

async function decodeFile(path: string): Promise<DecodedModel> {
  return decodeModel(new Uint8Array(await readFile(path)), { file: path });
}

function countOps(model: DecodedModel): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of model.graph.nodes) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  return counts;
}

/**
 * nanogpt's greedy tokens. float8 runs the standard graph, the one exported: fake quantization is a
 * step function, and the fused runtime graph rounds its sums differently (fused kernels, the input
 * scale folded into the weight's), which can move an activation on a rounding boundary to the next
 * float8 value and so change a later token.
 */
async function nanogptTokens(gpt: GPT, promptIds: number[]): Promise<number[]> {
  const compiled = await compile(gpt, {
    device: 'cpu',
    maxSequence: 64,
    operators: gpt.config.quantMode === 'float8' ? 'standard' : 'fused',
  });
  try {
    return (await generate(compiled, promptIds, { maxNewTokens: NEW_TOKENS })).tokens[0]!;
  } finally {
    await compiled.release();
  }
}

async function nanogptLogits(gpt: GPT, ids: number[]): Promise<Float32Array> {
  const compiled = await compile(gpt, { device: 'cpu', maxSequence: 64 });
  try {
    return (await compiled.forward(createTensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt))))
      .logits.data;
  } finally {
    await compiled.release();
  }
}

/** Greedy generation through transformers.js: the pipeline's text and the model's token ids. */
async function transformersGeneration(
  generator: TextGenerationPipeline,
): Promise<{ text: string; tokens: number[]; promptIds: number[] }> {
  const output = (await generator(PROMPT, { max_new_tokens: NEW_TOKENS, do_sample: false })) as Array<{
    generated_text: string;
  }>;
  const inputs = generator.tokenizer(PROMPT);
  const generated = (await generator.model.generate({
    ...inputs,
    max_new_tokens: NEW_TOKENS,
    do_sample: false,
  })) as { data: BigInt64Array };
  return {
    text: output[0]!.generated_text,
    tokens: [...generated.data].map(Number),
    promptIds: [...(inputs.input_ids.data as BigInt64Array)].map(Number),
  };
}

const IO_NAMES = {
  inputs: [
    'input_ids',
    'attention_mask',
    'position_ids',
    ...[0, 1, 2, 3].flatMap((layer) => [`past_key_values.${layer}.key`, `past_key_values.${layer}.value`]),
  ],
  outputs: ['logits', ...[0, 1, 2, 3].flatMap((layer) => [`present.${layer}.key`, `present.${layer}.value`])],
};

describe.each([
  ['int8-weight-only', 'onnx/model_quantized.onnx', 'q8'],
  ['int4-weight-only', 'onnx/model_q4.onnx', 'q4'],
  ['float8', 'onnx/model_fp8.onnx', undefined],
  [undefined, 'onnx/model.onnx', 'fp32'],
] as const)('exportOnnx, format onnx, %s', (mode, modelFile, dtype) => {
  let gpt: GPT;
  let folder = '';
  beforeAll(async () => {
    gpt = await runtimeDefaultModel(mode);
    folder = join(await temporaryFolder(), 'onnx-export');
    const result = await exportOnnx(gpt, folder, { sourceDir: DEFAULT_MODEL_DIR });
    expect(result).toEqual({
      directory: folder,
      files: [
        'config.json',
        'generation_config.json',
        modelFile,
        'ptq-manifest.json',
        'tokenizer.json',
        'tokenizer_config.json',
      ],
      modelFile,
      transformersDtype: dtype,
      externalData: false,
    });
  });

  it('writes exactly the graph the runtime compiles on the CPU, with transformers.js input and output names', async () => {
    const decoded = await decodeFile(join(folder, modelFile));
    // transformers.js feeds by name, so the order does not matter.
    expect(decoded.graph.inputs.map((input) => input.name).sort()).toEqual([...IO_NAMES.inputs].sort());
    expect(decoded.graph.outputs.map((output) => output.name).sort()).toEqual([...IO_NAMES.outputs].sort());
    const weightFormat = mode === undefined ? undefined : defaultWeightFormat(mode, 'cpu');
    const runtime = buildGptGraph(gpt, { weightFormat }).graph;
    const summary = (node: Pick<DecodedNode, 'opType' | 'inputs' | 'outputs'>) =>
      `${node.opType}(${node.inputs.join(',')})->${node.outputs.join(',')}`;
    expect(decoded.graph.nodes.map(summary)).toEqual(runtime.nodes.map(summary));
    expect(
      decoded.graph.initializers.map((initializer) => `${initializer.name}:${initializer.dtype}`),
    ).toEqual(runtime.initializers.map((initializer) => `${initializer.name}:${initializer.tensor.dtype}`));
    const ops = countOps(decoded);
    if (mode === 'int8-weight-only' || mode === 'int4-weight-only') expect(ops.MatMulNBits).toBe(16);
    if (mode === 'float8') expect(ops.DequantizeLinear).toBe(17);
  });

  it('names the transformers.js dtype in config.json', async () => {
    const config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'));
    const source = JSON.parse(await readFile(join(DEFAULT_MODEL_DIR, 'config.json'), 'utf8'));
    expect(config).toEqual(dtype === undefined ? source : { ...source, 'transformers.js_config': { dtype } });
  });

  it("loads in @huggingface/transformers, whose greedy tokens equal nanogpt's own", async () => {
    // float8 has no transformers.js dtype: its file is named with model_file_name.
    const generator = (await pipeline('text-generation', folder, {
      device: 'cpu',
      local_files_only: true,
      ...(dtype === undefined ? { dtype: 'fp32', model_file_name: 'model_fp8' } : {}),
    })) as TextGenerationPipeline;
    try {
      const fromTransformers = await transformersGeneration(generator);
      const tokens = await nanogptTokens(gpt, fromTransformers.promptIds);
      expect(tokens.length).toBeGreaterThan(fromTransformers.promptIds.length + 5);
      expect(fromTransformers.tokens).toEqual(tokens);
      expect(fromTransformers.text).toBe(generator.tokenizer.decode(tokens));
    } finally {
      await generator.dispose();
    }
  });
});

describe('exportOnnx, external data', () => {
  it('moves the initializers to model_q4.onnx_data and tells transformers.js, which loads it', async () => {
    const gpt = await runtimeDefaultModel('int4-weight-only');
    const folder = join(await temporaryFolder(), 'external');
    const result = await exportOnnx(gpt, folder, { sourceDir: DEFAULT_MODEL_DIR, externalData: true });
    expect(result.externalData).toBe(true);
    expect(result.files).toEqual([
      'config.json',
      'generation_config.json',
      'onnx/model_q4.onnx',
      'onnx/model_q4.onnx_data',
      'ptq-manifest.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'));
    expect(config['transformers.js_config']).toEqual({
      dtype: 'q4',
      use_external_data_format: { 'model_q4.onnx': 1 },
    });
    const decoded = await decodeFile(join(folder, 'onnx/model_q4.onnx'));
    const packed = decoded.graph.initializers.find((initializer) =>
      initializer.name.endsWith('c_fc.weight_packed'),
    );
    expect(packed?.externalData?.location).toBe('model_q4.onnx_data');

    const generator = (await pipeline('text-generation', folder, {
      device: 'cpu',
      local_files_only: true,
    })) as TextGenerationPipeline;
    try {
      const fromTransformers = await transformersGeneration(generator);
      expect(fromTransformers.tokens).toEqual(await nanogptTokens(gpt, fromTransformers.promptIds));
    } finally {
      await generator.dispose();
    }
  });
});

describe.each([
  ['int8-weight-only', 'int8'],
  ['int4-weight-only', 'int4'],
  ['float8', 'float8e4m3fn'],
] as const)('exportOnnx, format onnx-qdq, %s', (mode, codeType) => {
  let gpt: GPT;
  let folder = '';
  let decoded: DecodedModel;
  beforeAll(async () => {
    gpt = await runtimeDefaultModel(mode);
    folder = join(await temporaryFolder(), 'qdq');
    const result = await exportOnnx(gpt, folder, { sourceDir: DEFAULT_MODEL_DIR, format: 'onnx-qdq' });
    expect(result.modelFile).toBe('onnx/model_qdq.onnx');
    expect(result.transformersDtype).toBeUndefined();
    decoded = await decodeFile(join(folder, 'onnx/model_qdq.onnx'));
  });

  it('feeds every quantized MatMul from a DequantizeLinear of its weight codes', () => {
    const { nodes, initializers } = decoded.graph;
    const producers = new Map(nodes.flatMap((node) => node.outputs.map((output) => [output, node] as const)));
    const initializerByName = new Map(initializers.map((initializer) => [initializer.name, initializer]));
    const attribute = (node: DecodedNode, name: string) =>
      node.attributes.find((entry) => entry.name === name);
    const weightMatMuls = nodes.filter(
      (node) => node.opType === 'MatMul' && producers.get(node.inputs[1]!)?.opType === 'DequantizeLinear',
    );
    // Four linears per block, and float8's lm_head.
    expect(weightMatMuls.length).toBe(mode === 'float8' ? 17 : 16);
    for (const matmul of weightMatMuls) {
      const dequantize = producers.get(matmul.inputs[1]!)!;
      const codes = initializerByName.get(dequantize.inputs[0]!)!;
      const scale = initializerByName.get(dequantize.inputs[1]!)!;
      expect(codes.dtype).toBe(codeType);
      const [inFeatures = 0, outFeatures = 0] = codes.shape;
      if (mode === 'int8-weight-only') {
        // Per output channel of the [in, out] weight.
        expect(attribute(dequantize, 'axis')).toEqual({ name: 'axis', type: 'int', value: 1n });
        expect(scale.shape).toEqual([outFeatures]);
      } else if (mode === 'int4-weight-only') {
        // Blocks of 128 along in (axis 0 of [in, out]), opset 21.
        expect(attribute(dequantize, 'axis')).toEqual({ name: 'axis', type: 'int', value: 0n });
        expect(attribute(dequantize, 'block_size')).toEqual({ name: 'block_size', type: 'int', value: 128n });
        expect(scale.shape).toEqual([inFeatures / 128, outFeatures]);
      } else {
        expect(scale.shape).toEqual([]);
        const activation = producers.get(matmul.inputs[0]!)!;
        expect(activation.opType).toBe('DequantizeLinear');
        const quantize = producers.get(activation.inputs[0]!)!;
        expect(quantize.opType).toBe('QuantizeLinear');
        expect(initializerByName.get(quantize.inputs[2]!)?.dtype).toBe('float8e4m3fn');
        expect(quantize.inputs[1]).toBe(activation.inputs[1]);
      }
    }
    expect(decoded.opsetImports.find((opset) => opset.domain === '')?.version).toBeGreaterThanOrEqual(21);
    const ops = countOps(decoded);
    expect(ops.MatMulNBits).toBeUndefined();
    // The plain-op float8 fake quantization is gone.
    expect(ops.Log).toBeUndefined();
    expect(ops.QuantizeLinear ?? 0).toBe(mode === 'float8' ? 17 : 0);
  });

  it('runs on the CPU: integer weights within 1e-4 of nanogpt, float8 equal to the runtime graph', async () => {
    const ids = [486, 856, 438, 472, 12, 199, 552];
    const logits = await runOnnxFile(join(folder, 'onnx/model_qdq.onnx'), ids, SHAPE);
    // float8 fake quantization is a step function: onnxruntime's higher optimization levels reorder
    // float sums, which can move an activation lying on a rounding boundary to the next float8 value.
    // So the QDQ graph is compared with the runtime's own graph under the same (basic) optimizations.
    const expected =
      mode === 'float8'
        ? await runOnnxFile(
            serializeModel(buildGptGraph(gpt, { weightFormat: 'dequantize-linear' })),
            ids,
            SHAPE,
          )
        : await nanogptLogits(gpt, ids);
    expect(logits.length).toBe(expected.length);
    let largest = 0;
    for (let index = 0; index < logits.length; index += 1)
      largest = Math.max(largest, Math.abs(logits[index]! - expected[index]!));
    expect(largest).toBeLessThanOrEqual(mode === 'float8' ? 0 : 1e-4);
  });
});

describe('exportOnnx, bad input', () => {
  it('refuses onnx-qdq for an unquantized model', async () => {
    const gpt = await runtimeDefaultModel(undefined);
    const folder = join(await temporaryFolder(), 'out');
    await expect(
      exportOnnx(gpt, folder, { sourceDir: DEFAULT_MODEL_DIR, format: 'onnx-qdq' }),
    ).rejects.toThrow(UnsupportedExportError);
  });

  it('refuses an unknown format', async () => {
    const gpt = await runtimeDefaultModel(undefined);
    await expect(
      exportOnnx(gpt, join(await temporaryFolder(), 'out'), {
        sourceDir: DEFAULT_MODEL_DIR,
        format: 'tflite' as never,
      }),
    ).rejects.toThrow(InvalidArgumentError);
  });

  it('refuses a source config of another architecture (transformers.js would size the cache from it)', async () => {
    const parent = await temporaryFolder();
    const source = join(parent, 'source');
    await cp(DEFAULT_MODEL_DIR, source, { recursive: true });
    const config = JSON.parse(await readFile(join(source, 'config.json'), 'utf8'));
    await writeFile(join(source, 'config.json'), JSON.stringify({ ...config, n_layer: 6 }));
    const gpt = await runtimeDefaultModel('int8-weight-only');
    await expect(exportOnnx(gpt, join(parent, 'out'), { sourceDir: source })).rejects.toThrow(
      /n_layer 6, but the model has 4/,
    );
  });

  it('refuses a source folder without a tokenizer, writing nothing', async () => {
    const parent = await temporaryFolder();
    const source = join(parent, 'source');
    await cp(join(DEFAULT_MODEL_DIR, 'config.json'), join(source, 'config.json'));
    const gpt = await runtimeDefaultModel('int8-weight-only');
    await expect(exportOnnx(gpt, join(parent, 'out'), { sourceDir: source })).rejects.toThrow(
      MissingTokenizerError,
    );
  });

  it('refuses an existing non-empty folder without overwrite', async () => {
    const gpt = await runtimeDefaultModel('int8-weight-only');
    const folder = join(await temporaryFolder(), 'out');
    await exportOnnx(gpt, folder, { sourceDir: DEFAULT_MODEL_DIR });
    await expect(exportOnnx(gpt, folder, { sourceDir: DEFAULT_MODEL_DIR })).rejects.toThrow(
      ExportTargetExistsError,
    );
    await expect(
      exportOnnx(gpt, folder, { sourceDir: DEFAULT_MODEL_DIR, overwrite: true }),
    ).resolves.toMatchObject({
      modelFile: 'onnx/model_quantized.onnx',
    });
  });
});

describe('onnxModelFile', () => {
  it('follows transformers.js DEFAULT_DTYPE_SUFFIX_MAPPING where a dtype exists', () => {
    const table: Array<[QuantMode | undefined, 'float32' | 'float16', string, string | undefined]> = [
      [undefined, 'float32', 'model.onnx', 'fp32'],
      [undefined, 'float16', 'model_fp16.onnx', 'fp16'],
      ['int8-weight-only', 'float32', 'model_quantized.onnx', 'q8'],
      ['int8-weight-only', 'float16', 'model_q8f16.onnx', undefined],
      ['int4-weight-only', 'float32', 'model_q4.onnx', 'q4'],
      ['int4-weight-only', 'float16', 'model_q4f16.onnx', 'q4f16'],
      ['float8', 'float32', 'model_fp8.onnx', undefined],
      ['float8', 'float16', 'model_fp8f16.onnx', undefined],
    ];
    for (const [mode, dtype, fileName, transformersDtype] of table) {
      expect(onnxModelFile('onnx', mode, dtype)).toEqual({ fileName, transformersDtype });
      expect(onnxModelFile('onnx-qdq', mode, dtype)).toEqual({
        fileName: 'model_qdq.onnx',
        transformersDtype: undefined,
      });
    }
  });
});
