import { loadModelOptCheckpoint, openOnnxExport } from '@ptq/export';
import { type GPT2LMHeadModel, loadGpt2Tokenizer, loadHfGpt2, resolveModelFolder } from '@ptq/hf-gpt2';
import { compile, type Engine, GPT, type ModelDType, type RuntimeGPT } from '@ptq/nanogpt';
import type { Device, ResolvedDevice } from '@ptq/onnx';
import type { QuantMode } from '@ptq/quant-core';
import { gptConfigFromHf, loadQuantWeightsFromHf, loadWeightsFromHf } from '@ptq/tripy-loader';
import { UsageError } from '../cli-errors';
import type { CommandContext } from '../command-definition';
import { formatSeconds, secondsSince } from '../output/format-values';
import {
  type CalibrationFlags,
  calibrationSettings,
  forwardLoopOver,
  inFlagTerms,
  needsCalibrationData,
  noticeIgnoredFlags,
} from './calibration-settings';
import { textOptions } from './calibration-texts';
import { checkDataset } from './check-dataset';
import { chooseDevice } from './device-choice';
import { detectExportFolder } from './export-formats';
import { type ExportSource, type HuggingFaceSource, resolveModelSource } from './model-source';

/** The transformers.js tokenizer hf-gpt2 loads (typed through it: this package does not depend on transformers.js). */
export type Tokenizer = NonNullable<GPT2LMHeadModel['tokenizer']>;

export interface RuntimeModelFlags extends CalibrationFlags {
  readonly model: string;
  readonly device: Device;
  /** What runs the model (default auto: the kernels on a GPU adapter); ONNX exports always run on onnxruntime. */
  readonly engine?: Engine;
  readonly dtype: ModelDType | undefined;
  readonly mode: QuantMode | undefined;
}

export interface RuntimeTimings {
  loadSeconds: number;
  calibrateSeconds?: number;
  compileSeconds: number;
}

export interface RuntimeModel {
  readonly compiled: RuntimeGPT;
  readonly tokenizer: Tokenizer;
  readonly mode: QuantMode | undefined;
  readonly dtype: ModelDType;
  readonly timings: RuntimeTimings;
  /** Flags passed that did nothing (calibration flags without --mode, or for int8 weight-only). */
  readonly ignoredFlags: readonly string[];
}

/** float16 where a GPU runs it, float32 on the CPU (whose kernels are float32). */
export function defaultDtypeFor(device: ResolvedDevice): ModelDType {
  return device === 'cpu' ? 'float32' : 'float16';
}

/**
 * The runtime model of `--model`, ready on `--device`: a ptq export is read as written (a ModelOpt
 * checkpoint is compiled, an ONNX export opened as is); a Hugging Face model is loaded, quantized
 * on the fly when `--mode` is given (with the calibration flags), and compiled. Prints each phase's
 * time as a status line.
 */
export async function loadRuntimeModel(
  flags: RuntimeModelFlags,
  context: CommandContext,
): Promise<RuntimeModel> {
  if (flags.mode !== undefined && needsCalibrationData(flags.mode)) await checkDataset(flags.dataset);
  const source = await resolveModelSource(flags.model, detectExportFolder);
  if (source.kind === 'export' && flags.mode !== undefined) {
    throw new UsageError(
      `--mode quantizes a Hugging Face model; ${source.label} is already a ${source.format} export`,
    );
  }
  // Calibration flags without --mode: nothing is quantized, so nothing reads them.
  const ignoredFlags = flags.mode === undefined ? [...flags.calibrationFlagsGiven] : [];
  noticeIgnoredFlags(context, ignoredFlags, 'without --mode');
  const device = await chooseRuntimeDevice(flags, context);
  const dtype = flags.dtype ?? defaultDtypeFor(device);
  const loaded =
    source.kind === 'huggingface'
      ? await loadHuggingFace(source, flags, device, dtype, context)
      : source.format === 'onnx'
        ? await openOnnx(source, flags, device, context)
        : await loadCheckpoint(source, flags, device, dtype, context);
  return { ...loaded, ignoredFlags: [...ignoredFlags, ...loaded.ignoredFlags] };
}

/**
 * The device the runtime model gets. The kernels engine finds its own WebGPU adapter through Dawn,
 * which onnxruntime's probe does not see (e.g. Mesa's llvmpipe), so `--engine kernels` skips the
 * probe: compiling then fails clearly when no adapter is there.
 */
async function chooseRuntimeDevice(
  flags: RuntimeModelFlags,
  context: CommandContext,
): Promise<ResolvedDevice> {
  if (flags.engine !== 'kernels') return chooseDevice(flags.device, context);
  if (flags.device !== 'auto' && flags.device !== 'webgpu') {
    throw new UsageError(`--engine kernels runs on WebGPU; --device ${flags.device} does not apply`);
  }
  return 'webgpu';
}

