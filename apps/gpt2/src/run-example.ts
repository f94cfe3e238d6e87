import { PtqError } from '@ptq/errors';
import { loadHfGpt2, resolveModelFolder } from '@ptq/hf-gpt2';
import { compile, GPT, generate, type ModelDType } from '@ptq/nanogpt';
import { resolveDevice } from '@ptq/onnx';
import { CALIBRATION_DEFAULTS } from '@ptq/quant-core';
import { gptConfigFromHf, loadQuantWeightsFromHf, loadWeightsFromHf } from '@ptq/tripy-loader';
import { ExampleUsageError } from './example-errors';
import { type ExampleOptions, parseExampleOptions, USAGE } from './example-options';
import { compiledPerplexity, gptPerplexity, heldOutTokens } from './quality-check';

/** Where the example writes: the process's streams, or collectors in tests. */
export interface ExampleIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
}

/** What one run measured, for callers that want numbers rather than lines. */
export interface ExampleResult {
  readonly response: string;
  readonly newTokens: number[];
  readonly device: string;
  readonly dtype: ModelDType;
  readonly seconds: { load: number; calibrate?: number; compile: number; generate: number };
  readonly tokensPerSecond: number;
  /** Perplexity before and after quantization on held-out text (unless `--check none`). */
  readonly quality?: ExampleQuality;
}

export interface ExampleQuality {
  readonly unquantized: number;
  readonly quantized: number;
  /** (quantized − unquantized) / unquantized, in percent. */
  readonly changePercent: number;
  readonly text: string;
}

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

function formatSeconds(value: number): string {
  return `${value.toFixed(2)} s`;
}

/**
 * The seed's `example.py`: load the Hugging Face model, quantize it ModelOpt-style while loading
 * its weights and scales into the runtime GPT (`loadQuantWeightsFromHf`), compile, generate. Prints
 * each phase's time and the response on `io.stdout`; notices (dataset and device fallbacks) go to
 * `io.stderr`.
 */
