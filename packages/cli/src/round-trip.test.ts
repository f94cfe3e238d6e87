import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadCalibrationTexts } from '@ptq/calibration';
import { DEFAULT_MODEL_DIR, readHeldOutText } from '@ptq/default-model';
import { perplexity } from '@ptq/hf-gpt2';
import { createTensor } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './run-cli';
import { captureIo } from './test-support/capture-io';
import { hfGreedy, hfModel } from './test-support/hf-reference';
import { temporaryFolder } from './test-support/temporary-folder';

async function run(argv: string[]) {
  const io = captureIo();
  const exitCode = await runCli(argv, io);
  return { exitCode, stdout: io.stdoutText(), stderr: io.stderrText() };
}

async function runJson(argv: string[]): Promise<Record<string, unknown>> {
  const result = await run([...argv, '--json', '--quiet']);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

const PROMPT = 'It was a bright cold day in April, and';
// The bundled model: 4 blocks of c_attn (768 outputs), attn.c_proj (256), c_fc (1024), mlp.c_proj (256).
const LAYERS = [0, 1, 2, 3].flatMap((block) =>
  ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map(
    (linear) => `transformer.h.${block}.${linear}`,
  ),
);

describe('quantize → inspect → generate → eval on the bundled model (int8 weight-only, CPU)', () => {
  let folder: string;
  let out: string;
  let quantized: Record<string, unknown>;

  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'ptq-cli-round-trip-'));
    out = path.join(folder, 'q8');
    quantized = await runJson([
      'quantize',
      '--mode',
      'int8-weight-only',
      '--format',
      'modelopt-hf',
      '--device',
      'cpu',
      '--out',
      out,
    ]);
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  test('quantize writes the checkpoint, and only it', async () => {
    expect(quantized).toMatchObject({
      command: 'quantize',
      mode: 'int8-weight-only',
      format: 'modelopt-hf',
      device: 'cpu',
      out,
    });
    expect(quantized.files).toEqual([
      'config.json',
      'generation_config.json',
      'hf_quant_config.json',
      'model.safetensors',
      'ptq-manifest.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    let bytes = 0;
    for (const file of quantized.files as string[]) bytes += (await stat(path.join(out, file))).size;
    expect(quantized.sizeBytes).toBe(bytes);
    expect(await readdir(folder)).toEqual(['q8']);
  });

  test('inspect reports the mode, the 16 linears and per-channel scales amax / 127', async () => {
    const inspection = await runJson(['inspect', out]);
    expect(inspection).toMatchObject({ format: 'modelopt-hf', mode: 'int8-weight-only', quantAlgo: 'W8A16' });
    expect(inspection.quantizedLayers).toEqual(LAYERS);
    // Independently: one scale per output channel, max |w| over the channel's inputs / 127.
    const hf = await hfModel();
    const scales: number[] = [];
    for (const layer of LAYERS) {
      const weight = hf.linear(layer).graphWeight();
      const [inputs = 0, outputs = 0] = weight.shape; // Conv1D stores [in, out]
      for (let output = 0; output < outputs; output++) {
        let amax = 0;
        for (let input = 0; input < inputs; input++)
          amax = Math.max(amax, Math.abs(weight.data[input * outputs + output]!));
        scales.push(amax / 127);
      }
    }
    const statistics = (
      inspection.scaleStats as Record<string, { count: number; min: number; max: number; mean: number }>
    ).weight_scale!;
    expect(statistics.count).toBe(9216);
    expect(scales.length).toBe(9216);
    expect(statistics.min).toBeCloseTo(Math.min(...scales), 9);
    expect(statistics.max).toBeCloseTo(Math.max(...scales), 9);
    expect(statistics.mean).toBeCloseTo(scales.reduce((sum, value) => sum + value, 0) / scales.length, 9);
    let bytes = 0;
    for (const file of await readdir(out)) bytes += (await stat(path.join(out, file))).size;
    expect(inspection.sizeOnDisk).toBe(bytes);
  });

  test('generate from the checkpoint continues the prompt as the fake-quantized HF model does', async () => {
    const generated = await runJson([
      'generate',
      '--model',
      out,
      '--device',
      'cpu',
      '--max-new-tokens',
      '8',
      '--input-text',
      PROMPT,
    ]);
    const reference = await hfGreedy(await hfModel('int8-weight-only'), PROMPT, 8);
    expect(generated).toMatchObject({
      mode: 'int8-weight-only',
      device: 'cpu',
      dtype: 'float32',
      prompt: PROMPT,
    });
    expect(generated.tokens).toEqual(reference);
    expect(generated.text).toBe(PROMPT + (generated.completion as string));

    // Text mode prints the same text on stdout, and phase timings on stderr.
    const text = await run([
      'generate',
      '--model',
      out,
      '--device',
      'cpu',
      '--max-new-tokens',
      '8',
      '--input-text',
      PROMPT,
    ]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toBe(`${generated.text as string}\n`);
    expect(text.stderr).toMatch(/^ptq: load \d+\.\d\d s \(.*: int8-weight-only checkpoint\)$/m);
    expect(text.stderr).toMatch(/^ptq: compile \d+\.\d\d s \(cpu, float32\)$/m);
    expect(text.stderr).toMatch(/^ptq: generate \d+\.\d\d s \(8 tokens, /m);
  });

  // Evaluates the export, then tokenizes the held-out text and scores its first 2048 tokens again.
  test('eval of the checkpoint gives the perplexity hf-gpt2 computes for the fake-quantized model', async () => {
    const evaluated = await runJson([
      'eval',
      '--model',
      out,
      '--dataset',
      'held-out',
      '--max-tokens',
      '2048',
      '--device',
      'cpu',
    ]);
    const hf = await hfModel('int8-weight-only');
    const ids = BigInt64Array.from(hf.tokenizer!.encode(await readHeldOutText()).slice(0, 2048), BigInt);
    const reference = await perplexity(hf, createTensor('int64', [ids.length], ids));
    expect(evaluated).toMatchObject({
      mode: 'int8-weight-only',
      tokenCount: reference.tokenCount,
      window: 1024,
      stride: 1024,
    });
    // Two float32 paths (MatMulNBits kernels vs fake-quantized float matmuls) agree to float32 noise.
    expect(Math.abs((evaluated.perplexity as number) / reference.perplexity - 1)).toBeLessThan(1e-5);
  }, 120_000);

  test('quantize reports perplexity before and after on the first 512 held-out tokens, as hf-gpt2 computes it', async () => {
    const quality = quantized.quality as Record<string, number | string | boolean>;
    // int8 weight-only calibrates on nothing: every text of the dataset is held out.
    const { texts } = await loadCalibrationTexts('cnn_dailymail', { numSamples: 2, offline: true });
    for (const [mode, key] of [
      [undefined, 'unquantizedPerplexity'],
      ['int8-weight-only', 'quantizedPerplexity'],
    ] as const) {
      const hf = await hfModel(mode);
      const ids = BigInt64Array.from(hf.tokenizer!.encode(texts.join('\n\n')).slice(0, 512), BigInt);
      const reference = await perplexity(hf, createTensor('int64', [ids.length], ids), { window: 512 });
      expect(Math.abs((quality[key] as number) / reference.perplexity - 1)).toBeLessThan(1e-5);
    }
    const before = quality.unquantizedPerplexity as number;
    const after = quality.quantizedPerplexity as number;
    expect(quality).toMatchObject({
      tokenCount: 511,
      window: 512,
      maxDegradationPercent: 5,
      exceedsMaxDegradation: false,
    });
    expect(quality.changePercent).toBeCloseTo(((after - before) / before) * 100, 10);
    expect(quality.text).toMatch(/^the first 512 tokens of 2 texts of .*cnn|article/);
    const manifest = JSON.parse(await readFile(path.join(out, 'ptq-manifest.json'), 'utf8'));
    expect(manifest.producer.calibration).toEqual({ dataset: 'cnn_dailymail', samples: 0 });
  });

  test('a second quantize of the same model on the same text takes the unquantized figure from the cache', async () => {
    const own = await temporaryFolder();
    const previous = process.env.PTQ_CACHE_DIR;
    process.env.PTQ_CACHE_DIR = path.join(own, 'cache');
    try {
      const argv = ['quantize', '--mode', 'int8-weight-only', '--device', 'cpu'];
      const first = (await runJson([...argv, '--out', path.join(own, 'a')])).quality as Record<
        string,
        unknown
      >;
      expect(await readdir(path.join(own, 'cache'))).toHaveLength(1);
      const second = (await runJson([...argv, '--out', path.join(own, 'b')])).quality as Record<
        string,
        unknown
      >;
      const measured = quantized.quality as Record<string, unknown>;
      expect(first.unquantizedFromCache).toBe(false);
      expect(second.unquantizedFromCache).toBe(true);
      expect(measured.unquantizedFromCache).toBe(false);
      for (const report of [first, second]) {
        expect(report.unquantizedPerplexity).toBe(measured.unquantizedPerplexity);
        expect(report.quantizedPerplexity).toBe(measured.quantizedPerplexity);
        expect(report.tokenCount).toBe(measured.tokenCount);
      }
      // Another text is another entry.
      const third = (await runJson([...argv, '--dataset', 'wikitext', '--out', path.join(own, 'c')]))
        .quality as Record<string, unknown>;
      expect(third.unquantizedFromCache).toBe(false);
      expect(await readdir(path.join(own, 'cache'))).toHaveLength(2);
    } finally {
      if (previous === undefined) delete process.env.PTQ_CACHE_DIR;
      else process.env.PTQ_CACHE_DIR = previous;
    }
  }, 120_000);

  test("eval of the export without --dataset measures its dataset's held-out texts, and says so", async () => {
    const result = await run(['eval', '--model', out, '--max-tokens', '512', '--device', 'cpu', '--quiet']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /^perplexity \d+\.\d{3} \(511 tokens of 64 texts of .*article.*, window 1024, stride 1024\)\n$/,
    );
    const quality = quantized.quality as Record<string, number>;
    const measured = Number(/^perplexity (\S+)/.exec(result.stdout)![1]);
    // The same first tokens as the quality report's quantized figure (window 1024 instead of 512 over 511 tokens: the same windows).
    expect(measured).toBeCloseTo(quality.quantizedPerplexity!, 3);
  });

  // Quantizes again and scores the whole check dataset before and after.
  test('--check full on --check-dataset: its whole text; past --max-degradation a warning', async () => {
    const own = await temporaryFolder();
    const text = path.join(own, 'check.txt');
    await writeFile(text, (await readHeldOutText()).slice(0, 3000));
    const argv = ['quantize', '--mode', 'int8-weight-only', '--device', 'cpu', '--check', 'full'];
    const checked = path.join(own, 'q8-checked');
    const result = await run([...argv, '--check-dataset', text, '--max-degradation', '0', '--out', checked]);
    expect(result.exitCode).toBe(0);
    const [wrote, report, ...rest] = result.stdout.split('\n');
    expect(wrote).toMatch(/^Wrote .*q8-checked \(modelopt-hf, int8-weight-only\): 7 files/);
    expect(report).toMatch(
      /^perplexity (\d+\.\d{3}) unquantized → (\d+\.\d{3}) quantized \(\+\d\.\d\d %\) on \d+ tokens of 1 text of .*check\.txt \(the whole file as one text\)$/,
    );
    expect(rest).toEqual(['']);
    expect(result.stderr).toMatch(
      /^ptq: warning: quantization raised perplexity by \+\d\.\d\d %, more than --max-degradation 0 %$/m,
    );
    // The check's text is its own: calibration's dataset is not read, so nothing is recorded.
    const manifest = JSON.parse(await readFile(path.join(checked, 'ptq-manifest.json'), 'utf8'));
    expect(manifest.producer.calibration).toBeUndefined();
    const tokens = (await hfModel()).tokenizer!.encode((await readHeldOutText()).slice(0, 3000)).length;
    expect(report).toContain(` on ${tokens} tokens of 1 text of `);
  }, 120_000);

  test('the unquantized model is checked before calibration, the quantized one after the export is written', async () => {
    const own = await temporaryFolder();
    const argv = ['quantize', '--mode', 'int8-weight-only', '--device', 'cpu'];
    const result = await run([...argv, '--out', path.join(own, 'q8')]);
    expect(result.exitCode).toBe(0);
    const lines = result.stderr.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    const order = [
      /^check unquantized 1\/1$/,
      /^ptq: calibrate /,
      /^ptq: export /,
      /^check quantized 1\/1$/,
    ].map(at);
    expect(order.every((index) => index !== -1)).toBe(true);
    expect(order).toEqual([...order].sort((left, right) => left - right));
  }, 120_000);

  test('--force replaces the folder whole, and never a file the user added', async () => {
    const before = (await readdir(out)).sort();
    await runJson(['quantize', '--mode', 'int8-weight-only', '--device', 'cpu', '--out', out, '--force']);
    expect((await readdir(out)).sort()).toEqual(before);
    expect(await readdir(folder)).toEqual(['q8']);

    await writeFile(path.join(out, 'stale.txt'), 'from before');
    const io = captureIo();
    const exitCode = await runCli(
      ['quantize', '--mode', 'int8-weight-only', '--device', 'cpu', '--out', out, '--force'],
      io,
    );
    expect({ exitCode, stderr: io.stderrText() }).toEqual({
      exitCode: 1,
      stderr: `ptq: --out ${out}: is a ptq output to which files were added (stale.txt); choose another path\n`,
    });
    expect(await readFile(path.join(out, 'stale.txt'), 'utf8')).toBe('from before');
    await rm(path.join(out, 'stale.txt'));
  });

  test('an ONNX export of the same model generates the same tokens', async () => {
    const onnxOut = path.join(folder, 'q8-onnx');
    const written = await runJson([
      'quantize',
      '--mode',
      'int8-weight-only',
      '--format',
      'onnx',
      '--device',
      'cpu',
      '--out',
      onnxOut,
    ]);
    expect(written.files).toContain('onnx/model_quantized.onnx');
    const inspection = await runJson(['inspect', onnxOut]);
    expect(inspection).toMatchObject({
      format: 'onnx',
      mode: 'int8-weight-only',
      modelFile: 'onnx/model_quantized.onnx',
    });
    // The same scales as the checkpoint's: one per output channel, though MatMulNBits repeats each
    // over blocks of 128 inputs (c_attn, attn.c_proj and c_fc have 2 blocks, mlp.c_proj 8).
    const weightScales = (inspection.scaleStats as Record<string, Record<string, number>>).weight_scale!;
    expect(weightScales.count).toBe(9216);
    expect(weightScales.storedValues).toBe(4 * (768 * 2 + 256 * 2 + 1024 * 2 + 256 * 8));
    expect(inspection.fp32Size).toBe(4 * (await bundledParameterCount()));

    const qdqOut = path.join(folder, 'q8-qdq');
    await runJson([
      'quantize',
      '--mode',
      'int8-weight-only',
      '--format',
      'onnx-qdq',
      '--check',
      'none',
      '--device',
      'cpu',
      '--out',
      qdqOut,
    ]);
    const qdq = await runJson(['inspect', qdqOut]);
    expect(qdq).toMatchObject({
      format: 'onnx-qdq',
      mode: 'int8-weight-only',
      modelFile: 'onnx/model_qdq.onnx',
    });
    expect((qdq.scaleStats as Record<string, Record<string, number>>).weight_scale!.count).toBe(9216);
    const fromOnnx = await runJson([
      'generate',
      '--model',
      onnxOut,
      '--device',
      'cpu',
      '--max-new-tokens',
      '8',
      '--input-text',
      PROMPT,
    ]);
    const fromCheckpoint = await runJson([
      'generate',
      '--model',
      out,
      '--device',
      'cpu',
      '--max-new-tokens',
      '8',
      '--input-text',
      PROMPT,
    ]);
    expect(fromOnnx.tokens).toEqual(fromCheckpoint.tokens);
  });
});

describe('what a run shows on stderr', () => {
  test('without a terminal: plain progress lines and phase timings; the result on stdout', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'ptq-cli-progress-'));
    try {
      const out = path.join(folder, 'f8');
      const result = await run([
        'quantize',
        '--mode',
        'float8',
        '--calib-size',
        '3',
        '--max-sample-length',
        '32',
        '--dataset',
        'wikitext',
        '--device',
        'cpu',
        '--check',
        'none',
        '--out',
        out,
      ]);
      expect(result.exitCode).toBe(0);
      const lines = result.stderr.split('\n');
      expect(lines).toEqual(expect.arrayContaining(['calibrate 1/3', 'calibrate 2/3', 'calibrate 3/3']));
      expect(
        lines.some((line) => /^ptq: calibrate \d+\.\d\d s \(float8, 3 samples of wikitext\)$/.test(line)),
      ).toBe(true);
      expect(lines.some((line) => /^ptq: export \d+\.\d\d s \(modelopt-hf\)$/.test(line))).toBe(true);
      expect(result.stdout).toMatch(
        new RegExp(`^Wrote ${out} \\(modelopt-hf, float8\\): 7 files, \\d+\\.\\d MB\\n$`),
      );
      // The float8 checkpoint stores the tied lm_head apart, quantized: the model is no bigger for it.
      const inspection = JSON.parse((await run(['inspect', out, '--json'])).stdout);
      expect(inspection.quantizedLayers).toContain('lm_head');
      expect(inspection.fp32Size).toBe(4 * (await bundledParameterCount()));
      expect(inspection.sizeRatio).toBeCloseTo(inspection.sizeOnDisk / inspection.fp32Size, 12);
      expect(inspection.sizeRatio).toBeGreaterThan(0.65);
      expect(inspection.scaleStats.weight_scale.count).toBe(17);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

/** Elements of the bundled model's stored tensors (tied weights are stored once), from its safetensors header. */
async function bundledParameterCount(): Promise<number> {
  const bytes = await readFile(path.join(DEFAULT_MODEL_DIR, 'model.safetensors'));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { shape: number[] }
  >;
  let count = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__' || name.endsWith('.attn.bias') || name.endsWith('.masked_bias')) continue;
    count += entry.shape.reduce((product, size) => product * size, 1);
  }
  return count;
}