async function loadHuggingFace(
  source: HuggingFaceSource,
  flags: RuntimeModelFlags,
  device: ResolvedDevice,
  dtype: ModelDType,
  context: CommandContext,
): Promise<RuntimeModel> {
  let phaseStart = performance.now();
  const { folder } = await resolveModelFolder(source.location, { onNotice: context.status });
  const hf = await loadHfGpt2(folder, { device, onNotice: context.status });
  if (hf.tokenizer === undefined) throw new UsageError(`${source.label} has no tokenizer`);
  const mode = flags.mode;
  const gpt = new GPT(gptConfigFromHf(hf.config, { dtype, quantMode: mode }));
  if (mode === undefined) await loadWeightsFromHf(gpt, folder, dtype, { hfModel: hf });
  const loadSeconds = secondsSince(phaseStart);
  context.status(`ptq: load ${formatSeconds(loadSeconds)} (${source.label}, ${device})`);

  let calibrateSeconds: number | undefined;
  let ignoredFlags: readonly string[] = [];
  if (mode !== undefined) {
    const calibration = calibrationSettings(mode, flags, device, context, {
      nPositions: hf.config.n_positions,
    });
    ignoredFlags = calibration.ignoredFlags;
    phaseStart = performance.now();
    try {
      let quantize = calibration.options;
      if (calibration.usesData) {
        const { loadCalibrationTexts } = await import('@ptq/calibration');
        const { texts } = await loadCalibrationTexts(flags.dataset, {
          ...textOptions({ field: flags.datasetField, split: flags.datasetSplit, encoding: flags.encoding }),
          numSamples: calibration.numSamples,
          onNotice: context.status,
        });
        quantize = { ...quantize, forwardLoop: forwardLoopOver(texts, calibration, device) };
      }
      await loadQuantWeightsFromHf(gpt, folder, dtype, mode, { hfModel: hf, quantize });
    } catch (error) {
      throw inFlagTerms(error);
    } finally {
      calibration.finish();
    }
    calibrateSeconds = secondsSince(phaseStart);
    context.status(`ptq: calibrate ${formatSeconds(calibrateSeconds)} (${mode}, ${calibration.description})`);
  }
  const { compiled, compileSeconds } = await compileTimed(gpt, device, dtype, flags.engine, context);
  return {
    compiled,
    tokenizer: hf.tokenizer,
    mode,
    dtype,
    timings: { loadSeconds, ...(calibrateSeconds === undefined ? {} : { calibrateSeconds }), compileSeconds },
    ignoredFlags,
  };
}

async function loadCheckpoint(
  source: ExportSource,
  flags: RuntimeModelFlags,
  device: ResolvedDevice,
  dtype: ModelDType,
  context: CommandContext,
): Promise<RuntimeModel> {
  const phaseStart = performance.now();
  const { gpt, checkpoint } = await loadModelOptCheckpoint(source.folder, { dtype });
  const tokenizer = await loadGpt2Tokenizer(source.folder, checkpoint.hfConfig);
  const loadSeconds = secondsSince(phaseStart);
  context.status(`ptq: load ${formatSeconds(loadSeconds)} (${source.label}: ${checkpoint.mode} checkpoint)`);
  const { compiled, compileSeconds } = await compileTimed(gpt, device, dtype, flags.engine, context);
  return {
    compiled,
    tokenizer,
    mode: checkpoint.mode,
    dtype,
    timings: { loadSeconds, compileSeconds },
    ignoredFlags: [],
  };
}

async function openOnnx(
  source: ExportSource,
  flags: RuntimeModelFlags,
  device: ResolvedDevice,
  context: CommandContext,
): Promise<RuntimeModel> {
  if (flags.engine === 'kernels') {
    throw new UsageError(
      `--engine kernels does not apply to ${source.label}: an ONNX export runs on onnxruntime (use its ModelOpt checkpoint for the kernels)`,
    );
  }
  const phaseStart = performance.now();
  const opened = await openOnnxExport(source.folder, { device, onNotice: context.status });
  const { compiled } = opened;
  if (flags.dtype !== undefined && flags.dtype !== compiled.config.dtype) {
    await compiled.release();
    throw new UsageError(
      `--dtype ${flags.dtype} does not apply: ${opened.modelFile} is ${compiled.config.dtype}`,
    );
  }
  const tokenizer = await loadGpt2Tokenizer(source.folder, opened.hfConfig);
  // Nothing to compile: the graph was built when it was exported; opening its session is the load.
  const loadSeconds = secondsSince(phaseStart);
  context.status(
    `ptq: load ${formatSeconds(loadSeconds)} (${source.label}: ${opened.modelFile}, ${compiled.device})`,
  );
  return {
    compiled,
    tokenizer,
    mode: opened.mode,
    dtype: compiled.config.dtype,
    timings: { loadSeconds, compileSeconds: 0 },
    ignoredFlags: [],
  };
}

async function compileTimed(
  gpt: GPT,
  device: ResolvedDevice,
  dtype: ModelDType,
  engine: Engine | undefined,
  context: CommandContext,
): Promise<{ compiled: RuntimeGPT; compileSeconds: number }> {
  const phaseStart = performance.now();
  // The device is decided first, so `auto` never loads Dawn where onnxruntime found no GPU.
  const compiled = await compile(gpt, { device, engine: engine ?? 'auto', onNotice: context.status });
  const compileSeconds = secondsSince(phaseStart);
  context.status(
    `ptq: compile ${formatSeconds(compileSeconds)} (${compiled.engine === 'kernels' ? 'ptq kernels on ' : ''}${compiled.device}, ${dtype})`,
  );
  return { compiled, compileSeconds };
}
