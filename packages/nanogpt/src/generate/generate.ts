import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, createXoshiro128 } from '@ptq/tensor';
import { checkMaxNewTokens, checkTokensPerRead } from '../runtime/compiled-gpt';
import type { DecodeCache, RuntimeGPT } from '../runtime/runtime-gpt';
import { argmax, sampleToken } from './sampling';

export interface GenerateOptions {
  /** Tokens to add per row (default 32). */
  maxNewTokens?: number;
  /** 0 (default) is greedy; above 0, logits are divided by it and sampled. */
  temperature?: number;
  /** Sample among the k most likely tokens only (default: the whole vocabulary). */
  topK?: number;
  /** Seed of the xoshiro128** generator used for sampling; the same seed gives the same tokens. Default: random. */
  seed?: number;
  /** Stop a row once it produces `eosTokenId` (default true); the EOS token is kept. */
  stopAtEos?: boolean;
  /** End-of-text token, also used to left-pad shorter prompts (default: the model's `eosTokenId`). */
  eosTokenId?: number;
  /** Called after every step with each row's new token (`undefined` for rows that had already stopped). */
  onToken?: (tokens: readonly (number | undefined)[], step: number) => void;
  /**
   * Greedy decoding lets the device choose each token and feed it straight back, so tokens reach
   * the host only `tokensPerRead` at a time (default true where the compiled model can: onnxruntime
   * with one row, `batch: 1` and fused operators; the kernels engine for any batch it was compiled
   * for, each row at its own position). The tokens are the same either way; false picks them on the
   * host from each step's logits. The kernels engine also samples on the device (temperature above
   * 0), from the same seeded draws: the same tokens, unless a draw falls within float32 rounding of
   * the boundary between two candidates (the host sums in float64).
   */
  chooseOnDevice?: boolean;
  /**
   * With `chooseOnDevice`: tokens per host read after the first (default 16). Each read waits for
   * the device; `onToken` is called for each token when its chunk arrives, and a row that reached
   * EOS stops at the next read (the steps run past it are dropped; in a batch, the other rows go on
   * until every row has stopped).
   */
  tokensPerRead?: number;
}

export interface GenerateTimings {
  /** The prompt's forward, up to its logits (time to first token, without sampling). */
  readonly prefillMs: number;
  /** All decode steps. */
  readonly decodeMs: number;
  /** Tokens made by decode steps per second of decodeMs (rows still running count each; 0 without decode steps). */
  readonly tokensPerSecond: number;
}

export interface GenerateResult {
  /** Per row: the prompt followed by the generated tokens (without padding). */
  readonly tokens: number[][];
  /** Per row: the generated tokens only. */
  readonly newTokens: number[][];
  readonly timings: GenerateTimings;
}

function checkOptions(compiled: RuntimeGPT, options: GenerateOptions) {
  const maxNewTokens = options.maxNewTokens ?? 32;
  checkMaxNewTokens(maxNewTokens);
  const temperature = options.temperature ?? 0;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw new InvalidArgumentError('temperature', `must be a finite number ≥ 0, got ${String(temperature)}`);
  }
  const { topK } = options;
  if (topK !== undefined && (!Number.isSafeInteger(topK) || topK < 1)) {
    throw new InvalidArgumentError('topK', `must be a positive integer, got ${String(topK)}`);
  }
  const eosTokenId = options.eosTokenId ?? compiled.config.eosTokenId;
  if (!Number.isSafeInteger(eosTokenId) || eosTokenId < 0 || eosTokenId >= compiled.config.vocabSize) {
    throw new InvalidArgumentError(
      'eosTokenId',
      `must be a token id in [0, ${compiled.config.vocabSize - 1}], got ${String(eosTokenId)}`,
    );
  }
  if (options.tokensPerRead !== undefined) checkTokensPerRead(options.tokensPerRead);
  const seed = options.seed ?? Math.floor(Math.random() * 0x100000000);
  const random = createXoshiro128(seed);
  return { maxNewTokens, temperature, topK, eosTokenId, random, stopAtEos: options.stopAtEos ?? true };
}

function promptRows(inputIds: readonly number[] | readonly (readonly number[])[]): number[][] {
  const rows = (inputIds.length > 0 && Array.isArray(inputIds[0]) ? inputIds : [inputIds]) as readonly (
    | readonly number[]
    | number
  )[];
  return rows.map((row, index) => {
    if (!Array.isArray(row) || row.length === 0) {
      throw new InvalidArgumentError('inputIds', `row ${index} must be a non-empty array of token ids`);
    }
    return [...(row as number[])];
  });
}

