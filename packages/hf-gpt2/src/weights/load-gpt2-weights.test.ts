import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getSubmodule, namedModules } from '@ptq/module-path';
import { createTensor } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_CONFIG, tinyWeights, writeTinyCheckpoint } from '../__fixtures__/tiny-gpt2';
import { parseGpt2Config } from '../config';
import { MissingWeightsError, ShapeMismatchError, UnexpectedWeightsError, WeightDtypeError } from '../errors';
import { Conv1D } from '../modules/conv1d';
import { loadGpt2Weights } from './load-gpt2-weights';

const weights = tinyWeights(7);
const config = parseGpt2Config(TINY_CONFIG);
let root: string;
let counter = 0;

async function folderWith(options: Parameters<typeof writeTinyCheckpoint>[2] = {}): Promise<string> {
  const folder = path.join(root, `checkpoint-${counter++}`);
  await writeTinyCheckpoint(folder, weights, options);
  return folder;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'hf-gpt2-weights-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function expectSameWeights(
  folder: string,
  configOverrides: Record<string, unknown> = {},
): Promise<void> {
  const loaded = await loadGpt2Weights(folder, parseGpt2Config({ ...TINY_CONFIG, ...configOverrides }));
  for (const [name, expected] of weights) {
    const tensor = getSubmodule<{ dtype: string; shape: number[]; data: Float32Array }>(
      { transformer: loaded.transformer },
      name,
    );
    expect(tensor.dtype, name).toBe('float32');
    expect(tensor.shape, name).toEqual(expected.shape);
    expect(tensor.data, name).toEqual(expected.data);
  }
}

