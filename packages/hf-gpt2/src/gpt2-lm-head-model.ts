import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { InvalidArgumentError } from '@ptq/errors';
import { getSubmodule, Module, namedModules } from '@ptq/module-path';
import { type Device, fromOrtTensor, type ResolvedDevice, toOrtTensor } from '@ptq/onnx';
import { createTensor, type Tensor } from '@ptq/tensor';
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import type { Gpt2Config } from './config';
import { NotGraphLinearError } from './errors';
import {
  ATTENTION_MASK,
  buildGpt2Graph,
  INPUT_IDS,
  REAL_TOKEN_INDICES,
  TARGETS,
} from './graph/build-gpt2-graph';
import { readTapResults } from './graph/read-tap-results';
import { normalizeTaps, type TapRequest, type TapResult, tapsKey } from './graph/taps';
import { validateBatch } from './graph/validate-batch';
import { type GraphLinear, isGraphLinear } from './graph-linear';
import { gpt2LinearPaths } from './linear-paths';
import type { GPT2Model } from './modules/gpt2-model';
import type { Linear } from './modules/linear';
import { SessionCache } from './session-cache';

export interface GPT2LMHeadModelOptions {
  readonly config: Gpt2Config;
  readonly transformer: GPT2Model;
  readonly lm_head: Linear;
  readonly tokenizer?: PreTrainedTokenizer | undefined;
  /** Execution provider: 'auto' tries cuda → webgpu → cpu (default 'auto'). */
  readonly device?: Device;
  /** One line per device fallback (default: console.error). */
  readonly onNotice?: (message: string) => void;
  /** onnxruntime sessions kept at once, one per tap set; each holds a copy of the weights (default 2). */
  readonly maxSessions?: number;
}

export interface ForwardOptions {
  /** Reductions (or rows) of linear inputs to compute inside the graph. */
  readonly taps?: readonly TapRequest[];
  /**
   * Compute the logits (default true). With false (and no `targets`), lm_head's matmul is left out
   * of the graph.
   */
  readonly logits?: boolean;
  /**
   * int64 [batch, sequence] token ids: also return log softmax(logits[b, p])[targets[b, p]], computed
   * in the graph (float32), so a perplexity needs no full logits on the host.
   */
  readonly targets?: Tensor<'int64'>;
  /**
   * Keep onnxruntime from prepacking the weights (see `withUnpackedWeights` of `@ptq/onnx`): the
   * float32 sums of a block session that takes its weights as inputs, which AWQ's block-by-block
   * calibration on the CPU compares against. Default false.
   */
  readonly unpackedWeights?: boolean;
}

export interface ForwardResult {
  /** float32 [batch, sequence, vocab], when asked for. */
  readonly logits?: Tensor<'float32'>;
  /** float32 [batch, sequence]: log p(targets[b, p] | tokens up to p), when `targets` were given. */
  readonly targetLogProbabilities?: Tensor<'float32'>;
  /** One result per tapped module path. */
  readonly taps: Map<string, TapResult>;
}

/**
 * The Hugging Face GPT2LMHeadModel as a module tree (`transformer.wte`, `transformer.h.0.attn.c_attn`,
 * …, `lm_head`), with a forward that builds the GPT-2 graph from whatever linears the tree holds and
 * runs it through onnxruntime.
 */
export class GPT2LMHeadModel extends Module {
  readonly config: Gpt2Config;
  tokenizer: PreTrainedTokenizer | undefined;
  transformer: GPT2Model;
  lm_head: Linear | (Module & GraphLinear);
  readonly #sessions: SessionCache;
  readonly #requestedDevice: Device;
  readonly #onNotice: ((message: string) => void) | undefined;

