import { createForwardLoop, type TextEncoding, type TextSplit } from '@ptq/calibration';
import { InvalidArgumentError } from '@ptq/errors';
import { type GPT2LMHeadModel, releaseWeights } from '@ptq/hf-gpt2';
import type { Device } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';
import { type AwqLayerResult, type AwqProgress, applyAwqScale, awqLite, type ScaledWeight } from './awq-lite';
import { AWQ_LOSS_FORMS, type AwqLossForm } from './awq-loss-form';
import {
  type BlockProgress,
  type CalibrationEngine,
  calibrateBlockByBlock,
} from './block-by-block-calibration';
import { type GPT2CalibrationModel, type GPT2ForwardLoop, tappedModel } from './calibration-model';
import {
  calibratedWeightAmax,
  type InputCalibrator,
  type InputCalibratorFactory,
  inputAmaxTensor,
  maxCalibrator,
  maxWeightCalibrator,
  type WeightCalibrator,
} from './calibrator';
import { checkConfigMatchesMode } from './check-config-mode';
import {
  algorithmOf,
  isQuantMode,
  type QuantConfig,
  type QuantMode,
  quantConfigForMode,
  UnknownQuantModeError,
} from './quant-config';
import type { QuantLinear } from './quant-linear';
import { quantizeLinears } from './quantize-linears';
import { type CalibrationData, QuantizedModel } from './quantized-model';
import { recordBatches } from './record-batches';

/** The seed's calibration defaults per mode: int8 / fp8 64 samples in batches of 1; int4 16 in one batch. */
export const CALIBRATION_DEFAULTS: Readonly<Record<QuantMode, { numSamples: number; batchSize: number }>> = {
  'int8-weight-only': { numSamples: 64, batchSize: 1 },
  float8: { numSamples: 64, batchSize: 1 },
  'int4-weight-only': { numSamples: 16, batchSize: 16 },
};

export type QuantizeProgress =
  | {
      readonly phase: 'calibrate';
      readonly batch: number;
      readonly batches?: number;
      readonly samples?: number;
    }
  | BlockProgress
  | AwqProgress;

/**
 * How calibration runs the model. `block-by-block` (the default) runs the forward loop once to
 * record its batches, then runs one transformer block at a time over all of them: it holds one
 * block's session and activations instead of a session of the whole model (a second copy of every
 * weight, plus the serialized graph while it is built). `whole-model` runs the loop once per pass
 * through the whole model (max calibration, AWQ's cache pass, one capture pass per group of linears
 * under `memoryBudgetBytes`), for loops that must see each batch run before forwarding the next.
 */
export type CalibrationExecution = 'block-by-block' | 'whole-model';

export interface ModelOptQuantizeOptions {
  /** A config of your own instead of the mode's preset (wildcard patterns on quantizer names). */
  readonly config?: QuantConfig;
  /** Your own calibration loop (ModelOpt's `forward_loop`); replaces the dataset loop. */
  readonly forwardLoop?: GPT2ForwardLoop;
  /** Dataset name or path (default `cnn_dailymail`). */
  readonly dataset?: string;
  readonly numSamples?: number;
  readonly batchSize?: number;
  /** Tokens kept per sample (default 512, capped at the model's positions; more is an error). */
  readonly maxSampleLength?: number;
  /** The record field holding the text in `.jsonl` / `.parquet` datasets (default per dataset, else `text`). */
  readonly datasetField?: string;
  /** How a `.txt` dataset is cut into samples (`lines` or `paragraphs`; default: the whole file is one text). */
  readonly datasetSplit?: TextSplit;
  /** Encoding of dataset files given by path (default strict `utf-8`). */
  readonly encoding?: TextEncoding;
  /**
   * The statistic that sets each calibrated input quantizer's amax (float8's inputs), one calibrator
   * per linear: default `maxCalibrator` (ModelOpt's max calibration); `percentileCalibrator(99.99)`
   * or your own `InputCalibrator`.
   */
  readonly inputCalibrator?: InputCalibratorFactory;
  /** The weight amax of linears AWQ does not calibrate: default max calibration (`weightAmax`). */
  readonly weightCalibrator?: WeightCalibrator;
  /** Where calibration runs (default: the model's device, else `auto`). */
  readonly device?: Device;
  /**
   * Bytes AWQ may hold at once (default 1 GiB): the alpha candidates of a linear scored in one run
   * (both modes) and, calibrating the whole model, the captured inputs of the linears searched
   * together.
   */
  readonly memoryBudgetBytes?: number;
  /** `block-by-block` (default) or `whole-model`; see `CalibrationExecution`. */
  readonly calibration?: CalibrationExecution;
  /**
   * How block-by-block calibration's AWQ search computes its losses: `auto` (default; per linear,
   * whichever costs less), `outputs` or `gram`. An execution choice: the same losses up to float32
   * rounding (see `AwqLossForm`). The whole-model execution always scores outputs.
   */
  readonly awqLossForm?: AwqLossForm;
  /**
   * What runs block-by-block calibration on the GPU: `auto` (default: ptq's own kernels when AWQ-lite
   * calibrates on WebGPU and a hardware adapter is found), `kernels` or `onnxruntime`; see
   * `CalibrationEngine`. The same statistics up to float32 rounding.
   */
  readonly calibrationEngine?: CalibrationEngine;
  readonly onProgress?: (event: QuantizeProgress) => void;
  /** One-line notices (dataset source, device fallback). Default: stderr. */
  readonly onNotice?: (message: string) => void;
  /** Summary lines like the seed prints ("Quantization took …"). Default: stderr; pass `() => {}` to silence. */
  readonly log?: (line: string) => void;
}

