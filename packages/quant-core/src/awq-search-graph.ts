import {
  asOrtTensor,
  createSession,
  type Device,
  isOrtTensor,
  type ResolvedDevice,
  resolveDevice,
  type SessionHandle,
  toOrtTensor,
} from '@ptq/onnx';
import { GraphBuilder, type ModelDefinition, serializeModel } from '@ptq/onnx-format';
import { createTensor, type Tensor } from '@ptq/tensor';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { awqGramLossGraph, inputGramGraph } from './awq-gram-graph';
import { type AwqLossGraphOptions, int64, quantizedScaledWeight } from './awq-quantized-weight-graph';

export type { AwqLossGraphOptions } from './awq-quantized-weight-graph';

/**
 * Bytes one search run's stacked candidates may take in host memory (the CPU): more buys nothing,
 * each candidate costs the same work there.
 */
export const SEARCH_RUN_BYTES = 256 * 2 ** 20;

/**
 * On a GPU the stacked candidates live in device memory, and every run re-uploads the inputs and
 * recomputes the unquantized product: a run takes as many candidates as fit here, each of its
 * tensors at most GPU_SEARCH_TENSOR_BYTES (below the storage-buffer binding limit of large GPUs).
 */
export const GPU_SEARCH_RUN_BYTES = 4 * 2 ** 30;
export const GPU_SEARCH_TENSOR_BYTES = 2 ** 30;

/**
 * One onnxruntime graph for every linear shape (per block size, and whether `in` needs padding to
 * whole blocks), so the AWQ search's matmuls run in native code on the calibration device and every
 * alpha candidate of a linear is scored in one run on inputs uploaded once: for candidate scales s_a
 * (stacked `[alphas, in]`) it computes `mean((x·(1/s_a))·Q(W·diag(s_a))ᵀ + b − y)²` per candidate,
 * against `y = x·Wᵀ + b` computed once per batch by its own graph, with Q = int4 fake quantization
 * in blocks of `blockSize` along `in`, done as ModelOpt does it on the CPU (`w·(7/amax)`, round half
 * to even, clamp [-8, 7], divide back; amax = 0 gives 0). Element-wise steps are IEEE float32 like
 * PyTorch's; each candidate's matmul and mean run over the same rows, in the same order, as one
 * candidate alone. The Gram form (`addToGram`, `gramLosses`; see `awq-gram-graph.ts`) computes the
 * same sum over batches from `H = Σ_b X_bᵀ·X_b / N_b` instead, with the same Q.
 */
export class AwqSearchGraphs {
  readonly #sessions = new Map<string, Promise<SessionHandle>>();
  readonly #device: Device;
  /** `auto` decided once, when the first graph is built, for every graph of the search. */
  #resolved: Promise<ResolvedDevice> | undefined;
  readonly #onNotice: ((message: string) => void) | undefined;
  readonly #memoryBudgetBytes: number;

  /**
   * `memoryBudgetBytes` bounds the stacked candidates' working memory of one run (at most
   * `SEARCH_RUN_BYTES`); candidates are split into runs under it. onnxruntime's CPU arena keeps the
   * session's largest run reserved (and paged in, which makes later runs fast) until `dispose`.
   */
  constructor(device: Device, memoryBudgetBytes: number, onNotice?: (message: string) => void) {
    this.#device = device;
    this.#memoryBudgetBytes = Math.min(memoryBudgetBytes, SEARCH_RUN_BYTES);
    this.#onNotice = onNotice;
  }

