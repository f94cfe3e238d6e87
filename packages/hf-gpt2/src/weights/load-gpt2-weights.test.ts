import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getSubmodule, namedModules } from '@ptq/module-path';
import { openSafetensors, SafetensorsChangedError } from '@ptq/safetensors';
import { createTensor, ReloadableTensor } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_CONFIG, tinyWeights, writeTinyCheckpoint } from '../__fixtures__/tiny-gpt2';
import { parseGpt2Config } from '../config';
import {
  MissingWeightsError,
  NonFiniteWeightError,
  ShapeMismatchError,
  UnexpectedWeightsError,
  WeightDtypeError,
} from '../errors';
import { Conv1D } from '../modules/conv1d';
import { loadGpt2Weights, openGpt2Weights } from './load-gpt2-weights';

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

/** The checkpoint's weights as `openGpt2Weights(...).readOnDemand()` gives them. */
async function loadOnDemand(folder: string, loadConfig = config) {
  const opened = await openGpt2Weights(folder, loadConfig);
  try {
    return await opened.readOnDemand();
  } finally {
    await opened.close();
  }
}

async function expectSameWeights(
  folder: string,
  configOverrides: Record<string, unknown> = {},
): Promise<void> {
  const loadConfig = parseGpt2Config({ ...TINY_CONFIG, ...configOverrides });
  const loaded = await loadGpt2Weights(folder, loadConfig);
  const onDemand = await loadOnDemand(folder, loadConfig);
  for (const [name, expected] of weights) {
    const reloadable = getSubmodule<ReloadableTensor<'float32'>>({ transformer: onDemand.transformer }, name);
    expect(reloadable).toBeInstanceOf(ReloadableTensor);
    expect(reloadable.resident, name).toBe(false);
    expect(reloadable.shape, name).toEqual(expected.shape);
    expect(reloadable.data, name).toEqual(expected.data);
    reloadable.release();
    expect(reloadable.data, `${name} read again`).toEqual(expected.data);
    reloadable.release();
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

  it('reads a weight on demand again after a release, and refuses a checkpoint changed meanwhile', async () => {
    const folder = await folderWith();
    const onDemand = await loadOnDemand(folder);
    const conv = onDemand.transformer.h[0]!.mlp.c_fc as Conv1D;
    expect(conv.weight.data).toEqual(weights.get('transformer.h.0.mlp.c_fc.weight')!.data);
    // Held: the file may change under it without a read.
    await writeFile(path.join(folder, 'model.safetensors'), new Uint8Array(1), { flag: 'a' });
    expect(conv.weight.data).toEqual(weights.get('transformer.h.0.mlp.c_fc.weight')!.data);
    (conv.weight as ReloadableTensor).release();
    expect(() => conv.weight.data).toThrow(SafetensorsChangedError);
    expect(() => conv.weight.data).toThrow(
      /model\.safetensors: changed while ptq was reading weights from it/,
    );
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

  it('refuses tie_word_embeddings false without a stored lm_head.weight, naming the tensor', async () => {
    const folder = await folderWith({ config: { tie_word_embeddings: false } });
    const error = await loadGpt2Weights(
      folder,
      parseGpt2Config({ ...TINY_CONFIG, tie_word_embeddings: false }),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingWeightsError);
    expect(error).toMatchObject({ missing: ['lm_head.weight'], missingCount: 1 });
    expect((error as Error).message).toBe(
      `${path.join(folder, 'model.safetensors')}: 1 tensor(s) missing from the checkpoint: lm_head.weight (config.json has tie_word_embeddings false, so lm_head.weight must be stored)`,
    );
  });

  it('ties lm_head when tie_word_embeddings is absent (GPT-2 default true)', async () => {
    const { tie_word_embeddings: _, ...withoutTie } = TINY_CONFIG;
    const loaded = await loadGpt2Weights(await folderWith(), parseGpt2Config(withoutTie));
    expect(loaded.tied).toBe(true);
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

describe('loadGpt2Weights checks the config against the checkpoint index first', () => {
  it.each([
    // n_layer, how many tensors are missing (12 per absent layer: the checkpoint holds 2), as counted by hand
    [1_000_000_000, 12 * (1_000_000_000 - 2)],
    [100_000, 12 * (100_000 - 2)],
    [3, 12],
  ])(
    'refuses n_layer %i with a one-line, capped list of the %i missing tensors',
    async (layers, missingCount) => {
      const folder = await folderWith();
      const error = await loadGpt2Weights(folder, parseGpt2Config({ ...TINY_CONFIG, n_layer: layers })).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(MissingWeightsError);
      const first = [
        'transformer.h.2.ln_1.weight',
        'transformer.h.2.ln_1.bias',
        'transformer.h.2.attn.c_attn.weight',
        'transformer.h.2.attn.c_attn.bias',
        'transformer.h.2.attn.c_proj.weight',
      ];
      expect((error as Error).message).toBe(
        `${path.join(folder, 'model.safetensors')}: ${missingCount} tensor(s) missing from the checkpoint: ` +
          `${first.join(', ')} and ${missingCount - 5} more ` +
          `(config.json has n_layer ${layers}; the checkpoint holds 2 layer(s))`,
      );
      expect((error as MissingWeightsError).missingCount).toBe(missingCount);
      // The error keeps the first names, never all of them.
      expect((error as MissingWeightsError).missing).toHaveLength(Math.min(missingCount, 100));
      expect((error as MissingWeightsError).missing.slice(0, 5)).toEqual(first);
    },
  );

  it.each([
    // field, value, first tensor whose shape the value contradicts, the shape it implies, the stored shape
    ['n_embd', 128, 'transformer.wte.weight', [50, 128], [50, 64]],
    ['n_positions', 64, 'transformer.wpe.weight', [64, 64], [32, 64]],
    ['vocab_size', 49, 'transformer.wte.weight', [49, 64], [50, 64]],
    ['n_inner', 128, 'transformer.h.0.mlp.c_fc.weight', [64, 128], [64, 256]],
  ])('refuses %s %i that the stored shapes contradict', async (field, value, tensor, expected, found) => {
    const folder = await folderWith();
    const error = await loadGpt2Weights(
      folder,
      parseGpt2Config({ ...TINY_CONFIG, eos_token_id: 0, bos_token_id: 0, [field]: value }),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ShapeMismatchError);
    expect(error).toMatchObject({ tensor, expected, found });
  });
});

describe('loadGpt2Weights checks every tensor for NaN and infinities', () => {
  /** The tiny weights with one element replaced. */
  function poked(name: string, element: number, value: number) {
    const copy = new Map(
      [...weights].map(([key, weight]) => [key, { ...weight, data: weight.data.slice() }]),
    );
    copy.get(name)!.data[element] = value;
    return copy;
  }

  async function loadError(
    pokedWeights: Parameters<typeof writeTinyCheckpoint>[1],
    options: Parameters<typeof writeTinyCheckpoint>[2] = {},
    configOverrides: Record<string, unknown> = {},
  ): Promise<{ error: unknown; folder: string }> {
    const folder = path.join(root, `checkpoint-${counter++}`);
    await writeTinyCheckpoint(folder, pokedWeights, options);
    const loadConfig = parseGpt2Config({ ...TINY_CONFIG, ...configOverrides });
    const error = await loadGpt2Weights(folder, loadConfig).catch((caught: unknown) => caught);
    // Read on demand, the weights are checked at load the same way, one tensor at a time.
    const onDemandError = await loadOnDemand(folder, loadConfig).catch((caught: unknown) => caught);
    expect(onDemandError).toEqual(error);
    expect((onDemandError as Error).message).toBe((error as Error).message);
    return { error, folder };
  }

  it.each([
    // tensor (prefixed), element, value, checkpoint dtype, the key as stored, position (c_fc is [64, 256], wte [50, 64], wpe [32, 64])
    [
      'transformer.h.0.mlp.c_fc.weight',
      1283,
      Number.NaN,
      'float32',
      'h.0.mlp.c_fc.weight',
      'NaN',
      ' (row 5, column 3)',
    ],
    [
      'transformer.wte.weight',
      70,
      Number.POSITIVE_INFINITY,
      'float32',
      'wte.weight',
      '+Inf',
      ' (row 1, column 6)',
    ],
    ['transformer.h.1.ln_1.weight', 9, Number.NEGATIVE_INFINITY, 'float32', 'h.1.ln_1.weight', '-Inf', ''],
    ['transformer.ln_f.bias', 63, Number.NaN, 'float16', 'ln_f.bias', 'NaN', ''],
    [
      'transformer.wpe.weight',
      2047,
      Number.POSITIVE_INFINITY,
      'bfloat16',
      'wpe.weight',
      '+Inf',
      ' (row 31, column 63)',
    ],
    ['transformer.h.1.ln_2.bias', 0, Number.NEGATIVE_INFINITY, 'float16', 'h.1.ln_2.bias', '-Inf', ''],
  ] as const)(
    'names %s, element %i, %s in a %s checkpoint',
    async (name, element, value, dtype, key, kind, position) => {
      const { error, folder } = await loadError(poked(name, element, value), { dtype, layout: 'unprefixed' });
      expect(error).toBeInstanceOf(NonFiniteWeightError);
      expect(error).toMatchObject({
        code: 'PTQ_HF_GPT2_NON_FINITE_WEIGHT',
        tensor: key,
        element,
        value: kind,
      });
      expect((error as Error).message).toBe(
        `${path.join(folder, 'model.safetensors')}: tensor "${key}" has ${kind} at element ${element}${position}`,
      );
    },
  );

  it('reports the first non-finite element of a tensor', async () => {
    const pokedWeights = poked('transformer.h.0.attn.c_proj.weight', 100, Number.NaN);
    pokedWeights.get('transformer.h.0.attn.c_proj.weight')!.data[65] = Number.NEGATIVE_INFINITY;
    const { error } = await loadError(pokedWeights);
    expect(error).toMatchObject({ tensor: 'transformer.h.0.attn.c_proj.weight', element: 65, value: '-Inf' });
    expect((error as Error).message).toMatch(/has -Inf at element 65 \(row 1, column 1\)$/);
  });

  it('names the shard that holds the tensor in a sharded checkpoint', async () => {
    const { error } = await loadError(poked('transformer.h.1.mlp.c_proj.weight', 5, Number.NaN), {
      maxShardBytes: 40_000,
    });
    expect(error).toBeInstanceOf(NonFiniteWeightError);
    const file = (error as NonFiniteWeightError).file;
    expect(path.basename(file)).toMatch(/^model-\d{5}-of-\d{5}\.safetensors$/);
    const shard = await openSafetensors(file);
    expect(shard.tensors.has('transformer.h.1.mlp.c_proj.weight')).toBe(true);
    await shard.close();
  });

  it('checks a stored lm_head.weight when the config unties it', async () => {
    const head = new Float32Array(50 * 64).fill(0.25);
    head[64 * 3 + 2] = Number.NaN;
    const { error } = await loadError(weights, { lmHead: head }, { tie_word_embeddings: false });
    expect(error).toMatchObject({ tensor: 'lm_head.weight', element: 194, value: 'NaN' });
    expect((error as Error).message).toMatch(/has NaN at element 194 \(row 3, column 2\)$/);
  });
});
