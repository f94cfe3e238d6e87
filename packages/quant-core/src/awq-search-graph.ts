import { createSession, type Device, GraphBuilder, serializeModel, toOrtTensor } from '@ptq/onnx';
import { createTensor, type Tensor } from '@ptq/tensor';
import type { InferenceSession } from 'onnxruntime-node';

/** Bytes one search run's stacked candidates may take: more buys nothing, each candidate costs the same work. */
export const SEARCH_RUN_BYTES = 256 * 2 ** 20;

/**
 * One onnxruntime graph per linear shape, so the AWQ search's matmuls run in native code on the
 * calibration device and every alpha candidate of a linear is scored in one run on inputs uploaded
 * once: for candidate scales s_a (stacked `[alphas, in]`) it computes `y = x·Wᵀ + b` and
 * `mean((x·(1/s_a))·Q(W·diag(s_a))ᵀ + b − y)²` per candidate, with Q = int4 fake quantization in
 * blocks of `blockSize` along `in`, done as ModelOpt does it on the CPU (`w·(7/amax)`, round half to
 * even, clamp [-8, 7], divide back; amax = 0 gives 0). Element-wise steps are IEEE float32 like
 * PyTorch's; each candidate's matmul and mean run over the same rows, in the same order, as one
 * candidate alone.
 */
export class AwqSearchGraphs {
  readonly #sessions = new Map<string, Promise<InferenceSession>>();
  readonly #device: Device;
  readonly #onNotice: ((message: string) => void) | undefined;
  readonly #memoryBudgetBytes: number;

  /**
   * `memoryBudgetBytes` bounds the stacked candidates' working memory of one run (at most
   * `SEARCH_RUN_BYTES`); candidates are split into runs under it. onnxruntime's CPU arena keeps a
   * session's peak reserved until the session is released: `dispose` after each linear.
   */
  constructor(device: Device, memoryBudgetBytes: number, onNotice?: (message: string) => void) {
    this.#device = device;
    this.#memoryBudgetBytes = Math.min(memoryBudgetBytes, SEARCH_RUN_BYTES);
    this.#onNotice = onNotice;
  }