  /**
   * Candidates scored per run: their weight-sized intermediates (up to eight live at once) and outputs
   * within the budget of the device the search runs on.
   */
  candidatesPerRun(tokens: number, inFeatures: number, out: number, device: ResolvedDevice = 'cpu'): number {
    return this.#fitting(
      4 * (8 * out * inFeatures + tokens * (inFeatures + 2 * out)),
      4 * Math.max(tokens * Math.max(inFeatures, out), out * inFeatures),
      device,
    );
  }

  /**
   * Candidates scored per run of the Gram form: each holds about ten weight-sized intermediates (Q's
   * steps, the difference from W, its product with H); no tensor grows with the tokens.
   */
  gramCandidatesPerRun(inFeatures: number, out: number, device: ResolvedDevice = 'cpu'): number {
    return this.#fitting(4 * 10 * out * inFeatures, 4 * out * inFeatures, device);
  }

  /**
   * How many candidates of `candidateBytes` one run takes (at least one): within the host's budget
   * on the CPU; on a GPU within GPU_SEARCH_RUN_BYTES, each tensor (the largest one candidate makes
   * `largestTensorBytes`) within GPU_SEARCH_TENSOR_BYTES.
   */
  #fitting(candidateBytes: number, largestTensorBytes: number, device: ResolvedDevice): number {
    if (device === 'cpu') return Math.max(1, Math.floor(this.#memoryBudgetBytes / candidateBytes));
    return Math.max(
      1,
      Math.min(
        Math.floor(GPU_SEARCH_RUN_BYTES / candidateBytes),
        Math.floor(GPU_SEARCH_TENSOR_BYTES / largestTensorBytes),
      ),
    );
  }

  /**
   * The loss of each candidate scale on one batch's inputs `x` [tokens, in]; inputs, weight and bias
   * on the host or already in GPU buffers of the search's device (a block session's outputs).
   */
  async losses(
    input: SearchInput,
    weight: SearchInput,
    bias: SearchInput,
    scales: readonly Float32Array[],
    inverseScales: readonly Float32Array[],
    blockSize: number,
  ): Promise<number[]> {
    const [out = 0, inFeatures = 0] = searchInputDims(weight);
    const { session, device } = await this.#lossSession('outputs', blockSize, inFeatures, awqLossGraph);
    const perRun = this.candidatesPerRun(searchInputRows(input), inFeatures, out, device);
    const feeds = { x: asOrtTensor(input), w: asOrtTensor(weight), b: asOrtTensor(bias) };
    // The unquantized product is the same for every candidate: computed once for all of the runs.
    const reference = await this.#session('outputs/reference', awqReferenceProductGraph, true);
    const { y } = await reference.session.run(feeds);
    try {
      return await runCandidates(session, { ...feeds, y: y! }, scales, inverseScales, inFeatures, perRun);
    } finally {
      y!.dispose();
    }
  }

  /**
   * Adds one batch's inputs `x` [tokens, in] to a linear's Gram matrix (`undefined` before its first
   * batch): returns `gram + xᵀ·x / tokens` [in, in], kept on the search's device (a GPU buffer on
   * WebGPU), and frees the `gram` it replaces. A batch without rows changes nothing.
   */
  async addToGram(input: SearchInput, gram: OrtTensor | undefined): Promise<OrtTensor | undefined> {
    if (searchInputRows(input) === 0) return gram;
    const accumulate = gram !== undefined;
    const { session } = await this.#session(
      `gram/${accumulate ? 'add' : 'first'}`,
      () => inputGramGraph(accumulate),
      true,
    );
    const result = await session.run(
      accumulate ? { x: asOrtTensor(input), h: gram } : { x: asOrtTensor(input) },
    );
    gram?.dispose();
    return result.gram!;
  }

  /**
   * The loss of each candidate scale from a linear's Gram matrix (`addToGram`): ModelOpt's loss summed
   * over every batch that went into it, up to float32 rounding (see `awqGramLossGraph`).
   */
  async gramLosses(
    gram: SearchInput,
    weight: SearchInput,
    scales: readonly Float32Array[],
    inverseScales: readonly Float32Array[],
    blockSize: number,
  ): Promise<number[]> {
    const [out = 0, inFeatures = 0] = searchInputDims(weight);
    const { session, device } = await this.#lossSession(
      'gram-losses',
      blockSize,
      inFeatures,
      awqGramLossGraph,
    );
    const perRun = this.gramCandidatesPerRun(inFeatures, out, device);
    const feeds = { w: asOrtTensor(weight), h: asOrtTensor(gram) };
    return runCandidates(session, feeds, scales, inverseScales, inFeatures, perRun);
  }

  /**
   * The session of a loss graph for linears of `inFeatures` inputs in blocks of `blockSize` (0: 128),
   * padded when `in` is not a whole number of blocks.
   */
  #lossSession(
    kind: string,
    blockSize: number,
    inFeatures: number,
    build: (blockSize: number, padded: boolean, options: AwqLossGraphOptions) => ModelDefinition,
  ): Promise<SessionHandle> {
    const block = blockSize || 128;
    const padded = inFeatures % block !== 0;
    return this.#session(`${kind}/${block}/${padded}`, (forGpu) => build(block, padded, { forGpu }));
  }

  /**
   * One session per graph, on the device decided once for the search; `outputsOnDevice` keeps the
   * outputs in GPU buffers on WebGPU (a Gram matrix fed back run after run).
   */
  #session(
    key: string,
    build: (forGpu: boolean) => ModelDefinition,
    outputsOnDevice = false,
  ): Promise<SessionHandle> {
    let entry = this.#sessions.get(key);
    if (entry === undefined) {
      const onNotice = this.#onNotice ? { onNotice: this.#onNotice } : {};
      entry = (async () => {
        this.#resolved ??=
          this.#device === 'auto' ? resolveDevice('auto', onNotice) : Promise.resolve(this.#device);
        const device = await this.#resolved;
        const onDevice =
          outputsOnDevice && device === 'webgpu'
            ? { sessionOptions: { preferredOutputLocation: 'gpu-buffer' as const } }
            : {};
        return createSession(serializeModel(build(device !== 'cpu')), { device, ...onDevice, ...onNotice });
      })();
      this.#sessions.set(key, entry);
    }
    return entry;
  }

  /** Releases the sessions (and their arenas); later searches build new ones. */
  async dispose(): Promise<void> {
    for (const entry of this.#sessions.values()) await (await entry).session.release();
    this.#sessions.clear();
  }
}