  constructor(options: GPT2LMHeadModelOptions) {
    super();
    this.config = options.config;
    this.tokenizer = options.tokenizer;
    this.transformer = options.transformer;
    this.lm_head = options.lm_head;
    const maxSessions = options.maxSessions ?? 2;
    if (!Number.isSafeInteger(maxSessions) || maxSessions < 1) {
      throw new InvalidArgumentError('maxSessions', `must be a positive integer, got ${maxSessions}`);
    }
    this.#requestedDevice = options.device ?? 'auto';
    this.#onNotice = options.onNotice;
    this.#sessions = new SessionCache({
      device: options.device ?? 'auto',
      onNotice: options.onNotice,
      maxSessions,
    });
  }

  /** The device the sessions run on: undefined until the first forward has built one. */
  get device(): ResolvedDevice | undefined {
    return this.#sessions.device;
  }

  /** The device asked for at load ('auto' unless named), for sessions built outside `forward`. */
  get requestedDevice(): Device {
    return this.#requestedDevice;
  }

  /** Where device fallback notices go, as given at load. */
  get onNotice(): ((message: string) => void) | undefined {
    return this.#onNotice;
  }

  /** Every linear's path, in forward order: four per block, then `lm_head`. */
  get linearPaths(): string[] {
    return gpt2LinearPaths(this.config.n_layer);
  }

  /** The `GraphLinear` at a linear path (whatever class now sits there). */
  linear(path: string): GraphLinear {
    const module = getSubmodule<unknown>(this, path);
    if (!isGraphLinear(module)) {
      const found =
        typeof module === 'object' && module !== null
          ? `a ${module.constructor?.name ?? 'object'}`
          : String(module);
      throw new NotGraphLinearError(path, found);
    }
    return module;
  }

  /**
   * Runs the model on a batch. Positions come from the mask (left padding is exact: a padded row's
   * real tokens get the logits of the unpadded row), and pad keys are never attended to.
   */
  async forward(
    inputIds: Tensor<'int64'>,
    attentionMask: Tensor<'int64'>,
    options: ForwardOptions = {},
  ): Promise<ForwardResult> {
    const { batch, sequence, realTokenIndices } = validateBatch(this.config, inputIds, attentionMask);
    const taps = normalizeTaps(options.taps ?? [], this.linearPaths);
    const wantLogits = options.logits ?? true;
    const targets = options.targets;
    if (targets !== undefined) this.#validateTargets(targets, batch, sequence);
    if (!wantLogits && targets === undefined && taps.length === 0) return { taps: new Map() };

    const unpacked = options.unpackedWeights === true;
    const key = `${wantLogits ? 'logits' : 'no-logits'}|${targets === undefined ? '' : 'targets'}|${unpacked ? 'unpacked' : ''}|${tapsKey(taps)}`;
    const { handle, graph } = await this.#sessions.get(
      key,
      this.#treeSignature(),
      () =>
        buildGpt2Graph(
          { config: this.config, transformer: this.transformer, linear: (path) => this.linear(path) },
          {
            taps,
            logits: wantLogits,
            targetLogProbabilities: targets !== undefined,
          },
        ),
      unpacked,
    );
    const feeds: Record<string, OrtTensor> = {
      [INPUT_IDS]: toOrtTensor(inputIds),
      [ATTENTION_MASK]: toOrtTensor(attentionMask),
    };
    if (targets !== undefined) feeds[TARGETS] = toOrtTensor(targets);
    if (graph.takesRealTokenIndices) {
      feeds[REAL_TOKEN_INDICES] = toOrtTensor(
        createTensor('int64', [realTokenIndices.length], BigInt64Array.from(realTokenIndices, BigInt)),
      );
    }
    const outputs = await handle.session.run(feeds);
    const read = (name: string) => {
      const value = outputs[name];
      if (value === undefined) throw new Error(`onnxruntime returned no output "${name}"`);
      return value;
    };

    const tapResults = readTapResults(taps, graph.tapOutputs, outputs, realTokenIndices.length);
    const result: {
      taps: Map<string, TapResult>;
      logits?: Tensor<'float32'>;
      targetLogProbabilities?: Tensor<'float32'>;
    } = { taps: tapResults };
    if (graph.logitsOutput !== undefined) {
      const logits = fromOrtTensor(read(graph.logitsOutput)) as Tensor<'float32'>;
      result.logits = createTensor('float32', [batch, sequence, this.config.vocab_size], logits.data);
    }
    if (graph.targetLogProbabilitiesOutput !== undefined) {
      const values = fromOrtTensor(read(graph.targetLogProbabilitiesOutput)) as Tensor<'float32'>;
      result.targetLogProbabilities = createTensor('float32', [batch, sequence], values.data);
    }
    return result;
  }

  #validateTargets(targets: Tensor<'int64'>, batch: number, sequence: number): void {
    if (
      targets?.dtype !== 'int64' ||
      targets.shape[0] !== batch ||
      targets.shape[1] !== sequence ||
      targets.shape.length !== 2
    ) {
      throw new InvalidArgumentError(
        'targets',
        `must be an int64 tensor [${batch}, ${sequence}] like inputIds, got ${targets?.dtype} [${targets?.shape?.join(', ')}]`,
      );
    }
    const vocab = BigInt(this.config.vocab_size);
    targets.data.forEach((id, index) => {
      if (id < 0n || id >= vocab) {
        throw new InvalidArgumentError(
          'targets',
          `token id ${id} at flat index ${index} is outside [0, ${vocab})`,
        );
      }
    });
  }

  /**
   * Drops the cached sessions so the next forward rebuilds its graph. Replacing a module or a weight
   * tensor is noticed on its own; call this after changing tensor values in place.
   */
  async invalidate(): Promise<void> {
    await this.#sessions.clear();
  }

  /** Releases the onnxruntime sessions. The model stays usable: the next forward builds a new one. */
  async dispose(): Promise<void> {
    await this.#sessions.clear();
  }

  /**
   * What the graph is built from: every module and its own non-module fields (tensors, numbers). A
   * replaced module, a reassigned tensor or a changed scale shows up here and rebuilds the sessions.
   */
  #treeSignature(): unknown[] {
    const signature: unknown[] = [];
    for (const [, module] of namedModules(this)) {
      signature.push(module);
      for (const value of Object.values(module)) {
        if (!Module.isModule(value) && !Array.isArray(value) && !(value instanceof Map))
          signature.push(value);
      }
    }
    return signature;
  }
}
