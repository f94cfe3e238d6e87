import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGpt2Config, readGpt2Config } from './config';
import { ConfigError } from './errors';

const GPT2_SMALL = {
  activation_function: 'gelu_new',
  architectures: ['GPT2LMHeadModel'],
  attn_pdrop: 0.1,
  bos_token_id: 50256,
  embd_pdrop: 0.1,
  eos_token_id: 50256,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-5,
  model_type: 'gpt2',
  n_ctx: 1024,
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 1024,
  resid_pdrop: 0.1,
  vocab_size: 50257,
};

function expectConfigError(json: unknown, field: string, message: RegExp): void {
  let caught: unknown;
  try {
    parseGpt2Config(json, '/models/x/config.json');
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const error = caught as ConfigError;
  expect(error.code).toBe('PTQ_HF_GPT2_CONFIG');
  expect(error.field).toBe(field);
  expect(error.message).toContain('/models/x/config.json');
  expect(error.message).toContain(field);
  expect(error.message).toMatch(message);
}

describe('parseGpt2Config', () => {
  it('reads the openai-community/gpt2 config and fills in GPT2Config defaults', () => {
    const config = parseGpt2Config(GPT2_SMALL);
    expect(config).toMatchObject({
      model_type: 'gpt2',
      vocab_size: 50257,
      n_positions: 1024,
      n_embd: 768,
      n_layer: 12,
      n_head: 12,
      n_inner: 3072,
      activation_function: 'gelu_new',
      layer_norm_epsilon: 1e-5,
      scale_attn_weights: true,
      scale_attn_by_inverse_layer_idx: false,
      reorder_and_upcast_attn: false,
      tie_word_embeddings: true,
      bos_token_id: 50256,
      eos_token_id: 50256,
    });
    expect(config.raw.n_ctx).toBe(1024);
  });

  it('accepts architectures GPT2LMHeadModel without model_type, and an explicit n_inner', () => {
    const { model_type: _, ...rest } = GPT2_SMALL;
    expect(parseGpt2Config({ ...rest, n_inner: 100 }).n_inner).toBe(100);
  });

  it('keeps tie_word_embeddings false when the config says so', () => {
    expect(parseGpt2Config({ ...GPT2_SMALL, tie_word_embeddings: false }).tie_word_embeddings).toBe(false);
  });

  it('refuses a config that is not GPT-2', () => {
    expectConfigError(
      { ...GPT2_SMALL, model_type: 'llama', architectures: ['LlamaForCausalLM'] },
      'model_type',
      /llama/,
    );
  });

  it('refuses JSON that is not an object', () => {
    expectConfigError([1, 2], '(file)', /JSON object/);
    expectConfigError(null, '(file)', /JSON object/);
  });

  it.each(['n_layer', 'n_head', 'n_embd', 'n_positions', 'vocab_size', 'layer_norm_epsilon'])(
    'names a missing required field %s',
    (field) => {
      const json: Record<string, unknown> = { ...GPT2_SMALL };
      delete json[field];
      expectConfigError(json, field, /required and missing/);
    },
  );

  it.each([
    ['n_layer', 0],
    ['n_head', -1],
    ['n_embd', 7.5],
    ['vocab_size', '50257'],
    ['n_inner', 0],
  ])('refuses %s = %j', (field, value) => {
    expectConfigError({ ...GPT2_SMALL, [field]: value }, field, /positive integer/);
  });

  it.each([0, -1e-5, Number.NaN, 'tiny'])('refuses layer_norm_epsilon = %j', (value) => {
    expectConfigError({ ...GPT2_SMALL, layer_norm_epsilon: value }, 'layer_norm_epsilon', /positive finite/);
  });

  it('refuses n_embd not divisible by n_head', () => {
    expectConfigError({ ...GPT2_SMALL, n_head: 7 }, 'n_embd', /not divisible by n_head 7/);
  });

  it.each(['relu', 'gelu', 'gelu_pytorch_tanh'])('refuses activation_function %s', (activation) => {
    expectConfigError({ ...GPT2_SMALL, activation_function: activation }, 'activation_function', /gelu_new/);
  });

  it.each([
    ['scale_attn_weights', false],
    ['scale_attn_by_inverse_layer_idx', true],
    ['reorder_and_upcast_attn', true],
    ['add_cross_attention', true],
  ])('refuses the unsupported %s = %s', (field, value) => {
    expectConfigError({ ...GPT2_SMALL, [field]: value }, field, /only (true|false) is supported/);
  });

  it.each([
    ['n_layer', 2 ** 32 + 1],
    ['n_embd', 1e15],
    ['vocab_size', 2 ** 40],
    ['n_positions', 2 ** 33],
    ['n_inner', 2 ** 32 + 4],
  ])('refuses %s = %i, over the size cap', (field, value) => {
    expectConfigError({ ...GPT2_SMALL, n_head: 1, [field]: value }, field, /over the limit of 4294967296$/);
  });

  it('accepts sizes up to the cap (the checkpoint decides the rest)', () => {
    expect(parseGpt2Config({ ...GPT2_SMALL, n_layer: 2 ** 32 }).n_layer).toBe(2 ** 32);
  });

  it.each([
    ['eos_token_id', 50257],
    ['bos_token_id', 60000],
  ])('refuses %s %i outside the vocabulary of 50257 ids', (field, value) => {
    expectConfigError(
      { ...GPT2_SMALL, [field]: value },
      field,
      new RegExp(`is ${value}, outside the vocabulary \\(vocab_size 50257: ids 0 to 50256\\)$`),
    );
  });

  it('refuses non-boolean flags and bad token ids', () => {
    expectConfigError({ ...GPT2_SMALL, scale_attn_weights: 'yes' }, 'scale_attn_weights', /boolean/);
    expectConfigError({ ...GPT2_SMALL, tie_word_embeddings: 1 }, 'tie_word_embeddings', /boolean/);
    expectConfigError({ ...GPT2_SMALL, eos_token_id: -3 }, 'eos_token_id', /non-negative integer/);
  });
});

describe('readGpt2Config', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'hf-gpt2-config-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('reads <folder>/config.json', async () => {
    await writeFile(path.join(folder, 'config.json'), JSON.stringify(GPT2_SMALL));
    expect((await readGpt2Config(folder)).n_layer).toBe(12);
  });

  it('names the file when it is missing or not JSON', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'hf-gpt2-config-empty-'));
    await expect(readGpt2Config(empty)).rejects.toThrow(
      expect.objectContaining({ code: 'PTQ_HF_GPT2_CONFIG', file: path.join(empty, 'config.json') }),
    );
    await writeFile(path.join(empty, 'config.json'), '{"model_type": "gpt2",');
    await expect(readGpt2Config(empty)).rejects.toThrow(/not valid JSON/);
    await writeFile(path.join(empty, 'config.json'), ' '.repeat(1024 * 1024 + 1));
    await expect(readGpt2Config(empty)).rejects.toThrow(/over the 1048576-byte limit/);
    await rm(empty, { recursive: true, force: true });
  });

  it('reads only a regular file: a FIFO, a link to /dev/zero and a folder are refused at once', async () => {
    const cases: [string, (file: string) => Promise<void>, string][] = [
      [
        'fifo',
        async (file) => {
          execFileSync('mkfifo', [file]);
        },
        'is a FIFO, not a regular file',
      ],
      ['zero', (file) => symlink('/dev/zero', file), 'is a character device, not a regular file'],
      [
        'folder',
        async (file) => {
          await mkdir(file);
        },
        'is a folder, not a regular file',
      ],
    ];
    for (const [name, make, message] of cases) {
      const modelFolder = path.join(folder, name);
      await mkdir(modelFolder);
      const file = path.join(modelFolder, 'config.json');
      await make(file);
      const error = await readGpt2Config(modelFolder).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(`${file}: field "(file)": ${message}`);
    }
  });

  it('refuses a config.json that is not UTF-8, naming the byte offset', async () => {
    const modelFolder = path.join(folder, 'latin1');
    await mkdir(modelFolder);
    const text = JSON.stringify({ ...GPT2_SMALL, comment: 'café' });
    await writeFile(path.join(modelFolder, 'config.json'), Buffer.from(text, 'latin1'));
    const error = await readGpt2Config(modelFolder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `field "\\(file\\)": is not valid utf-8: bad byte sequence at byte offset ${text.indexOf('é')} `,
      ),
    );
  });
});