/**
 * A linear's captured input rows [tokens, in], weight or bias: on the host, or an onnxruntime tensor
 * on the device (made there by a block session).
 */
export type SearchInput = Tensor<'float32'> | OrtTensor;

export function searchInputRows(input: SearchInput): number {
  return searchInputDims(input)[0] ?? 0;
}

function searchInputDims(input: SearchInput): readonly number[] {
  return isOrtTensor(input) ? input.dims : input.shape;
}

/** Scores the candidates in runs of `perRun`, their scales stacked `[count, 1, in]` beside `feeds`. */
async function runCandidates(
  session: InferenceSession,
  feeds: Record<string, OrtTensor>,
  scales: readonly Float32Array[],
  inverseScales: readonly Float32Array[],
  inFeatures: number,
  perRun: number,
): Promise<number[]> {
  const losses: number[] = [];
  for (let start = 0; start < scales.length; start += perRun) {
    const count = Math.min(perRun, scales.length - start);
    const result = await session.run({
      ...feeds,
      s: toOrtTensor(stack(scales.slice(start, start + count), inFeatures)),
      inverse_s: toOrtTensor(stack(inverseScales.slice(start, start + count), inFeatures)),
    });
    const values = result.losses!.data as Float32Array;
    for (let index = 0; index < count; index++) losses.push(values[index]!);
    result.losses!.dispose();
  }
  return losses;
}

function stack(rows: readonly Float32Array[], width: number): Tensor<'float32'> {
  const data = new Float32Array(rows.length * width);
  for (const [index, row] of rows.entries()) data.set(row, index * width);
  return createTensor('float32', [rows.length, 1, width], data);
}

/**
 * The unquantized product `y = x·Wᵀ + b` [tokens, out] of a linear, which every candidate's loss is
 * measured against: the loss graph takes it as an input, so a search computes it once per batch instead
 * of once per run. The same nodes as the product inside a single graph would be (so onnxruntime fuses
 * them into the same kernel): the same float32 values.
 */
export function awqReferenceProductGraph() {
  const graph = new GraphBuilder({ name: 'awq_reference_product', opsetImports: { '': 21 } });
  const x = graph.input('x', 'float32', ['tokens', 'in']);
  const w = graph.input('w', 'float32', ['out', 'in']);
  const b = graph.input('b', 'float32', ['out']);
  const y = graph.node('Add', [graph.node('MatMul', [x, graph.node('Transpose', [w], { perm: [1, 0] })]), b]);
  graph.output(y, 'y', 'float32', ['tokens', 'out']);
  return graph.build();
}

/**
 * The loss graph for any linear shape (`out` and `in` are symbolic), so one session — and one
 * onnxruntime arena — serves every linear of the model. `padded` graphs zero-pad `in` to a multiple
 * of `blockSize` and slice the padding off again, as ModelOpt does for a last partial block. The
 * unquantized product `y` comes in from `awqReferenceProductGraph`.
 */
export function awqLossGraph(blockSize: number, padded: boolean, options: AwqLossGraphOptions = {}) {
  const forGpu = options.forGpu === true;
  const graph = new GraphBuilder({ name: 'awq_losses', opsetImports: { '': 21 } });
  const x = graph.input('x', 'float32', ['tokens', 'in']);
  const w = graph.input('w', 'float32', ['out', 'in']);
  const b = graph.input('b', 'float32', ['out']);
  const y = graph.input('y', 'float32', ['tokens', 'out']);
  // [alphas, 1, in]: one row of scales per candidate, broadcast over W's rows and x's tokens.
  const s = graph.input('s', 'float32', ['alphas', 1, 'in']);
  const inverseS = graph.input('inverse_s', 'float32', ['alphas', 1, 'in']);
  const quantized = quantizedScaledWeight(graph, w, s, blockSize, padded, options);
  // [alphas, tokens, in] · [alphas, in, out]: each candidate's product is the 2-D one on its own.
  const inputScaled = graph.node('Mul', [x, inverseS]);
  const output = graph.node('Add', [
    graph.node('MatMul', [inputScaled, graph.node('Transpose', [quantized], { perm: [0, 2, 1] })]),
    b,
  ]);
  const difference = graph.node('Sub', [output, y]);
  const squared = graph.node('Mul', [difference, difference]);
  const losses = forGpu
    ? graph.node(
        'ReduceMean',
        [
          graph.node('ReduceMean', [squared, graph.constant(int64([2]))], { keepdims: 0 }),
          graph.constant(int64([1])),
        ],
        { keepdims: 0 },
      )
    : graph.node('ReduceMean', [squared, graph.constant(int64([1, 2]))], { keepdims: 0 });
  graph.output(losses, 'losses', 'float32', ['alphas']);
  return graph.build();
}
