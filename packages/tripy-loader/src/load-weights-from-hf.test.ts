import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { type Conv1D, loadHfGpt2, NonFiniteWeightError, parseGpt2Config } from '@ptq/hf-gpt2';
import { GPT } from '@ptq/nanogpt';
import { openSafetensors, writeSafetensors } from '@ptq/safetensors';
import { castTensor, type Tensor, transposeTensor } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gptConfigFromHf } from './gpt-config-from-hf';
import { loadQuantWeightsFromHf } from './load-quant-weights-from-hf';
import { hfStateToRuntime, loadWeightsFromHf } from './load-weights-from-hf';

// float16 bit patterns (IEEE 754 binary16): quiet NaN and +Inf.
const FLOAT16_NAN = 0x7e00;
const FLOAT16_POSITIVE_INFINITY = 0x7c00;

let root: string;
let counter = 0;
let config: ReturnType<typeof parseGpt2Config>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tripy-loader-non-finite-'));
  config = parseGpt2Config(JSON.parse(await readFile(join(DEFAULT_MODEL_DIR, 'config.json'), 'utf8')));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The default model (fp16) with one element of one tensor replaced by a float16 bit pattern. */
async function defaultModelWith(tensor: string, element: number, bits: number): Promise<string> {
  const folder = join(root, `model-${counter++}`);
  await mkdir(folder);
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    await copyFile(join(DEFAULT_MODEL_DIR, file), join(folder, file));
  }
  const source = await openSafetensors(join(DEFAULT_MODEL_DIR, 'model.safetensors'));
  const tensors: Record<string, Tensor> = {};
  for (const name of source.tensors.keys()) tensors[name] = await source.readTensor(name);
  await source.close();
  const poked = tensors[tensor]!;
  expect(poked.dtype).toBe('float16');
  (poked.data as Uint16Array)[element] = bits;
  await writeSafetensors(join(folder, 'model.safetensors'), tensors, { metadata: { format: 'pt' } });
  return folder;
}

describe('loading from a checkpoint with a non-finite weight', () => {
  it('loadWeightsFromHf names the file, the tensor and the element of a NaN in the embedding', async () => {
    const folder = await defaultModelWith('transformer.wte.weight', 1283, FLOAT16_NAN);
    const gpt = new GPT(gptConfigFromHf(config, { dtype: 'float32' }));
    const error = await loadWeightsFromHf(gpt, 'gpt2', 'float32', {
      model: folder,
      load: { device: 'cpu', onNotice: () => {} },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NonFiniteWeightError);
    // wte is [8192, 256]: element 1283 = 5 · 256 + 3.
    expect((error as Error).message).toBe(
      `${join(folder, 'model.safetensors')}: tensor "transformer.wte.weight" has NaN at element 1283 (row 5, column 3)`,
    );
  });

  it('loadQuantWeightsFromHf refuses +Inf in a linear weight before quantizing, telling it from NaN', async () => {
    const folder = await defaultModelWith('transformer.h.0.mlp.c_fc.weight', 1283, FLOAT16_POSITIVE_INFINITY);
    const gpt = new GPT(gptConfigFromHf(config, { dtype: 'float32', quantMode: 'int8-weight-only' }));
    const error = await loadQuantWeightsFromHf(gpt, 'gpt2', 'float32', 'int8-weight-only', {
      model: folder,
      load: { device: 'cpu', onNotice: () => {} },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NonFiniteWeightError);
    // c_fc is stored [in 256, out 1024]: element 1283 = 1 · 1024 + 259.
    expect((error as Error).message).toBe(
      `${join(folder, 'model.safetensors')}: tensor "transformer.h.0.mlp.c_fc.weight" has +Inf at element 1283 (row 1, column 259)`,
    );
  });
});

/** A tensor's bytes, for a comparison of large arrays at once. */
function bytesOf(tensor: Tensor): string {
  const { buffer, byteOffset, byteLength } = tensor.data;
  return Buffer.from(buffer, byteOffset, byteLength).toString('base64');
}

describe('hfStateToRuntime', () => {
  it('gives each Conv1D weight transposed to [out, in] and cast, as casting the transposed float32 would', async () => {
    const hf = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    const state = hfStateToRuntime(hf, 'float16');
    for (const name of ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] as const) {
      const [block, linear] = name.split('.') as ['attn' | 'mlp', string];
      const source = (hf.transformer.h[1]![block] as unknown as Record<string, Conv1D>)[linear]!.weight;
      const made = state.get(`transformer.h.1.${name}.weight`)!;
      const expected = castTensor(transposeTensor(source), 'float16');
      expect(made.dtype).toBe('float16');
      expect(made.shape).toEqual(expected.shape);
      expect(bytesOf(made)).toEqual(bytesOf(expected));
    }
  });
});
