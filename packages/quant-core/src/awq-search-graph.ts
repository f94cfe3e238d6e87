import { createSession, type Device, GraphBuilder, serializeModel, toOrtTensor } from '@ptq/onnx';
import { createTensor, type Tensor } from '@ptq/tensor';
import type { InferenceSession } from 'onnxruntime-node';

/**
 * Two small onnxruntime graphs per linear shape, so the AWQ search's matmuls run in native code on
 * the calibration device: `reference` computes `y = x·Wᵀ + b`; `loss` computes, for one candidate
 * scale s, `mean((x·(1/s))·Q(W·diag(s))ᵀ + b − y)²` with Q = int4 fake quantization in blocks of
 * `blockSize` along `in`, done as ModelOpt does it on the CPU (`w·(7/amax)`, round half to even, clamp
 * [-8, 7], divide back; amax = 0 gives 0). Element-wise steps are IEEE float32 like PyTorch's.
 */
export class AwqSearchGraphs {
  readonly #sessions = new Map<string, Promise<{ reference: InferenceSession; loss: InferenceSession }>>();
  readonly #device: Device;
  readonly #onNotice: ((message: string) => void) | undefined;

  constructor(device: Device, onNotice?: (message: string) => void) {
    this.#device = device;
    this.#onNotice = onNotice;
  }

  async reference(
    input: Tensor<'float32'>,
    weight: Tensor<'float32'>,
    bias: Tensor<'float32'>,
  ): Promise<Tensor<'float32'>> {
    const [out = 0, inFeatures = 0] = weight.shape;
    const { reference } = await this.#graphs(inFeatures, out, 0);
    const result = await reference.run({
      x: toOrtTensor(input),
      w: toOrtTensor(weight),
      b: toOrtTensor(bias),
    });
    const y = result.y!;
    const value = createTensor('float32', y.dims as number[], new Float32Array(y.data as Float32Array));
    y.dispose();
    return value;
  }

  async loss(
    input: Tensor<'float32'>,
    weight: Tensor<'float32'>,
    bias: Tensor<'float32'>,
    reference: Tensor<'float32'>,
    scale: Float32Array,
    inverseScale: Float32Array,
    blockSize: number,
  ): Promise<number> {
    const [out = 0, inFeatures = 0] = weight.shape;
    const { loss } = await this.#graphs(inFeatures, out, blockSize);
    const result = await loss.run({
      x: toOrtTensor(input),
      w: toOrtTensor(weight),
      b: toOrtTensor(bias),
      y: toOrtTensor(reference),
      s: toOrtTensor(createTensor('float32', [inFeatures], scale)),
      inverse_s: toOrtTensor(createTensor('float32', [inFeatures], inverseScale)),
    });
    const value = (result.loss!.data as Float32Array)[0]!;
    result.loss!.dispose();
    return value;
  }

  #graphs(
    inFeatures: number,
    out: number,
    blockSize: number,
  ): Promise<{ reference: InferenceSession; loss: InferenceSession }> {
    const key = `${inFeatures}x${out}/${blockSize}`;
    let entry = this.#sessions.get(key);
    if (entry === undefined) {
      entry = this.#create(inFeatures, out, blockSize || 128);
      this.#sessions.set(key, entry);
    }
    return entry;
  }

  async #create(inFeatures: number, out: number, blockSize: number) {
    const options = { device: this.#device, ...(this.#onNotice ? { onNotice: this.#onNotice } : {}) };
    const reference = await createSession(serializeModel(buildReferenceGraph(inFeatures, out)), options);
    const loss = await createSession(serializeModel(buildLossGraph(inFeatures, out, blockSize)), options);
    return { reference: reference.session, loss: loss.session };
  }

  async dispose(): Promise<void> {
    for (const entry of this.#sessions.values()) {
      const { reference, loss } = await entry;
      await reference.release();
      await loss.release();
    }
    this.#sessions.clear();
  }
}

function int64(values: number[]): Tensor<'int64'> {
  return createTensor('int64', [values.length], BigInt64Array.from(values.map(BigInt)));
}

function scalar(value: number): Tensor<'float32'> {
  return createTensor('float32', [], new Float32Array([value]));
}

function buildReferenceGraph(inFeatures: number, out: number) {
  const graph = new GraphBuilder({ name: 'awq_reference', opsetImports: { '': 21 } });
  const x = graph.input('x', 'float32', ['tokens', inFeatures]);
  const w = graph.input('w', 'float32', [out, inFeatures]);
  const b = graph.input('b', 'float32', [out]);
  const y = graph.node('Add', [graph.node('MatMul', [x, graph.node('Transpose', [w], { perm: [1, 0] })]), b]);
  graph.output(y, 'y', 'float32', ['tokens', out]);
  return graph.build();
}

function buildLossGraph(inFeatures: number, out: number, blockSize: number) {
  const graph = new GraphBuilder({ name: 'awq_loss', opsetImports: { '': 21 } });
  const x = graph.input('x', 'float32', ['tokens', inFeatures]);
  const w = graph.input('w', 'float32', [out, inFeatures]);
  const b = graph.input('b', 'float32', [out]);
  const y = graph.input('y', 'float32', ['tokens', out]);
  const s = graph.input('s', 'float32', [inFeatures]);
  const inverseS = graph.input('inverse_s', 'float32', [inFeatures]);
  const blocks = Math.ceil(inFeatures / blockSize);
  const padded = blocks * blockSize;
  let scaled = graph.node('Mul', [w, s]);
  if (padded !== inFeatures) {
    // ModelOpt zero-pads a last partial block; zeros change neither the block's amax nor its codes.
    scaled = graph.node('Pad', [scaled, graph.constant(int64([0, 0, 0, padded - inFeatures]))]);
  }
  const grouped = graph.node('Reshape', [scaled, graph.constant(int64([out, blocks, blockSize]))]);
  const amax = graph.node('ReduceMax', [graph.node('Abs', [grouped]), graph.constant(int64([2]))], {
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
  let quantized = graph.node('Reshape', [dequantized, graph.constant(int64([out, padded]))]);
  if (padded !== inFeatures) {
    quantized = graph.node('Slice', [
      quantized,
      graph.constant(int64([0])),
      graph.constant(int64([inFeatures])),
      graph.constant(int64([1])),
    ]);
  }
  const inputScaled = graph.node('Mul', [x, inverseS]);
  const output = graph.node('Add', [
    graph.node('MatMul', [inputScaled, graph.node('Transpose', [quantized], { perm: [1, 0] })]),
    b,
  ]);
  const difference = graph.node('Sub', [output, y]);
  const loss = graph.node('ReduceMean', [graph.node('Mul', [difference, difference])], { keepdims: 0 });
  graph.output(loss, 'loss', 'float32', []);
  return graph.build();
}
