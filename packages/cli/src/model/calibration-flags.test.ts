import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { CommandContext } from '../command-definition';
import { runCli } from '../run-cli';
import { captureIo } from '../test-support/capture-io';
import { temporaryFolder } from '../test-support/temporary-folder';
import { calibrationSettings } from './calibration-settings';

async function run(argv: string[]) {
  const io = captureIo();
  const exitCode = await runCli(argv, io);
  return { exitCode, stdout: io.stdoutText(), stderr: io.stderrText() };
}

/** The stderr lines that are not phase timings or progress. */
function notices(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter(
      (line) =>
        line.startsWith('ptq: ') && !/^ptq: (load|calibrate|export|compile|generate|eval) \d/.test(line),
    );
}

describe('flags that do not apply are reported, on stderr and in --json', () => {
  test('--dataset, --calib-size, --batch-size with int8 weight-only (which reads no data; the dataset is not even checked)', async () => {
    const folder = await temporaryFolder();
    const result = await run([
      'quantize',
      '--mode',
      'int8-weight-only',
      '--dataset',
      path.join(folder, 'no-such-texts.txt'),
      '--calib-size',
      '8',
      '--batch-size',
      '2',
      '--check',
      'none',
      '--device',
      'cpu',
      '--out',
      path.join(folder, 'out'),
      '--json',
    ]);
    expect(result.exitCode).toBe(0);
    expect(notices(result.stderr)).toEqual([
      'ptq: --dataset, --calib-size, --batch-size do not apply to --mode int8-weight-only, which reads no calibration data; ignored',
    ]);
    expect(JSON.parse(result.stdout)).toMatchObject({
      calibration: null,
      ignoredFlags: ['--dataset', '--calib-size', '--batch-size'],
    });
  });

  test('--dtype with --format modelopt-hf', async () => {
    const folder = await temporaryFolder();
    const result = await run([
      'quantize',
      '--mode',
      'int8-weight-only',
      '--dtype',
      'float16',
      '--check',
      'none',
      '--device',
      'cpu',
      '--out',
      path.join(folder, 'out'),
      '--json',
    ]);
    expect(result.exitCode).toBe(0);
    expect(notices(result.stderr)).toEqual([
      'ptq: --dtype does not apply to --format modelopt-hf, whose float tensors are float32; ignored',
    ]);
    expect(JSON.parse(result.stdout).ignoredFlags).toEqual(['--dtype']);
  });

  test('calibration flags for generate without --mode', async () => {
    const result = await run([
      'generate',
      '--calib-size',
      '4',
      '--max-sample-length',
      '64',
      '--device',
      'cpu',
      '--max-new-tokens',
      '1',
      '--json',
    ]);
    expect(result.exitCode).toBe(0);
    expect(notices(result.stderr)).toEqual([
      'ptq: --calib-size, --max-sample-length do not apply without --mode; ignored',
    ]);
    expect(JSON.parse(result.stdout).ignoredFlags).toEqual(['--calib-size', '--max-sample-length']);
  });

  test("eval's calibration flags (--calib-dataset, not its own --dataset) without --mode", async () => {
    const result = await run([
      'eval',
      '--calib-dataset',
      'wikitext',
      '--batch-size',
      '2',
      '--max-tokens',
      '64',
      '--device',
      'cpu',
      '--json',
    ]);
    expect(result.exitCode).toBe(0);
    expect(notices(result.stderr)).toEqual([
      'ptq: --calib-dataset, --batch-size do not apply without --mode; ignored',
    ]);
    expect(JSON.parse(result.stdout).ignoredFlags).toEqual(['--calib-dataset', '--batch-size']);
  });

  test('no notice and an empty list when every flag applies', async () => {
    const folder = await temporaryFolder();
    const result = await run([
      'quantize',
      '--mode',
      'int8-weight-only',
      '--check',
      'none',
      '--device',
      'cpu',
      '--out',
      path.join(folder, 'out'),
      '--json',
    ]);
    expect(notices(result.stderr)).toEqual([]);
    expect(JSON.parse(result.stdout).ignoredFlags).toEqual([]);
  });
});

