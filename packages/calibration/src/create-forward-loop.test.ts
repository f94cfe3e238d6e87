import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { TextEncodingError } from '@ptq/files';
import type { Tensor } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmptySampleError, NotEnoughSamplesError, UnknownDatasetError } from './calibration-errors';
import {
  type CalibrationModel,
  type CalibrationProgress,
  createForwardLoop,
  DEFAULT_MAX_SAMPLE_LENGTH,
  resolveMaxSampleLength,
} from './create-forward-loop';
import { bundledArticles } from './test-support/fixtures';
import { loadGpt2Tokenizer, ReferenceGpt2Encoder } from './test-support/gpt2-tokenizer';

const EOS = 50256;

/** A model that records what each forward receives, as plain number rows. */
class RecordingModel implements CalibrationModel {
  readonly calls: { ids: number[][]; mask: number[][] }[] = [];

  async forward(inputIds: Tensor<'int64'>, attentionMask: Tensor<'int64'>): Promise<unknown> {
    const [height, width] = inputIds.shape as [number, number];
    const rows = (data: BigInt64Array) =>
      Array.from({ length: height }, (_, row) =>
        [...data.subarray(row * width, (row + 1) * width)].map(Number),
      );
    this.calls.push({ ids: rows(inputIds.data), mask: rows(attentionMask.data) });
    return { logits: 'ignored' };
  }
}

/** A tokenizer of character codes that counts its calls. */
function characterTokenizer() {
  const tokenizer = {
    calls: 0,
    eos_token_id: 0,
    encode(text: string): number[] {
      tokenizer.calls++;
      return [...text].map((character) => character.codePointAt(0)!);
    },
  };
  return tokenizer;
}

let cacheDir: string;

beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'ptq-loop-'));
});

