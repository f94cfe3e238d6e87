import {
  asOrtTensor,
  createSession,
  type Device,
  DeviceTensorUpload,
  isOrtTensor,
  type ResolvedDevice,
  toOrtTensor,
  withUnpackedWeights,
} from '@ptq/onnx';
import { type ReusableBytes, serializeModel } from '@ptq/onnx-format';
import { createTensor, type Tensor } from '@ptq/tensor';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { gpt2LinearPaths } from '../linear-paths';
import {
  buildGpt2BlockGraph,
  DELTA,
  DELTA_OUT,
  type Gpt2BlockGraph,
  RESIDUAL,
  RESIDUAL_OUT,
} from './build-gpt2-block-graph';
import { ATTENTION_MASK, REAL_TOKEN_INDICES } from './build-gpt2-graph';
import type { EmbeddedBatch } from './embed-batch';
import type { Gpt2GraphSource } from './gpt2-graph-parts';
import { readTapResults } from './read-tap-results';
import { type NormalizedTap, normalizeTaps, type TapRequest, type TapResult } from './taps';

export interface Gpt2BlockSessionOptions {
  readonly device: Device;
  /**
   * On WebGPU, keep the block's hidden-state outputs and the taps' captured input rows in GPU
   * buffers (`gpu-buffer` onnxruntime tensors) instead of copying them to the host: the next block
   * and the AWQ search take them as they are. Elsewhere they come to the host as usual. Whoever
   * runs the session disposes of the device tensors it got.
   */
  readonly keepOnDevice?: boolean;
  /** Also run `ln_f` for lm_head's taps (last block only). */
  readonly final?: boolean;
  readonly onNotice?: ((message: string) => void) | undefined;
  /** Output the block's hidden state for the next stage (default true). */
  readonly outputs?: boolean;
  /**
   * Take the block's weights as inputs instead of building them into the session: the graph is
   * small, so building the session costs little and copies no weights; on the CPU the module's arrays
   * are fed as they are, on a GPU they are copied to the device once (`DeviceTensorUpload`) and fed
   * from there to every run. The same values, so the same outputs.
   */
  readonly weightsAsInputs?: boolean;
  /**
   * Keep onnxruntime from prepacking the weights (see `withUnpackedWeights` of `@ptq/onnx`): a
   * block that takes its weights as inputs on the CPU sums as the whole model's forward with
   * `unpackedWeights` does, and so does a block holding them with this set. Default false.
   */
  readonly unpackedWeights?: boolean;
  /** Attention in groups of heads (see `Gpt2GraphPartsOptions.attentionHeadGroups`); default 1. */
  readonly attentionHeadGroups?: number;
  /**
   * The array the block's graph is serialized into, shared by the blocks a caller opens one after
   * another (see `ReusableBytes`): each block's bytes reuse the last one's memory instead of paging
   * in fresh memory the size of its weights.
   */
  readonly serializationBuffer?: ReusableBytes;
  /** Merged into the session's options (a benchmark's `enableProfiling`, say: written on `release`). */
  readonly sessionOptions?: InferenceSession.SessionOptions;
}

/** A hidden state that stays in GPU buffers between blocks (see `keepOnDevice`). */
export interface DeviceHiddenState {
  readonly residual: OrtTensor;
  readonly delta: OrtTensor;
}

/** A block's input: embedded on the host, or the previous block's output kept on the device. */
export type BlockHiddenState = EmbeddedBatch | DeviceHiddenState;

export interface Gpt2BlockRunInput {
  readonly residual: Tensor<'float32'> | OrtTensor;
  readonly delta: Tensor<'float32'> | OrtTensor;
  readonly attentionMask: Tensor<'int64'>;
  /** Flat indices of the real tokens (from `validateBatch`). */
  readonly realTokenIndices: readonly number[];
}

export interface Gpt2BlockRunResult {
  /** The next block's inputs (absent with `final` or without outputs); on the device with `keepOnDevice`. */
  readonly next?: BlockHiddenState;
  readonly taps: Map<string, TapResult>;
}

/**
 * An onnxruntime session of one block of the GPT-2 forward (`buildGpt2BlockGraph`) with the module
 * tree's weights for that block only. Release it when the block is done.
 */
export class Gpt2BlockSession {
  readonly #session: InferenceSession;
  readonly #graph: Gpt2BlockGraph;
  readonly #taps: NormalizedTap[];
  /** The parameters fed to every run (`weightsAsInputs`). */
  readonly #parameters: DeviceTensorUpload | undefined;
  readonly device: ResolvedDevice;

