import { InvalidArgumentError } from '@ptq/errors';
import {
  type BlockHiddenState,
  disposeHiddenState,
  embedBatch,
  type GPT2LMHeadModel,
  Gpt2BlockSession,
  gpt2BlockOfLinear,
  releaseWeights,
  type TapRequest,
} from '@ptq/hf-gpt2';
import { type KernelDevice, sharedKernelDevice } from '@ptq/nanogpt';
import { type Device, DeviceUnavailableError, isOrtTensor, resolveDevice } from '@ptq/onnx';
import type { Tensor } from '@ptq/tensor';
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import {
  type AwqLayerResult,
  type AwqProgress,
  actScaleOf,
  addBatchMean,
  awqAlphas,
  type ScaledWeight,
  searchAwqScale,
} from './awq-lite';
import { type AwqLossForm, awqLossFormFor } from './awq-loss-form';
import { AwqSearchGraphs, type SearchInput } from './awq-search-graph';
import { type InputCalibrator, inputAmaxTensor } from './calibrator';
import { calibrateOnKernels, kernelCalibrationProblem } from './kernel-calibration/kernel-block-calibration';
import { MERGED_RUN_TOKENS, type MergedRun, mergeBatches } from './merge-batches';
import type { QuantLinear } from './quant-linear';
import type { RecordedBatch } from './record-batches';

/**
 * One block run over one batch (or over several batches run together), counted across every block: a
 * progress bar over blocks × batches.
 */
export interface BlockProgress {
  readonly phase: 'calibrate-block';
  /** The block running, 1-based. */
  readonly block: number;
  /** Blocks calibration runs (up to the last one with a quantizer to calibrate). */
  readonly blocks: number;
  /** Batches done in this block so far (the last one run, 1-based). */
  readonly batch: number;
  readonly batches: number;
  /** Block runs done so far, and in all (`blocks × batches`). */
  readonly done: number;
  readonly total: number;
}

export interface BlockByBlockOptions {
  /** Linears whose per-tensor input amax is calibrated, each by its calibrator. */
  readonly inputCalibrators: ReadonlyMap<string, InputCalibrator>;
  /** AWQ-lite's alpha step, when AWQ-lite calibrates every linear of `linears`. */
  readonly awqAlphaStep?: number;
  readonly device: Device;
  /** Bytes the stacked AWQ candidates of one search run may take. */
  readonly memoryBudgetBytes: number;
  /**
   * How the AWQ search computes its losses (default `auto`: per linear, whichever costs less): an
   * execution choice, the same losses up to float32 rounding (see `AwqLossForm`).
   */
  readonly awqLossForm?: AwqLossForm;
  readonly onProgress?: (event: BlockProgress | AwqProgress) => void;
  readonly onNotice?: (message: string) => void;
  /**
   * Run consecutive batches of one sequence length together (up to MERGED_RUN_TOKENS), when no AWQ
   * runs and every input calibrator `mergesBatches`. Default: when the blocks run on a GPU.
   */
  readonly mergeBatches?: boolean;
  /** What runs the blocks on the GPU (see `CalibrationEngine`; default `auto`). */
  readonly engine?: CalibrationEngine;
  /**
   * Called with a linear's chosen AWQ scale as soon as it is final, for the caller to apply while
   * calibration goes on (the kernels engine: while the device runs the next block). Scales it was not
   * called with are in the result's `awqScales` only.
   */
  readonly onAwqScale?: (path: string, scale: Float32Array, scaled?: ScaledWeight) => void;
  /** Linears whose weight's max |w| the kernels take while the weight is on the device. */
  readonly weightMaxima?: ReadonlySet<string>;
}

/**
 * What runs block-by-block calibration: `onnxruntime` (a session per block, on the CPU or WebGPU);
 * `kernels` (ptq's own WGSL kernels through Dawn, the decode engine's device: the block's forward, the
 * statistics and the AWQ search on the GPU in one submission per block; a software adapter such as
 * Mesa's llvmpipe is accepted when named outright); `auto` (default): the kernels when AWQ-lite
 * calibrates, calibration runs on WebGPU and a hardware adapter is found, else onnxruntime. The kernels take whole unpadded
 * sequences, max statistics of the inputs and AWQ-lite in the Gram form; `auto` falls back to
 * onnxruntime, with a notice, for anything else.
 */
export type CalibrationEngine = 'auto' | 'onnxruntime' | 'kernels';

export interface BlockByBlockResult {
  readonly inputAmax: Map<string, Tensor<'float32'>>;
  readonly awq: Map<string, AwqLayerResult>;
  /** The scale AWQ chose per linear, to apply once calibration is over. */
  readonly awqScales: Map<string, Float32Array>;
  /** max |w| of the weights of `weightMaxima` the kernels took (none on onnxruntime). */
  readonly weightMaxima?: Map<string, number>;
}