export async function runPipeline(options: ExampleOptions, io: ExampleIo): Promise<ExampleResult> {
  const print = (line: string) => io.stdout.write(`${line}\n`);
  // Each notice once: the quality check reads the calibration dataset again and would repeat where
  // it came from.
  const noticed = new Set<string>();
  const notice = (line: string) => {
    if (noticed.has(line)) return;
    noticed.add(line);
    io.stderr.write(`${line}\n`);
  };
  // The model is found first, so a wrong path fails before the devices are probed.
  let start = performance.now();
  const { folder } = await resolveModelFolder(options.model, { onNotice: notice });
  const lookup = seconds(start);
  const device = await resolveDevice(options.device, { onNotice: notice });
  const dtype = options.dtype ?? (device === 'cpu' ? 'float32' : 'float16');

  start = performance.now();
  const hf = await loadHfGpt2(folder, { device, onNotice: notice });
  const load = lookup + seconds(start);
  print(`Loading model (${options.modelLabel}): ${formatSeconds(load)}`);
  if (hf.tokenizer === undefined) throw new ExampleUsageError(`${options.modelLabel} has no tokenizer`);
  const tokenizer = hf.tokenizer;

  // The quality check measures the model before quantization changes it in place.
  let check: { tokens: BigInt64Array; description: string; unquantized: number } | undefined;
  if (options.quantMode !== undefined && options.check) {
    const calibrated =
      options.quantMode === 'int8-weight-only' ? 0 : CALIBRATION_DEFAULTS[options.quantMode].numSamples;
    const held = await heldOutTokens('cnn_dailymail', calibrated, (text) => tokenizer.encode(text), notice);
    const unquantizedGpt = new GPT(gptConfigFromHf(hf.config, { dtype }));
    await loadWeightsFromHf(unquantizedGpt, folder, dtype, { hfModel: hf });
    check = { ...held, unquantized: await gptPerplexity(unquantizedGpt, device, held.tokens, notice) };
  }

  const gpt = new GPT(gptConfigFromHf(hf.config, { dtype, quantMode: options.quantMode }));
  let calibrate: number | undefined;
  if (options.quantMode === undefined) {
    await loadWeightsFromHf(gpt, folder, dtype, { hfModel: hf });
  } else {
    const { numSamples } = CALIBRATION_DEFAULTS[options.quantMode];
    start = performance.now();
    await loadQuantWeightsFromHf(gpt, folder, dtype, options.quantMode, {
      hfModel: hf,
      quantize: { device, onNotice: notice, log: () => {} },
    });
    calibrate = seconds(start);
    const what =
      options.quantMode === 'int8-weight-only' ? 'weights only' : `${numSamples} samples of cnn_dailymail`;
    print(`Calibrating (${options.quantMode}, ${what}): ${formatSeconds(calibrate)}`);
  }

  start = performance.now();
  const compiled = await compile(gpt, { device, engine: options.engine, onNotice: notice });
  const compileSeconds = seconds(start);
  const engine = compiled.engine === 'kernels' ? 'ptq kernels on ' : '';
  print(`Compiling (${engine}${compiled.device}, ${dtype}): ${formatSeconds(compileSeconds)}`);
  try {
    const promptTokens = Array.from(tokenizer.encode(options.inputText), Number);
    if (promptTokens.length + options.maxNewTokens > compiled.maxSequence) {
      throw new ExampleUsageError(
        `--max-new-tokens ${options.maxNewTokens} plus the prompt's ${promptTokens.length} tokens exceed the model's ${compiled.maxSequence} positions`,
      );
    }
    start = performance.now();
    const result = await generate(compiled, promptTokens, {
      maxNewTokens: options.maxNewTokens,
      temperature: options.temperature,
      seed: options.seed,
    });
    const generateSeconds = seconds(start);
    const newTokens = result.newTokens[0] ?? [];
    const tokensPerSecond = generateSeconds > 0 ? newTokens.length / generateSeconds : 0;
    print(
      `Generating ${newTokens.length} tokens: ${formatSeconds(generateSeconds)} (${tokensPerSecond.toFixed(1)} tokens/s)`,
    );
    const response = tokenizer.decode(result.tokens[0] ?? [], { skip_special_tokens: true });
    print(`Response: ${response}`);
    let quality: ExampleQuality | undefined;
    if (check !== undefined) {
      const quantized = await compiledPerplexity(compiled, check.tokens);
      const changePercent = ((quantized - check.unquantized) / check.unquantized) * 100;
      quality = { unquantized: check.unquantized, quantized, changePercent, text: check.description };
      const sign = changePercent >= 0 ? '+' : '−';
      print(
        `Quality: perplexity ${check.unquantized.toFixed(3)} unquantized → ${quantized.toFixed(3)} quantized (${sign}${Math.abs(changePercent).toFixed(2)} %) on ${check.description}`,
      );
    }
    return {
      response,
      newTokens,
      device: compiled.device,
      dtype,
      seconds: {
        load,
        ...(calibrate === undefined ? {} : { calibrate }),
        compile: compileSeconds,
        generate: generateSeconds,
      },
      tokensPerSecond,
      ...(quality === undefined ? {} : { quality }),
    };
  } finally {
    await compiled.release();
  }
}

/**
 * The example as a program: parses `argv`, runs the pipeline, resolves to the exit code (0, 1 when
 * the work failed, 2 for a bad flag) with one `gpt2: …` line on stderr for any error.
 */
export async function runExample(
  argv: readonly string[],
  io: ExampleIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  // Read before parsing, so that a parsing error itself is shown in full when asked.
  const verbose = argv.includes('--verbose');
  try {
    const options = parseExampleOptions(argv);
    if (options.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    await runPipeline(options, io);
    return 0;
  } catch (error) {
    const known = PtqError.isInstance(error);
    const message = error instanceof Error ? error.message : String(error);
    const line = message.split('\n')[0]!.replace(/^ptq: /, '');
    io.stderr.write(`gpt2: ${known ? '' : 'unexpected error: '}${line}\n`);
    if (verbose && error instanceof Error && error.stack !== undefined) io.stderr.write(`${error.stack}\n`);
    return known && error.code === 'PTQ_GPT2_APP_USAGE' ? 2 : 1;
  }
}
