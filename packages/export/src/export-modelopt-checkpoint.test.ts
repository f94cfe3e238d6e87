import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { MissingTokenizerError, residentWeights } from '@ptq/hf-gpt2';
import type { QuantMode } from '@ptq/quant-core';
import { openSafetensorsCheckpoint } from '@ptq/safetensors';
import { createTensor, type Tensor, toFloat32 } from '@ptq/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { float8Value, roundHalfEvenReference, signedNibble } from './__fixtures__/independent-codecs';
import { quantizedDefaultModel, temporaryFolder } from './__fixtures__/quantized-default-model';
import { ExportTargetExistsError } from './errors';
import { exportModelOptCheckpoint } from './export-modelopt-checkpoint';

// The default model: 4 layers, width 256, vocabulary 8192, 1024 positions.
const LAYERS = 4;
const WIDTH = 256;
const VOCAB = 8192;
const POSITIONS = 1024;
const LINEARS = [
  ['attn.c_attn', 3 * WIDTH, WIDTH],
  ['attn.c_proj', WIDTH, WIDTH],
  ['mlp.c_fc', 4 * WIDTH, WIDTH],
  ['mlp.c_proj', WIDTH, 4 * WIDTH],
] as const;

/** The header modelopt-reference.md §7 prescribes for the default model, written out per mode. */
function expectedHeader(mode: QuantMode): Map<string, string> {
  const header = new Map<string, string>();
  const float = (name: string, shape: number[]) => header.set(name, `F32 [${shape}]`);
  float('transformer.wte.weight', [VOCAB, WIDTH]);
  float('transformer.wpe.weight', [POSITIONS, WIDTH]);
  float('transformer.ln_f.weight', [WIDTH]);
  float('transformer.ln_f.bias', [WIDTH]);
  const quantized = (path: string, out: number, inFeatures: number) => {
    if (mode === 'int8-weight-only') {
      header.set(`${path}.weight`, `I8 [${[out, inFeatures]}]`);
      float(`${path}.weight_scale`, [out]);
    } else if (mode === 'int4-weight-only') {
      header.set(`${path}.weight`, `U8 [${[out / 2, inFeatures]}]`);
      float(`${path}.weight_scale`, [out, inFeatures / 128]);
      // c_attn / c_fc had theirs folded into ln_1 / ln_2.
      if (path.endsWith('c_proj')) float(`${path}.pre_quant_scale`, [inFeatures]);
    } else {
      header.set(`${path}.weight`, `F8_E4M3 [${[out, inFeatures]}]`);
      float(`${path}.weight_scale`, []);
      float(`${path}.input_scale`, []);
    }
  };
  for (let layer = 0; layer < LAYERS; layer += 1) {
    const block = `transformer.h.${layer}`;
    for (const norm of ['ln_1', 'ln_2']) {
      float(`${block}.${norm}.weight`, [WIDTH]);
      float(`${block}.${norm}.bias`, [WIDTH]);
    }
    for (const [name, out, inFeatures] of LINEARS) {
      quantized(`${block}.${name}`, out, inFeatures);
      float(`${block}.${name}.bias`, [out]);
    }
  }
  // The tied float head is the embedding (de-duplicated); Tripy's float8 quantizes it, so it is stored.
  if (mode === 'float8') quantized('lm_head', VOCAB, WIDTH);
  return header;
}

/** ModelOpt's `maxbound / amax` in float32, as PyTorch evaluates `number / tensor`: `(1 / amax) · maxbound`. */
function maxboundOverAmax(maxbound: number, amax: number): number {
  return Math.fround(Math.fround(1 / amax) * maxbound);
}

async function readHeader(folder: string): Promise<Map<string, string>> {
  const checkpoint = await openSafetensorsCheckpoint(folder);
  try {
    return new Map([...checkpoint.tensors].map(([name, info]) => [name, `${info.dtype} [${info.shape}]`]));
  } finally {
    await checkpoint.close();
  }
}

