import type { ResolvedDevice } from '@ptq/onnx';
import type { RandomSource, Tensor } from '@ptq/tensor';
import type { GPTConfig } from '../config';
import type { ForwardOutput, PrefillOptions } from './compiled-gpt';

/** A prompt's cached keys and values, as `prefill` returns them and `decodeStep` advances them. */
export interface DecodeCache {
  /** Rows of the batch. */
  readonly rows: number;
  /** Cached positions per row, padding included. */
  readonly length: number;
  readonly disposed: boolean;
  /** Frees what the cache holds; it cannot be used afterwards. */
  dispose(): void;
}

/**
 * What `generate` and perplexity need from a compiled model, whichever engine runs it: onnxruntime
 * (`CompiledGPT`) or ptq's own WebGPU kernels (`KernelGPT`).
 */
export interface RuntimeGPT {
  readonly config: GPTConfig;
  /** `'onnxruntime'` or `'kernels'`. */
  readonly engine: 'onnxruntime' | 'kernels';
  /** Where it runs (`webgpu` for the kernels engine). */
  readonly device: ResolvedDevice;
  readonly maxSequence: number;
  readonly batch: number;
  /** Whether `greedyChunks` can run. */
  readonly choosesTokens: boolean;
  forward(inputIds: Tensor<'int64'>, attentionMask?: Tensor<'int64'>): Promise<ForwardOutput>;
  targetLogProbabilities(inputIds: Tensor<'int64'>, targets: Tensor<'int64'>): Promise<Tensor<'float32'>>;
  prefill(
    inputIds: Tensor<'int64'>,
    attentionMask?: Tensor<'int64'>,
    options?: PrefillOptions,
  ): Promise<ForwardOutput & { readonly cache: DecodeCache }>;
  decodeStep(cache: DecodeCache, tokens: readonly number[]): Promise<ForwardOutput>;
  greedyChunks(
    prompt: readonly number[],
    maxNewTokens: number,
    tokensPerRead?: number,
  ): AsyncGenerator<number[], void, undefined>;
  /**
   * Greedy continuation of several prompts at once with every token chosen on the device (the
   * kernels engine): one chunk per row per read; absent where a batch's tokens are chosen on the host.
   */
  greedyBatchChunks?(
    prompts: readonly (readonly number[])[],
    maxNewTokens: number,
    tokensPerRead?: number,
  ): AsyncGenerator<number[][], void, undefined>;
  /**
   * Sampled continuation of one prompt with every token chosen on the device (the kernels engine);
   * absent where tokens are sampled on the host.
   */
  sampledChunks?(
    prompt: readonly number[],
    maxNewTokens: number,
    options: {
      readonly temperature: number;
      readonly topK?: number | undefined;
      readonly random: RandomSource;
    },
    tokensPerRead?: number,
  ): AsyncGenerator<number[], void, undefined>;
  release(): Promise<void>;
}
