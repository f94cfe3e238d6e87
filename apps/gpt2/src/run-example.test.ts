import { loadCalibrationTexts } from '@ptq/calibration';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { type GPT2LMHeadModel, loadHfGpt2, perplexity } from '@ptq/hf-gpt2';
import { modelOptQuantize } from '@ptq/quant-core';
import { describe, expect, test } from 'vitest';
import { parseExampleOptions } from './example-options';
import { runExample, runPipeline } from './run-example';

function captureIo() {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    io: {
      stdout: { write: (chunk: string) => stdout.push(chunk) },
      stderr: { write: (chunk: string) => stderr.push(chunk) },
    },
    stdout: () => stdout.join(''),
    stderr: () => stderr.join(''),
  };
}

type TokenTensor = Parameters<GPT2LMHeadModel['forward']>[0];

/** The bundled model as the Hugging Face module tree, fake-quantized when a mode is given. */
async function hfModel(mode?: 'int8-weight-only'): Promise<GPT2LMHeadModel> {
  const hf = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
  if (mode !== undefined)
    await modelOptQuantize(hf, mode, { device: 'cpu', log: () => {}, onNotice: () => {} });
  return hf;
}

function tokenMatrix(data: BigInt64Array): TokenTensor {
  return { dtype: 'int64', shape: [1, data.length], data };
}

/** Greedy continuation by full forwards of the fake-quantized Hugging Face module tree (no KV cache). */
async function hfGreedy(mode: 'int8-weight-only', prompt: string, count: number): Promise<number[]> {
  const hf = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
  await modelOptQuantize(hf, mode, { device: 'cpu', log: () => {}, onNotice: () => {} });
  const tokens = Array.from(hf.tokenizer!.encode(prompt), Number);
  const vocab = hf.config.vocab_size;
  const generated: number[] = [];
  for (let step = 0; step < count; step++) {
    const ids = BigInt64Array.from([...tokens, ...generated], BigInt);
    const { logits } = await hf.forward(
      tokenMatrix(ids),
      tokenMatrix(new BigInt64Array(ids.length).fill(1n)),
    );
    const last = logits!.data.subarray((ids.length - 1) * vocab, ids.length * vocab);
    let best = 0;
    for (let index = 1; index < vocab; index++) if (last[index]! > last[best]!) best = index;
    generated.push(best);
  }
  return generated;
}

describe('the example end to end on the bundled model (CPU)', () => {
  // Calibrates int4 AWQ-lite on 16 texts, then measures quality: tens of seconds on 2 cores.
  test('default mode (int4 AWQ): prints the four phases and the response, exit 0', async () => {
    const capture = captureIo();
    const exitCode = await runExample(['--device', 'cpu', '--max-new-tokens', '8'], capture.io);
    expect(exitCode).toBe(0);
    const lines = capture.stdout().split('\n');
    expect(lines[0]).toMatch(/^Loading model \(the bundled model\): \d+\.\d\d s$/);
    expect(lines[1]).toMatch(/^Calibrating \(int4-weight-only, 16 samples of cnn_dailymail\): \d+\.\d\d s$/);
    expect(lines[2]).toMatch(/^Compiling \(cpu, float32\): \d+\.\d\d s$/);
    expect(lines[3]).toMatch(/^Generating 8 tokens: \d+\.\d\d s \(\d+\.\d tokens\/s\)$/);
    const response = lines.slice(4).join('\n');
    expect(response.startsWith('Response: It was a bright cold day in April, and')).toBe(true);
    expect(response.length).toBeGreaterThan('Response: It was a bright cold day in April, and'.length + 8);
    // Notices (here: where the calibration texts came from) go to stderr, never between the phases,
    // and each once, though the quality check reads the dataset again.
    expect(capture.stderr()).not.toContain('Response');
    const notices = capture
      .stderr()
      .split('\n')
      .filter((line) => line !== '');
    expect(new Set(notices).size).toBe(notices.length);
  }, 300_000);

  // Quantizes and measures perplexity three times (the example, then two references).
  test('int8 weight-only: the compiled model continues the prompt as the fake-quantized HF model does', async () => {
    const capture = captureIo();
    const options = parseExampleOptions([
      '--device',
      'cpu',
      '--max-new-tokens',
      '8',
      '--quant-mode',
      'int8-weight-only',
    ]);
    const result = await runPipeline(options, capture.io);
    expect(result.device).toBe('cpu');
    expect(result.dtype).toBe('float32');
    expect(result.newTokens).toEqual(await hfGreedy('int8-weight-only', options.inputText, 8));
    expect(capture.stdout()).toContain('Calibrating (int8-weight-only, weights only): ');
    // The quality check: the fake-quantized and the plain HF model on the first 512 held-out tokens
    // (int8 weight-only calibrates on nothing, so the dataset's first texts are held out).
    const { texts } = await loadCalibrationTexts('cnn_dailymail', { numSamples: 2, offline: true });
    const ids = BigInt64Array.from(
      (await hfModel()).tokenizer!.encode(texts.join('\n\n')).slice(0, 512),
      BigInt,
    );
    const reference = async (hf: GPT2LMHeadModel) =>
      (await perplexity(hf, { dtype: 'int64', shape: [ids.length], data: ids }, { window: 512 })).perplexity;
    const unquantized = await reference(await hfModel());
    const quantized = await reference(await hfModel('int8-weight-only'));
    expect(Math.abs(result.quality!.unquantized / unquantized - 1)).toBeLessThan(1e-5);
    expect(Math.abs(result.quality!.quantized / quantized - 1)).toBeLessThan(1e-5);
    expect(result.quality!.changePercent).toBeCloseTo(((quantized - unquantized) / unquantized) * 100, 2);
    expect(capture.stdout().trimEnd().split('\n').at(-1)).toMatch(
      /^Quality: perplexity \d+\.\d{3} unquantized → \d+\.\d{3} quantized \([+−]\d\.\d\d %\) on the first 512 held-out tokens of cnn_dailymail$/,
    );
  }, 120_000);

  test('--check none: no quality line, no figures', async () => {
    const capture = captureIo();
    const options = parseExampleOptions([
      '--device',
      'cpu',
      '--max-new-tokens',
      '1',
      '--quant-mode',
      'int8-weight-only',
      '--check',
      'none',
    ]);
    const result = await runPipeline(options, capture.io);
    expect(result.quality).toBeUndefined();
    expect(capture.stdout()).not.toContain('Quality');
  });

  test('a model folder that does not exist: one line, exit 1, nothing on stdout', async () => {
    const capture = captureIo();
    const exitCode = await runExample(['--model-type', './no/such/model', '--device', 'cpu'], capture.io);
    expect(exitCode).toBe(1);
    expect(capture.stdout()).toBe('');
    expect(capture.stderr()).toBe(
      'gpt2: ./no/such/model: no such folder (and it is not a Hugging Face repo id)\n',
    );
  });

  test('a bad flag: one line, exit 2', async () => {
    const capture = captureIo();
    expect(await runExample(['--max-new-tokens', 'many'], capture.io)).toBe(2);
    expect(capture.stderr()).toBe('gpt2: --max-new-tokens must be a positive integer, got "many"\n');
    expect(capture.stdout()).toBe('');
  });

  test('--help prints the usage, exit 0', async () => {
    const capture = captureIo();
    expect(await runExample(['--help'], capture.io)).toBe(0);
    expect(capture.stdout()).toContain('--model-type <type>');
    expect(capture.stdout()).toContain('Example:');
  });
});