/**
 * Continues each prompt: one prefill over the (left-padded, masked) prompt batch, then one decode
 * step per new token that feeds only that token against the KV cache. Greedy at temperature 0;
 * otherwise `softmax(logits / temperature)` over the top-k, sampled with a seeded xoshiro128**, so a
 * seed reproduces the tokens exactly.
 */
export async function generate(
  compiled: RuntimeGPT,
  inputIds: readonly number[] | readonly (readonly number[])[],
  options: GenerateOptions = {},
): Promise<GenerateResult> {
  const settings = checkOptions(compiled, options);
  const prompts = promptRows(inputIds);
  const { vocabSize } = compiled.config;
  prompts.forEach((row, rowIndex) => {
    row.forEach((token, column) => {
      if (!Number.isSafeInteger(token) || token < 0 || token >= vocabSize) {
        throw new InvalidArgumentError(
          'inputIds',
          `token ${String(token)} at [${rowIndex}, ${column}] is outside the vocabulary [0, ${vocabSize - 1}]`,
        );
      }
    });
  });
  const rows = prompts.length;
  const width = Math.max(...prompts.map((row) => row.length));
  if (width + settings.maxNewTokens > compiled.maxSequence) {
    throw new InvalidArgumentError(
      'maxNewTokens',
      `the longest prompt (${width} tokens) plus ${settings.maxNewTokens} new tokens exceeds the compiled maxSequence ${compiled.maxSequence}`,
    );
  }
  const newTokens: number[][] = prompts.map(() => []);
  const result = (prefillMs: number, decodeMs: number, decodeTokens: number): GenerateResult => ({
    tokens: prompts.map((row, index) => [...row, ...newTokens[index]!]),
    newTokens,
    timings: { prefillMs, decodeMs, tokensPerSecond: decodeMs > 0 ? (decodeTokens * 1000) / decodeMs : 0 },
  });
  if (settings.maxNewTokens === 0) return result(0, 0, 0);

  const ids = new BigInt64Array(rows * width);
  const mask = new BigInt64Array(rows * width);
  prompts.forEach((row, index) => {
    const padding = width - row.length;
    for (let column = 0; column < width; column += 1) {
      ids[index * width + column] = BigInt(column < padding ? settings.eosTokenId : row[column - padding]!);
      mask[index * width + column] = column < padding ? 0n : 1n;
    }
  });

  const choose = (logits: Float32Array): number =>
    settings.temperature === 0
      ? argmax(logits)
      : sampleToken(logits, {
          temperature: settings.temperature,
          topK: settings.topK,
          random: settings.random,
        });
  if (
    rows === 1 &&
    settings.temperature === 0 &&
    (options.chooseOnDevice ?? true) &&
    compiled.choosesTokens
  ) {
    const chunks = compiled.greedyChunks(prompts[0]!, settings.maxNewTokens, options.tokensPerRead);
    return chosenOnDevice(chunks, newTokens[0]!, settings, options, result);
  }
  if (
    rows > 1 &&
    settings.temperature === 0 &&
    (options.chooseOnDevice ?? true) &&
    compiled.choosesTokens &&
    compiled.greedyBatchChunks !== undefined
  ) {
    const chunks = compiled.greedyBatchChunks(prompts, settings.maxNewTokens, options.tokensPerRead);
    return chosenOnDeviceForRows(chunks, newTokens, settings, options, result);
  }
  if (rows === 1 && settings.temperature > 0 && (options.chooseOnDevice ?? true) && compiled.sampledChunks) {
    // The same draws from the same seeded source as the host path below, consumed in the same order.
    const sampling = { temperature: settings.temperature, topK: settings.topK, random: settings.random };
    const chunks = compiled.sampledChunks(
      prompts[0]!,
      settings.maxNewTokens,
      sampling,
      options.tokensPerRead,
    );
    return chosenOnDevice(chunks, newTokens[0]!, settings, options, result);
  }

  const finished = new Array<boolean>(rows).fill(false);
  let step = 0;
  const take = (logits: Float32Array, positions: number): (number | undefined)[] => {
    const chosen: (number | undefined)[] = [];
    for (let row = 0; row < rows; row += 1) {
      if (finished[row]) {
        chosen.push(undefined);
        continue;
      }
      const offset = (row * positions + positions - 1) * vocabSize;
      const token = choose(logits.subarray(offset, offset + vocabSize));
      newTokens[row]!.push(token);
      chosen.push(token);
      if (settings.stopAtEos && token === settings.eosTokenId) finished[row] = true;
    }
    options.onToken?.(chosen, step);
    step += 1;
    return chosen;
  };

  let cache: DecodeCache | undefined;
  try {
    const prefillStart = performance.now();
    // Only the last position's logits: a single-row graph runs its head on that position alone.
    const prefill = await compiled.prefill(
      createTensor('int64', [rows, width], ids),
      createTensor('int64', [rows, width], mask),
      { logits: 'last' },
    );
    cache = prefill.cache;
    const prefillMs = performance.now() - prefillStart;
    let chosen = take(prefill.logits.data, 1);
    let decodeMs = 0;
    let decodeTokens = 0;
    while (step < settings.maxNewTokens && finished.some((done) => !done)) {
      // Rows that stopped keep feeding EOS so the batch stays rectangular; their tokens are dropped.
      const feed = chosen.map((token) => token ?? settings.eosTokenId);
      const active = finished.filter((done) => !done).length;
      const decodeStart = performance.now();
      const { logits } = await compiled.decodeStep(cache, feed);
      decodeMs += performance.now() - decodeStart;
      decodeTokens += active;
      chosen = take(logits.data, 1);
    }
    return result(prefillMs, decodeMs, decodeTokens);
  } finally {
    cache?.dispose();
  }
}

