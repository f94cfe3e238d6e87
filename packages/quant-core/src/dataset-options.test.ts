import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextEncodingError } from '@ptq/calibration';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelOptQuantize } from './modelopt-quantize';

const quiet = { log: () => {}, onNotice: () => {} };
let folder: string;
let latin1File: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-quant-dataset-'));
  latin1File = join(folder, 'notes.txt');
  // Three lines of Latin-1 text: "é" is the single byte 0xe9, invalid as UTF-8.
  const lines = [
    'The café on the corner opened early and the street was quiet.',
    'A second line of prose, déjà vu for anyone who has read the first.',
    'The third and last line ends the file.',
  ];
  await writeFile(latin1File, Buffer.from(`${lines.join('\n')}\n`, 'latin1'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

function load() {
  return loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
}

describe('modelOptQuantize dataset options', () => {
  it('refuses Latin-1 text read as UTF-8, naming the file and the byte offset', async () => {
    await expect(
      modelOptQuantize(await load(), 'float8', { ...quiet, dataset: latin1File, numSamples: 2 }),
    ).rejects.toThrow(TextEncodingError);
    await expect(
      modelOptQuantize(await load(), 'float8', { ...quiet, dataset: latin1File, numSamples: 2 }),
    ).rejects.toThrow(`${latin1File}: is not valid utf-8: bad byte sequence at byte offset 7`);
  });

  it('passes split, encoding and length to the dataset loop and reports what it calibrated on', async () => {
    const quantized = await modelOptQuantize(await load(), 'float8', {
      ...quiet,
      dataset: latin1File,
      datasetSplit: 'lines',
      encoding: 'latin1',
      numSamples: 2,
      maxSampleLength: 8,
    });
    const data = quantized.calibrationData!;
    expect(data.sampleCount).toBe(2);
    expect(data.maxSampleLength).toBe(8);
    // Both lines are longer than 8 tokens, so each sample keeps exactly 8 real tokens.
    expect(data.tokenCount).toBe(16);
    expect(data.description).toContain('notes.txt');
    expect(quantized.calibrationBatches).toBe(2);
  });

  it('has no calibration data to report for a weight-only int8 run', async () => {
    const int8 = await modelOptQuantize(await load(), 'int8-weight-only', quiet);
    expect(int8.calibrationData).toBeUndefined();
  });
});