afterAll(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

describe('createForwardLoop', () => {
  it('feeds GPT-2 ids left-padded with EOS and masked, to the model passed to the loop', async () => {
    const tokenizer = await loadGpt2Tokenizer();
    const loop = await createForwardLoop(undefined, ['Hello world', ' the'], tokenizer, 'cpu', 2, 2);
    const model = new RecordingModel();
    await loop(model);
    // encoder.json: "Hello" 15496, "Ġworld" 995, "Ġthe" 262.
    expect(model.calls).toEqual([
      {
        ids: [
          [15496, 995],
          [EOS, 262],
        ],
        mask: [
          [1, 1],
          [0, 1],
        ],
      },
    ]);
    expect([loop.sampleCount, loop.tokenCount, loop.device, loop.source]).toEqual([2, 3, 'cpu', 'local']);
  });

  it('batches in order with a smaller last batch, each padded to its own longest sample', async () => {
    const loop = await createForwardLoop(
      null,
      ['ab', 'c', 'defg', 'hi', 'j'],
      characterTokenizer(),
      'auto',
      2,
      5,
    );
    const model = new RecordingModel();
    await loop(model);
    expect(model.calls).toEqual([
      {
        ids: [
          [97, 98],
          [0, 99],
        ],
        mask: [
          [1, 1],
          [0, 1],
        ],
      },
      {
        ids: [
          [100, 101, 102, 103],
          [0, 0, 104, 105],
        ],
        mask: [
          [1, 1, 1, 1],
          [0, 0, 1, 1],
        ],
      },
      { ids: [[106]], mask: [[1]] },
    ]);
    expect(loop.batches.map((batch) => batch.inputIds.shape)).toEqual([
      [2, 2],
      [2, 4],
      [1, 1],
    ]);
  });

  it('takes only the first numSamples texts', async () => {
    const loop = await createForwardLoop(null, ['a', 'b', 'c'], characterTokenizer(), 'cpu', 8, 2);
    const model = new RecordingModel();
    await loop(model);
    expect(model.calls).toEqual([{ ids: [[97], [98]], mask: [[1], [1]] }]);
  });

  it('truncates on the right: the first maxSampleLength tokens stay', async () => {
    const loop = await createForwardLoop(null, ['abcdef'], characterTokenizer(), 'cpu', 1, 1, {
      maxSampleLength: 4,
    });
    expect([...loop.batches[0]!.inputIds.data].map(Number)).toEqual([97, 98, 99, 100]);
    expect(loop.maxSampleLength).toBe(4);
  });

  it("caps the sample length at the first argument's config.n_positions", async () => {
    const loop = await createForwardLoop(
      { config: { n_positions: 3 } },
      ['abcdef'],
      characterTokenizer(),
      'cpu',
      1,
      1,
    );
    expect(loop.maxSampleLength).toBe(3);
    expect([...loop.batches[0]!.inputIds.data].map(Number)).toEqual([97, 98, 99]);
  });

  it('refuses a chosen maxSampleLength above config.n_positions, naming the option and the limit', async () => {
    const model = { config: { n_positions: 1024 } };
    const error = await createForwardLoop(model, ['abc'], characterTokenizer(), 'cpu', 1, 1, {
      maxSampleLength: 5000,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(
      'Invalid argument "maxSampleLength": is 5000, more than the model\'s 1024 positions (config.n_positions); use at most 1024',
    );
    // Exactly n_positions is allowed, and kept.
    const loop = await createForwardLoop(model, ['abc'], characterTokenizer(), 'cpu', 1, 1, {
      maxSampleLength: 1024,
    });
    expect(loop.maxSampleLength).toBe(1024);
  });

  it('caps the default 512 at a shorter model, whether left out or passed, and reports the value used', async () => {
    const short = { config: { n_positions: 256 } };
    const left = await createForwardLoop(short, ['a'], characterTokenizer(), 'cpu', 1, 1);
    const passed = await createForwardLoop(short, ['a'], characterTokenizer(), 'cpu', 1, 1, {
      maxSampleLength: DEFAULT_MAX_SAMPLE_LENGTH,
    });
    expect([left.maxSampleLength, passed.maxSampleLength]).toEqual([256, 256]);
    expect(() => resolveMaxSampleLength(short, 513)).toThrow(InvalidArgumentError);
  });

  it('resolveMaxSampleLength: the whole rule as a table', () => {
    const cases: [unknown, number | undefined, number | string][] = [
      [undefined, undefined, 512],
      [undefined, 5000, 5000], // no n_positions known: nothing to check against
      [{ config: { n_positions: 1024 } }, undefined, 512],
      [{ config: { n_positions: 1024 } }, 1024, 1024],
      [{ config: { n_positions: 1024 } }, 1025, 'is 1025, more than'],
      [{ config: { n_positions: 128 } }, undefined, 128],
      [{ config: { n_positions: 128 } }, 512, 128],
      [{ config: { n_positions: 128 } }, 129, 'is 129, more than'],
      [{ config: { n_positions: 128 } }, 0, 'must be a positive integer'],
      [{ config: { n_positions: 'many' } }, 700, 700],
    ];
    for (const [model, requested, expected] of cases) {
      if (typeof expected === 'number') expect(resolveMaxSampleLength(model, requested)).toBe(expected);
      else expect(() => resolveMaxSampleLength(model, requested)).toThrow(expected);
    }
  });

  it('tokenizes once, at creation, however often the loop runs', async () => {
    const tokenizer = characterTokenizer();
    const loop = await createForwardLoop(null, ['a', 'b', 'c'], tokenizer, 'cpu', 1, 3);
    expect(tokenizer.calls).toBe(3);
    await loop(new RecordingModel());
    await loop(new RecordingModel());
    expect(tokenizer.calls).toBe(3);
  });

  it('exposes read-only batches', async () => {
    const loop = await createForwardLoop(null, ['a'], characterTokenizer(), 'webgpu', 1, 1);
    expect(Object.isFrozen(loop.batches)).toBe(true);
    expect(Object.isFrozen(loop.batches[0])).toBe(true);
    expect(() => (loop.batches as unknown as unknown[]).push(1)).toThrow(TypeError);
  });

  it('reports progress after each batch and awaits each forward before the next', async () => {
    const events: string[] = [];
    const progress: CalibrationProgress[] = [];
    const loop = await createForwardLoop(null, ['ab', 'c', 'def'], characterTokenizer(), 'cuda', 2, 3, {
      onProgress: (update) => progress.push(update),
    });
    await loop({
      async forward(inputIds) {
        events.push(`start ${inputIds.shape[0]}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(`end ${inputIds.shape[0]}`);
      },
    });
    expect(events).toEqual(['start 2', 'end 2', 'start 1', 'end 1']);
    expect(progress).toEqual([
      { batch: 1, batches: 2, samples: 2, totalSamples: 3, tokens: 3 },
      { batch: 2, batches: 2, samples: 3, totalSamples: 3, tokens: 6 },
    ]);
  });

  it('passes a forward failure through', async () => {
    const loop = await createForwardLoop(null, ['a'], characterTokenizer(), 'cpu', 1, 1);
    const failure = new Error('session lost');
    await expect(
      loop({
        forward: async () => {
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
  });

  it('calibrates on the bundled cnn_dailymail articles offline: ids as an independent encoder gives them', async () => {
    const notices: string[] = [];
    const tokenizer = await loadGpt2Tokenizer();
    const loop = await createForwardLoop(undefined, 'cnn_dailymail', tokenizer, 'auto', 2, 4, {
      offline: true,
      cacheDir,
      maxSampleLength: 64,
      onNotice: (line) => notices.push(line),
    });
    expect(loop.source).toBe('bundled');
    expect(notices).toHaveLength(1);
    const reference = new ReferenceGpt2Encoder();
    const expected = bundledArticles()
      .slice(0, 4)
      .map((article) => reference.encode(article).slice(0, 64));
    const model = new RecordingModel();
    await loop(model);
    const real = model.calls.flatMap((call) =>
      call.ids.map((row, index) => row.filter((_, column) => call.mask[index]![column] === 1)),
    );
    expect(real).toEqual(expected);
    expect(loop.tokenCount).toBe(expected.reduce((sum, ids) => sum + ids.length, 0));
  });
});

describe('createForwardLoop encoding', () => {
  it('passes the encoding on: a Latin-1 file is refused as UTF-8 and read as meant with encoding "latin1"', async () => {
    const path = join(cacheDir, 'latin1.txt');
    await writeFile(path, Uint8Array.from([0x63, 0x61, 0x66, 0xe9])); // "café"
    await expect(createForwardLoop(null, path, characterTokenizer(), 'cpu', 1, 1)).rejects.toBeInstanceOf(
      TextEncodingError,
    );
    const loop = await createForwardLoop(null, path, characterTokenizer(), 'cpu', 1, 1, {
      encoding: 'latin1',
    });
    expect([...loop.batches[0]!.inputIds.data].map(Number)).toEqual([0x63, 0x61, 0x66, 0xe9]);
  });
});

describe('createForwardLoop errors', () => {
  const tokenizer = characterTokenizer();

  it.each([0, -2, 1.5, Number.NaN, '2' as unknown as number])('rejects batchSize %s', async (batchSize) => {
    const error = await createForwardLoop(null, ['a'], tokenizer, 'cpu', batchSize, 1).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(
      `Invalid argument "batchSize": must be a positive integer, got ${String(batchSize)}`,
    );
  });

  it.each([0, -1, 2.5])('rejects numSamples %s', async (numSamples) => {
    await expect(createForwardLoop(null, ['a'], tokenizer, 'cpu', 1, numSamples)).rejects.toThrow(
      `Invalid argument "numSamples": must be a positive integer, got ${numSamples}`,
    );
  });

  it('rejects an unknown device, listing the known ones', async () => {
    await expect(createForwardLoop(null, ['a'], tokenizer, 'gpu' as 'cpu', 1, 1)).rejects.toThrow(
      'Invalid argument "device": must be one of "auto", "cpu", "webgpu", "cuda", got "gpu"',
    );
  });

  it('rejects maxSampleLength that is not a positive integer', async () => {
    await expect(
      createForwardLoop(null, ['a'], tokenizer, 'cpu', 1, 1, { maxSampleLength: 0 }),
    ).rejects.toThrow('Invalid argument "maxSampleLength"');
  });

  it('names the unknown dataset and the known ones', async () => {
    await expect(createForwardLoop(null, 'c4', tokenizer, 'cpu', 1, 1)).rejects.toThrow(UnknownDatasetError);
  });

  it('says how many samples exist when fewer than numSamples', async () => {
    const error = await createForwardLoop(null, ['a', 'b', 'c'], tokenizer, 'cpu', 1, 5).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(NotEnoughSamplesError);
    expect((error as Error).message).toBe(
      'the array of texts passed in has 3 non-empty texts, fewer than the 5 asked for (numSamples)',
    );
    await expect(
      createForwardLoop(null, 'cnn_dailymail', tokenizer, 'cpu', 16, 251, { offline: true, cacheDir }),
    ).rejects.toThrow('has 250 non-empty texts, fewer than the 251 asked for');
  });

  it('names the index of a text with no tokens', async () => {
    const error = await createForwardLoop(null, ['fine', ''], tokenizer, 'cpu', 1, 2).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(EmptySampleError);
    expect(error).toMatchObject({ index: 1 });
  });

  it('rejects a tokenizer without encode or EOS, a model without forward, and texts that are not strings', async () => {
    await expect(createForwardLoop(null, ['a'], {} as typeof tokenizer, 'cpu', 1, 1)).rejects.toThrow(
      'Invalid argument "tokenizer"',
    );
    await expect(createForwardLoop(null, ['a'], { encode: () => [1] }, 'cpu', 1, 1)).rejects.toThrow(
      'has no EOS token to pad with',
    );
    await expect(createForwardLoop(null, [1] as unknown as string[], tokenizer, 'cpu', 1, 1)).rejects.toThrow(
      'Invalid argument "datasetName"',
    );
    const loop = await createForwardLoop(null, ['a'], tokenizer, 'cpu', 1, 1);
    await expect(loop({} as CalibrationModel)).rejects.toThrow('Invalid argument "model"');
  });
});

describe('createForwardLoop({ … }) (object form)', () => {
  it('makes the same batches as the seed-shaped call, field for field', async () => {
    const texts = ['abcdef', 'xy', 'hello', 'q'];
    const seed = await createForwardLoop(
      { config: { n_positions: 4 } },
      texts,
      characterTokenizer(),
      'cpu',
      3,
      4,
    );
    const object = await createForwardLoop({
      dataset: texts,
      tokenizer: characterTokenizer(),
      batchSize: 3,
      numSamples: 4,
      maxPositions: 4,
      device: 'cpu',
    });
    const summary = (loop: typeof seed) => ({
      ids: loop.batches.map((batch) => [...batch.inputIds.data].map(Number)),
      mask: loop.batches.map((batch) => [...batch.attentionMask.data].map(Number)),
      shapes: loop.batches.map((batch) => batch.inputIds.shape),
      sampleCount: loop.sampleCount,
      tokenCount: loop.tokenCount,
      maxSampleLength: loop.maxSampleLength,
      device: loop.device,
      source: loop.source,
      description: loop.description,
    });
    expect(summary(object)).toEqual(summary(seed));
    // Independent check: 'abcdef' cut to 4 tokens; batch of 3 left-padded with EOS 0 to width 4.
    expect(summary(object).ids[0]).toEqual([97, 98, 99, 100, 0, 0, 120, 121, 104, 101, 108, 108]);
    expect(summary(object).ids[1]).toEqual([113]);
    expect(object.tokenCount).toBe(4 + 2 + 4 + 1);
  });

  it('defaults the device to auto and the sample length to 512, and passes options through', async () => {
    const progress: CalibrationProgress[] = [];
    const loop = await createForwardLoop({
      dataset: ['ab', 'c'],
      tokenizer: characterTokenizer(),
      batchSize: 1,
      numSamples: 2,
      maxSampleLength: 1,
      onProgress: (step) => progress.push(step),
    });
    expect(loop.device).toBe('auto');
    expect(loop.maxSampleLength).toBe(1);
    await loop(new RecordingModel());
    expect(progress.map((step) => step.tokens)).toEqual([1, 2]);
    const plain = await createForwardLoop({
      dataset: ['a'],
      tokenizer: characterTokenizer(),
      batchSize: 1,
      numSamples: 1,
    });
    expect(plain.maxSampleLength).toBe(DEFAULT_MAX_SAMPLE_LENGTH);
  });

  it('names the object-form arguments in its errors', async () => {
    const tokenizer = characterTokenizer();
    await expect(
      createForwardLoop({ dataset: [1] as unknown as string[], tokenizer, batchSize: 1, numSamples: 1 }),
    ).rejects.toThrow('Invalid argument "dataset": must be a dataset name, a path, or an array of texts');
    await expect(
      createForwardLoop({ dataset: ['a'], tokenizer, batchSize: 0, numSamples: 1 }),
    ).rejects.toThrow('Invalid argument "batchSize": must be a positive integer, got 0');
    await expect(
      createForwardLoop({
        dataset: ['abc'],
        tokenizer,
        batchSize: 1,
        numSamples: 1,
        maxPositions: 2,
        maxSampleLength: 3,
      }),
    ).rejects.toThrow(/"maxSampleLength": is 3, more than the model's 2 positions/);
    await expect(
      createForwardLoop({ dataset: ['a'], tokenizer, batchSize: 1, numSamples: 1, maxPositions: -1 }),
    ).rejects.toThrow('Invalid argument "maxPositions": must be a positive integer, got -1');
    await expect(createForwardLoop({} as never)).rejects.toThrow(/Invalid argument "parameters"/);
  });
});