describe('loadGpt2Weights', () => {
  it('loads a save_pretrained checkpoint (prefixed keys, fp32, one file) into the module tree', async () => {
    const folder = await folderWith();
    const loaded = await loadGpt2Weights(folder, config);
    await expectSameWeights(folder);
    expect(loaded.checkpointPath).toBe(path.join(folder, 'model.safetensors'));
    // Conv1D weights stay [in, out], as HF stores them.
    const cAttn = getSubmodule<Conv1D>({ transformer: loaded.transformer }, 'transformer.h.1.attn.c_attn');
    expect(cAttn).toBeInstanceOf(Conv1D);
    expect(cAttn.weight.shape).toEqual([64, 192]);
    expect([cAttn.inFeatures, cAttn.outFeatures]).toEqual([64, 192]);
    expect(
      getSubmodule<Conv1D>({ transformer: loaded.transformer }, 'transformer.h.0.mlp.c_proj').weight.shape,
    ).toEqual([256, 64]);
    // Tied: lm_head holds the very same tensor object as the token embedding.
    expect(loaded.tied).toBe(true);
    expect(loaded.lm_head.weight).toBe(loaded.transformer.wte.weight);
    expect([loaded.lm_head.inFeatures, loaded.lm_head.outFeatures]).toEqual([64, 50]);
  });

  it('loads the openai-community/gpt2 layout (no prefix, attn.bias buffers) to the same weights', async () => {
    await expectSameWeights(await folderWith({ layout: 'unprefixed', attentionBuffers: true }));
  });

  it('loads fp16 sharded and bf16 checkpoints, upcast to the same float32 weights', async () => {
    const sharded = await folderWith({ dtype: 'float16', maxShardBytes: 40_000 });
    const files = await readdir(sharded);
    expect(files.filter((file) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(file)).length).toBeGreaterThan(
      2,
    );
    expect(files).toContain('model.safetensors.index.json');
    await expectSameWeights(sharded);
    await expectSameWeights(await folderWith({ dtype: 'bfloat16', layout: 'unprefixed' }));
  });

  it('walks every module of the tree by path', async () => {
    const loaded = await loadGpt2Weights(await folderWith(), config);
    const paths = [...namedModules({ transformer: loaded.transformer, lm_head: loaded.lm_head })].map(
      ([name]) => name,
    );
    expect(paths).toContain('transformer.h.0.attn.c_attn');
    expect(paths).toContain('transformer.h.1.mlp.c_proj');
    expect(paths).toContain('transformer.ln_f');
    expect(paths).toContain('lm_head');
  });

  it('uses a stored lm_head.weight when the config unties it, and ignores it when tied', async () => {
    const head = new Float32Array(50 * 64).map((_, index) => ((index % 17) - 8) / 64);
    const untied = await loadGpt2Weights(
      await folderWith({ lmHead: head, config: { tie_word_embeddings: false } }),
      parseGpt2Config({ ...TINY_CONFIG, tie_word_embeddings: false }),
    );
    expect(untied.tied).toBe(false);
    expect(untied.lm_head.weight.data).toEqual(head);
    expect(untied.lm_head.weight).not.toBe(untied.transformer.wte.weight);

    const tied = await loadGpt2Weights(await folderWith({ lmHead: head }), config);
    expect(tied.tied).toBe(true);
    expect(tied.lm_head.weight).toBe(tied.transformer.wte.weight);
  });

  it('ties lm_head when the config unties it but the checkpoint has none', async () => {
    const loaded = await loadGpt2Weights(
      await folderWith({ config: { tie_word_embeddings: false } }),
      parseGpt2Config({ ...TINY_CONFIG, tie_word_embeddings: false }),
    );
    expect(loaded.lm_head.weight).toBe(loaded.transformer.wte.weight);
  });

  it('lists every missing tensor at once', async () => {
    const folder = await folderWith({
      layout: 'unprefixed',
      omit: ['transformer.h.1.mlp.c_fc.bias', 'transformer.wpe.weight', 'transformer.ln_f.weight'],
    });
    const error = await loadGpt2Weights(folder, config).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingWeightsError);
    expect((error as MissingWeightsError).code).toBe('PTQ_HF_GPT2_MISSING_WEIGHTS');
    expect((error as MissingWeightsError).missing).toEqual([
      'transformer.wpe.weight',
      'transformer.h.1.mlp.c_fc.bias',
      'transformer.ln_f.weight',
    ]);
    expect((error as Error).message).toContain(path.join(folder, 'model.safetensors'));
    expect((error as Error).message).toContain('3 tensor(s) missing');
  });

  it('refuses unexpected tensors unless strict is false', async () => {
    const folder = await folderWith({
      extra: {
        'transformer.h.0.attn.q_proj.weight': createTensor('float32', [2], Float32Array.of(1, 2)),
        score: createTensor('float32', [1], Float32Array.of(0)),
      },
    });
    const error = await loadGpt2Weights(folder, config).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnexpectedWeightsError);
    expect((error as UnexpectedWeightsError).unexpected).toEqual([
      'score',
      'transformer.h.0.attn.q_proj.weight',
    ]);
    expect((error as Error).message).toMatch(/strict: false/);
    const loaded = await loadGpt2Weights(folder, config, { strict: false });
    expect(loaded.transformer.h).toHaveLength(2);
  });

  it('refuses a layer the config does not have (checkpoint deeper than n_layer)', async () => {
    const folder = await folderWith();
    const error = await loadGpt2Weights(folder, parseGpt2Config({ ...TINY_CONFIG, n_layer: 1 })).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UnexpectedWeightsError);
    expect((error as UnexpectedWeightsError).unexpected).toContain('transformer.h.1.attn.c_attn.weight');
  });

  it('names the tensor, the expected and the found shape when they disagree', async () => {
    const folder = await folderWith({
      layout: 'unprefixed',
      reshape: { 'transformer.h.0.attn.c_attn.weight': [192, 64] },
    });
    const error = await loadGpt2Weights(folder, config).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ShapeMismatchError);
    expect(error).toMatchObject({ tensor: 'h.0.attn.c_attn.weight', expected: [64, 192], found: [192, 64] });
    expect((error as Error).message).toContain('[192, 64]');
    expect((error as Error).message).toContain('[64, 192]');
  });

  it('refuses a config whose sizes disagree with the checkpoint', async () => {
    const folder = await folderWith();
    const error = await loadGpt2Weights(folder, parseGpt2Config({ ...TINY_CONFIG, vocab_size: 51 })).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ShapeMismatchError);
    expect(error).toMatchObject({ tensor: 'transformer.wte.weight', expected: [51, 64], found: [50, 64] });
  });

  it('refuses weights stored in a non-float dtype', async () => {
    const folder = await folderWith({
      omit: ['transformer.ln_f.bias'],
      extra: { 'transformer.ln_f.bias': createTensor('int8', [64]) },
    });
    const error = await loadGpt2Weights(folder, config).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WeightDtypeError);
    expect(error).toMatchObject({
      code: 'PTQ_HF_GPT2_WEIGHT_DTYPE',
      tensor: 'transformer.ln_f.bias',
      dtype: 'I8',
    });
  });

  it('passes on the safetensors reader typed error for a truncated file', async () => {
    const folder = await folderWith();
    const file = path.join(folder, 'model.safetensors');
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 1000));
    expect((await stat(file)).size).toBe(bytes.length - 1000);
    await expect(loadGpt2Weights(folder, config)).rejects.toMatchObject({ code: 'PTQ_SAFETENSORS_FORMAT' });
  });

  it('passes on a typed error for a folder without a checkpoint', async () => {
    const folder = await folderWith();
    await rm(path.join(folder, 'model.safetensors'));
    await expect(loadGpt2Weights(folder, config)).rejects.toMatchObject({ code: 'PTQ_SAFETENSORS_IO' });
  });
});
