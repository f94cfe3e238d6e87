import { InvalidArgumentError } from '@ptq/errors';
import { DeviceTensorReader, fromOrtTensor, type ResolvedDevice } from '@ptq/onnx';
import { createTensor, type Tensor } from '@ptq/tensor';
import { type InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { GPTConfig } from '../config';
import { ATTENTION_MASK, LOGITS, NEXT_TOKEN } from '../graph/graph-io';
import type { WeightFormat } from '../graph/weight-format';
import { type BatchInputs, checkTargets, readBatchInputs, restoreRowPadding } from './batch-inputs';
import { BatchedSession } from './batched-session';
import { KeyValueCache } from './key-value-cache';
import type { SessionLayout } from './session-layout';
import { emptyLayers, presentsOf, withPasts } from './session-tensors';
import { SingleRowSession } from './single-row-session';
import { TargetScorer } from './target-scorer';

export interface CompiledGPTInit {
  readonly config: GPTConfig;
  readonly session: InferenceSession;
  readonly device: ResolvedDevice;
  readonly weightFormat: WeightFormat | undefined;
  readonly maxSequence: number;
  readonly batch: number;
}

export interface ForwardOutput {
  /** float32 `[batch, sequence, vocab]`. */
  readonly logits: Tensor<'float32'>;
}

export interface PrefillOptions {
  /**
   * `'all'` (the default): logits at every position, `[batch, sequence, vocab]`. `'last'`: at each
   * row's last position only, `[batch, 1, vocab]`, which is what generation needs; a single-row
   * graph then runs its head on that position alone (`num_logits_to_keep`).
   */
  readonly logits?: 'all' | 'last';
}

export interface PrefillOutput extends ForwardOutput {
  /** The keys and values of the prompt, to continue with `decodeStep`. */
  readonly cache: KeyValueCache;
}

/** Tokens per host read in `greedyChunks` after the first (see there). */
export const DEFAULT_TOKENS_PER_READ = 16;
/** Bounds `tokensPerRead`: each count is a small session of its own. */
export const MAX_TOKENS_PER_READ = 256;

/** Throws unless `maxNewTokens` is a non-negative integer. */
export function checkMaxNewTokens(maxNewTokens: number): void {
  if (!Number.isSafeInteger(maxNewTokens) || maxNewTokens < 0) {
    throw new InvalidArgumentError(
      'maxNewTokens',
      `must be a non-negative integer, got ${String(maxNewTokens)}`,
    );
  }
}

/** Throws unless `tokensPerRead` is an integer in [1, MAX_TOKENS_PER_READ]. */
export function checkTokensPerRead(tokensPerRead: number): void {
  if (!Number.isSafeInteger(tokensPerRead) || tokensPerRead < 1 || tokensPerRead > MAX_TOKENS_PER_READ) {
    throw new InvalidArgumentError(
      'tokensPerRead',
      `must be an integer in [1, ${MAX_TOKENS_PER_READ}], got ${String(tokensPerRead)}`,
    );
  }
}

/** What `greedyChunks` checks before reading the prompt, whichever engine runs it. */
export function checkGreedyArguments(
  prompt: readonly number[],
  maxNewTokens: number,
  tokensPerRead: number,
): void {
  checkTokensPerRead(tokensPerRead);
  checkMaxNewTokens(maxNewTokens);
  const notInteger = prompt.findIndex((token) => !Number.isSafeInteger(token));
  if (notInteger !== -1) {
    throw new InvalidArgumentError(
      'prompt',
      `token ${String(prompt[notInteger])} at ${notInteger} is not an integer`,
    );
  }
}

/** Throws unless the prompt and `maxNewTokens` new tokens fit the compiled `maxSequence`. */
export function checkRoomForNewTokens(promptLength: number, maxNewTokens: number, maxSequence: number): void {
  if (promptLength + maxNewTokens > maxSequence) {
    throw new InvalidArgumentError(
      'maxNewTokens',
      `the prompt (${promptLength} tokens) plus ${maxNewTokens} new tokens exceeds the compiled maxSequence ${maxSequence}`,
    );
  }
}

/**
 * A GPT compiled to one onnxruntime session (see `compile`). `forward` runs whole sequences;
 * `prefill` and `decodeStep` run a prompt once and then one token per step against a KV cache.
 */
export class CompiledGPT {
  readonly config: GPTConfig;
  readonly session: InferenceSession;
  /** The execution provider the session runs on. */
  readonly device: ResolvedDevice;
  /** How quantized weights are stored in the graph; undefined for unquantized models. */
  readonly weightFormat: WeightFormat | undefined;
  /** The longest sequence (cached positions plus new ones) a call accepts. */
  readonly maxSequence: number;
  /** The most rows a call accepts. */
  readonly batch: number;
  /** Which engine runs the model (see `RuntimeGPT`). */
  readonly engine = 'onnxruntime' as const;
  /**
   * What the graph takes and gives: a single row without mask or position inputs (see
   * `buildGptGraph`'s `singleRow`), or a padded batch.
   */
  readonly #layout: SessionLayout;
  /** Copies device-resident outputs to the host; made on first use. */
  #reader: DeviceTensorReader | undefined;
  /** Scores targets against logits where the logits live (`targetLogProbabilities`); made on first use. */
  readonly #scorers = new Map<ResolvedDevice, TargetScorer>();
  #released = false;

  constructor(init: CompiledGPTInit) {
    this.config = init.config;
    this.session = init.session;
    this.device = init.device;
    this.weightFormat = init.weightFormat;
    this.maxSequence = init.maxSequence;
    this.batch = init.batch;
    this.#layout = init.session.inputNames.includes(ATTENTION_MASK)
      ? new BatchedSession()
      : new SingleRowSession({
          session: init.session,
          config: init.config,
          readTokens: (tokens, slots) => this.#readTokens(tokens, slots),
        });
  }

  /**
   * Logits of every position of a batch, with no cache (what perplexity needs). Left padding is
   * exact: pads get mask 0, real tokens get the positions and logits of the unpadded row.
   */
  async forward(inputIds: Tensor<'int64'>, attentionMask?: Tensor<'int64'>): Promise<ForwardOutput> {
    const padded = this.#readBatch(inputIds, attentionMask);
    const batch = this.#withoutPadding(padded);
    if (batch.sequence === 0) return { logits: this.#zeroLogits(padded.sequence) };
    const outputs = await this.#runForLogits(this.#feeds(batch.ids, batch.mask, batch.sequence, undefined));
    const logits = await this.#readLogits(outputs, batch.rows, batch.sequence);
    return { logits: this.#restorePadding(logits, padded) };
  }

  /**
   * `log p(targets[r][p] | inputIds[r][0..p])` at every position of every row, float32 `[batch,
   * sequence]`: what perplexity needs. The log softmax runs where the logits are, so on WebGPU one
   * float per position comes back to the host instead of a row of logits. Rows without padding;
   * every target must be in the vocabulary.
   */
  async targetLogProbabilities(
    inputIds: Tensor<'int64'>,
    targets: Tensor<'int64'>,
  ): Promise<Tensor<'float32'>> {
    const batch = this.#readBatch(inputIds, undefined);
    const { rows, sequence } = batch;
    checkTargets(targets, rows, sequence, this.config.vocabSize);
    const outputs = await this.#runForLogits(this.#feeds(batch.ids, batch.mask, sequence, undefined));
    (outputs[NEXT_TOKEN] as OrtTensor | undefined)?.dispose();
    const logits = outputs[LOGITS] as OrtTensor;
    const location = logits.location === 'gpu-buffer' ? this.device : 'cpu';
    let scorer = this.#scorers.get(location);
    if (scorer === undefined) {
      scorer = new TargetScorer(location);
      this.#scorers.set(location, scorer);
    }
    try {
      const scored = await scorer.score(logits, new OrtTensor('int64', targets.data, [rows, sequence]));
      return createTensor('float32', [rows, sequence], (fromOrtTensor(scored) as Tensor<'float32'>).data);
    } finally {
      if (logits.location === 'gpu-buffer') logits.dispose();
    }
  }

  /** Runs a prompt batch and keeps its keys and values for `decodeStep`. */
  async prefill(
    inputIds: Tensor<'int64'>,
    attentionMask?: Tensor<'int64'>,
    options: PrefillOptions = {},
  ): Promise<PrefillOutput> {
    const wanted = options.logits ?? 'all';
    if (wanted !== 'all' && wanted !== 'last') {
      throw new InvalidArgumentError('logits', `must be 'all' or 'last', got ${String(wanted)}`);
    }
    const padded = this.#readBatch(inputIds, attentionMask);
    const batch = this.#withoutPadding(padded);
    const lastOnly = wanted === 'last';
    if (batch.sequence === 0) {
      const cache = new KeyValueCache(this.#emptyLayers(1), this.#emptyLayers(1), [[]]);
      return { logits: this.#zeroLogits(lastOnly ? 1 : padded.sequence), cache };
    }
    // On the device when the row's last position is a real token; a masked one has zero logits.
    const lastOnDevice = lastOnly && this.#layout.computesLastAlone(padded);
    const outputs = await this.session.run(
      this.#feeds(batch.ids, batch.mask, batch.sequence, undefined, undefined, lastOnDevice ? 1 : 0),
    );
    const [keys, values] = this.#presents(outputs);
    const cache = new KeyValueCache(keys, values, batch.mask);
    const logits = await this.#readLogits(outputs, batch.rows, lastOnDevice ? 1 : batch.sequence);
    if (lastOnDevice) return { logits, cache };
    const all = this.#restorePadding(logits, padded);
    return { logits: lastOnly ? lastPositions(all) : all, cache };
  }

  /**
   * Feeds one new (real) token per row against `cache`, advances the cache in place and returns the
   * new position's logits, float32 `[batch, 1, vocab]`.
   */
  async decodeStep(cache: KeyValueCache, tokens: readonly number[]): Promise<ForwardOutput> {
    this.#checkUsable();
    if (cache.disposed) {
      throw new InvalidArgumentError('cache', 'has been disposed');
    }
    if (tokens.length !== cache.rows) {
      throw new InvalidArgumentError(
        'tokens',
        `must hold one token per cached row (${cache.rows}), got ${tokens.length}`,
      );
    }
    if (cache.length + 1 > this.maxSequence) {
      throw new InvalidArgumentError(
        'cache',
        `holds ${cache.length} positions; one more exceeds the compiled maxSequence ${this.maxSequence}`,
      );
    }
    const ids = new BigInt64Array(tokens.length);
    tokens.forEach((token, row) => {
      if (!Number.isSafeInteger(token) || token < 0 || token >= this.config.vocabSize) {
        throw new InvalidArgumentError(
          'tokens',
          `token ${token} of row ${row} is outside the vocabulary [0, ${this.config.vocabSize - 1}]`,
        );
      }
      ids[row] = BigInt(token);
    });
    const mask = cache.attentionMask.map((row) => [...row, 1]);
    const positions = BigInt64Array.from(cache.nextPositions, BigInt);
    const outputs = await this.session.run(this.#feeds(ids, mask, 1, cache, positions, 1));
    const [keys, values] = this.#presents(outputs);
    cache.advance(keys, values);
    return { logits: await this.#readLogits(outputs, cache.rows, 1) };
  }

  /** Whether `greedyChunks` can run: the graph is single-row and picks its greedy token itself. */
  get choosesTokens(): boolean {
    return this.#layout.choosesTokens;
  }

  /**
   * Greedy continuation of one prompt, with the choice made in the graph: each step feeds the
   * previous step's `next_token` output straight back as `input_ids`, so on a GPU a step makes no
   * host↔device copy and the host never waits for the device between steps. Tokens come back in
   * chunks, each one read (one transfer, one wait): the prefill's token alone, so the first token is
   * not held back, then `tokensPerRead` at a time. Stop iterating to stop early; the cache is
   * freed either way. Needs a single-row graph (`choosesTokens`).
   */
  async *greedyChunks(
    prompt: readonly number[],
    maxNewTokens: number,
    tokensPerRead = DEFAULT_TOKENS_PER_READ,
  ): AsyncGenerator<number[], void, undefined> {
    this.#checkUsable();
    const layout = this.#layout;
    if (!(layout instanceof SingleRowSession && layout.choosesTokens)) {
      throw new InvalidArgumentError(
        'compiled',
        "greedy decoding in the graph needs a single-row graph (compile with batch: 1 and operators: 'fused')",
      );
    }
    checkGreedyArguments(prompt, maxNewTokens, tokensPerRead);
    // Checks the vocabulary range and maxSequence, as for every other call.
    const ids = this.#readBatch(
      createTensor('int64', [1, prompt.length], BigInt64Array.from(prompt, BigInt)),
      undefined,
    );
    checkRoomForNewTokens(prompt.length, maxNewTokens, this.maxSequence);
    yield* layout.greedyChunks(ids, maxNewTokens, tokensPerRead);
  }

  /** Frees the session. The compiled model cannot be used afterwards. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#reader?.release();
    await Promise.all([...this.#scorers.values()].map((scorer) => scorer.release()));
    await this.session.release();
  }

  #checkUsable(): void {
    if (this.#released) {
      throw new InvalidArgumentError('compiled', 'the session has been released');
    }
  }

  #readBatch(inputIds: Tensor<'int64'>, attentionMask: Tensor<'int64'> | undefined) {
    this.#checkUsable();
    return readBatchInputs(inputIds, attentionMask, {
      vocabSize: this.config.vocabSize,
      maxBatch: this.batch,
      maxSequence: this.maxSequence,
    });
  }

  /** For a single-row graph, the row without its masked positions (`withoutRowPadding`). */
  #withoutPadding(batch: BatchInputs): BatchInputs {
    return this.#layout.withoutPadding(batch);
  }

  /** Logits at every position of the padded row: the real positions' in place, zeros at the masked ones. */
  #restorePadding(logits: Tensor<'float32'>, padded: BatchInputs): Tensor<'float32'> {
    return restoreRowPadding(logits, padded, this.config.vocabSize);
  }

  #zeroLogits(sequence: number): Tensor<'float32'> {
    return createTensor(
      'float32',
      [1, sequence, this.config.vocabSize],
      new Float32Array(sequence * this.config.vocabSize),
    );
  }

  /** One empty past (no positions yet) per layer, for `rows` rows. */
  #emptyLayers(rows: number): OrtTensor[] {
    return emptyLayers(this.config, rows);
  }

  #feeds(
    ids: BigInt64Array,
    mask: readonly (readonly number[])[],
    sequence: number,
    cache: KeyValueCache | undefined,
    positions?: BigInt64Array,
    logitsToKeep = 0,
  ): Record<string, OrtTensor> {
    const rows = mask.length;
    return withPasts(
      this.#layout.hostFeeds(ids, mask, sequence, positions, logitsToKeep),
      cache?.keys ?? this.#emptyLayers(rows),
      cache?.values ?? this.#emptyLayers(rows),
      this.config.numLayers,
    );
  }

  /** A run that wants logits only: no cache is kept (on WebGPU the device-resident one is freed). */
  async #runForLogits(feeds: Record<string, OrtTensor>): Promise<InferenceSession.OnnxValueMapType> {
    // Elsewhere only logits are fetched, so the cache tensors are never copied out.
    if (this.device !== 'webgpu') return this.session.run(feeds, [LOGITS]);
    // With preferred output locations set, onnxruntime-node wants every output fetched; the cache
    // stays in device buffers, which are freed at once.
    const outputs = await this.session.run(feeds);
    const [keys, values] = this.#presents(outputs);
    for (const tensor of [...keys, ...values]) tensor.dispose();
    return outputs;
  }

  #presents(outputs: InferenceSession.OnnxValueMapType): [OrtTensor[], OrtTensor[]] {
    return presentsOf(outputs, this.config.numLayers);
  }

  /**
   * The logits as a host tensor, read through the device reader when the session left them on the
   * device (single-row graphs on WebGPU); the unused greedy token is freed.
   */
  async #readLogits(
    outputs: InferenceSession.OnnxValueMapType,
    rows: number,
    sequence: number,
  ): Promise<Tensor<'float32'>> {
    (outputs[NEXT_TOKEN] as OrtTensor | undefined)?.dispose();
    let logits = outputs[LOGITS] as OrtTensor;
    if (logits.location === 'gpu-buffer') {
      const onDevice = logits;
      try {
        logits = await this.#deviceReader().read([onDevice]);
      } finally {
        onDevice.dispose();
      }
    }
    const data = (fromOrtTensor(logits) as Tensor<'float32'>).data;
    return createTensor('float32', [rows, sequence, this.config.vocabSize], data);
  }

  /**
   * The values of `[1, 1]` token tensors, in order. Device-resident ones are joined on the device
   * and read at once, padded to `slots` by repeating the last, so every full chunk reuses one
   * reader session.
   */
  async #readTokens(tokens: readonly OrtTensor[], slots: number): Promise<number[]> {
    let host = tokens;
    if (tokens.some((tensor) => tensor.location === 'gpu-buffer')) {
      const padded = Array.from({ length: slots }, (_, index) => tokens[Math.min(index, tokens.length - 1)]!);
      host = [await this.#deviceReader().read(padded, 1)];
    }
    const values = host.flatMap((tensor) => Array.from(tensor.data as BigInt64Array, Number));
    return values.slice(0, tokens.length);
  }

  #deviceReader(): DeviceTensorReader {
    this.#reader ??= new DeviceTensorReader(this.device);
    return this.#reader;
  }
}

/** `[rows, sequence, vocab]` logits cut to each row's last position, `[rows, 1, vocab]`. */
export function lastPositions(logits: Tensor<'float32'>): Tensor<'float32'> {
  const [rows, sequence, vocab] = logits.shape as [number, number, number];
  const data = new Float32Array(rows * vocab);
  for (let row = 0; row < rows; row += 1) {
    const start = (row * sequence + sequence - 1) * vocab;
    data.set(logits.data.subarray(start, start + vocab), row * vocab);
  }
  return createTensor('float32', [rows, 1, vocab], data);
}
