import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadCalibrationTexts } from '@ptq/calibration';
import { perplexity } from '@ptq/hf-gpt2';
import { INT4_AWQ_CFG, modelOptQuantize } from '@ptq/quant-core';
import { createTensor } from '@ptq/tensor';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from './run-cli';
import { captureIo } from './test-support/capture-io';
import { hfModel } from './test-support/hf-reference';

// Small calibration keeps AWQ's search short; the choice does not depend on its size.
const CALIBRATION = [
  '--dataset',
  'wikitext',
  '--calib-size',
  '2',
  '--batch-size',
  '2',
  '--max-sample-length',
  '32',
];

let folder: string;
let result: Record<string, unknown>;

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'ptq-cli-algorithm-'));
  const io = captureIo();
  const argv = ['quantize', '--mode', 'int4-weight-only', '--algorithm', 'auto', ...CALIBRATION];
  const exitCode = await runCli(
    [...argv, '--device', 'cpu', '--out', path.join(folder, 'q4'), '--json', '--quiet'],
    io,
  );
  expect({ exitCode, stderr: io.stderrText() }).toEqual({ exitCode: 0, stderr: '' });
  result = JSON.parse(io.stdoutText());
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

// Quantizes the bundled model twice (round to nearest, AWQ-lite) and scores both.
test('--algorithm auto measures round to nearest and AWQ-lite on the held-out text and keeps the better', async () => {
  const candidates = result.algorithms as { algorithm: string; perplexity: number; kept: boolean }[];
  expect(candidates.map((candidate) => candidate.algorithm)).toEqual(['max', 'awq_lite']);
  // Independently: the fake-quantized HF model of each algorithm on the first 512 held-out tokens
  // (the wikitext lines after the 2 calibration lines).
  const { texts } = await loadCalibrationTexts('wikitext', { numSamples: 2 + 64, offline: true });
  const held = texts.slice(2);
  const references: number[] = [];
  for (const config of [{ ...INT4_AWQ_CFG, algorithm: 'max' as const }, INT4_AWQ_CFG]) {
    const hf = await hfModel();
    await modelOptQuantize(hf, 'int4-weight-only', {
      config,
      dataset: 'wikitext',
      numSamples: 2,
      batchSize: 2,
      maxSampleLength: 32,
      device: 'cpu',
      log: () => {},
      onNotice: () => {},
    });
    const ids = hf.tokenizer!.encode(held.join('\n\n')).slice(0, 512);
    const tokens = BigInt64Array.from(ids, BigInt);
    references.push(
      (await perplexity(hf, createTensor('int64', [tokens.length], tokens), { window: 512 })).perplexity,
    );
  }
  for (const [index, candidate] of candidates.entries()) {
    expect(Math.abs(candidate.perplexity / references[index]! - 1)).toBeLessThan(1e-4);
  }
  const better = references[0]! < references[1]! ? 'max' : 'awq_lite';
  expect(result.algorithm).toBe(better);
  expect(candidates.find((candidate) => candidate.kept)?.algorithm).toBe(better);
  const quality = result.quality as Record<string, number>;
  expect(quality.quantizedPerplexity).toBe(Math.min(...candidates.map((candidate) => candidate.perplexity)));
}, 120_000);