test('with the quality check, int8 weight-only reads --dataset (its held-out texts), so a missing one fails first', async () => {
  const folder = await temporaryFolder();
  const dataset = path.join(folder, 'no-such-texts.txt');
  const result = await run([
    'quantize',
    '--mode',
    'int8-weight-only',
    '--dataset',
    dataset,
    '--out',
    path.join(folder, 'out'),
  ]);
  expect(result).toEqual({ exitCode: 1, stdout: '', stderr: `ptq: ${dataset}: no such file or folder\n` });
  expect(await readdir(folder)).toEqual([]);
});

describe('values out of range are refused by flag; --json reports the values used', () => {
  test("--max-sample-length beyond the model's n_positions is refused before any work, nothing written", async () => {
    const folder = await temporaryFolder();
    const result = await run([
      'quantize',
      '--mode',
      'float8',
      '--max-sample-length',
      '5000',
      '--device',
      'cpu',
      '--out',
      path.join(folder, 'out'),
    ]);
    expect(result).toEqual({
      exitCode: 2,
      stdout: '',
      stderr:
        "ptq: --max-sample-length 5000 is more than the model's 1024 positions (n_positions); pass at most 1024\n",
    });
    expect(await readdir(folder)).toEqual([]);
  });

  test('the same for generate --mode', async () => {
    const result = await run([
      'generate',
      '--mode',
      'float8',
      '--max-sample-length',
      '1025',
      '--device',
      'cpu',
    ]);
    expect(result.exitCode).toBe(2);
    // Checked once the model (and so its n_positions) is loaded, before any calibration.
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe(
      "ptq: --max-sample-length 1025 is more than the model's 1024 positions (n_positions); pass at most 1024",
    );
  });

  test('--json reports the sample length and batch size used (a batch holds at most every sample)', async () => {
    const folder = await temporaryFolder();
    const result = await run([
      'quantize',
      '--mode',
      'float8',
      '--calib-size',
      '2',
      '--batch-size',
      '16',
      '--max-sample-length',
      '32',
      '--device',
      'cpu',
      '--out',
      path.join(folder, 'out'),
      '--json',
      '--quiet',
    ]);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout).calibration).toEqual({
      dataset: 'cnn_dailymail',
      samples: 2,
      batchSize: 2,
      maxSampleLength: 32,
    });
  }, 60_000);

  test('more samples than the dataset holds is told in --calib-size', async () => {
    const folder = await temporaryFolder();
    const texts = path.join(folder, 'texts.txt');
    await writeFile(texts, 'one text\nanother text\n');
    const result = await run([
      'quantize',
      '--mode',
      'float8',
      '--dataset',
      texts,
      '--calib-size',
      '5',
      '--device',
      'cpu',
      '--out',
      path.join(folder, 'out'),
      '--quiet',
    ]);
    expect(result.exitCode).toBe(2);
    expect(
      result.stderr.startsWith(
        `ptq: ${texts} (the whole file as one text) has 1 non-empty text, fewer than the 5 asked for with --calib-size`,
      ),
    ).toBe(true);
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).not.toContain('numSamples');
    expect(await readdir(folder)).toEqual(['texts.txt']);
  });
});

describe('calibrationSettings', () => {
  const context = {
    status: () => {},
    verbose: false,
    progress: { task: () => ({}) },
  } as unknown as CommandContext;
  const flags = {
    dataset: 'cnn_dailymail',
    calibSize: undefined,
    batchSize: undefined,
    maxSampleLength: 512,
  };

  test("caps the default sample length at a short model's n_positions, and keeps it under a long one", () => {
    const short = calibrationSettings('float8', { ...flags, calibrationFlagsGiven: [] }, 'cpu', context, {
      nPositions: 128,
    });
    expect([short.maxSampleLength, short.options.maxSampleLength]).toEqual([128, 128]);
    const long = calibrationSettings('float8', { ...flags, calibrationFlagsGiven: [] }, 'cpu', context, {
      nPositions: 1024,
    });
    expect([long.maxSampleLength, long.options.maxSampleLength]).toEqual([512, 512]);
  });

  test('accepts a given length equal to n_positions and refuses one above', () => {
    const given = { ...flags, maxSampleLength: 128, calibrationFlagsGiven: ['--max-sample-length'] };
    expect(calibrationSettings('float8', given, 'cpu', context, { nPositions: 128 }).maxSampleLength).toBe(
      128,
    );
    expect(() => calibrationSettings('float8', given, 'cpu', context, { nPositions: 127 })).toThrow(
      "--max-sample-length 128 is more than the model's 127 positions (n_positions); pass at most 127",
    );
  });
});
