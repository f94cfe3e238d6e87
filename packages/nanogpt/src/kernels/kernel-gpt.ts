import { InvalidArgumentError } from '@ptq/errors';
import { DeviceUnavailableError } from '@ptq/onnx';
import { createTensor, type RandomSource, type Tensor, toFloat32 } from '@ptq/tensor';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import type { GPTConfig } from '../config';
import { checkWeightValues } from '../graph/check-weight-values';
import type { GPT } from '../modules/gpt';
import type { Linear } from '../modules/linear';
import {
  type BatchInputs,
  batchRows,
  checkTargets,
  readBatchInputs,
  restoreRowPadding,
  withoutRowPadding,
} from '../runtime/batch-inputs';
import {
  checkGreedyArguments,
  checkRoomForNewTokens,
  DEFAULT_TOKENS_PER_READ,
  type ForwardOutput,
  lastPositions,
  type PrefillOptions,
} from '../runtime/compiled-gpt';
import type { DecodeCache, RuntimeGPT } from '../runtime/runtime-gpt';
import { TargetScorer } from '../runtime/target-scorer';
import type { KernelDevice } from './dawn-device';
import { type KernelLinearWeights, prepareLinear } from './kernel-weights';
import {
  linearRowsPerWorkgroup,
  linearShader,
  linearWorkgroupBytes,
  linearWorkgroups,
} from './linear-shader';
import {
  channelWorkgroups,
  promptAttentionShader,
  promptEmbeddingShader,
  storeKeysValuesShader,
} from './prefill-shaders';
import {
  needsPromptInput,
  PROMPT_LINEAR_WORKGROUP_BYTES,
  PROMPT_TILE_ROWS,
  promptInputShader,
  promptLinearShader,
  promptLinearWorkgroups,
} from './prompt-linear-shader';
import { SAMPLE_WORKGROUP_BYTES, sampleAdvanceShader, sampleCandidateSlots } from './sample-shader';
import {
  attentionCombineShader,
  attentionPartialsFloats,
  attentionPartialsShader,
  attentionPartialsWorkgroups,
  embeddingShader,
  embeddingWorkgroups,
  greedyChunks,
  greedyCombineShader,
  greedyPartialsShader,
  stepEmbeddingRows,
} from './step-shaders';

/** The most sequences one compiled model decodes at once (`compile`'s `batch`). */
export const MAX_KERNEL_BATCH = 32;

/** Bytes of logits read back per submission when every position's logits are wanted. */
const LOGITS_BYTES_PER_READ = 32 * 1024 * 1024;
/** The head's prompt kernels: its LayerNorm over every row, then the tiled product for some rows. */
interface PromptHead {
  readonly normalize: Dispatch;
  readonly product: Dispatch;
  /** `[unused, rows, first row]` of the product. */
  readonly rows: GPUBuffer;
  /** `[rowsPerRead, vocab]` logits. */
  readonly logits: GPUBuffer;
  readonly rowsPerRead: number;
}

const STORAGE = 0x80; // GPUBufferUsage.STORAGE
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const MAP_READ = 0x01;
const UNIFORM = 0x40;
const MAP_MODE_READ = 0x01;
const QUERY_RESOLVE = 0x200;

/** What each of a layer's step kernels does, in dispatch order. */
const LAYER_KERNELS = [
  'ln_1 + attn.c_attn',
  'attention partials',
  'attention combine',
  'attn.c_proj + residual',
  'ln_2 + mlp.c_fc + GELU',
  'mlp.c_proj + residual',
];

/**
 * The name of step dispatch `index` of `count`: the embedding, six per layer, the head, the greedy
 * step's two stages.
 */
function stepKernelName(index: number, count: number): string {
  if (index === 0) return 'embedding';
  if (index === count - 1) return 'greedy combine + advance';
  if (index === count - 2) return 'greedy partials';
  if (index === count - 3) return 'ln_f + lm_head';
  return LAYER_KERNELS[(index - 1) % LAYER_KERNELS.length]!;
}

/** GPU time of one kind of step kernel, summed over the layers, for each profiled step. */
export interface KernelTiming {
  readonly kernel: string;
  /** Microseconds per step (one entry per profiled step). */
  readonly microseconds: number[];
}

/** One dispatch of a step: its pipeline, bind group and workgroup count. */
interface Dispatch {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: number;
  /** A prompt kernel: one workgroup row per prompt row (workgroup dimension y). */
  readonly perRow?: boolean;
  /** A tiled prompt kernel: one workgroup row per `rowTile` prompt rows. */
  readonly rowTile?: number;
}

/** The kernels engine's cache: the device holds the keys and values; this is its bookkeeping. */
export class KernelCache implements DecodeCache {
  readonly rows: number;
  /** Each row's cached positions (its real tokens: padding was dropped). */
  readonly #lengths: number[];
  #disposed = false;
  readonly owner: KernelGPT;
  /** Which sequence of the owner this cache is: a later prefill reuses the device cache. */
  readonly sequence: number;

  constructor(owner: KernelGPT, sequence: number, lengths: readonly number[]) {
    this.owner = owner;
    this.sequence = sequence;
    this.rows = lengths.length;
    this.#lengths = [...lengths];
  }