  private constructor(
    session: InferenceSession,
    device: ResolvedDevice,
    graph: Gpt2BlockGraph,
    taps: NormalizedTap[],
    parameters: DeviceTensorUpload | undefined,
  ) {
    this.#session = session;
    this.device = device;
    this.#graph = graph;
    this.#taps = taps;
    this.#parameters = parameters;
  }

  static async open(
    source: Gpt2GraphSource,
    layer: number,
    taps: readonly TapRequest[],
    options: Gpt2BlockSessionOptions,
  ): Promise<Gpt2BlockSession> {
    const normalized = normalizeTaps(taps, gpt2LinearPaths(source.config.n_layer));
    const graph = buildGpt2BlockGraph(source, {
      layer,
      taps: normalized,
      ...(options.final === undefined ? {} : { final: options.final }),
      ...(options.outputs === undefined ? {} : { outputs: options.outputs }),
      weightsAsInputs: options.weightsAsInputs === true,
      ...(options.attentionHeadGroups === undefined
        ? {}
        : { attentionHeadGroups: options.attentionHeadGroups }),
    });
    const onDevice = options.keepOnDevice === true && options.device === 'webgpu';
    const chosen: InferenceSession.SessionOptions = {
      ...options.sessionOptions,
      ...(onDevice ? { preferredOutputLocation: deviceLocations(graph) } : {}),
    };
    const sessionOptions = options.unpackedWeights === true ? withUnpackedWeights(chosen) : chosen;
    const handle = await createSession(serializeModel(graph.model, options.serializationBuffer), {
      device: options.device,
      sessionOptions,
      ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    });
    if (options.weightsAsInputs !== true) {
      return new Gpt2BlockSession(handle.session, handle.device, graph, normalized, undefined);
    }
    try {
      const values = new Map([...graph.parameterInputs].map(([name, value]) => [name, value()]));
      const parameters = await DeviceTensorUpload.create(values, handle.device);
      return new Gpt2BlockSession(handle.session, handle.device, graph, normalized, parameters);
    } catch (error) {
      await handle.session.release();
      throw error;
    }
  }

  async run(input: Gpt2BlockRunInput): Promise<Gpt2BlockRunResult> {
    const feeds: Record<string, OrtTensor> = {
      ...Object.fromEntries(this.#parameters?.tensors ?? []),
      [RESIDUAL]: asOrtTensor(input.residual),
      [DELTA]: asOrtTensor(input.delta),
      [ATTENTION_MASK]: toOrtTensor(input.attentionMask),
    };
    if (this.#graph.takesRealTokenIndices) {
      feeds[REAL_TOKEN_INDICES] = toOrtTensor(
        createTensor(
          'int64',
          [input.realTokenIndices.length],
          BigInt64Array.from(input.realTokenIndices, BigInt),
        ),
      );
    }
    const outputs = await this.#session.run(feeds);
    const taps = readTapResults(this.#taps, this.#graph.tapOutputs, outputs, input.realTokenIndices.length);
    if (!this.#graph.hasOutputs) return { taps };
    const residual = outputs[RESIDUAL_OUT]!;
    const delta = outputs[DELTA_OUT]!;
    if (residual.location === 'gpu-buffer') return { taps, next: { residual, delta } };
    const hidden = (value: OrtTensor): Tensor<'float32'> =>
      createTensor('float32', value.dims as number[], value.data as Float32Array);
    return { taps, next: { residual: hidden(residual), delta: hidden(delta) } };
  }

  async release(): Promise<void> {
    await this.#parameters?.release();
    await this.#session.release();
  }
}

/** The outputs that stay on the device with `keepOnDevice`: the hidden state and captured inputs. */
function deviceLocations(graph: Gpt2BlockGraph): Record<string, 'gpu-buffer' | 'cpu'> {
  const locations: Record<string, 'gpu-buffer' | 'cpu'> = {};
  for (const output of graph.model.graph.outputs) locations[output.name] = 'cpu';
  if (graph.hasOutputs) {
    locations[RESIDUAL_OUT] = 'gpu-buffer';
    locations[DELTA_OUT] = 'gpu-buffer';
  }
  for (const names of graph.tapOutputs.values()) {
    for (const name of [names.input, names.weight, names.bias]) {
      if (name !== undefined) locations[name] = 'gpu-buffer';
    }
  }
  return locations;
}

/** Frees the GPU buffers of a hidden state kept on the device (a host one needs nothing). */
export function disposeHiddenState(state: BlockHiddenState): void {
  for (const value of [state.residual, state.delta]) {
    if (isOrtTensor(value) && value.location === 'gpu-buffer') value.dispose();
  }
}
