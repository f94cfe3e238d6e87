import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { populateHubCache, startFakeHub } from '@ptq/hub/test';
import { createTensor, type Tensor } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_CONFIG, tinyWeights, writeTinyCheckpoint } from './__fixtures__/tiny-gpt2';
import {
  ConfigError,
  MissingTokenizerError,
  MissingWeightsError,
  ModelNotFoundError,
  NonFiniteWeightError,
  TokenizerMismatchError,
} from './errors';
import type { GPT2LMHeadModel } from './gpt2-lm-head-model';
import { loadHfGpt2, type WeightResidence } from './load-hf-gpt2';
import { releaseWeights, residentWeights } from './release-weights';

const weights = tinyWeights(21);
let root: string;
let counter = 0;
const models: GPT2LMHeadModel[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'hf-gpt2-load-'));
});
afterAll(async () => {
  await Promise.all(models.map((model) => model.dispose()));
  await rm(root, { recursive: true, force: true });
});

async function folderWith(options: Parameters<typeof writeTinyCheckpoint>[2] = {}): Promise<string> {
  const folder = path.join(root, `model-${counter++}`);
  await writeTinyCheckpoint(folder, weights, options);
  return folder;
}

async function load(...args: Parameters<typeof loadHfGpt2>): Promise<GPT2LMHeadModel> {
  const model = await loadHfGpt2(args[0], { device: 'cpu', ...args[1] });
  models.push(model);
  return model;
}

const INPUT_IDS = createTensor(
  'int64',
  [2, 6],
  BigInt64Array.from([49, 49, 3, 4, 5, 6, 10, 20, 30, 40, 45, 47], BigInt),
);
const MASK = createTensor('int64', [2, 6], BigInt64Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], BigInt));

async function logitsOf(model: GPT2LMHeadModel): Promise<Tensor<'float32'>> {
  return (await model.forward(INPUT_IDS, MASK)).logits!;
}

/** Every file of a folder, as the fake hub serves them: JSON/text as strings, weights as bytes. */
async function repoFiles(folder: string): Promise<Record<string, Uint8Array | string>> {
  const files: Record<string, Uint8Array | string> = {};
  for (const name of await readdir(folder)) {
    const bytes = await readFile(path.join(folder, name));
    files[name] = name.endsWith('.safetensors') ? new Uint8Array(bytes) : bytes.toString('utf8');
  }
  return files;
}