  /** Cached positions of the longest row (the others count as left-padded to it). */
  get length(): number {
    return Math.max(...this.#lengths);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** The mask of the cached positions: each row's real positions, left-padded to the longest. */
  get attentionMask(): number[][] {
    const length = this.length;
    return this.#lengths.map((real) =>
      Array.from({ length }, (_, column) => (column < length - real ? 0 : 1)),
    );
  }

  get nextPositions(): readonly number[] {
    return [...this.#lengths];
  }

  /** @internal */
  advance(): void {
    for (let row = 0; row < this.rows; row += 1) this.#lengths[row]! += 1;
  }

  dispose(): void {
    this.#disposed = true;
  }
}

/** How `KernelGPT.sampledChunks` picks tokens: as `generate` does with `temperature` above 0. */
export interface DeviceSamplingOptions {
  /** Above 0: logits are divided by it before the softmax. */
  readonly temperature: number;
  /** Sample among the k most likely tokens only (default: the whole vocabulary). */
  readonly topK?: number | undefined;
  /**
   * One uniform number in [0, 1) per new token, in order: `createXoshiro128(seed)` gives the tokens
   * `generate` picks on the host with that seed.
   */
  readonly random: RandomSource;
}

/** The device's sampling kernel and what it reads besides the logits. */
interface Sampler {
  readonly dispatch: Dispatch;
  readonly parameters: GPUBuffer;
  readonly draws: GPUBuffer;
}

export interface KernelGPTInit {
  readonly gpt: GPT;
  readonly kernelDevice: KernelDevice;
  readonly maxSequence: number;
  /** The most sequences decoded at once, 1 to MAX_KERNEL_BATCH (default 1). */
  readonly batch?: number;
  /** Rows of logits per read when every position's are wanted (default: 32 MiB of logits). */
  readonly logitsRowsPerRead?: number;
}

/**
 * The runtime GPT on ptq's own WGSL kernels (Dawn through the `webgpu` package), 1 to 32 rows: per
 * layer a LayerNorm + `c_attn` kernel, decode attention over a fixed-size KV cache in two kernels
 * (partials per head and chunk of positions, then a combine per head), a
 * `c_proj` + residual kernel, a LayerNorm + `c_fc` + GELU kernel and an `mlp.c_proj` + residual
 * kernel; then LayerNorm + head and a greedy argmax that writes the next token and advances the
 * position, both kept on the device. Pipelines and bind groups are made once here; many steps are
 * encoded per submission and tokens are read back once per submission. Prompts run all their rows
 * at once: tiled linears (`prompt-linear-shader.ts`, each weight tile read once per 32 rows) and a
 * prompt attention kernel. Activations and accumulation are float32; a float16 model's unquantized
 * weights stay float16 on the device (two to a word), its other tensors are widened.
 *
 * A batch runs every step kernel once for all its rows (workgroup dimension y; each decode linear's
 * workgroup reads its weight rows once per batch row, from cache on a GPU), each row at its own
 * position; its prompts run one row after another through the prompt kernels, each without padding
 * and into its own cache slot. Batch 1 is row 0 of the same kernels.
 */
export class KernelGPT implements RuntimeGPT {
  readonly engine = 'kernels' as const;
  /** The kernels always run on a WebGPU adapter (`adapterName` says which). */
  readonly device = 'webgpu' as const;
  readonly config: GPTConfig;
  readonly maxSequence: number;
  /** The most rows (sequences) a call accepts. */
  readonly batch: number;
  readonly choosesTokens = true;
  /** The WebGPU adapter the kernels run on, in words. */
  readonly adapterName: string;
  /** Whether that adapter is a software rasterizer (tests only). */
  readonly softwareAdapter: boolean;
  /** How quantized weights are stored (the kernels decode codes themselves); undefined like an unquantized graph. */
  readonly weightFormat = undefined;

  readonly #device: GPUDevice;
  readonly #buffers: GPUBuffer[] = [];
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  /** A step's kernels from the embedding to the head. */
  readonly #dispatches: Dispatch[];
  /** The greedy step's kernels, which end a step unless it samples. */
  readonly #greedy: readonly Dispatch[];
  /** The prompt's kernels up to the last row's residual (`#encodePrompt`). */
  readonly #promptDispatches: Dispatch[];
  readonly #promptParameters: GPUBuffer;
  readonly #promptResidual: GPUBuffer;
  readonly #promptInput: GPUBuffer;
  readonly #promptHead: PromptHead;
  readonly #residual: GPUBuffer;
  readonly #state: GPUBuffer;
  readonly #tokens: GPUBuffer;
  readonly #logits: GPUBuffer;
  #logitsStaging: GPUBuffer | undefined;
  /** Two staging buffers for token reads, so one read can be in flight while the next chunk runs. */
  readonly #tokenStaging: GPUBuffer[] = [];
  #sequence = 0;
  /** Rows of the current sequence: the step kernels run this many workgroup rows (dimension y). */
  #rows = 1;
  #scorer: TargetScorer | undefined;
  #sampler: Sampler | undefined;
  #released = false;

  /**
   * Uploads the weights and makes the pipelines; a shader or buffer Dawn refuses (a limit of the
   * adapter) becomes `DeviceUnavailableError`, and the device is destroyed on any failure.
   */
  static async create(init: KernelGPTInit): Promise<KernelGPT> {
    const { device } = init.kernelDevice;
    const batch = init.batch ?? 1;
    if (!Number.isSafeInteger(batch) || batch < 1 || batch > MAX_KERNEL_BATCH) {
      device.destroy();
      throw new InvalidArgumentError(
        'batch',
        `the kernels engine decodes 1 to ${MAX_KERNEL_BATCH} rows at once, got ${String(batch)}`,
      );
    }
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let compiled: KernelGPT;
    try {
      compiled = new KernelGPT(init);
    } catch (error) {
      await device.popErrorScope();
      await device.popErrorScope();
      device.destroy();
      throw error;
    }
    const validation = await device.popErrorScope();
    const memory = await device.popErrorScope();
    const refused = validation ?? memory;
    if (refused !== null) {
      await compiled.release();
      throw new DeviceUnavailableError(
        'kernels',
        `the adapter (${init.kernelDevice.adapterName}) refused the kernels: ${refused.message.split('\n')[0]}`,
      );
    }
    return compiled;
  }

  private constructor(init: KernelGPTInit) {
    const { gpt, kernelDevice } = init;
    checkWeightValues(gpt);
    this.config = gpt.config;
    this.maxSequence = init.maxSequence;
    this.batch = init.batch ?? 1;
    this.adapterName = kernelDevice.adapterName;
    this.softwareAdapter = kernelDevice.software;
    this.#device = kernelDevice.device;
    const { embeddingSize, numHeads, vocabSize } = this.config;
    const headSize = embeddingSize / numHeads;

    // Per batch row: a state record, a token slice, a row of each activation and of the logits
    // (step-shaders.ts describes the layout); batch 1 has the one-row buffers.
    const batch = this.batch;
    this.#state = this.#buffer(16 * batch, STORAGE | COPY_DST | COPY_SRC);
    this.#tokens = this.#buffer(4 * batch * (this.maxSequence + 1), STORAGE | COPY_DST | COPY_SRC);
    this.#logits = this.#buffer(4 * batch * vocabSize, STORAGE | COPY_SRC);
    const residual = this.#buffer(4 * batch * embeddingSize, STORAGE | COPY_DST);
    const qkv = this.#buffer(4 * batch * 3 * embeddingSize, STORAGE);
    const attended = this.#buffer(4 * batch * embeddingSize, STORAGE);

    const wteWeight = gpt.transformer.wte.weight;
    const wte = this.#upload(toFloat32(wteWeight), 'transformer.wte.weight');
    const wpe = this.#upload(toFloat32(gpt.transformer.wpe.weight), 'transformer.wpe.weight');

    // The prompt's rows, all positions at once (up to maxSequence rows).
    const rows = this.maxSequence;
    this.#promptParameters = this.#buffer(16, UNIFORM | COPY_DST);
    this.#promptResidual = this.#buffer(4 * rows * embeddingSize, STORAGE | COPY_SRC);
    const promptQkv = this.#buffer(4 * rows * 3 * embeddingSize, STORAGE);
    const promptAttended = this.#buffer(4 * rows * embeddingSize, STORAGE);
    const promptHidden = this.#buffer(4 * rows * gpt.transformer.h[0]!.mlp.c_fc.outFeatures, STORAGE);
    // A prompt linear's transformed input (LayerNorm, pre-quant scale, float8), widest input first.
    this.#promptInput = this.#buffer(4 * rows * gpt.transformer.h[0]!.mlp.c_proj.inFeatures, STORAGE);
    const promptDispatches: Dispatch[] = [
      {
        ...this.#dispatch(
          promptEmbeddingShader(embeddingSize, this.maxSequence),
          [this.#promptParameters, this.#tokens, wte, wpe, this.#promptResidual],
          channelWorkgroups(embeddingSize),
        ),
        perRow: true,
      },
    ];
    const attentionOptions = { numHeads, headSize, maxSequence: this.maxSequence };
    const store = storeKeysValuesShader(attentionOptions);
    const promptAttention = promptAttentionShader(attentionOptions);

    const dispatches: Dispatch[] = [];
    dispatches.push(
      this.#dispatch(
        embeddingShader(embeddingSize, stepEmbeddingRows(this.maxSequence)),
        [this.#state, this.#tokens, wte, wpe, residual],
        embeddingWorkgroups(embeddingSize),
      ),
    );
    this.#checkWorkgroupMemory('prompt attention', 4 * (headSize + this.maxSequence + 130));
    const attentionPartials = attentionPartialsShader(attentionOptions);
    const attentionCombine = attentionCombineShader(attentionOptions);
    // Every layer's attention reuses the partials: the combine reads them before the next layer writes.
    const partials = this.#buffer(4 * batch * attentionPartialsFloats(attentionOptions), STORAGE);
    gpt.transformer.h.forEach((block, layer) => {
      const prefix = `transformer.h.${layer}`;
      const cacheBytes = 4 * batch * numHeads * this.maxSequence * headSize;
      const keys = this.#buffer(cacheBytes, STORAGE);
      const values = this.#buffer(cacheBytes, STORAGE);
      const hidden = this.#buffer(4 * batch * block.mlp.c_fc.outFeatures, STORAGE);
      const promptResidual = this.#promptResidual;
      const attn = this.#linear(
        `${prefix}.attn.c_attn`,
        block.attn.c_attn,
        { step: [residual, qkv], prompt: [promptResidual, promptQkv] },
        'none',
        block.ln_1,
      );
      const projection = this.#linear(
        `${prefix}.attn.c_proj`,
        block.attn.c_proj,
        { step: [attended, residual], prompt: [promptAttended, promptResidual] },
        'residual',
      );
      const expand = this.#linear(
        `${prefix}.mlp.c_fc`,
        block.mlp.c_fc,
        { step: [residual, hidden], prompt: [promptResidual, promptHidden] },
        'gelu',
        block.ln_2,
      );
      const down = this.#linear(
        `${prefix}.mlp.c_proj`,
        block.mlp.c_proj,
        { step: [hidden, residual], prompt: [promptHidden, promptResidual] },
        'residual',
      );
      dispatches.push(
        attn.step,
        this.#dispatch(
          attentionPartials,
          [this.#state, qkv, keys, values, partials],
          attentionPartialsWorkgroups(attentionOptions),
        ),
        this.#dispatch(attentionCombine, [this.#state, partials, attended], numHeads),
        projection.step,
        expand.step,
        down.step,
      );
      promptDispatches.push(
        ...attn.prompt,
        {
          ...this.#dispatch(
            store,
            [this.#promptParameters, promptQkv, keys, values],
            channelWorkgroups(embeddingSize),
          ),
          perRow: true,
        },
        {
          ...this.#dispatch(
            promptAttention,
            [this.#promptParameters, promptQkv, keys, values, promptAttended],
            numHeads,
          ),
          perRow: true,
        },
        ...projection.prompt,
        ...expand.prompt,
        ...down.prompt,
      );
    });
    const head = gpt.lm_head;
    // A tied, plain float32 head reads the embedding buffer itself ([vocab, embedding] either way);
    // a float16 head keeps its own float16 copy, half the bytes each step reads.
    const shared =
      head.weight === wteWeight && head.quantDtype === undefined && head.weight.dtype === 'float32'
        ? wte
        : undefined;
    const rowsPerRead = Math.min(
      init.logitsRowsPerRead ?? Math.max(1, Math.floor(LOGITS_BYTES_PER_READ / (4 * vocabSize))),
      this.maxSequence,
    );
    const headRows = this.#buffer(16, UNIFORM | COPY_DST);
    const promptLogits = this.#buffer(4 * rowsPerRead * vocabSize, STORAGE | COPY_SRC);
    const headKernels = this.#linear(
      'lm_head',
      head,
      { step: [residual, this.#logits], prompt: [this.#promptResidual, promptLogits], rows: headRows },
      'none',
      gpt.transformer.ln_f,
      shared,
    );
    this.#promptHead = {
      normalize: headKernels.prompt[0]!,
      product: headKernels.prompt[1]!,
      rows: headRows,
      logits: promptLogits,
      rowsPerRead,
    };
    dispatches.push(headKernels.step);
    const greedyPartials = this.#buffer(8 * batch * greedyChunks(vocabSize), STORAGE);
    this.#greedy = [
      this.#dispatch(
        greedyPartialsShader(vocabSize),
        [this.#logits, greedyPartials],
        greedyChunks(vocabSize),
      ),
      this.#dispatch(
        greedyCombineShader(vocabSize, this.maxSequence),
        [this.#state, this.#tokens, greedyPartials],
        1,
      ),
    ];
    this.#dispatches = dispatches;
    this.#promptDispatches = promptDispatches;
    this.#residual = residual;
  }

  /**
   * Logits of every position of each row, with no cache kept (what perplexity needs). A batch's rows
   * run one after another, each without its padding (zeros at masked positions).
   */
  async forward(inputIds: Tensor<'int64'>, attentionMask?: Tensor<'int64'>): Promise<ForwardOutput> {
    const padded = this.#readBatch(inputIds, attentionMask);
    const rows = batchRows(padded).map(withoutRowPadding);
    this.#begin(rows.length);
    return { logits: this.#restoreRows(await this.#promptLogits(rows), padded) };
  }

  /** `log softmax(logits)[target]` at every position, float32 `[rows, sequence]`, scored on the CPU. */
  async targetLogProbabilities(
    inputIds: Tensor<'int64'>,
    targets: Tensor<'int64'>,
  ): Promise<Tensor<'float32'>> {
    const batch = this.#readBatch(inputIds, undefined);
    const { rows, sequence } = batch;
    checkTargets(targets, rows, sequence, this.config.vocabSize);
    const { logits } = await this.forward(inputIds);
    this.#scorer ??= new TargetScorer('cpu');
    const scored = await this.#scorer.score(
      new OrtTensor('float32', logits.data, [...logits.shape]),
      new OrtTensor('int64', targets.data, [rows, sequence]),
    );
    return createTensor('float32', [rows, sequence], scored.data as Float32Array);
  }

  /**
   * Runs a prompt batch (each row without its padding, from position 0, into its own cache slot)
   * and keeps its keys and values on the device for `decodeStep`. The engine holds one sequence
   * batch: a later `prefill`, `forward` or `greedyChunks` ends this cache.
   */
  async prefill(
    inputIds: Tensor<'int64'>,
    attentionMask?: Tensor<'int64'>,
    options: PrefillOptions = {},
  ): Promise<ForwardOutput & { readonly cache: KernelCache }> {
    const wanted = options.logits ?? 'all';
    if (wanted !== 'all' && wanted !== 'last') {
      throw new InvalidArgumentError('logits', `must be 'all' or 'last', got ${String(wanted)}`);
    }
    const padded = this.#readBatch(inputIds, attentionMask);
    const rows = batchRows(padded).map(withoutRowPadding);
    this.#begin(rows.length);
    const cache = new KernelCache(
      this,
      this.#sequence,
      rows.map((row) => row.sequence),
    );
    if (wanted === 'last' && padded.mask.every((bits) => bits.at(-1) === 1)) {
      const logits = await this.#promptLast(rows);
      return { logits: createTensor('float32', [rows.length, 1, this.config.vocabSize], logits), cache };
    }
    const all = this.#restoreRows(await this.#promptLogits(rows), padded);
    return { logits: wanted === 'last' ? lastPositions(all) : all, cache };
  }

  /**
   * Feeds one token per row against `cache` (from this engine's latest `prefill`), each at its row's
   * next position, and returns their logits `[rows, 1, vocab]`.
   */
  async decodeStep(cache: DecodeCache, tokens: readonly number[]): Promise<ForwardOutput> {
    this.#checkUsable();
    if (!(cache instanceof KernelCache) || cache.owner !== this) {
      throw new InvalidArgumentError('cache', 'was not made by this compiled model’s prefill');
    }
    if (cache.disposed) throw new InvalidArgumentError('cache', 'has been disposed');
    if (cache.sequence !== this.#sequence) {
      throw new InvalidArgumentError(
        'cache',
        'was replaced by a later prefill, forward or greedy run (the kernels engine holds one sequence)',
      );
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
    tokens.forEach((token, row) => {
      if (!Number.isSafeInteger(token) || token < 0 || token >= this.config.vocabSize) {
        throw new InvalidArgumentError(
          'tokens',
          `token ${token} of row ${row} is outside the vocabulary [0, ${this.config.vocabSize - 1}]`,
        );
      }
    });
    const state = new Uint32Array(4 * cache.rows);
    cache.nextPositions.forEach((position, row) => {
      const at = row * (this.maxSequence + 1) + position;
      this.#device.queue.writeBuffer(this.#tokens, 4 * at, Uint32Array.of(tokens[row]!));
      state.set([position, position + 1], 4 * row);
    });
    this.#device.queue.writeBuffer(this.#state, 0, state);
    const logits = await this.#runSteps(1);
    cache.advance();
    return { logits: createTensor('float32', [cache.rows, 1, this.config.vocabSize], logits) };
  }

  /**
   * Greedy continuation of one prompt with every token chosen on the device: the prompt's steps in
   * a few submissions, the first token read alone, then `tokensPerRead` steps per submission and one
   * read each. Stop iterating to stop early.
   */
  async *greedyChunks(
    prompt: readonly number[],
    maxNewTokens: number,
    tokensPerRead = DEFAULT_TOKENS_PER_READ,
  ): AsyncGenerator<number[], void, undefined> {
    for await (const chunk of this.#chunks([prompt], maxNewTokens, tokensPerRead, this.#greedy, undefined)) {
      yield chunk[0]!;
    }
  }

  /**
   * Greedy continuation of up to `batch` prompts at once (of any lengths, each from position 0), as
   * `greedyChunks` does for one: every step runs all rows, each at its own position, and each read
   * yields one chunk per row (`chunk[row]`), the first read the rows' first new tokens. Rows run
   * to `maxNewTokens` (an end-of-text token does not stop them); stop iterating to stop early.
   */
  async *greedyBatchChunks(
    prompts: readonly (readonly number[])[],
    maxNewTokens: number,
    tokensPerRead = DEFAULT_TOKENS_PER_READ,
  ): AsyncGenerator<number[][], void, undefined> {
    yield* this.#chunks(prompts, maxNewTokens, tokensPerRead, this.#greedy, undefined);
  }

  /**
   * Sampled continuation of one prompt, every token drawn on the device (`sample-shader.ts`) from
   * `softmax(logits / temperature)` over the top-k with one number of `options.random` per token,
   * so the same numbers pick the tokens `generate` picks on the host (to float32 rounding of the
   * cumulative sums). Submissions and reads as `greedyChunks`.
   */
  async *sampledChunks(
    prompt: readonly number[],
    maxNewTokens: number,
    options: DeviceSamplingOptions,
    tokensPerRead = DEFAULT_TOKENS_PER_READ,
  ): AsyncGenerator<number[], void, undefined> {
    this.#checkUsable();
    const { temperature, topK, random } = options;
    if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) {
      throw new InvalidArgumentError(
        'temperature',
        `must be a finite number > 0, got ${String(temperature)}`,
      );
    }
    if (topK !== undefined && (!Number.isSafeInteger(topK) || topK < 1)) {
      throw new InvalidArgumentError('topK', `must be a positive integer, got ${String(topK)}`);
    }
    if (typeof random !== 'function') {
      throw new InvalidArgumentError('random', 'must be a function returning numbers in [0, 1)');
    }
    const sampler = this.#samplerReady();
    const settings = new ArrayBuffer(16);
    new Float32Array(settings, 0, 1)[0] = temperature;
    new Uint32Array(settings, 4, 1)[0] = Math.min(topK ?? this.config.vocabSize, this.config.vocabSize);
    this.#device.queue.writeBuffer(sampler.parameters, 0, settings);
    const draw = (first: number, count: number) => {
      const draws = new Float32Array(count);
      for (let index = 0; index < count; index += 1) {
        const value = random();
        if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
          throw new InvalidArgumentError(
            'random',
            `must return numbers in [0, 1), returned ${String(value)}`,
          );
        }
        // float32 can round a number just below 1 up to 1; the largest float32 below 1 keeps it in range.
        draws[index] = Math.min(Math.fround(value), 1 - 2 ** -24);
      }
      this.#device.queue.writeBuffer(sampler.draws, 4 * first, draws);
    };
    for await (const chunk of this.#chunks([prompt], maxNewTokens, tokensPerRead, [sampler.dispatch], draw)) {
      yield chunk[0]!;
    }
  }

  /**
   * The steps of `greedyChunks`, `greedyBatchChunks` and `sampledChunks`: `choose` ends each step;
   * `draw(first, count)` uploads what it reads for the tokens of positions `first…first + count − 1`
   * (one row only). Yields one chunk per row per read.
   */
  async *#chunks(
    prompts: readonly (readonly number[])[],
    maxNewTokens: number,
    tokensPerRead: number,
    choose: readonly Dispatch[],
    draw: ((first: number, count: number) => void) | undefined,
  ): AsyncGenerator<number[][], void, undefined> {
    this.#checkUsable();
    const ids = this.#readPrompts(prompts, maxNewTokens, tokensPerRead);
    this.#begin(prompts.length);
    if (maxNewTokens === 0) return;
    this.#start(ids);
    const lengths = prompts.map((prompt) => prompt.length);
    draw?.(lengths[0]!, 1);
    // Each chunk is encoded and submitted before the previous one's tokens are awaited, so the host's
    // encoding (a few µs per dispatch) and the read's round trip overlap the GPU's work instead of
    // adding to it. The chunks' steps need nothing from the host: tokens and positions stay on the device.
    let pending = this.#tokensAfter(this.#encodePrompts(lengths, choose), lengths, 1, 0);
    try {
      for (let produced = 1, chunk = 1; produced < maxNewTokens; chunk += 1) {
        const count = Math.min(tokensPerRead, maxNewTokens - produced);
        draw?.(lengths[0]! + produced, count);
        const next = this.#tokensAfter(
          this.#encodeSteps(count, false, choose),
          lengths.map((length) => length + produced),
          count,
          chunk % 2,
        );
        // Handled here so a failed read does not count as unhandled while the consumer holds a chunk;
        // it still rejects where it is awaited.
        next.catch(() => undefined);
        const tokens = await pending;
        pending = next;
        yield tokens;
        produced += count;
      }
      yield await pending;
    } finally {
      // A consumer that stops early leaves a read in flight: finish it, so its staging buffer is
      // unmapped before the next sequence reuses it. Its tokens are not wanted.
      await pending.catch(() => undefined);
    }
  }

  /**
   * GPU time per kind of kernel of `count` decode steps continuing the current sequence (after a
   * `prefill` or `greedyChunks`), for benchmarks: each dispatch runs in a compute pass of its own
   * with timestamps written at its start and end. Needs a device made with `timestamps: true`.
   */
  async profileSteps(count: number): Promise<KernelTiming[]> {
    this.#checkUsable();
    if (!this.#device.features.has('timestamp-query')) {
      throw new DeviceUnavailableError(
        'kernels',
        'the device has no timestamp queries (make it with requestKernelDevice({ timestamps: true }))',
      );
    }
    const dispatches = [...this.#dispatches, ...this.#greedy];
    const kernels = dispatches.length;
    const querySet = this.#device.createQuerySet({ type: 'timestamp', count: 2 * kernels });
    const resolved = this.#buffer(16 * kernels, QUERY_RESOLVE | COPY_SRC);
    const staging = this.#buffer(16 * kernels, MAP_READ | COPY_DST);
    const names = [...new Set(dispatches.map((_, index) => stepKernelName(index, kernels)))];
    const timings = names.map((kernel) => ({ kernel, microseconds: [] as number[] }));
    try {
      for (let step = 0; step < count; step += 1) {
        const encoder = this.#device.createCommandEncoder();
        dispatches.forEach(({ pipeline, bindGroup, workgroups }, index) => {
          const pass = encoder.beginComputePass({
            timestampWrites: {
              querySet,
              beginningOfPassWriteIndex: 2 * index,
              endOfPassWriteIndex: 2 * index + 1,
            },
          });
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bindGroup);
          pass.dispatchWorkgroups(workgroups, this.#rows);
          pass.end();
        });
        encoder.resolveQuerySet(querySet, 0, 2 * kernels, resolved, 0);
        encoder.copyBufferToBuffer(resolved, 0, staging, 0, 16 * kernels);
        this.#device.queue.submit([encoder.finish()]);
        const stamps = await this.#read(staging, 16 * kernels, BigUint64Array);
        for (const timing of timings) timing.microseconds.push(0);
        for (let index = 0; index < kernels; index += 1) {
          const timing = timings[names.indexOf(stepKernelName(index, kernels))]!;
          const nanoseconds = Number(stamps[2 * index + 1]! - stamps[2 * index]!);
          timing.microseconds[step] = timing.microseconds[step]! + nanoseconds / 1000;
        }
      }
    } finally {
      querySet.destroy();
    }
    return timings;
  }

  /** The sampling kernel and its buffers, made on first use. */
  #samplerReady(): Sampler {
    if (this.#sampler === undefined) {
      const { vocabSize } = this.config;
      this.#checkWorkgroupMemory('sampling', SAMPLE_WORKGROUP_BYTES);
      const parameters = this.#buffer(16, UNIFORM | COPY_DST);
      const draws = this.#buffer(4 * (this.maxSequence + 1), STORAGE | COPY_DST);
      const candidates = this.#buffer(4 * sampleCandidateSlots(vocabSize), STORAGE);
      const dispatch = this.#dispatch(
        sampleAdvanceShader(vocabSize, this.maxSequence),
        [this.#state, this.#tokens, this.#logits, draws, candidates, parameters],
        1,
      );
      this.#sampler = { dispatch, parameters, draws };
    }
    return this.#sampler;
  }

  /** Frees the device and its buffers. The compiled model cannot be used afterwards. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#scorer?.release();
    for (const buffer of this.#buffers) buffer.destroy();
    this.#device.destroy();
  }

  #checkUsable(): void {
    if (this.#released) throw new InvalidArgumentError('compiled', 'the compiled model has been released');
  }

  #readBatch(inputIds: Tensor<'int64'>, attentionMask: Tensor<'int64'> | undefined): BatchInputs {
    this.#checkUsable();
    return readBatchInputs(inputIds, attentionMask, {
      vocabSize: this.config.vocabSize,
      maxBatch: this.batch,
      maxSequence: this.maxSequence,
    });
  }

  /**
   * Checks the prompts of a run chosen on the device (1 to `batch` rows, each non-empty, in the
   * vocabulary, the longest plus `maxNewTokens` within maxSequence) and returns their ids.
   */
  #readPrompts(
    prompts: readonly (readonly number[])[],
    maxNewTokens: number,
    tokensPerRead: number,
  ): BigInt64Array[] {
    if (prompts.length < 1 || prompts.length > this.batch) {
      throw new InvalidArgumentError(
        'prompts',
        `must hold 1 to ${this.batch} rows (the compiled batch), got ${prompts.length}`,
      );
    }
    const ids = prompts.map((prompt, row) => {
      checkGreedyArguments(prompt, maxNewTokens, tokensPerRead);
      if (prompts.length === 1) {
        return this.#readBatch(
          createTensor('int64', [1, prompt.length], BigInt64Array.from(prompt, BigInt)),
          undefined,
        ).ids;
      }
      if (prompt.length === 0)
        throw new InvalidArgumentError('prompts', `row ${row} must hold at least one token`);
      const outside = prompt.findIndex((token) => token < 0 || token >= this.config.vocabSize);
      if (outside !== -1) {
        throw new InvalidArgumentError(
          'prompts',
          `token ${prompt[outside]} at [${row}, ${outside}] is outside the vocabulary [0, ${this.config.vocabSize - 1}]`,
        );
      }
      return BigInt64Array.from(prompt, BigInt);
    });
    checkRoomForNewTokens(Math.max(...ids.map((row) => row.length)), maxNewTokens, this.maxSequence);
    return ids;
  }

  /** Starts a new sequence of `rows` rows: earlier caches end, the step kernels run `rows` rows. */
  #begin(rows: number): void {
    this.#sequence += 1;
    this.#rows = rows;
  }

  /**
   * Puts each row's known tokens in its slice of the token buffer and sets its state to its
   * prompt's last position (what the head and greedy step after the prompt work on); an empty row
   * gets position 0 with nothing known.
   */
  #start(ids: readonly BigInt64Array[]): void {
    const state = new Uint32Array(4 * ids.length);
    ids.forEach((row, index) => {
      const at = 4 * index * (this.maxSequence + 1);
      if (row.length > 0) this.#device.queue.writeBuffer(this.#tokens, at, Uint32Array.from(row, Number));
      state.set([Math.max(row.length - 1, 0), row.length], 4 * index);
    });
    this.#device.queue.writeBuffer(this.#state, 0, state);
  }

  /** Each row's logits `[1, sequence, vocab]` (real positions only) back at the padded positions, `[rows, sequence, vocab]`. */
  #restoreRows(logits: readonly Float32Array[], padded: BatchInputs): Tensor<'float32'> {
    const vocab = this.config.vocabSize;
    const restored = batchRows(padded).map((row, index) =>
      restoreRowPadding(
        createTensor('float32', [1, logits[index]!.length / vocab, vocab], logits[index]!),
        row,
        vocab,
      ),
    );
    if (restored.length === 1) return restored[0]!;
    const all = new Float32Array(padded.rows * padded.sequence * vocab);
    restored.forEach((row, index) => {
      all.set(row.data, index * padded.sequence * vocab);
    });
    return createTensor('float32', [padded.rows, padded.sequence, vocab], all);
  }

  /**
   * Every position's logits of each row's prompt (rows without padding, one after another, each
   * into its own cache slot; an empty row gives none). The head and greedy step then run on every
   * row's last position, as after `#encodePrompts`, so steps can continue from there.
   */
  async #promptLogits(rows: readonly BatchInputs[]): Promise<Float32Array[]> {
    const vocab = this.config.vocabSize;
    const all = rows.map((row) => new Float32Array(row.sequence * vocab));
    let last = -1;
    rows.forEach((row, index) => {
      if (row.sequence > 0) last = index;
    });
    if (last === -1) return all;
    this.#start(rows.map((row) => row.ids));
    const head = this.#promptHead;
    for (let index = 0; index <= last; index += 1) {
      const { sequence } = rows[index]!;
      if (sequence === 0) continue;
      // Every row's residual stays in the prompt buffers until the next row's prompt: the head's
      // LayerNorm runs over every row once, then its tiled product `rowsPerRead` rows at a time,
      // each part read back.
      const encoder = this.#encodePrompt(index, sequence);
      if (index === last) this.#encodeHead(encoder, this.#greedy);
      const normalize = encoder.beginComputePass();
      normalize.setPipeline(head.normalize.pipeline);
      normalize.setBindGroup(0, head.normalize.bindGroup);
      normalize.dispatchWorkgroups(head.normalize.workgroups, sequence);
      normalize.end();
      this.#device.queue.submit([encoder.finish()]);
      for (let done = 0; done < sequence; ) {
        const count = Math.min(head.rowsPerRead, sequence - done);
        this.#device.queue.writeBuffer(head.rows, 0, Uint32Array.of(0, count, done, 0));
        const staging = this.#logitsStagingFor(count);
        const part = this.#device.createCommandEncoder();
        const pass = part.beginComputePass();
        pass.setPipeline(head.product.pipeline);
        pass.setBindGroup(0, head.product.bindGroup);
        pass.dispatchWorkgroups(head.product.workgroups, Math.ceil(count / PROMPT_TILE_ROWS));
        pass.end();
        part.copyBufferToBuffer(head.logits, 0, staging, 0, 4 * count * vocab);
        this.#device.queue.submit([part.finish()]);
        all[index]!.set(await this.#read(staging, 4 * count * vocab, Float32Array), done * vocab);
        done += count;
      }
    }
    return all;
  }

  /** The logits of each row's last position, `[rows, vocab]` (every row non-empty, without padding). */
  async #promptLast(rows: readonly BatchInputs[]): Promise<Float32Array> {
    const bytes = 4 * rows.length * this.config.vocabSize;
    this.#start(rows.map((row) => row.ids));
    const encoder = this.#encodePrompts(
      rows.map((row) => row.sequence),
      this.#greedy,
    );
    encoder.copyBufferToBuffer(this.#logits, 0, this.#logitsStagingFor(rows.length), 0, bytes);
    this.#device.queue.submit([encoder.finish()]);
    return this.#read(this.#logitsStagingFor(rows.length), bytes, Float32Array);
  }

  /**
   * `count` decode steps of every row, each ended by `choose` (default the greedy argmax); with
   * `logits`, the last step's logits copied to the staging buffer.
   */
  #encodeSteps(count: number, logits: boolean, choose = this.#greedy): GPUCommandEncoder {
    const encoder = this.#device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    const step = [...this.#dispatches, ...choose];
    const rows = this.#rows;
    for (let done = 0; done < count; done += 1) {
      for (const { pipeline, bindGroup, workgroups } of step) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(workgroups, rows);
      }
    }
    pass.end();
    if (logits) {
      const bytes = 4 * rows * this.config.vocabSize;
      encoder.copyBufferToBuffer(this.#logits, 0, this.#logitsStagingFor(rows), 0, bytes);
    }
    return encoder;
  }

  /** Runs `count` steps in one submission and reads the last step's logits, `[rows, vocab]`. */
  async #runSteps(count: number): Promise<Float32Array> {
    this.#device.queue.submit([this.#encodeSteps(count, true).finish()]);
    return this.#read(
      this.#logitsStagingFor(this.#rows),
      4 * this.#rows * this.config.vocabSize,
      Float32Array,
    );
  }

  /**
   * The prompts of every row (`lengths[row]` tokens each, already in the token buffer from position
   * 0, state set by `#start`): each row's prompt kernels in a submission of its own but the last
   * row's, whose encoder is returned with the head and `choose` (the greedy step unless sampling)
   * on every row's last position appended. They leave the logits in the logits buffer, each row's
   * next token in its token slice and its position at its prompt's length.
   */
  #encodePrompts(lengths: readonly number[], choose = this.#greedy): GPUCommandEncoder {
    for (let row = 0; row < lengths.length - 1; row += 1) {
      this.#device.queue.submit([this.#encodePrompt(row, lengths[row]!).finish()]);
    }
    const encoder = this.#encodePrompt(lengths.length - 1, lengths.at(-1)!);
    this.#encodeHead(encoder, choose);
    return encoder;
  }

  /**
   * Batch row `row`'s prompt of `length` tokens in one pass of prompt kernels, every position at
   * once, its keys and values into the row's cache slot; then its last position's residual copied
   * into the row's step residual.
   */
  #encodePrompt(row: number, length: number): GPUCommandEncoder {
    this.#device.queue.writeBuffer(this.#promptParameters, 0, Uint32Array.of(0, length, 0, row));
    const encoder = this.#device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const { pipeline, bindGroup, workgroups, perRow, rowTile } of this.#promptDispatches) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      const y = rowTile !== undefined ? Math.ceil(length / rowTile) : perRow ? length : 1;
      pass.dispatchWorkgroups(workgroups, y);
    }
    pass.end();
    const width = 4 * this.config.embeddingSize;
    encoder.copyBufferToBuffer(
      this.#promptResidual,
      (length - 1) * width,
      this.#residual,
      row * width,
      width,
    );
    return encoder;
  }

  /** The head and `choose` on every row's step residual (the step kernels after a prompt). */
  #encodeHead(encoder: GPUCommandEncoder, choose: readonly Dispatch[]): void {
    const last = encoder.beginComputePass();
    for (const { pipeline, bindGroup, workgroups } of [this.#dispatches.at(-1)!, ...choose]) {
      last.setPipeline(pipeline);
      last.setBindGroup(0, bindGroup);
      last.dispatchWorkgroups(workgroups, this.#rows);
    }
    last.end();
  }

  /**
   * Submits `encoder` with a read of `length` tokens of each row from its position `firsts[row]`
   * into staging buffer `slot` (0 or 1) appended, and reads them, one array per row.
   */
  async #tokensAfter(
    encoder: GPUCommandEncoder,
    firsts: readonly number[],
    length: number,
    slot = 0,
  ): Promise<number[][]> {
    this.#tokenStaging[slot] ??= this.#buffer(4 * this.batch * (this.maxSequence + 1), MAP_READ | COPY_DST);
    const staging = this.#tokenStaging[slot];
    firsts.forEach((first, row) => {
      const from = 4 * (row * (this.maxSequence + 1) + first);
      encoder.copyBufferToBuffer(this.#tokens, from, staging, 4 * row * length, 4 * length);
    });
    this.#device.queue.submit([encoder.finish()]);
    const words = await this.#read(staging, 4 * firsts.length * length, Uint32Array);
    return firsts.map((_, row) => Array.from(words.subarray(row * length, (row + 1) * length)));
  }

  async #read<T extends Float32Array | Uint32Array | BigUint64Array>(
    buffer: GPUBuffer,
    bytes: number,
    type: { new (buffer: ArrayBuffer): T },
  ): Promise<T> {
    await buffer.mapAsync(MAP_MODE_READ, 0, bytes);
    try {
      return new type(buffer.getMappedRange(0, bytes).slice(0));
    } finally {
      buffer.unmap();
    }
  }

  #logitsStagingFor(slots: number): GPUBuffer {
    const bytes = 4 * slots * this.config.vocabSize;
    if (this.#logitsStaging === undefined || this.#logitsStaging.size < bytes) {
      this.#logitsStaging?.destroy();
      this.#logitsStaging = this.#buffer(Math.max(bytes, 4 * this.config.vocabSize), MAP_READ | COPY_DST);
    }
    return this.#logitsStaging;
  }

  #buffer(bytes: number, usage: number): GPUBuffer {
    const limit = this.#device.limits.maxBufferSize;
    if (bytes > limit) {
      throw new DeviceUnavailableError(
        'kernels',
        `a buffer of ${bytes} bytes exceeds the adapter's maxBufferSize ${limit}`,
      );
    }
    const buffer = this.#device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
    this.#buffers.push(buffer);
    return buffer;
  }

  #upload(data: Float32Array | Uint32Array, name: string): GPUBuffer {
    const limit = this.#device.limits.maxStorageBufferBindingSize;
    if (data.byteLength > limit) {
      throw new DeviceUnavailableError(
        'kernels',
        `${name} takes ${data.byteLength} bytes, over the adapter's maxStorageBufferBindingSize ${limit}`,
      );
    }
    const buffer = this.#buffer(data.byteLength, STORAGE | COPY_DST);
    this.#device.queue.writeBuffer(buffer, 0, data);
    return buffer;
  }

  /** Workgroup memory beyond the adapter's limit would make Dawn refuse the pipeline later, less clearly. */
  #checkWorkgroupMemory(name: string, bytes: number): void {
    const limit = this.#device.limits.maxComputeWorkgroupStorageSize;
    if (bytes > limit) {
      throw new DeviceUnavailableError(
        'kernels',
        `${name} needs ${bytes} bytes of workgroup memory, over the adapter's maxComputeWorkgroupStorageSize ${limit} (compile with a smaller maxSequence, or use onnxruntime)`,
      );
    }
  }

  #pipeline(code: string): GPUComputePipeline {
    let pipeline = this.#pipelines.get(code);
    if (pipeline === undefined) {
      const module = this.#device.createShaderModule({ code });
      pipeline = this.#device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
      });
      this.#pipelines.set(code, pipeline);
    }
    return pipeline;
  }

  #dispatch(
    code: string,
    buffers: readonly GPUBuffer[],
    workgroups: number,
    bindings?: readonly number[],
  ): Dispatch {
    const pipeline = this.#pipeline(code);
    const bindGroup = this.#device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, index) => ({
        binding: bindings?.[index] ?? index,
        resource: { buffer },
      })),
    });
    return { pipeline, bindGroup, workgroups };
  }

  /**
   * One linear's kernels: the decode kernel bound to the step's `[input, output]`, and, with
   * `targets.prompt`, the prompt's tiled product (after its input transform where the linear has one).
   */
  #linear(
    path: string,
    linear: Linear,
    targets: {
      readonly step: readonly [GPUBuffer, GPUBuffer];
      readonly prompt?: readonly [GPUBuffer, GPUBuffer];
      /** The prompt product's `[base, rows, first row]` uniform (default the prompt's). */
      readonly rows?: GPUBuffer;
    },
    epilogue: 'none' | 'gelu' | 'residual',
    layerNorm?: { weight: Tensor; bias: Tensor | undefined; epsilon: number },
    sharedWeight?: GPUBuffer,
  ): { step: Dispatch; prompt: Dispatch[] } {
    const weights: KernelLinearWeights = prepareLinear(linear);
    const rows = linearRowsPerWorkgroup(weights.outFeatures);
    this.#checkWorkgroupMemory(path, linearWorkgroupBytes(weights.kind, weights.inFeatures, rows));
    const transforms = {
      layerNorm: layerNorm !== undefined,
      preScale: weights.preScale !== undefined,
      float8Input: weights.inputScale !== undefined,
    };
    const code = linearShader({
      inFeatures: weights.inFeatures,
      outFeatures: weights.outFeatures,
      weight: weights.kind,
      ...transforms,
      epilogue,
      rows,
    });
    const parameters = this.#buffer(16, UNIFORM | COPY_DST);
    this.#device.queue.writeBuffer(
      parameters,
      0,
      Float32Array.of(layerNorm?.epsilon ?? 0, weights.inputScale ?? 1, weights.weightFactor, 0),
    );
    const weight = sharedWeight ?? this.#upload(weights.weight, `${path}.weight`);
    const scales = this.#upload(weights.scales, `${path}.weight_scale`);
    const bias = this.#upload(weights.bias, `${path}.bias`);
    const [stepInput, stepOutput] = targets.step;
    const stepBuffers = [parameters, stepInput, weight, scales, bias, stepOutput];
    const stepBindings = [0, 1, 2, 3, 4, 5];
    const inputBuffers: GPUBuffer[] = [];
    const inputBindings: number[] = [];
    if (layerNorm !== undefined) {
      const width = weights.inFeatures;
      inputBuffers.push(
        this.#upload(toFloat32(layerNorm.weight), `${path} LayerNorm weight`),
        this.#upload(
          layerNorm.bias === undefined ? new Float32Array(width) : toFloat32(layerNorm.bias),
          `${path} LayerNorm bias`,
        ),
      );
      inputBindings.push(6, 7);
    }
    if (weights.preScale !== undefined) {
      inputBuffers.push(this.#upload(weights.preScale, `${path}.pre_quant_scale`));
      inputBindings.push(8);
    }
    const step = this.#dispatch(
      code,
      [...stepBuffers, ...inputBuffers],
      linearWorkgroups(weights.outFeatures, rows),
      [...stepBindings, ...inputBindings],
    );
    if (targets.prompt === undefined) return { step, prompt: [] };

    const [promptInput, promptOutput] = targets.prompt;
    const prompt: Dispatch[] = [];
    const transformed = needsPromptInput(transforms);
    if (transformed) {
      // The prompt's input kernel numbers its bindings 0, 1, 2 then 3… as the decode's 6, 7, 8.
      prompt.push({
        ...this.#dispatch(
          promptInputShader({ inFeatures: weights.inFeatures, ...transforms }),
          [parameters, promptInput, this.#promptInput, ...inputBuffers],
          1,
          [0, 1, 2, ...inputBindings.map((binding) => binding - 3)],
        ),
        perRow: true,
      });
    }
    this.#checkWorkgroupMemory(`${path} (prompt)`, PROMPT_LINEAR_WORKGROUP_BYTES);
    prompt.push({
      ...this.#dispatch(
        promptLinearShader({
          inFeatures: weights.inFeatures,
          outFeatures: weights.outFeatures,
          weight: weights.kind,
          epilogue,
        }),
        [
          parameters,
          transformed ? this.#promptInput : promptInput,
          weight,
          scales,
          bias,
          promptOutput,
          targets.rows ?? this.#promptParameters,
        ],
        promptLinearWorkgroups(weights.outFeatures),
      ),
      rowTile: PROMPT_TILE_ROWS,
    });
    return { step, prompt };
  }
}
