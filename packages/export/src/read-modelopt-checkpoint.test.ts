import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { InvalidArgumentError } from '@ptq/errors';
import { ConfigError } from '@ptq/hf-gpt2';
import { compile, GPT } from '@ptq/nanogpt';
import type { QuantMode } from '@ptq/quant-core';
import { createTensor, type Tensor, toFloat32 } from '@ptq/tensor';
import { gptConfigFromHf, quantizedStateToRuntime } from '@ptq/tripy-loader';
import { beforeAll, describe, expect, it } from 'vitest';
import { quantizedDefaultModel, temporaryFolder } from './__fixtures__/quantized-default-model';
import { rewriteCheckpoint } from './__fixtures__/rewrite-checkpoint';
import { CheckpointTensorError, NotModelOptCheckpointError, UnknownQuantAlgoError } from './errors';
import { exportModelOptCheckpoint } from './export-modelopt-checkpoint';
import { loadModelOptCheckpoint, readModelOptCheckpoint } from './read-modelopt-checkpoint';
import { readModelOptQuantization } from './read-modelopt-quantization';

// "The quick brown fox" style ids inside the default model's 8192-token vocabulary.
const PROMPT = [464, 2068, 7586, 21, 318, 257, 1332, 13, 632, 1049].map((id) => id % 8192);