/**
 * One row, tokens chosen on the device (`greedyChunks` or `sampledChunks`). The first chunk is the
 * prefill's token alone, so prefillMs is the time to the first token, as on the host path.
 */
async function chosenOnDevice(
  chunks: AsyncGenerator<number[], void, undefined>,
  made: number[],
  settings: ReturnType<typeof checkOptions>,
  options: GenerateOptions,
  result: (prefillMs: number, decodeMs: number, decodeTokens: number) => GenerateResult,
): Promise<GenerateResult> {
  const started = performance.now();
  let prefillMs = 0;
  for await (const chunk of chunks) {
    if (made.length === 0) prefillMs = performance.now() - started;
    for (const token of chunk) {
      made.push(token);
      options.onToken?.([token], made.length - 1);
      if (settings.stopAtEos && token === settings.eosTokenId) break;
    }
    if (settings.stopAtEos && made.at(-1) === settings.eosTokenId) break;
  }
  const decodeMs = made.length > 1 ? performance.now() - started - prefillMs : 0;
  return result(prefillMs, decodeMs, made.length - 1);
}

/**
 * Several rows, tokens chosen on the device (`greedyBatchChunks`), one chunk per row per read. A
 * row's tokens after its EOS are dropped (with `stopAtEos`; the device runs it on), and reading
 * stops once every row has stopped. The first chunk holds the prefill's tokens alone.
 */
async function chosenOnDeviceForRows(
  chunks: AsyncGenerator<number[][], void, undefined>,
  made: number[][],
  settings: ReturnType<typeof checkOptions>,
  options: GenerateOptions,
  result: (prefillMs: number, decodeMs: number, decodeTokens: number) => GenerateResult,
): Promise<GenerateResult> {
  const started = performance.now();
  const finished = made.map(() => false);
  let prefillMs = 0;
  let step = 0;
  let decodeTokens = 0;
  for await (const chunk of chunks) {
    if (step === 0) prefillMs = performance.now() - started;
    for (let index = 0; index < chunk[0]!.length && !finished.every(Boolean); index += 1) {
      const chosen = chunk.map((tokens, row) => {
        if (finished[row]) return undefined;
        const token = tokens[index]!;
        made[row]!.push(token);
        if (step > 0) decodeTokens += 1;
        if (settings.stopAtEos && token === settings.eosTokenId) finished[row] = true;
        return token;
      });
      options.onToken?.(chosen, step);
      step += 1;
    }
    if (finished.every(Boolean)) break;
  }
  const decodeMs = step > 1 ? performance.now() - started - prefillMs : 0;
  return result(prefillMs, decodeMs, decodeTokens);
}
