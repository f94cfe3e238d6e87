import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UnsupportedModelError } from '../cli-errors';
import { defineCommand } from '../command-definition';
import {
  deviceOption,
  EXPORT_FORMATS,
  GLOBAL_OPTIONS,
  MODEL_DTYPES,
  QUANT_MODES,
} from '../options/common-options';
import {
  CALIBRATION_FLAGS,
  CALIBRATION_OPTIONS,
  flagsGiven,
  modelNameForJson,
  modelOption,
} from '../options/model-options';
import {
  booleanOption,
  choiceOption,
  requiredOption,
  valueOption,
  withDefault,
} from '../options/option-spec';
import { parseText } from '../options/parse-values';
import { formatBytes, formatSeconds, secondsSince } from '../output/format-values';
import { checkOutputPath } from '../paths/check-output-path';

export const QUANTIZE_OPTIONS = {
  model: { ...modelOption, description: 'Hugging Face hub id or model folder' },
  mode: requiredOption(choiceOption('--mode <mode>', 'quantization mode', QUANT_MODES)),
  ...CALIBRATION_OPTIONS,
  device: deviceOption,
  out: requiredOption(valueOption('--out <dir>', 'folder to write (must not exist)', parseText)),
  format: withDefault(choiceOption('--format <format>', 'what to write', EXPORT_FORMATS), 'modelopt-hf'),
  dtype: withDefault(
    choiceOption('--dtype <dtype>', 'element type of an ONNX export', MODEL_DTYPES),
    'float32' as (typeof MODEL_DTYPES)[number],
  ),
  force: booleanOption(
    '--force',
    'replace --out when it is empty or an earlier ptq output (never a folder with other files)',
  ),
  ...GLOBAL_OPTIONS,
} as const;

export const quantizeCommand = defineCommand({
  name: 'quantize',
  summary: 'Quantize a GPT-2 model ModelOpt-style and write it as a checkpoint or ONNX',
  arguments: [],
  options: QUANTIZE_OPTIONS,
  examples: [
    {
      description: 'int8 weight-only quantization of the bundled model, as a ModelOpt unified HF checkpoint',
      command: 'ptq quantize --mode int8-weight-only --out gpt2-int8',
    },
    {
      description:
        'int4 AWQ of GPT-2 from the hub, calibrated on 32 wikitext samples, as transformers.js ONNX',
      command:
        'ptq quantize --model gpt2 --mode int4-weight-only --dataset wikitext --calib-size 32 --format onnx --out gpt2-q4',
    },
  ],
  async run({ options, givenFlags }, context) {
    const started = performance.now();
    // Everything that can be wrong with the command line is checked before the model loads.
    const modelFolder = await localFolder(options.model);
    const output = await checkOutputPath(options.out, {
      force: options.force,
      protectedFolders: modelFolder === undefined ? [] : [modelFolder],
    });
    const { needsCalibrationData, noticeIgnoredFlags } = await import('../model/calibration-settings');
    // A dataset int8 weight-only never reads is not checked (its flags are reported as ignored).
    if (needsCalibrationData(options.mode)) {
      const { checkDataset } = await import('../model/check-dataset');
      await checkDataset(options.dataset);
    }
    const dtypeIgnored = options.format === 'modelopt-hf' && givenFlags.has('--dtype');
    noticeIgnoredFlags(
      context,
      dtypeIgnored ? ['--dtype'] : [],
      'to --format modelopt-hf, whose float tensors are float32',
    );
    const { detectExportFolder } = await import('../model/export-formats');
    const { resolveModelSource } = await import('../model/model-source');
    const source = await resolveModelSource(options.model, detectExportFolder);
    if (source.kind === 'export') {
      throw new UnsupportedModelError(
        source.label,
        `is already a ${source.format} export; quantize the Hugging Face model it came from`,
      );
    }
    const { resolveDevice } = await import('@ptq/onnx');
    const device = await resolveDevice(options.device, { onNotice: context.status });

    const { loadHfGpt2, readGpt2Config, resolveModelFolder } = await import('@ptq/hf-gpt2');
    let phaseStart = performance.now();
    const { folder } = await resolveModelFolder(source.location, { onNotice: context.status });
    // The flags are checked against the model's config before its weights are read.
    const { calibrationSettings, inFlagTerms } = await import('../model/calibration-settings');
    const config = await readGpt2Config(folder);
    const calibration = calibrationSettings(
      options.mode,
      { ...options, calibrationFlagsGiven: flagsGiven(givenFlags, CALIBRATION_FLAGS) },
      device,
      context,
      { nPositions: config.n_positions },
    );
    const hf = await loadHfGpt2(folder, { device, onNotice: context.status });
    const loadSeconds = secondsSince(phaseStart);
    context.status(`ptq: load ${formatSeconds(loadSeconds)} (${source.label}, ${device})`);

    const { modelOptQuantize } = await import('@ptq/quant-core');
    phaseStart = performance.now();
    let quantized: Awaited<ReturnType<typeof modelOptQuantize>>;
    try {
      quantized = await modelOptQuantize(hf, options.mode, calibration.options);
    } catch (error) {
      throw inFlagTerms(error);
    } finally {
      calibration.finish();
    }
    const calibrateSeconds = secondsSince(phaseStart);
    context.status(
      `ptq: calibrate ${formatSeconds(calibrateSeconds)} (${options.mode}, ${calibration.description})`,
    );

    const { writeExport } = await import('../model/export-formats');
    phaseStart = performance.now();
    const written = await writeExport(options.format, quantized, {
      outDir: output.path,
      sourceDir: folder,
      overwrite: options.force,
      dtype: options.dtype,
    });
    const exportSeconds = secondsSince(phaseStart);
    context.status(`ptq: export ${formatSeconds(exportSeconds)} (${options.format})`);

    const totalSeconds = secondsSince(started);
    context.print(
      `Wrote ${options.out} (${options.format}, ${options.mode}): ${written.files.length} files, ${formatBytes(written.bytes)}`,
    );
    return {
      command: 'quantize',
      model: modelNameForJson(options.model),
      mode: options.mode,
      format: options.format,
      device,
      out: written.directory,
      files: written.files,
      sizeBytes: written.bytes,
      calibration: calibration.usesData
        ? {
            dataset: options.dataset,
            samples: calibration.numSamples,
            batchSize: calibration.batchSize,
            maxSampleLength: calibration.maxSampleLength,
          }
        : null,
      ...(options.format === 'modelopt-hf' ? {} : { dtype: options.dtype }),
      ignoredFlags: [...calibration.ignoredFlags, ...(dtypeIgnored ? ['--dtype'] : [])],
      timings: { loadSeconds, calibrateSeconds, exportSeconds, totalSeconds },
    };
  },
});

/** `--model` as a folder on disk, when it is one (a hub id is not). */
async function localFolder(model: string): Promise<string | undefined> {
  const stats = await stat(model).catch(() => undefined);
  return stats?.isDirectory() ? path.resolve(model) : undefined;
}