describe('loadHfGpt2 from a folder', () => {
  it('gives the same logits for an fp32 unprefixed single file and an fp16 prefixed sharded checkpoint', async () => {
    const single = await load(await folderWith({ layout: 'unprefixed', attentionBuffers: true }));
    const sharded = await load(
      await folderWith({ layout: 'prefixed', dtype: 'float16', maxShardBytes: 50_000 }),
    );
    const a = await logitsOf(single);
    const b = await logitsOf(sharded);
    expect(a.shape).toEqual([2, 6, 50]);
    expect(b.data).toEqual(a.data);
  });

  it('gives the same logits with weights read on demand, which a release drops and a forward reads again', async () => {
    const folder = await folderWith({ layout: 'prefixed', dtype: 'bfloat16' });
    const inMemory = await logitsOf(await load(folder));
    const onDemand = await loadHfGpt2(folder, { device: 'cpu', onNotice: () => {}, weights: 'on-demand' });
    expect(residentWeights(onDemand)).toEqual([]);
    expect((await logitsOf(onDemand)).data).toEqual(inMemory.data);
    // The forward read every block linear's weight (and the embeddings and LayerNorms).
    expect(residentWeights(onDemand)).toEqual(expect.arrayContaining(['transformer.h.1.mlp.c_proj.weight']));
    expect(residentWeights(onDemand).length).toBeGreaterThanOrEqual(4 * 2);
    releaseWeights(onDemand);
    expect(residentWeights(onDemand)).toEqual([]);
    await onDemand.invalidate();
    expect((await logitsOf(onDemand)).data).toEqual(inMemory.data);
    await expect(loadHfGpt2(folder, { weights: 'lazy' as unknown as WeightResidence })).rejects.toThrow(
      /Invalid argument "weights": must be "in-memory" or "on-demand", got "lazy"/,
    );
  });

  it('exposes config, a module tree and the tokenizer set up for left padding with EOS', async () => {
    const model = await load(await folderWith());
    expect(model.config.n_layer).toBe(2);
    expect(model.linearPaths).toEqual([
      'transformer.h.0.attn.c_attn',
      'transformer.h.0.attn.c_proj',
      'transformer.h.0.mlp.c_fc',
      'transformer.h.0.mlp.c_proj',
      'transformer.h.1.attn.c_attn',
      'transformer.h.1.attn.c_proj',
      'transformer.h.1.mlp.c_fc',
      'transformer.h.1.mlp.c_proj',
      'lm_head',
    ]);
    expect(model.lm_head.graphWeight().shape).toEqual([64, 50]);
    const tokenizer = model.tokenizer!;
    expect(tokenizer.padding_side).toBe('left');
    expect(tokenizer.pad_token).toBe('<|endoftext|>');
    expect(tokenizer.pad_token_id).toBe(49);
    expect(tokenizer.model_max_length).toBe(32);
    const encoded = tokenizer(['the cat', 'a cat sat on the mat'], { padding: true });
    expect(encoded.input_ids.tolist()).toEqual([
      [49n, 49n, 49n, 49n, 19n, 30n, 40n],
      [0n, 40n, 41n, 26n, 36n, 31n, 47n],
    ]);
    expect(encoded.attention_mask.tolist()[0]).toEqual([0n, 0n, 0n, 0n, 1n, 1n, 1n]);
  });

  it('refuses a folder without a tokenizer, naming the folder and the files', async () => {
    const folder = await folderWith({ tokenizer: false });
    const error = await loadHfGpt2(folder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingTokenizerError);
    expect(error).toMatchObject({
      code: 'PTQ_HF_GPT2_TOKENIZER',
      folder,
      lookedFor: ['tokenizer.json', 'tokenizer_config.json'],
    });
    expect((error as Error).message).toContain(folder);
  });

  it('refuses a tokenizer.json transformers.js cannot read', async () => {
    const folder = await folderWith();
    await writeFile(path.join(folder, 'tokenizer.json'), '{"model": ');
    await expect(loadHfGpt2(folder)).rejects.toBeInstanceOf(MissingTokenizerError);
  });

  it('refuses a non-GPT-2 config before reading weights', async () => {
    const folder = await folderWith({ config: { model_type: 'bert', architectures: ['BertModel'] } });
    await expect(loadHfGpt2(folder)).rejects.toBeInstanceOf(ConfigError);
  });

  it('refuses paths that are not model folders', async () => {
    const folder = await folderWith();
    await expect(loadHfGpt2(path.join(folder, 'config.json'))).rejects.toThrow(/is a file/);
    await expect(loadHfGpt2(path.join(root, 'absent'))).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(loadHfGpt2('./not/a/folder')).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(loadHfGpt2('')).rejects.toBeInstanceOf(ModelNotFoundError);
  });
});