async function readTensors(folder: string, names: string[]): Promise<Map<string, Tensor>> {
  const checkpoint = await openSafetensorsCheckpoint(folder);
  try {
    const tensors = new Map<string, Tensor>();
    for (const name of names) tensors.set(name, await checkpoint.readTensor(name));
    return tensors;
  } finally {
    await checkpoint.close();
  }
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

const EXPORT_FILES = [
  'config.json',
  'generation_config.json',
  'hf_quant_config.json',
  'model.safetensors',
  'ptq-manifest.json',
  'tokenizer.json',
  'tokenizer_config.json',
];

describe.each([
  ['int8-weight-only', 'W8A16'],
  ['int4-weight-only', 'W4A16_AWQ'],
  ['float8', 'FP8'],
] as const)('exportModelOptCheckpoint, %s', (mode, algo) => {
  let folder = '';
  beforeAll(async () => {
    folder = join(await temporaryFolder(), 'checkpoint');
    const result = await exportModelOptCheckpoint(await quantizedDefaultModel(mode), folder, {
      sourceDir: DEFAULT_MODEL_DIR,
    });
    expect(result.directory).toBe(folder);
    expect(result.files).toEqual(EXPORT_FILES);
  });

  it('writes exactly the tensors, dtypes and shapes of ModelOpt 0.41 unified export, and no _amax key', async () => {
    const header = await readHeader(folder);
    expect([...header.keys()].filter((name) => /_amax|quantizer/.test(name))).toEqual([]);
    expect(Object.fromEntries([...header].sort())).toEqual(
      Object.fromEntries([...expectedHeader(mode)].sort()),
    );
  });

  it('writes hf_quant_config.json and config.json quantization_config as ModelOpt does', async () => {
    const excluded = mode === 'float8' ? [] : ['lm_head'];
    const int4 = mode === 'int4-weight-only';
    expect(await readJson(join(folder, 'hf_quant_config.json'))).toEqual({
      producer: { name: 'ptq', version: '0.1.0' },
      quantization: {
        quant_algo: algo,
        kv_cache_quant_algo: null,
        exclude_modules: excluded,
        ...(int4 ? { group_size: 128, has_zero_point: false, pre_quant_scale: true } : {}),
      },
    });
    const source = await readJson(join(DEFAULT_MODEL_DIR, 'config.json'));
    expect(await readJson(join(folder, 'config.json'))).toEqual({
      ...source,
      dtype: 'float32',
      ...(mode === 'float8' ? { tie_word_embeddings: false } : {}),
      quantization_config: {
        quant_method: 'modelopt',
        quant_algo: algo,
        producer: { name: 'ptq', version: '0.1.0' },
        ignore: excluded,
        ...(int4 ? { group_size: 128 } : {}),
      },
    });
  });

  it('copies the tokenizer and generation config byte for byte', async () => {
    for (const name of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
      expect((await readFile(join(folder, name))).equals(await readFile(join(DEFAULT_MODEL_DIR, name)))).toBe(
        true,
      );
    }
  });

  it('writes the same bytes from a model whose weights are read on demand, holding none after', async () => {
    const quantized = await quantizedDefaultModel(mode, 'on-demand');
    const onDemand = join(await temporaryFolder(), 'checkpoint');
    await exportModelOptCheckpoint(quantized, onDemand, { sourceDir: DEFAULT_MODEL_DIR });
    expect(residentWeights(quantized.model)).toEqual([]);
    for (const file of ['model.safetensors', 'config.json', 'hf_quant_config.json']) {
      expect(
        Buffer.compare(await readFile(join(onDemand, file)), await readFile(join(folder, file))),
        file,
      ).toBe(0);
    }
  });

  it('leaves nothing beside the export folder', async () => {
    expect(await readdir(dirname(folder))).toEqual([basename(folder)]);
  });

  if (mode === 'int8-weight-only') {
    // The codes are ModelOpt's fake-quantization codes, which the runtime compiles too: its CPU kernel
    // computes `rint(W · (127 / amax))` in float32 (modelopt-reference.md §2), where PyTorch's
    // `number / tensor` is `reciprocal(amax) · 127`.
    it('stores every int8 code as clamp(rne(W · (127 / amax))) with [out, in] weights (reference rounding)', async () => {
      const quantized = await quantizedDefaultModel(mode);
      for (const path of ['transformer.h.0.attn.c_attn', 'transformer.h.3.mlp.c_proj']) {
        const linear = quantized.linears.get(path)!;
        const [out = 0, inFeatures = 0] = linear.weight.shape;
        const stored = await readTensors(folder, [`${path}.weight`, `${path}.weight_scale`]);
        const codes = stored.get(`${path}.weight`)!.data as Int8Array;
        const scales = stored.get(`${path}.weight_scale`)!.data as Float32Array;
        const amax = linear.weight_quantizer.amax!.data;
        for (let row = 0; row < out; row += 1) {
          expect(scales[row]).toBe(Math.fround(amax[row]! / 127));
          const inverse = maxboundOverAmax(127, amax[row]!);
          for (let column = 0; column < inFeatures; column += 1) {
            const index = row * inFeatures + column;
            const expected = Math.min(
              127,
              Math.max(-128, roundHalfEvenReference(Math.fround(linear.weight.data[index]! * inverse))),
            );
            if (codes[index] !== expected)
              expect(`${path}[${row}, ${column}] = ${codes[index]}`).toBe(`${expected}`);
          }
        }
      }
    });
  }

  if (mode === 'int4-weight-only') {
    it('stores int4 codes of the AWQ-scaled weight, two output rows per byte, low nibble first', async () => {
      const quantized = await quantizedDefaultModel(mode);
      for (const path of ['transformer.h.0.attn.c_attn', 'transformer.h.2.mlp.c_proj']) {
        const linear = quantized.linears.get(path)!;
        const [out = 0, inFeatures = 0] = linear.weight.shape;
        const blocks = inFeatures / 128;
        const stored = await readTensors(folder, [`${path}.weight`, `${path}.weight_scale`]);
        const bytes = stored.get(`${path}.weight`)!.data as Uint8Array;
        const scales = stored.get(`${path}.weight_scale`)!.data as Float32Array;
        const amax = linear.weight_quantizer.amax!.data;
        for (let row = 0; row < out; row += 1) {
          for (let column = 0; column < inFeatures; column += 1) {
            // _amax is [out · blocks, 1] in (row, block) order.
            const blockAmax = amax[row * blocks + Math.floor(column / 128)]!;
            if (scales[row * blocks + Math.floor(column / 128)] !== Math.fround(blockAmax / 7))
              expect(`${path} scale [${row}, ${column}]`).toBe('');
            // ModelOpt's fake-quantization codes: rint(W' · (7 / amax)) in float32.
            const x = Math.fround(
              linear.weight.data[row * inFeatures + column]! * Math.fround(7 / blockAmax),
            );
            const expected = Math.min(7, Math.max(-8, roundHalfEvenReference(x)));
            const byte = bytes[(row >> 1) * inFeatures + column]!;
            const code = signedNibble(row % 2 === 0 ? byte & 0xf : byte >> 4);
            if (code !== expected) expect(`${path}[${row}, ${column}] = ${code}`).toBe(`${expected}`);
          }
        }
      }
    });

    it('folds the pre-quant scale of c_attn / c_fc into ln_1 / ln_2 and keeps the c_proj ones', async () => {
      const quantized = await quantizedDefaultModel(mode);
      const source = quantized.stateDict();
      const names = [
        'transformer.h.1.ln_1.weight',
        'transformer.h.1.ln_1.bias',
        'transformer.h.1.ln_2.weight',
        'transformer.h.1.ln_2.bias',
        'transformer.h.1.attn.c_proj.pre_quant_scale',
        'transformer.h.1.mlp.c_proj.pre_quant_scale',
      ];
      const stored = await readTensors(folder, names);
      const scaleOf = (path: string) =>
        toFloat32(source.get(`transformer.h.1.${path}.input_quantizer._pre_quant_scale`)!);
      for (const [norm, linear] of [
        ['ln_1', 'attn.c_attn'],
        ['ln_2', 'mlp.c_fc'],
      ] as const) {
        for (const parameter of ['weight', 'bias']) {
          const original = source.get(`transformer.h.1.${norm}.${parameter}`)!.data as Float32Array;
          const expected = original.map((value, index) => value * scaleOf(linear)[index]!);
          expect(stored.get(`transformer.h.1.${norm}.${parameter}`)!.data).toEqual(expected);
          expect(expected).not.toEqual(original);
        }
      }
      for (const linear of ['attn.c_proj', 'mlp.c_proj']) {
        expect(stored.get(`transformer.h.1.${linear}.pre_quant_scale`)!.data).toEqual(scaleOf(linear));
      }
    });
  }

  if (mode === 'float8') {
    // Block linears get ModelOpt's fake-quantization input `W · (448 / amax)`; the head, which
    // shares its weight with the embedding, is divided by its scale (as the runtime compiles it).
    it('stores the nearest e4m3fn value of W · 448 / amax, ties to even, for the head and a block linear', async () => {
      const quantized = await quantizedDefaultModel(mode);
      for (const path of ['transformer.h.1.attn.c_attn', 'lm_head']) {
        const linear = quantized.linears.get(path)!;
        const stored = await readTensors(folder, [
          `${path}.weight`,
          `${path}.weight_scale`,
          `${path}.input_scale`,
        ]);
        const scale = Math.fround(linear.weight_quantizer.amax!.data[0]! / 448);
        expect([...stored.get(`${path}.weight_scale`)!.data]).toEqual([scale]);
        expect([...stored.get(`${path}.input_scale`)!.data]).toEqual([
          Math.fround(linear.input_quantizer.amax!.data[0]! / 448),
        ]);
        const codes = stored.get(`${path}.weight`)!.data as Uint8Array;
        let checked = 0;
        for (let index = 0; index < codes.length; index += 1) {
          const weight = linear.weight.data[index]!;
          const scaled =
            path === 'lm_head'
              ? Math.fround(weight / scale)
              : Math.fround(weight * maxboundOverAmax(448, linear.weight_quantizer.amax!.data[0]!));
          const x = Math.min(448, Math.max(-448, scaled));
          const value = float8Value(codes[index]!);
          // The neighbours in magnitude are the codes one below and one above (same sign).
          const magnitude = codes[index]! & 0x7f;
          for (const neighbour of [magnitude - 1, magnitude + 1]) {
            if (neighbour < 0 || neighbour > 0x7e) continue;
            const other = float8Value((codes[index]! & 0x80) | neighbour);
            const distance = Math.abs(x - value);
            const otherDistance = Math.abs(x - other);
            const nearest = distance < otherDistance || (distance === otherDistance && magnitude % 2 === 0);
            if (!nearest) expect(`${path}[${index}]: ${x} → ${value}, ${other} is nearer`).toBe('');
          }
          checked += 1;
        }
        expect(checked).toBe(linear.weight.data.length);
      }
    });
  }
});

describe('exportModelOptCheckpoint, atomicity and bad input', () => {
  it('refuses a non-empty output folder and leaves it untouched', async () => {
    const folder = join(await temporaryFolder(), 'taken');
    await mkdir(folder);
    await writeFile(join(folder, 'keep.txt'), 'mine');
    const quantized = await quantizedDefaultModel('int8-weight-only');
    await expect(
      exportModelOptCheckpoint(quantized, folder, { sourceDir: DEFAULT_MODEL_DIR }),
    ).rejects.toThrow(ExportTargetExistsError);
    expect(await readdir(folder)).toEqual(['keep.txt']);
    expect(await readdir(dirname(folder))).toEqual(['taken']);
  });

  it('replaces an earlier ptq output with overwrite, leaving no old or temporary folder behind', async () => {
    const folder = join(await temporaryFolder(), 'replaced');
    const quantized = await quantizedDefaultModel('int8-weight-only');
    await exportModelOptCheckpoint(await quantizedDefaultModel('float8'), folder, {
      sourceDir: DEFAULT_MODEL_DIR,
    });
    expect(await readFile(join(folder, 'hf_quant_config.json'), 'utf8')).toContain('"FP8"');
    await exportModelOptCheckpoint(quantized, folder, { sourceDir: DEFAULT_MODEL_DIR, overwrite: true });
    expect((await readdir(folder)).sort()).toEqual(EXPORT_FILES);
    expect(await readFile(join(folder, 'hf_quant_config.json'), 'utf8')).toContain('"W8A16"');
    expect(await readdir(dirname(folder))).toEqual(['replaced']);
  });

  it('accepts an existing empty folder', async () => {
    const folder = join(await temporaryFolder(), 'empty');
    await mkdir(folder);
    await exportModelOptCheckpoint(await quantizedDefaultModel('int8-weight-only'), folder, {
      sourceDir: DEFAULT_MODEL_DIR,
    });
    expect((await readdir(folder)).sort()).toEqual(EXPORT_FILES);
  });

  it('leaves no folder when writing fails midway (after model.safetensors and the configs)', async () => {
    const parent = await temporaryFolder();
    // A source whose tokenizer_config.json is a folder: it passes the up-front check, the copy fails.
    const source = join(parent, 'source');
    await mkdir(join(source, 'tokenizer_config.json'), { recursive: true });
    await writeFile(
      join(source, 'tokenizer.json'),
      await readFile(join(DEFAULT_MODEL_DIR, 'tokenizer.json')),
    );
    const quantized = await quantizedDefaultModel('int8-weight-only');
    await expect(
      exportModelOptCheckpoint(quantized, join(parent, 'out'), { sourceDir: source }),
    ).rejects.toThrow(/cannot copy/);
    expect(await readdir(parent)).toEqual(['source']);
  });

  it('leaves no folder when a tensor cannot be made while the one before it is still being written', async () => {
    const parent = await temporaryFolder();
    const quantized = await quantizedDefaultModel('int4-weight-only');
    const linear = quantized.linears.get('transformer.h.2.mlp.c_fc')!;
    const weight = linear.weight.data;
    const saved = weight[5]!;
    weight[5] = Number.NaN;
    try {
      await expect(
        exportModelOptCheckpoint(quantized, join(parent, 'out'), { sourceDir: DEFAULT_MODEL_DIR }),
      ).rejects.toThrow('contains NaN at index 5');
    } finally {
      weight[5] = saved;
    }
    expect(await readdir(parent)).toEqual([]);
  });

  it('refuses a source folder without a tokenizer before writing anything', async () => {
    const parent = await temporaryFolder();
    const quantized = await quantizedDefaultModel('int8-weight-only');
    await expect(
      exportModelOptCheckpoint(quantized, join(parent, 'out'), { sourceDir: parent }),
    ).rejects.toThrow(MissingTokenizerError);
    expect(await readdir(parent)).toEqual([]);
  });

  it('refuses an output path that is a file', async () => {
    const parent = await temporaryFolder();
    await writeFile(join(parent, 'file'), 'x');
    const quantized = await quantizedDefaultModel('int8-weight-only');
    await expect(
      exportModelOptCheckpoint(quantized, join(parent, 'file'), {
        sourceDir: DEFAULT_MODEL_DIR,
        overwrite: true,
      }),
    ).rejects.toThrow(/not a folder/);
  });

  it('leaves no folder when a weight holds NaN', async () => {
    const parent = await temporaryFolder();
    const quantized = await quantizedDefaultModel('int8-weight-only');
    const linear = quantized.linears.get('transformer.h.0.attn.c_attn')!;
    const original = linear.weight;
    const poisoned = Float32Array.from(original.data);
    poisoned[5] = Number.NaN;
    linear.weight = createTensor('float32', original.shape, poisoned);
    try {
      await expect(
        exportModelOptCheckpoint(quantized, join(parent, 'out'), { sourceDir: DEFAULT_MODEL_DIR }),
      ).rejects.toThrow(/NaN/);
    } finally {
      linear.weight = original;
    }
    expect(await readdir(parent)).toEqual([]);
  });
});