/**
 * Max and AWQ-lite calibration one transformer block at a time: the recorded batches are embedded
 * once; each block then runs (a session of that block alone, built from the same graph code as the
 * whole model) over every batch, its linears' statistics are gathered and their AWQ search run, and
 * its outputs — of the unquantized block, as ModelOpt's calibration sees the unquantized model —
 * become the next block's inputs. A block's session and captured inputs are released before the next.
 */
export async function calibrateBlockByBlock(
  model: GPT2LMHeadModel,
  linears: ReadonlyMap<string, QuantLinear>,
  batches: readonly RecordedBatch[],
  options: BlockByBlockOptions,
): Promise<BlockByBlockResult> {
  if (batches.length === 0) throw new InvalidArgumentError('forwardLoop', 'ran no batch through the model');
  // A device named outright needs no probe session; its block sessions fail by name if it is missing.
  // The kernels named outright need none either: they never fall back to onnxruntime.
  const device =
    options.device === 'auto' && options.engine !== 'kernels'
      ? await resolveDevice('auto', { onNotice: options.onNotice })
      : options.device;
  const kernels = await calibrateOnKernelsIfChosen(model, linears, batches, options, device);
  if (kernels !== undefined) return kernels;
  const layers = model.config.n_layer;
  const awqPaths = options.awqAlphaStep === undefined ? [] : [...linears.keys()];
  const layerOf = (path: string): number => gpt2BlockOfLinear(path, layers);
  const taps = new Map<string, TapRequest>();
  for (const [module, calibrator] of options.inputCalibrators) {
    taps.set(module, {
      module,
      ...(calibrator.needs.absMax ? { absMax: true } : {}),
      ...(calibrator.needs.input ? { input: true } : {}),
    });
  }
  // On WebGPU the hidden states and AWQ's captured inputs stay in GPU buffers from block to block
  // and into the search, unless a calibrator reads the activations themselves on the host.
  const keepOnDevice =
    device === 'webgpu' &&
    ![...options.inputCalibrators.values()].some((calibrator) => calibrator.needs.input);
  for (const module of awqPaths) {
    // On the device the search also takes the block session's copies of the weight and bias.
    const weight = keepOnDevice ? { weight: true } : {};
    taps.set(module, { ...taps.get(module), module, absMeanPerChannel: true, input: true, ...weight });
  }
  const lastLayer = Math.max(-1, ...[...taps.keys()].map(layerOf));
  const awq = new Map<string, AwqLayerResult>();
  const awqScales = new Map<string, Float32Array>();
  // For AWQ on the CPU a block session takes its weights as inputs, the linears' own [out, in]
  // arrays: a session holding a block's weights copies and packs them into fresh memory, which costs
  // more than the block's run itself (GPT-2-large int4, 2 × 32 tokens: 10 of 62 s). Unpacked, as the
  // whole-model AWQ sessions are (`awqLite`). Input amax keeps prepacked sessions: an fp8 input
  // a float32 ulp from a rounding boundary must round as the model's forwards (prepacked) will see it.
  const weightsAsInputs = device === 'cpu' && awqPaths.length > 0 && options.inputCalibrators.size === 0;
  const source = {
    config: model.config,
    transformer: model.transformer,
    linear: (path: string) => model.linear(path),
  };
  const alphas = options.awqAlphaStep === undefined ? [] : awqAlphas(options.awqAlphaStep);
  const graphs = new AwqSearchGraphs(device, options.memoryBudgetBytes, options.onNotice);
  // Every batch's real tokens reach every linear: the search's cost per form is known up front.
  const tokens = batches.reduce((sum, batch) => sum + batch.realTokenIndices.length, 0);
  const lossForms = new Map(
    awqPaths.map((path) => {
      const { inFeatures, outFeatures } = linears.get(path)!;
      const form = awqLossFormFor(
        options.awqLossForm ?? 'auto',
        tokens,
        inFeatures,
        outFeatures,
        alphas.length,
      );
      return [path, form];
    }),
  );
  // Gram matrices of the inputs of the linears searched in the Gram form, built batch by batch.
  const grams = new Map<string, OrtTensor>();

  // Max statistics do not care how tokens were grouped into batches, so on a GPU batches of one
  // length run together (a few runs instead of one per batch and block); on the CPU small runs stay
  // in cache and are faster. AWQ's per-batch means and other calibrators see each batch alone.
  const mergeable =
    awqPaths.length === 0 &&
    [...options.inputCalibrators.values()].every((calibrator) => calibrator.mergesBatches === true);
  const runs: MergedRun[] =
    mergeable && (options.mergeBatches ?? device !== 'cpu')
      ? mergeBatches(batches, MERGED_RUN_TOKENS)
      : batches.map((batch) => ({ batch, count: 1 }));
  let hidden: BlockHiddenState[] = runs.map(({ batch }) =>
    embedBatch(model.transformer, batch.inputIds, batch.attentionMask),
  );
  // Weights read from the checkpoint on demand are dropped once used: the embeddings now, and each
  // block once it is done.
  releaseWeights(model.transformer.wte);
  releaseWeights(model.transformer.wpe);
  // On the device, a block's session outlives its runs until the next block has run: the device
  // tensors it made (its hidden outputs, captured inputs) are read while it is open.
  let previous: Gpt2BlockSession | undefined;
  // Every block's graph is serialized into the same memory (each session copies what it keeps).
  const serializationBuffer = {};
  // Device tensors the runs handed over and nothing has freed yet (freed at the end, whatever happens).
  const onDevice = new Set<OrtTensor>();
  let searched = 0;
  try {
    for (let layer = 0; layer <= lastLayer; layer++) {
      const blockTaps = [...taps.values()].filter((tap) => layerOf(tap.module) === layer);
      const final = layer === layers - 1 && taps.has('lm_head');
      const session = await Gpt2BlockSession.open(source, layer, blockTaps, {
        device,
        final,
        outputs: layer < lastLayer,
        keepOnDevice,
        weightsAsInputs,
        unpackedWeights: weightsAsInputs,
        serializationBuffer,
        ...(options.onNotice ? { onNotice: options.onNotice } : {}),
      });
      // The session holds its own copy of the block's weights: drop the graph's transposed copies.
      for (const tap of blockTaps) linears.get(tap.module)?.releaseGraphWeight();
      const blockAwq = awqPaths.filter((path) => layerOf(path) === layer);
      const sums = new Map(blockAwq.map((path) => [path, new Float32Array(linears.get(path)!.inFeatures)]));
      const inputs = new Map(blockAwq.map((path) => [path, [] as SearchInput[]]));
      const deviceWeights = new Map<string, { weight?: SearchInput; bias?: SearchInput }>();
      const next: BlockHiddenState[] = [];
      try {
        let batchesDone = 0;
        for (const [index, { batch, count }] of runs.entries()) {
          const result = await session.run({ ...hidden[index]!, ...batch });
          batchesDone += count;
          for (const tap of blockTaps) {
            const found = result.taps.get(tap.module)!;
            const input = found.input ?? found.deviceInput;
            if (found.deviceInput !== undefined) onDevice.add(found.deviceInput);
            // Every run copies the weight and bias: the first run's serve, later copies are freed.
            if (found.weight !== undefined && !deviceWeights.has(tap.module)) {
              deviceWeights.set(tap.module, {
                weight: found.weight,
                ...(found.bias ? { bias: found.bias } : {}),
              });
              onDevice.add(found.weight);
              if (found.bias !== undefined) onDevice.add(found.bias);
            } else {
              found.weight?.dispose();
              found.bias?.dispose();
            }
            options.inputCalibrators.get(tap.module)?.observe(found);
            const sum = sums.get(tap.module);
            if (sum !== undefined) {
              addBatchMean(sum, found.absMeanPerChannel!);
              if (lossForms.get(tap.module) === 'gram') {
                const gram = await graphs.addToGram(input!, grams.get(tap.module));
                if (gram !== undefined) grams.set(tap.module, gram);
                // The batch's rows are in the Gram matrix now: free them at once.
                disposeDeviceTensors([input!], onDevice);
              } else {
                inputs.get(tap.module)!.push(input!);
              }
            }
          }
          if (result.next !== undefined) next.push(result.next);
          options.onProgress?.({
            phase: 'calibrate-block',
            block: layer + 1,
            blocks: lastLayer + 1,
            batch: batchesDone,
            batches: batches.length,
            done: layer * batches.length + batchesDone,
            total: (lastLayer + 1) * batches.length,
          });
        }
      } catch (error) {
        await session.release();
        throw error;
      } finally {
        // This block's inputs are spent, whatever happened.
        for (const state of hidden) disposeHiddenState(state);
        hidden = next;
      }
      await previous?.release();
      previous = keepOnDevice ? session : undefined;
      if (!keepOnDevice) await session.release();
      for (const path of blockAwq) {
        const actScale = actScaleOf(sums.get(path)!, batches.length);
        const weights = deviceWeights.get(path) ?? {};
        const lossForm = lossForms.get(path)!;
        const found = await searchAwqScale(
          linears.get(path)!,
          actScale,
          lossForm === 'gram' ? { gram: grams.get(path) } : inputs.get(path)!,
          alphas,
          graphs,
          weights,
        );
        disposeDeviceTensors([...inputs.get(path)!, ...Object.values(weights)], onDevice);
        inputs.delete(path);
        grams.get(path)?.dispose();
        grams.delete(path);
        awq.set(path, { alpha: found.alpha, losses: found.losses });
        awqScales.set(path, found.scale);
        // Applied now, while the block's weights are held: the blocks after it run on their own
        // weights, so no later statistic sees the change, and weights read on demand are not read
        // again for it after the last block.
        options.onAwqScale?.(path, found.scale);
        options.onProgress?.({
          phase: 'awq-search',
          linear: path,
          index: ++searched,
          total: awqPaths.length,
          alpha: found.alpha,
          lossForm,
        });
      }
      releaseWeights(model.transformer.h[layer]!);
    }
  } finally {
    disposeDeviceTensors([...onDevice], onDevice);
    for (const gram of grams.values()) gram.dispose();
    for (const state of hidden) disposeHiddenState(state);
    await previous?.release();
    await graphs.dispose();
  }
  const inputAmax = new Map(
    [...options.inputCalibrators].map(([path, calibrator]) => [path, inputAmaxTensor(path, calibrator)]),
  );
  // AWQ reports in the order of the linears, as the whole-model path does.
  const ordered = new Map(awqPaths.filter((path) => awq.has(path)).map((path) => [path, awq.get(path)!]));
  return { inputAmax, awq: ordered, awqScales };
}