describe('loadHfGpt2 refuses a checkpoint it cannot trust', () => {
  it('fails at once on config.json n_layer 1000000000, before the tokenizer or any weight is loaded', async () => {
    // No tokenizer in the folder: the checkpoint's index is consulted first.
    const folder = await folderWith({ config: { n_layer: 1_000_000_000 }, tokenizer: false });
    const error = await loadHfGpt2(folder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingWeightsError);
    expect((error as MissingWeightsError).missingCount).toBe(12 * (1_000_000_000 - 2));
    expect((error as Error).message).toMatch(
      / and 11999999971 more \(config\.json has n_layer 1000000000; the checkpoint holds 2 layer\(s\)\)$/,
    );
    expect((error as Error).message.length).toBeLessThan(400);
  });

  it.each([
    ['transformer.wte.weight', 'wte.weight'],
    ['transformer.h.0.ln_1.weight', 'h.0.ln_1.weight'],
    ['transformer.ln_f.bias', 'ln_f.bias'],
  ])('refuses NaN in %s (embedding and LayerNorm included)', async (name, key) => {
    const pokedWeights = new Map(
      [...weights].map(([weightName, weight]) => [weightName, { ...weight, data: weight.data.slice() }]),
    );
    pokedWeights.get(name)!.data[17] = Number.NaN;
    const folder = path.join(root, `model-${counter++}`);
    await writeTinyCheckpoint(folder, pokedWeights, { layout: 'unprefixed' });
    const error = await loadHfGpt2(folder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NonFiniteWeightError);
    expect((error as Error).message).toMatch(
      new RegExp(`model\\.safetensors: tensor "${key.replaceAll('.', '\\.')}" has NaN at element 17`),
    );
  });

  it('follows the tie rule of config.json', async () => {
    const untied = await folderWith({ config: { tie_word_embeddings: false } });
    await expect(loadHfGpt2(untied)).rejects.toThrow(
      /1 tensor\(s\) missing from the checkpoint: lm_head\.weight \(config\.json has tie_word_embeddings false/,
    );
    const model = await load(await folderWith({ config: { tie_word_embeddings: undefined } }));
    expect(model.config.tie_word_embeddings).toBe(true);
    expect(model.lm_head.graphWeight().shape).toEqual([64, 50]);
  });

  it('refuses eos_token_id outside the vocabulary, and a tokenizer larger than the model', async () => {
    const outside = await folderWith({ config: { eos_token_id: 50 } });
    await expect(loadHfGpt2(outside)).rejects.toThrow(
      `${path.join(outside, 'config.json')}: field "eos_token_id": is 50, outside the vocabulary (vocab_size 50: ids 0 to 49)`,
    );
    const larger = await folderWith();
    const tokenizer = JSON.parse(await readFile(path.join(larger, 'tokenizer.json'), 'utf8'));
    tokenizer.added_tokens.push({ ...tokenizer.added_tokens[0], id: 50, content: '<|pad|>' });
    await writeFile(path.join(larger, 'tokenizer.json'), JSON.stringify(tokenizer));
    const error = await loadHfGpt2(larger).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenizerMismatchError);
    expect((error as Error).message).toContain(
      'has 51 tokens with ids up to 50, but the model has vocab_size 50',
    );
  });
});

