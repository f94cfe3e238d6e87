import { createSession, type Device, type ResolvedDevice, toOrtTensor } from '@ptq/onnx';
import { serializeModel } from '@ptq/onnx-format';
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
  /** Also run `ln_f` for lm_head's taps (last block only). */
  readonly final?: boolean;
  readonly onNotice?: ((message: string) => void) | undefined;
  /** Output the block's hidden state for the next stage (default true). */
  readonly outputs?: boolean;
}

export interface Gpt2BlockRunInput extends EmbeddedBatch {
  readonly attentionMask: Tensor<'int64'>;
  /** Flat indices of the real tokens (from `validateBatch`). */
  readonly realTokenIndices: readonly number[];
}

export interface Gpt2BlockRunResult {
  /** The next block's inputs (absent with `final` or without outputs). */
  readonly next?: EmbeddedBatch;
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
  readonly device: ResolvedDevice;

  private constructor(
    session: InferenceSession,
    device: ResolvedDevice,
    graph: Gpt2BlockGraph,
    taps: NormalizedTap[],
  ) {
    this.#session = session;
    this.device = device;
    this.#graph = graph;
    this.#taps = taps;
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
    });
    const handle = await createSession(serializeModel(graph.model), {
      device: options.device,
      // A block's activations are freed after each batch instead of held in onnxruntime's CPU arena.
      sessionOptions: { enableCpuMemArena: false },
      ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    });
    return new Gpt2BlockSession(handle.session, handle.device, graph, normalized);
  }

  async run(input: Gpt2BlockRunInput): Promise<Gpt2BlockRunResult> {
    const feeds: Record<string, OrtTensor> = {
      [RESIDUAL]: toOrtTensor(input.residual),
      [DELTA]: toOrtTensor(input.delta),
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
    const hidden = (name: string): Tensor<'float32'> => {
      const value = outputs[name]!;
      return createTensor('float32', value.dims as number[], value.data as Float32Array);
    };
    return { taps, next: { residual: hidden(RESIDUAL_OUT), delta: hidden(DELTA_OUT) } };
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}