/**
 * Calibration on the kernels engine when `options.engine` chooses it (see `CalibrationEngine`), or
 * undefined for onnxruntime.
 */
async function calibrateOnKernelsIfChosen(
  model: GPT2LMHeadModel,
  linears: ReadonlyMap<string, QuantLinear>,
  batches: readonly RecordedBatch[],
  options: BlockByBlockOptions,
  /** Where onnxruntime would calibrate, resolved unless the kernels are named outright. */
  device: Device,
): Promise<BlockByBlockResult | undefined> {
  const engine = options.engine ?? 'auto';
  if (engine === 'onnxruntime') return undefined;
  // On WebGPU the kernels are ahead for AWQ-lite and max calibration alike: on an H100, GPT-2-124M
  // int4 1.0–1.1 s (onnxruntime 4.4–6.4 s in earlier calls), float8 1.1–1.2 s against 6.4 s (README,
  // Speed).
  if (engine === 'auto' && device !== 'webgpu') return undefined;
  const fallBack = (reason: string): undefined => {
    if (engine === 'kernels') {
      throw new InvalidArgumentError('calibrationEngine', `kernels cannot calibrate here: ${reason}`);
    }
    options.onNotice?.(`ptq: calibration runs on onnxruntime's WebGPU provider: ${reason}`);
    return undefined;
  };
  const problem =
    options.awqLossForm === 'outputs' && options.awqAlphaStep !== undefined
      ? 'the kernels score AWQ candidates in the Gram form, and the outputs form was asked for'
      : kernelCalibrationProblem(model, linears, options);
  if (problem !== undefined) return fallBack(problem);
  let kernelDevice: KernelDevice;
  try {
    // Kept for the process: a second calibration opens no device and compiles no shader again.
    kernelDevice = await sharedKernelDevice({ allowSoftwareAdapter: engine === 'kernels' });
  } catch (error) {
    return fallBack((error as Error).message);
  }
  let scaled = false;
  const { onAwqScale } = options;
  try {
    return await calibrateOnKernels(model, linears, batches, {
      device: kernelDevice.device,
      inputCalibrators: options.inputCalibrators,
      ...(options.awqAlphaStep === undefined ? {} : { awqAlphaStep: options.awqAlphaStep }),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.weightMaxima ? { weightMaxima: options.weightMaxima } : {}),
      // A weight read from the checkpoint on demand is dropped once its block is done with it.
      onWeightsDone: (path: string) => linears.get(path)?.releaseWeights(),
      ...(onAwqScale
        ? {
            onAwqScale: (path: string, scale: Float32Array, weight?: ScaledWeight) => {
              scaled = true;
              onAwqScale(path, scale, weight);
            },
          }
        : {}),
    });
  } catch (error) {
    // Calibrators observe nothing until the kernels are done, and no weight has changed before the
    // first search ends: onnxruntime can start over until then.
    if (error instanceof DeviceUnavailableError && !scaled) return fallBack(error.message);
    throw error;
  }
}

/** Frees the device tensors among `tensors` that `onDevice` still holds, and forgets them there. */
function disposeDeviceTensors(tensors: readonly SearchInput[], onDevice: Set<OrtTensor>): void {
  for (const tensor of tensors) {
    if (isOrtTensor(tensor) && onDevice.delete(tensor)) tensor.dispose();
  }
}
