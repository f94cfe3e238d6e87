import { InvalidArgumentError } from '@ptq/errors';
import {
  createSession,
  type Device,
  DeviceUnavailableError,
  OnnxSessionError,
  type ResolvedDevice,
  resolveDevice,
  type SessionHandle,
} from '@ptq/onnx';
import type { ModelDefinition } from '@ptq/onnx-format';
import { ENGINES, type Engine } from '@ptq/types';
import type { InferenceSession } from 'onnxruntime-node';
import type { GraphOperators } from '../graph/blocks';
import { buildGptGraph } from '../graph/build-gpt-graph';
import { HOST_NODE_PREFIX, LOGITS, NEXT_TOKEN, PRESENT_PREFIX } from '../graph/graph-io';
import { resolveWeightFormat, type WeightFormat } from '../graph/weight-format';
import { type KernelDevice, requestKernelDevice } from '../kernels/dawn-device';
import { KernelGPT, MAX_KERNEL_BATCH } from '../kernels/kernel-gpt';
import type { GPT } from '../modules/gpt';
import { CompiledGPT } from './compiled-gpt';
import { toSessionModel } from './session-model';

/** Which engine runs the compiled model (see `compile`): `ENGINES` of @ptq/types. */
export { ENGINES, type Engine };

export interface CompileOptions {
  /**
   * Default `'onnxruntime'`: one onnxruntime session (every device, batch and operator set).
   * `'kernels'`: ptq's own WebGPU kernels on Dawn (`KernelGPT`; batch 1 to 32, a GPU adapter).
   * `'auto'`: the kernels where they can run (batch up to 32, device `auto` or `webgpu`, a hardware
   * adapter), onnxruntime otherwise, with a one-line notice.
   */
  engine?: Engine;
  /**
   * Kernels engine: accept a software WebGPU adapter such as Mesa's llvmpipe (default false; tests
   * opt in, speed never should). Also on with the environment variable `PTQ_KERNELS_SOFTWARE=1`.
   */
  allowSoftwareAdapter?: boolean;
  /** Default 'auto': cuda, then webgpu, then cpu, with a one-line notice per device skipped. */
  device?: Device;
  /** The longest sequence (prompt plus generated tokens) the compiled model accepts; default and maximum `blockSize`. */
  maxSequence?: number;
  /** The most rows per call (default 1). */
  batch?: number;
  /** Where device fallback notices go (default console.error). */
  onNotice?: (message: string) => void;
  /** Storage of quantized weights; the default depends on the mode and device (see `defaultWeightFormat`). */
  weightFormat?: WeightFormat;
  /** Fold AWQ pre-quant scales of `c_attn` / `c_fc` into the LayerNorms before them (default true). */
  foldPreQuantScale?: boolean;
  /**
   * Default `'fused'`: onnxruntime's fused kernels, a third of the nodes of `'standard'` (plain
   * ONNX ops, as the exports hold). Both give the same logits to float rounding. With `batch: 1`
   * the fused graph is single-row: `input_ids` is its only host input.
   */
  operators?: GraphOperators;
  /**
   * Fused graphs: split long one-row products (`BuildGraphOptions.splitLongProducts`). Default: on
   * WebGPU only, where it speeds up decode; the CPU runs the split form slower.
   */
  splitLongProducts?: boolean;
  /** Merged into the session options ptq sets (`extra` entries are merged key by key, at every depth). */
  sessionOptions?: InferenceSession.SessionOptions;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `theirs` over `ours`, nested objects merged key by key. */
function mergeEntries(
  ours: Record<string, unknown>,
  theirs: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...ours };
  for (const [key, value] of Object.entries(theirs)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeEntries(current, value) : value;
  }
  return merged;
}

export function mergeSessionOptions(
  ours: InferenceSession.SessionOptions,
  theirs: InferenceSession.SessionOptions | undefined,
): InferenceSession.SessionOptions {
  if (theirs === undefined) return ours;
  const extra = mergeEntries(ours.extra ?? {}, theirs.extra ?? {});
  return { ...ours, ...theirs, extra };
}