async function logitsOf(gpt: GPT): Promise<Float32Array> {
  const compiled = await compile(gpt, { device: 'cpu', maxSequence: 32 });
  try {
    const ids = createTensor('int64', [1, PROMPT.length], BigInt64Array.from(PROMPT, BigInt));
    return (await compiled.forward(ids)).logits.data;
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

describe.each([
  ['int8-weight-only', 'W8A16', ['lm_head']],
  ['int4-weight-only', 'W4A16_AWQ', ['lm_head']],
  ['float8', 'FP8', []],
] as const)('readModelOptCheckpoint round trip, %s', (mode, algo, excluded) => {
  let folder = '';
  beforeAll(async () => {
    folder = await exportedCheckpoint(mode);
  });

  it('reads the quantization description', async () => {
    const checkpoint = await readModelOptCheckpoint(folder);
    expect(checkpoint.quantAlgo).toBe(algo);
    expect(checkpoint.mode).toBe(mode);
    expect(checkpoint.producer).toEqual({ name: 'ptq', version: '0.1.0' });
    expect(checkpoint.excludeModules).toEqual(excluded);
    expect(checkpoint.hfConfig.n_layer).toBe(4);
  });

  it('gives logits equal to the model loaded straight from the quantized HF model', async () => {
    const quantized = await quantizedDefaultModel(mode);
    const direct = new GPT(gptConfigFromHf(quantized.model.config, { quantMode: mode }));
    direct.loadStateDict(quantizedStateToRuntime(quantized, 'float32'), { strict: true });
    const { gpt } = await loadModelOptCheckpoint(folder);
    expect(gpt.config.quantMode).toBe(mode);
    expect(maxDifference(await logitsOf(gpt), await logitsOf(direct))).toBeLessThanOrEqual(1e-4);
  });

  it('gives the runtime the same scales as the direct path, and weights that are codes × scale', async () => {
    const quantized = await quantizedDefaultModel(mode);
    const direct = quantizedStateToRuntime(quantized, 'float32');
    const { runtimeState } = await readModelOptCheckpoint(folder);
    const path = 'transformer.h.2.mlp.c_fc';
    expect(runtimeState.get(`${path}.weight_scale`)).toEqual(direct.get(`${path}.weight_scale`));
    const weight = toFloat32(runtimeState.get(`${path}.weight`)!);
    const scales = toFloat32(runtimeState.get(`${path}.weight_scale`)!);
    const inFeatures = 256;
    for (let index = 0; index < weight.length; index += 977) {
      const row = Math.floor(index / inFeatures);
      const scale =
        mode === 'float8'
          ? scales[0]!
          : mode === 'int8-weight-only'
            ? scales[row]!
            : scales[row * 2 + ((index % inFeatures) >> 7)]!;
      const code = weight[index]! / scale;
      if (mode === 'float8') {
        expect(Math.abs(code)).toBeLessThanOrEqual(448);
      } else {
        expect(Math.abs(code - Math.round(code))).toBeLessThan(1e-4);
      }
    }
  });

  if (mode === 'int4-weight-only') {
    it('keeps the folded LayerNorms and gives c_attn / c_fc a pre-quant scale of ones', async () => {
      const quantized = await quantizedDefaultModel(mode);
      const direct = quantizedStateToRuntime(quantized, 'float32');
      const { runtimeState } = await readModelOptCheckpoint(folder);
      const ones = new Float32Array(256).fill(1);
      expect(toFloat32(runtimeState.get('transformer.h.0.attn.c_attn.pre_quant_scale')!)).toEqual(ones);
      expect(toFloat32(runtimeState.get('transformer.h.0.mlp.c_fc.pre_quant_scale')!)).toEqual(ones);
      expect(runtimeState.get('transformer.h.0.mlp.c_proj.pre_quant_scale')).toEqual(
        direct.get('transformer.h.0.mlp.c_proj.pre_quant_scale'),
      );
      const scale = toFloat32(direct.get('transformer.h.0.attn.c_attn.pre_quant_scale')!);
      const norm = toFloat32(direct.get('transformer.h.0.ln_1.weight')!);
      expect(toFloat32(runtimeState.get('transformer.h.0.ln_1.weight')!)).toEqual(
        norm.map((value, index) => value * scale[index]!),
      );
    });
  }

  it('ties lm_head to the embedding unless the checkpoint stores it', async () => {
    const { runtimeState } = await readModelOptCheckpoint(folder);
    const tied = runtimeState.get('lm_head.weight') === runtimeState.get('transformer.wte.weight');
    expect(tied).toBe(mode !== 'float8');
  });

  it('casts float tensors to float16 on request', async () => {
    const { gpt, checkpoint } = await loadModelOptCheckpoint(folder, { dtype: 'float16' });
    expect(gpt.config.dtype).toBe('float16');
    expect(checkpoint.runtimeState.get('transformer.wte.weight')!.dtype).toBe('float16');
    expect(checkpoint.runtimeState.get('transformer.h.0.attn.c_attn.weight_scale')!.dtype).toBe('float16');
  });
});

describe('readModelOptCheckpoint, bad input', () => {
  const edited = async (mode: QuantMode, edit: (tensors: Map<string, Tensor>) => void): Promise<string> => {
    const target = join(await temporaryFolder(), 'edited');
    await rewriteCheckpoint(await exportedCheckpoint(mode), target, edit);
    return target;
  };

  it('refuses a plain Hugging Face folder as not a ModelOpt checkpoint', async () => {
    await expect(readModelOptCheckpoint(DEFAULT_MODEL_DIR)).rejects.toThrow(NotModelOptCheckpointError);
    await expect(readModelOptCheckpoint(DEFAULT_MODEL_DIR)).rejects.toThrow(/quant_method is "modelopt"/);
  });

  it('refuses a folder that does not exist, or a file', async () => {
    const parent = await temporaryFolder();
    await expect(readModelOptCheckpoint(join(parent, 'nothing'))).rejects.toThrow(/does not exist/);
    await writeFile(join(parent, 'file'), 'x');
    await expect(readModelOptCheckpoint(join(parent, 'file'))).rejects.toThrow(/is not a folder/);
  });

  it('refuses an unknown quant_algo, naming the file', async () => {
    const target = await edited('int8-weight-only', () => {});
    const file = join(target, 'hf_quant_config.json');
    const json = JSON.parse(await readFile(file, 'utf8'));
    json.quantization.quant_algo = 'NVFP4';
    await writeFile(file, JSON.stringify(json));
    const error = await readModelOptCheckpoint(target).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnknownQuantAlgoError);
    expect((error as UnknownQuantAlgoError).code).toBe('PTQ_MODELOPT_QUANT_ALGO');
    expect((error as Error).message).toContain('hf_quant_config.json');
    expect((error as Error).message).toContain('"NVFP4"');
  });

  it('falls back to config.json quantization_config without hf_quant_config.json', async () => {
    const target = await edited('int4-weight-only', () => {});
    await rm(join(target, 'hf_quant_config.json'));
    const quantization = await readModelOptQuantization(target);
    expect(quantization.quantAlgo).toBe('W4A16_AWQ');
    expect(quantization.file).toBe(join(target, 'config.json'));
    expect(quantization.excludeModules).toEqual(['lm_head']);
  });

  it('refuses a hf_quant_config.json without a quantization object', async () => {
    const target = await edited('int8-weight-only', () => {});
    await writeFile(join(target, 'hf_quant_config.json'), '{"producer": {}}');
    await expect(readModelOptCheckpoint(target)).rejects.toThrow(/"quantization" is missing/);
  });

  it('refuses invalid JSON, naming the file', async () => {
    const target = await edited('int8-weight-only', () => {});
    await writeFile(join(target, 'hf_quant_config.json'), '{');
    await expect(readModelOptCheckpoint(target)).rejects.toThrow(/hf_quant_config\.json: is not valid JSON/);
  });

  it('refuses a missing tensor, naming it and what was expected', async () => {
    const target = await edited('int8-weight-only', (tensors) => tensors.delete('transformer.h.1.ln_2.bias'));
    const error = await readModelOptCheckpoint(target).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CheckpointTensorError);
    expect((error as CheckpointTensorError).tensor).toBe('transformer.h.1.ln_2.bias');
    expect((error as Error).message).toMatch(/is missing; expected float \[256\]/);
  });

  it('refuses a quantized weight stored in the wrong dtype', async () => {
    const target = await edited('int8-weight-only', (tensors) => {
      const name = 'transformer.h.0.attn.c_attn.weight';
      tensors.set(name, createTensor('float32', [768, 256], toFloat32(tensors.get(name)!)));
    });
    await expect(readModelOptCheckpoint(target)).rejects.toThrow(
      /is float32 \[768, 256\]; expected int8 \[768, 256\]/,
    );
  });

  it('refuses an int4 weight that is not packed two rows per byte', async () => {
    const target = await edited('int4-weight-only', (tensors) => {
      tensors.set('transformer.h.0.attn.c_proj.weight', createTensor('uint8', [256, 128]));
    });
    await expect(readModelOptCheckpoint(target)).rejects.toThrow(/expected uint8 \[128, 256\]/);
  });

  it('refuses a scale of the wrong shape', async () => {
    const target = await edited('int4-weight-only', (tensors) => {
      tensors.set('transformer.h.3.mlp.c_proj.weight_scale', createTensor('float32', [256]));
    });
    await expect(readModelOptCheckpoint(target)).rejects.toThrow(
      /weight_scale" is float32 \[256\]; expected a float scale \[256, 8\]/,
    );
  });

  it('refuses tensors a GPT-2 checkpoint does not have', async () => {
    const target = await edited('int8-weight-only', (tensors) => {
      tensors.set('transformer.h.0.attn.c_attn.weight_quantizer._amax', createTensor('float32', [768, 1]));
    });
    await expect(readModelOptCheckpoint(target)).rejects.toThrow(
      /unexpected tensors: transformer\.h\.0\.attn\.c_attn\.weight_quantizer\._amax/,
    );
  });

  it("refuses an FP8 checkpoint whose lm_head is unquantized (ModelOpt's preset), which the float8 runtime quantizes", async () => {
    const target = await edited('float8', (tensors) => {
      tensors.delete('lm_head.weight');
      tensors.delete('lm_head.weight_scale');
      tensors.delete('lm_head.input_scale');
    });
    await expect(readModelOptCheckpoint(target)).rejects.toThrow(
      /lm_head\.weight_scale" is missing: ptq's float8 runtime quantizes lm_head/,
    );
  });

  it('refuses a checkpoint that quantizes a linear the runtime keeps in float', async () => {
    const target = await edited('int8-weight-only', (tensors) => {
      tensors.set('lm_head.weight', createTensor('int8', [8192, 256]));
      tensors.set('lm_head.weight_scale', createTensor('float32', [8192]));
    });
    await expect(readModelOptCheckpoint(target)).rejects.toThrow(
      /lm_head\.weight_scale" is present, but the checkpoint quantizes lm_head/,
    );
  });

  it('refuses a config that is not GPT-2', async () => {
    const target = await edited('int8-weight-only', () => {});
    const file = join(target, 'config.json');
    const json = JSON.parse(await readFile(file, 'utf8'));
    json.model_type = 'llama';
    json.architectures = ['LlamaForCausalLM'];
    await writeFile(file, JSON.stringify(json));
    await expect(readModelOptCheckpoint(target)).rejects.toThrow(ConfigError);
  });

  it('refuses a folder without model.safetensors', async () => {
    const target = await edited('int8-weight-only', () => {});
    await rm(join(target, 'model.safetensors'));
    await expect(readModelOptCheckpoint(target)).rejects.toThrow(/no readable safetensors checkpoint/);
  });
});

describe('gptConfigFromHf', () => {
  it('maps the Hugging Face fields to the runtime configuration', async () => {
    const { hfConfig } = await readModelOptCheckpoint(await exportedCheckpoint('int8-weight-only'));
    expect(gptConfigFromHf(hfConfig, { dtype: 'float16', quantMode: 'int8-weight-only' })).toEqual({
      numLayers: 4,
      numHeads: 4,
      embeddingSize: 256,
      vocabSize: 8192,
      blockSize: 1024,
      bias: true,
      dtype: 'float16',
      quantMode: 'int8-weight-only',
      layerNormEpsilon: 1e-5,
      eosTokenId: 0,
    });
  });

  it('refuses an MLP width other than 4 · n_embd', async () => {
    const { hfConfig } = await readModelOptCheckpoint(await exportedCheckpoint('int8-weight-only'));
    expect(() => gptConfigFromHf({ ...hfConfig, n_inner: 1000 })).toThrow(InvalidArgumentError);
  });
});