  /** Candidates scored per run: their weight-sized intermediates (up to eight live at once) and outputs within the budget. */
  candidatesPerRun(tokens: number, inFeatures: number, out: number): number {
    const perCandidate = 4 * (8 * out * inFeatures + tokens * (inFeatures + 2 * out));
    return Math.max(1, Math.floor(this.#memoryBudgetBytes / perCandidate));
  }

  /** The loss of each candidate scale on one batch's inputs `x` [tokens, in]. */
  async losses(
    input: Tensor<'float32'>,
    weight: Tensor<'float32'>,
    bias: Tensor<'float32'>,
    scales: readonly Float32Array[],
    inverseScales: readonly Float32Array[],
    blockSize: number,
  ): Promise<number[]> {
    const [out = 0, inFeatures = 0] = weight.shape;
    const session = await this.#graph(inFeatures, out, blockSize);
    const perRun = this.candidatesPerRun(input.shape[0] ?? 0, inFeatures, out);
    const x = toOrtTensor(input);
    const w = toOrtTensor(weight);
    const b = toOrtTensor(bias);
    const losses: number[] = [];
    for (let start = 0; start < scales.length; start += perRun) {
      const count = Math.min(perRun, scales.length - start);
      const result = await session.run({
        x,
        w,
        b,
        s: toOrtTensor(stack(scales.slice(start, start + count), inFeatures)),
        inverse_s: toOrtTensor(stack(inverseScales.slice(start, start + count), inFeatures)),
      });
      const values = result.losses!.data as Float32Array;
      for (let index = 0; index < count; index++) losses.push(values[index]!);
      result.losses!.dispose();
    }
    return losses;
  }

  #graph(inFeatures: number, out: number, blockSize: number): Promise<InferenceSession> {
    const key = `${inFeatures}x${out}/${blockSize}`;
    let entry = this.#sessions.get(key);
    if (entry === undefined) {
      const options = { device: this.#device, ...(this.#onNotice ? { onNotice: this.#onNotice } : {}) };
      entry = createSession(serializeModel(buildLossGraph(inFeatures, out, blockSize || 128)), options).then(
        (handle) => handle.session,
      );
      this.#sessions.set(key, entry);
    }
    return entry;
  }

  /** Releases the sessions (and their arenas); later searches build new ones. */
  async dispose(): Promise<void> {
    for (const entry of this.#sessions.values()) await (await entry).release();
    this.#sessions.clear();
  }
}

function stack(rows: readonly Float32Array[], width: number): Tensor<'float32'> {
  const data = new Float32Array(rows.length * width);
  for (const [index, row] of rows.entries()) data.set(row, index * width);
  return createTensor('float32', [rows.length, 1, width], data);
}

function int64(values: number[]): Tensor<'int64'> {
  return createTensor('int64', [values.length], BigInt64Array.from(values.map(BigInt)));
}

function scalar(value: number): Tensor<'float32'> {
  return createTensor('float32', [], new Float32Array([value]));
}

function buildLossGraph(inFeatures: number, out: number, blockSize: number) {
  const graph = new GraphBuilder({ name: 'awq_losses', opsetImports: { '': 21 } });
  const x = graph.input('x', 'float32', ['tokens', inFeatures]);
  const w = graph.input('w', 'float32', [out, inFeatures]);
  const b = graph.input('b', 'float32', [out]);
  // [alphas, 1, in]: one row of scales per candidate, broadcast over W's rows and x's tokens.
  const s = graph.input('s', 'float32', ['alphas', 1, inFeatures]);
  const inverseS = graph.input('inverse_s', 'float32', ['alphas', 1, inFeatures]);
  const y = graph.node('Add', [graph.node('MatMul', [x, graph.node('Transpose', [w], { perm: [1, 0] })]), b]);
  const blocks = Math.ceil(inFeatures / blockSize);
  const padded = blocks * blockSize;
  let scaled = graph.node('Mul', [w, s]);
  if (padded !== inFeatures) {
    // ModelOpt zero-pads a last partial block; zeros change neither the block's amax nor its codes.
    scaled = graph.node('Pad', [scaled, graph.constant(int64([0, 0, 0, 0, 0, padded - inFeatures]))]);
  }
  const grouped = graph.node('Reshape', [scaled, graph.constant(int64([-1, out, blocks, blockSize]))]);
  const amax = graph.node('ReduceMax', [graph.node('Abs', [grouped]), graph.constant(int64([3]))], {
    keepdims: 1,
  });
  // PyTorch evaluates `7 / amax` as `amax.reciprocal() * 7`; so does this graph.
  const scale = graph.node('Mul', [graph.node('Reciprocal', [amax]), graph.constant(scalar(7))]);
  const codes = graph.node('Clip', [
    graph.node('Round', [graph.node('Mul', [grouped, scale])]),
    graph.constant(scalar(-8)),
    graph.constant(scalar(7)),
  ]);
  const positive = graph.node('Greater', [amax, graph.constant(scalar(0))]);
  const dequantized = graph.node('Where', [
    positive,
    graph.node('Div', [codes, scale]),
    graph.constant(scalar(0)),
  ]);
  let quantized = graph.node('Reshape', [dequantized, graph.constant(int64([-1, out, padded]))]);
  if (padded !== inFeatures) {
    quantized = graph.node('Slice', [
      quantized,
      graph.constant(int64([0])),
      graph.constant(int64([inFeatures])),
      graph.constant(int64([2])),
    ]);
  }
  // [alphas, tokens, in] · [alphas, in, out]: each candidate's product is the 2-D one on its own.
  const inputScaled = graph.node('Mul', [x, inverseS]);
  const output = graph.node('Add', [
    graph.node('MatMul', [inputScaled, graph.node('Transpose', [quantized], { perm: [0, 2, 1] })]),
    b,
  ]);
  const difference = graph.node('Sub', [output, y]);
  const losses = graph.node(
    'ReduceMean',
    [graph.node('Mul', [difference, difference]), graph.constant(int64([1, 2]))],
    { keepdims: 0 },
  );
  graph.output(losses, 'losses', 'float32', ['alphas']);
  return graph.build();
}