/** The session options a graph needs on a device. */
export function sessionOptionsFor(
  quantMode: GPT['config']['quantMode'],
  device: ResolvedDevice,
  weightFormat: WeightFormat | undefined,
  definition: ModelDefinition,
): InferenceSession.SessionOptions {
  const extra: Record<string, unknown> = {};
  if (weightFormat === 'dequantize-linear' && quantMode !== 'float8') {
    // onnxruntime fuses DequantizeLinear → MatMul into MatMulNBits and by default lets that kernel
    // quantize activations to int8 (accuracy level 4); level 0 keeps float activations, as the
    // weight-only modes mean.
    extra.session = { qdq_matmulnbits_accuracy_level: '0' };
  }
  if (weightFormat === 'lookup') {
    // Constant folding would decode the table lookup at load time into a float weight four times
    // the size of the codes; the point of the lookup is to keep the codes compact on the device.
    extra.optimization = { disable_specified_optimizers: 'ConstantFolding' };
  }
  const sessionOptions: InferenceSession.SessionOptions = { extra };
  if (device === 'webgpu') {
    const hostNodes = definition.graph.nodes
      .map((node) => node.name)
      .filter((name) => name.startsWith(HOST_NODE_PREFIX));
    if (hostNodes.length > 0) {
      extra.ep = { webgpuexecutionprovider: { forceCpuNodeNames: hostNodes.join('\n') } };
    }
    // The KV cache stays in GPU buffers between steps. A single-row graph chooses its greedy token
    // itself, and a greedy loop feeds it back without reading anything, so its logits and token
    // stay on the device too (`CompiledGPT` reads logits back when a caller asks for them); other
    // graphs send logits (and any other output) to the host.
    const outputs = definition.graph.outputs.map((output) => output.name);
    const logitsOnDevice = outputs.includes(NEXT_TOKEN);
    const locations: Record<string, 'gpu-buffer' | 'cpu'> = {};
    for (const name of outputs) {
      const kept =
        name === NEXT_TOKEN || name.startsWith(PRESENT_PREFIX) || (name === LOGITS && logitsOnDevice);
      locations[name] = kept ? 'gpu-buffer' : 'cpu';
    }
    sessionOptions.preferredOutputLocation = locations;
  }
  return sessionOptions;
}

function checkPositiveInteger(name: string, value: number, maximum?: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || (maximum !== undefined && value > maximum)) {
    const range = maximum === undefined ? 'a positive integer' : `an integer in [1, ${maximum}]`;
    throw new InvalidArgumentError(name, `must be ${range}, got ${String(value)}`);
  }
}

/** The graph `compile` opens on `device` for these options, and the weight format it resolved. */
export function buildCompiledGraph(
  gpt: GPT,
  device: ResolvedDevice,
  options: CompileOptions,
): { definition: ModelDefinition; weightFormat: WeightFormat | undefined } {
  const weightFormat = resolveWeightFormat(gpt.config.quantMode, device, options.weightFormat);
  const operators = options.operators ?? 'fused';
  const definition = buildGptGraph(gpt, {
    weightFormat,
    foldPreQuantScale: options.foldPreQuantScale,
    operators,
    // One row needs no mask and no positions: only input_ids crosses from the host per step.
    singleRow: operators === 'fused' && (options.batch ?? 1) === 1,
    splitLongProducts: options.splitLongProducts ?? device === 'webgpu',
  });
  return { definition, weightFormat };
}

async function createOn(
  gpt: GPT,
  device: ResolvedDevice,
  options: CompileOptions,
): Promise<{ handle: SessionHandle; weightFormat: WeightFormat | undefined }> {
  const { definition, weightFormat } = buildCompiledGraph(gpt, device, options);
  const handle = await openGraphSession(definition, device, {
    onNotice: options.onNotice,
    sessionOptions: mergeSessionOptions(
      sessionOptionsFor(gpt.config.quantMode, device, weightFormat, definition),
      options.sessionOptions,
    ),
  });
  return { handle, weightFormat };
}

/** A session of `definition` on `device` (in the form onnxruntime loads: `toSessionModel`). */
export async function openGraphSession(
  definition: ModelDefinition,
  device: ResolvedDevice,
  options: {
    onNotice?: ((message: string) => void) | undefined;
    sessionOptions: InferenceSession.SessionOptions;
    /** See `SessionModelOptions.externalDataAbove`. */
    externalDataAbove?: number | undefined;
  },
): Promise<SessionHandle> {
  const { externalDataAbove, ...sessionOptions } = options;
  const sessionModel = await toSessionModel(definition, { externalDataAbove });
  try {
    return await createSession(sessionModel.model, { device, ...sessionOptions });
  } finally {
    await sessionModel.cleanup();
  }
}

/**
 * Builds the model's ONNX graph (see `buildGptGraph`) and opens it in one onnxruntime session on
 * `device`. The weights are read now: later changes to the model need a new `compile`.
 *
 * With `device: 'auto'`, the device is found first (cuda → webgpu → cpu) so the graph can use
 * that device's weight format; a device that cannot load this graph falls back to the CPU with a
 * notice. A named device that is not available throws `DeviceUnavailableError`.
 */