const stderrLine = (line: string) => process.stderr.write(`${line}\n`);

/**
 * The seed's `modelopt_quantize(model_hf, quant_mode)`: picks the mode's ModelOpt config, replaces
 * the model's linears by quantized linears, calibrates them on real text (max calibration; AWQ-lite
 * for int4) and returns the quantized model with a ModelOpt-keyed state dict. The model passed in is
 * modified in place, as `mtq.quantize` does.
 */
export async function modelOptQuantize(
  model: GPT2LMHeadModel,
  options: ModelOptQuantizeOptions & { readonly mode: QuantMode },
): Promise<QuantizedModel>;
/** The seed's shape, `modelopt_quantize(model_hf, quant_mode)`, with the options after the mode. */
export async function modelOptQuantize(
  model: GPT2LMHeadModel,
  quantMode: QuantMode,
  options?: ModelOptQuantizeOptions,
): Promise<QuantizedModel>;
export async function modelOptQuantize(
  model: GPT2LMHeadModel,
  modeOrOptions: QuantMode | (ModelOptQuantizeOptions & { readonly mode: QuantMode }),
  positionalOptions: ModelOptQuantizeOptions = {},
): Promise<QuantizedModel> {
  const named = typeof modeOrOptions === 'object' && modeOrOptions !== null;
  const quantMode = named ? modeOrOptions.mode : modeOrOptions;
  const options: ModelOptQuantizeOptions = named ? modeOrOptions : positionalOptions;
  if (!isQuantMode(quantMode)) throw new UnknownQuantModeError(quantMode);
  const started = performance.now();
  const log = options.log ?? stderrLine;
  const onNotice = options.onNotice ?? stderrLine;
  const config = options.config ?? quantConfigForMode(quantMode);
  const algorithm = algorithmOf(config);
  const defaults = CALIBRATION_DEFAULTS[quantMode];
  const numSamples = options.numSamples ?? defaults.numSamples;
  const batchSize = options.batchSize ?? defaults.batchSize;
  // The model's device is known once it has run a batch; AWQ's search graphs follow it.
  const device = (): Device => options.device ?? model.device ?? 'auto';
  const memoryBudgetBytes = options.memoryBudgetBytes ?? 2 ** 30;
  if (!(memoryBudgetBytes > 0)) {
    throw new InvalidArgumentError('memoryBudgetBytes', `must be positive, got ${memoryBudgetBytes}`);
  }

  const execution = options.calibration ?? 'block-by-block';
  if (execution !== 'block-by-block' && execution !== 'whole-model') {
    throw new InvalidArgumentError(
      'calibration',
      `must be "block-by-block" or "whole-model", got ${JSON.stringify(execution)}`,
    );
  }

  const awqLossForm = options.awqLossForm ?? 'auto';
  if (!AWQ_LOSS_FORMS.includes(awqLossForm) || (awqLossForm === 'gram' && execution === 'whole-model')) {
    throw new InvalidArgumentError(
      'awqLossForm',
      `must be "auto", "outputs" or "gram" ("gram" with block-by-block calibration only), got ${JSON.stringify(awqLossForm)} with ${execution} calibration`,
    );
  }

  const linears = quantizeLinears(model, config);
  if (options.config !== undefined) checkConfigMatchesMode(quantMode, linears);
  const inputCalibrated = [...linears].filter(([, linear]) => linear.input_quantizer.enabled);
  if (algorithm.method === 'awq_lite' && inputCalibrated.length > 0) {
    throw new InvalidArgumentError(
      'config',
      'AWQ-lite with enabled input quantizers is not supported; disable "*input_quantizer"',
    );
  }
  for (const [, linear] of inputCalibrated) {
    if (linear.input_quantizer.axis !== null || linear.input_quantizer.blockSize !== undefined) {
      throw new InvalidArgumentError(
        'config',
        'input quantizers support per-tensor calibration (axis None) only',
      );
    }
  }
  const needsData = inputCalibrated.length > 0 || algorithm.method === 'awq_lite';
  const inputCalibrators = makeInputCalibrators(
    inputCalibrated.map(([path]) => path),
    options.inputCalibrator ?? maxCalibrator,
  );
  const weightCalibrator = options.weightCalibrator ?? maxWeightCalibrator;
  if (typeof weightCalibrator !== 'function') {
    throw new InvalidArgumentError(
      'weightCalibrator',
      'must be a function (linear, weight, quantizer) => amax',
    );
  }

  let batchesSeen = 0;
  let forwardLoop: GPT2ForwardLoop | undefined;
  let calibrationData: CalibrationData | undefined;
  if (needsData) {
    if (options.forwardLoop === undefined) {
      const loop = await datasetLoop(model, options, device(), numSamples, batchSize, onNotice);
      forwardLoop = (calibrationModel) => loop(calibrationModel);
      calibrationData = {
        description: loop.description,
        sampleCount: loop.sampleCount,
        tokenCount: loop.tokenCount,
        maxSampleLength: loop.maxSampleLength,
      };
    } else {
      forwardLoop = options.forwardLoop;
    }
    const source = options.forwardLoop
      ? 'a custom forward loop'
      : `${numSamples} samples of ${options.dataset ?? 'cnn_dailymail'} in batches of ${batchSize}`;
    log(`ptq: calibrating ${quantMode} on ${source}`);
  } else {
    log(`ptq: ${quantMode} quantizes weights only: no calibration data needed`);
  }
  let awq: Map<string, AwqLayerResult> | undefined;
  let deviceWeightMaxima: ReadonlyMap<string, number> | undefined;
  if (forwardLoop !== undefined && execution === 'block-by-block') {
    const batches = await recordBatches(model, forwardLoop, (batch) =>
      options.onProgress?.({ phase: 'calibrate', batch }),
    );
    batchesSeen = batches.length;
    // Each AWQ scale comes as soon as its search ends (on the kernels engine, while the device runs
    // the next block), to apply while the block's weights are held: both engines hand over every one.
    const onAwqScale = (path: string, scale: Float32Array, weight?: ScaledWeight) =>
      applyAwqScale(linears.get(path)!, scale, weight);
    // Per-tensor max weight amax of the block linears: the kernels take it while a weight is there.
    const maxWeightAmax = weightCalibrator === maxWeightCalibrator && algorithm.method !== 'awq_lite';
    const weightMaxima = new Set(
      [...linears]
        .filter(([path, { weight_quantizer: quantizer }]) => {
          const perTensor = quantizer.enabled && quantizer.axis === null && quantizer.blockSize === undefined;
          return maxWeightAmax && perTensor && path !== 'lm_head';
        })
        .map(([path]) => path),
    );
    const calibrated = await calibrateBlockByBlock(model, linears, batches, {
      inputCalibrators,
      ...(weightMaxima.size > 0 ? { weightMaxima } : {}),
      ...(algorithm.method === 'awq_lite' ? { awqAlphaStep: algorithm.alphaStep, onAwqScale } : {}),
      device: options.device ?? model.device ?? model.requestedDevice,
      memoryBudgetBytes,
      awqLossForm,
      ...(options.calibrationEngine ? { engine: options.calibrationEngine } : {}),
      onNotice,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    for (const [path, amax] of calibrated.inputAmax) linears.get(path)!.input_quantizer.amax = amax;
    deviceWeightMaxima = calibrated.weightMaxima;
    if (algorithm.method === 'awq_lite') awq = calibrated.awq;
  } else if (forwardLoop !== undefined) {
    awq = await calibrateWholeModel(model, linears, forwardLoop, inputCalibrators, algorithm, {
      device,
      memoryBudgetBytes,
      onNotice,
      onProgress: options.onProgress,
      onBatch: () => batchesSeen++,
    });
  }
  if (awq !== undefined && awq.size > 0) {
    const alphas = [...awq.values()].map((result) => result.alpha.toFixed(1));
    log(`ptq: AWQ-lite alphas per linear: ${alphas.join(' ')}`);
  }
  for (const [path, linear] of linears) {
    const deviceMax = deviceWeightMaxima?.get(path);
    // A NaN weight gives the device's max no meaning: the host's pass then names it.
    if (deviceMax !== undefined && !Number.isNaN(deviceMax)) {
      linear.weight_quantizer.amax = createTensor('float32', [], Float32Array.of(deviceMax));
    } else if (linear.weight_quantizer.enabled && !awq?.has(path)) {
      linear.weight_quantizer.amax = calibratedWeightAmax(
        weightCalibrator,
        path,
        linear.weight,
        linear.weight_quantizer,
      );
    }
    linear.invalidate();
    // A weight read from the checkpoint on demand is read again by whatever uses it next (the export).
    linear.releaseWeights();
  }
  releaseWeights(model);
  const seconds = (performance.now() - started) / 1000;
  log(`ptq: quantization took ${seconds.toFixed(2)} s`);
  return new QuantizedModel({
    model,
    mode: quantMode,
    config,
    linears,
    awq,
    seconds,
    calibrationBatches: batchesSeen,
    ...(calibrationData === undefined ? {} : { calibrationData }),
  });
}

async function datasetLoop(
  model: GPT2LMHeadModel,
  options: ModelOptQuantizeOptions,
  device: Device,
  numSamples: number,
  batchSize: number,
  onNotice: (message: string) => void,
) {
  if (model.tokenizer === undefined) {
    throw new InvalidArgumentError(
      'model',
      'has no tokenizer; load it with loadHfGpt2 or pass a forwardLoop',
    );
  }
  return createForwardLoop(
    model,
    options.dataset ?? 'cnn_dailymail',
    model.tokenizer,
    device,
    batchSize,
    numSamples,
    {
      ...(options.maxSampleLength === undefined ? {} : { maxSampleLength: options.maxSampleLength }),
      ...(options.datasetField === undefined ? {} : { field: options.datasetField }),
      ...(options.datasetSplit === undefined ? {} : { split: options.datasetSplit }),
      ...(options.encoding === undefined ? {} : { encoding: options.encoding }),
      onNotice,
    },
  );
}

/**
 * Calibration through the whole model, one forward-loop pass per statistic: max calibration of the
 * inputs, then AWQ-lite's cache pass and capture passes. Each tap set builds a session of the whole
 * model.
 */
async function calibrateWholeModel(
  model: GPT2LMHeadModel,
  linears: Map<string, QuantLinear>,
  forwardLoop: GPT2ForwardLoop,
  inputCalibrators: ReadonlyMap<string, InputCalibrator>,
  algorithm: ReturnType<typeof algorithmOf>,
  options: {
    device: () => Device;
    memoryBudgetBytes: number;
    onNotice: (message: string) => void;
    onProgress: ((event: QuantizeProgress) => void) | undefined;
    onBatch: () => void;
  },
): Promise<Map<string, AwqLayerResult> | undefined> {
  let batchesSeen = 0;
  const counted: GPT2ForwardLoop = async (calibrationModel: GPT2CalibrationModel) => {
    await forwardLoop({
      config: calibrationModel.config,
      tokenizer: calibrationModel.tokenizer,
      async forward(inputIds, attentionMask) {
        await calibrationModel.forward(inputIds, attentionMask);
        options.onBatch();
        options.onProgress?.({ phase: 'calibrate', batch: ++batchesSeen });
      },
    });
  };
  // Calibration sees the unquantized model, as ModelOpt's calibration mode does: weight ranges are
  // set only after every data pass.
  if (inputCalibrators.size > 0) {
    let observed = 0;
    await counted(
      tappedModel(
        model,
        [...inputCalibrators].map(([module, calibrator]) => ({
          module,
          ...(calibrator.needs.absMax ? { absMax: true } : {}),
          ...(calibrator.needs.input ? { input: true } : {}),
        })),
        (taps) => {
          observed++;
          for (const [path, calibrator] of inputCalibrators) calibrator.observe(taps.get(path)!);
        },
      ),
    );
    if (observed === 0) throw new InvalidArgumentError('forwardLoop', 'ran no batch through the model');
    for (const [path, calibrator] of inputCalibrators) {
      linears.get(path)!.input_quantizer.amax = inputAmaxTensor(path, calibrator);
    }
  }
  if (algorithm.method !== 'awq_lite') return undefined;
  return awqLite(model, linears, counted, {
    alphaStep: algorithm.alphaStep,
    device: options.device,
    memoryBudgetBytes: options.memoryBudgetBytes,
    onNotice: options.onNotice,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

/** One calibrator per input-calibrated linear, each checked to ask for something it can observe. */
function makeInputCalibrators(
  paths: readonly string[],
  factory: InputCalibratorFactory,
): Map<string, InputCalibrator> {
  if (typeof factory !== 'function') {
    throw new InvalidArgumentError('inputCalibrator', 'must be a function (linear) => InputCalibrator');
  }
  return new Map(
    paths.map((path) => {
      const calibrator = factory(path);
      if (
        typeof calibrator?.observe !== 'function' ||
        typeof calibrator.amax !== 'function' ||
        !(calibrator.needs?.absMax || calibrator.needs?.input)
      ) {
        throw new InvalidArgumentError(
          'inputCalibrator',
          `made no usable calibrator for ${path}: it needs observe(batch), amax() and needs.absMax or needs.input`,
        );
      }
      return [path, calibrator];
    }),
  );
}