describe('loadHfGpt2 checks generation_config.json', () => {
  it.each([
    [{ eos_token_id: 50 }, 'eos_token_id', '50 is outside the vocabulary (vocab_size 50: ids 0 to 49)'],
    [{ eos_token_id: [49, 70] }, 'eos_token_id', '70 is outside the vocabulary (vocab_size 50: ids 0 to 49)'],
    [{ pad_token_id: -1 }, 'pad_token_id', 'must be a non-negative integer or a list of them, got -1'],
  ])('refuses %j', async (generation, field, message) => {
    const folder = await folderWith();
    const file = path.join(folder, 'generation_config.json');
    await writeFile(file, JSON.stringify({ bos_token_id: 49, ...generation }));
    const error = await loadHfGpt2(folder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(`${file}: field "${field}": ${message}`);
  });

  it('accepts ids inside the vocabulary, as a number or a list', async () => {
    const folder = await folderWith();
    await writeFile(
      path.join(folder, 'generation_config.json'),
      JSON.stringify({ bos_token_id: 49, eos_token_id: [49, 0], pad_token_id: null }),
    );
    expect((await load(folder)).config.eos_token_id).toBe(49);
  });
});

describe('loadHfGpt2 from the hub', () => {
  let files: Record<string, Uint8Array | string>;
  let shardedFiles: Record<string, Uint8Array | string>;
  let local: Tensor<'float32'>;

  beforeAll(async () => {
    const folder = await folderWith();
    files = { ...(await repoFiles(folder)), 'flax_model.msgpack': new Uint8Array(64), 'README.md': '# tiny' };
    shardedFiles = await repoFiles(await folderWith({ dtype: 'bfloat16', maxShardBytes: 60_000 }));
    local = await logitsOf(await load(folder));
  });

  it('downloads only the files GPT-2 needs into the HF cache layout, then loads from the cache offline', async () => {
    const hub = await startFakeHub({ repos: { 'tiny/gpt2': { files } } });
    const cacheDir = path.join(root, `cache-${counter++}`);
    try {
      const model = await load('tiny/gpt2', { endpoint: hub.endpoint, cacheDir });
      expect((await logitsOf(model)).data).toEqual(local.data);
      const fetched = hub.requests.join('\n');
      for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) {
        expect(fetched).toContain(`/resolve/`);
        expect(fetched).toContain(file);
      }
      expect(fetched).not.toContain('flax_model.msgpack');
      expect(fetched).not.toContain('README.md');
      const snapshots = path.join(cacheDir, 'models--tiny--gpt2', 'snapshots');
      const [commit] = await readdir(snapshots);
      expect((await readdir(path.join(snapshots, commit!))).sort()).toEqual([
        'config.json',
        'model.safetensors',
        'tokenizer.json',
        'tokenizer_config.json',
      ]);
    } finally {
      await hub.close();
    }
    // The hub is gone; everything is cached, so no request is needed.
    const again = await load('tiny/gpt2', { endpoint: hub.endpoint, cacheDir });
    expect((await logitsOf(again)).data).toEqual(local.data);
  });

  it('downloads an index and its shards', async () => {
    const hub = await startFakeHub({ repos: { 'tiny/gpt2-sharded': { files: shardedFiles } } });
    try {
      const model = await load('tiny/gpt2-sharded', {
        endpoint: hub.endpoint,
        cacheDir: path.join(root, `cache-${counter++}`),
      });
      expect((await logitsOf(model)).data).toEqual(local.data);
      expect(
        hub.requests.filter((request) => /model-\d{5}-of-\d{5}\.safetensors/.test(request)).length,
      ).toBeGreaterThan(1);
    } finally {
      await hub.close();
    }
  });

  it('finds a pre-populated cache through HF_HUB_CACHE without any network', async () => {
    const cacheDir = path.join(root, `cache-${counter++}`);
    await populateHubCache(cacheDir, { 'openai-community/gpt2': { files: shardedFiles } });
    const saved = process.env.HF_HUB_CACHE;
    process.env.HF_HUB_CACHE = cacheDir;
    try {
      const model = await load('openai-community/gpt2', { offline: true, endpoint: 'http://127.0.0.1:9' });
      expect((await logitsOf(model)).data).toEqual(local.data);
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_CACHE;
      else process.env.HF_HUB_CACHE = saved;
    }
  });

  it('refuses a repo without a tokenizer or without safetensors weights', async () => {
    const { 'tokenizer.json': _, ...withoutTokenizer } = files;
    const { 'model.safetensors': __, ...withoutWeights } = files;
    const hub = await startFakeHub({
      repos: {
        'tiny/no-tokenizer': { files: withoutTokenizer },
        'tiny/no-weights': { files: withoutWeights },
      },
    });
    try {
      const options = { endpoint: hub.endpoint, cacheDir: path.join(root, `cache-${counter++}`) };
      await expect(loadHfGpt2('tiny/no-tokenizer', options)).rejects.toBeInstanceOf(MissingTokenizerError);
      await expect(loadHfGpt2('tiny/no-weights', options)).rejects.toThrow(
        /neither model.safetensors nor model.safetensors.index.json/,
      );
    } finally {
      await hub.close();
    }
  });

  it('fails with the hub typed error when offline and not cached', async () => {
    await expect(
      loadHfGpt2('tiny/absent', { offline: true, cacheDir: path.join(root, `cache-${counter++}`) }),
    ).rejects.toMatchObject({ code: 'PTQ_HUB_UNAVAILABLE' });
  });
});

// Keep TINY_CONFIG referenced: the fixture's config is what the hub repo serves.
expect(TINY_CONFIG.n_layer).toBe(2);