export async function compile(gpt: GPT, options: CompileOptions & { engine: 'kernels' }): Promise<KernelGPT>;
export async function compile(
  gpt: GPT,
  options: CompileOptions & { engine: Engine },
): Promise<CompiledGPT | KernelGPT>;
export async function compile(
  gpt: GPT,
  options?: CompileOptions & { engine?: 'onnxruntime' | undefined },
): Promise<CompiledGPT>;
export async function compile(gpt: GPT, options: CompileOptions = {}): Promise<CompiledGPT | KernelGPT> {
  const { blockSize } = gpt.config;
  const maxSequence = options.maxSequence ?? blockSize;
  const batch = options.batch ?? 1;
  checkPositiveInteger('maxSequence', maxSequence, blockSize);
  checkPositiveInteger('batch', batch);
  const engine = options.engine ?? 'onnxruntime';
  if (!(ENGINES as readonly string[]).includes(engine)) {
    throw new InvalidArgumentError('engine', `must be one of ${ENGINES.join(', ')}, got ${String(engine)}`);
  }
  if (engine !== 'onnxruntime') {
    const kernels = await compileKernels(gpt, options, engine, maxSequence, batch);
    if (kernels !== undefined) return kernels;
  }
  return compileOnnxruntime(gpt, options, maxSequence, batch);
}

/** Why the kernels engine cannot take these options, or undefined when it can. */
function kernelsRefusal(options: CompileOptions, batch: number): string | undefined {
  const device = options.device ?? 'auto';
  if (device !== 'auto' && device !== 'webgpu') return `it runs on WebGPU only, not device ${device}`;
  if (batch > MAX_KERNEL_BATCH) return `it decodes batch 1 to ${MAX_KERNEL_BATCH} only, not batch ${batch}`;
  if (options.operators === 'standard') return "it has no 'standard' operator set";
  return undefined;
}

/** The kernels engine, or undefined when `auto` falls back to onnxruntime (after a notice). */
async function compileKernels(
  gpt: GPT,
  options: CompileOptions,
  engine: 'kernels' | 'auto',
  maxSequence: number,
  batch: number,
): Promise<KernelGPT | undefined> {
  const notice = options.onNotice ?? console.error;
  const refusal = kernelsRefusal(options, batch);
  if (refusal !== undefined) {
    if (engine === 'kernels') throw new InvalidArgumentError('engine', `kernels: ${refusal}`);
    return undefined;
  }
  const allowSoftwareAdapter = options.allowSoftwareAdapter ?? process.env.PTQ_KERNELS_SOFTWARE === '1';
  let kernelDevice: KernelDevice;
  try {
    kernelDevice = await requestKernelDevice({ allowSoftwareAdapter });
  } catch (error) {
    if (engine === 'kernels' || !(error instanceof DeviceUnavailableError)) throw error;
    notice(`ptq: kernels engine not used (${error.message}); using onnxruntime`);
    return undefined;
  }
  try {
    return await KernelGPT.create({ gpt, kernelDevice, maxSequence, batch });
  } catch (error) {
    if (engine === 'kernels' || !(error instanceof DeviceUnavailableError)) throw error;
    notice(`ptq: kernels engine not used (${error.message}); using onnxruntime`);
    return undefined;
  }
}

async function compileOnnxruntime(
  gpt: GPT,
  options: CompileOptions,
  maxSequence: number,
  batch: number,
): Promise<CompiledGPT> {
  const requested = options.device ?? 'auto';
  // 'auto' is decided before the graph is built, since the graph depends on the device.
  const device =
    requested === 'auto'
      ? await resolveDevice('auto', { onNotice: options.onNotice, sessionOptions: options.sessionOptions })
      : requested;
  let created: Awaited<ReturnType<typeof createOn>>;
  try {
    created = await createOn(gpt, device, options);
  } catch (error) {
    // Only a session the device refused is retried; bad weights or options fail the same everywhere.
    if (requested !== 'auto' || device === 'cpu' || !(error instanceof OnnxSessionError)) throw error;
    const reason = error.message.split('\n')[0];
    (options.onNotice ?? console.error)(`ptq: ${device} could not load the model (${reason}); using cpu`);
    created = await createOn(gpt, 'cpu', options);
  }
  return new CompiledGPT({
    config: gpt.config,
    session: created.handle.session,
    device: created.handle.device,
    weightFormat: created.weightFormat,
    maxSequence,
    batch,
  });
}
