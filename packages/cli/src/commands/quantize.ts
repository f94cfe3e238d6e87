import { stat } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_DTYPES, QUANT_MODES } from '@ptq/types';
import { UnsupportedModelError } from '../cli-errors';
import { defineCommand } from '../command-definition';
import { CHECK_LEVELS, type CheckLevel, DEFAULT_MAX_DEGRADATION_PERCENT } from '../model/check-levels';
import { chooseWeightResidence, WEIGHT_CHOICES, type WeightChoice } from '../model/weight-residence';
import {
  deviceOption,
  EXPORT_FORMATS,
  GLOBAL_OPTIONS,
  INT4_ALGORITHMS,
  type Int4Algorithm,
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
import { parseNonNegativeNumber, parseText } from '../options/parse-values';
import { formatBytes, formatSeconds, secondsSince } from '../output/format-values';
import { checkOutputPath } from '../paths/check-output-path';

export const QUANTIZE_OPTIONS = {
  model: { ...modelOption, description: 'Hugging Face hub id or model folder' },
  mode: requiredOption(choiceOption('--mode <mode>', 'quantization mode', QUANT_MODES)),
  ...CALIBRATION_OPTIONS,
  algorithm: withDefault(
    choiceOption(
      '--algorithm <algorithm>',
      'int4 calibration: awq_lite, max (round to nearest), or auto (both; the better on held-out text)',
      INT4_ALGORITHMS,
    ),
    'awq_lite' as Int4Algorithm,
  ),
  check: withDefault(
    choiceOption(
      '--check <level>',
      'perplexity before and after on held-out text: fast (512 tokens), full (the whole slice) or none',
      CHECK_LEVELS,
    ),
    'fast' as CheckLevel,
  ),
  checkDataset: valueOption(
    '--check-dataset <name|path>',
    'text the check measures (default: the --dataset texts after the calibration samples)',
    parseText,
  ),
  maxDegradation: withDefault(
    valueOption(
      '--max-degradation <percent>',
      'warn when quantization raises perplexity by more than this',
      parseNonNegativeNumber,
    ),
    DEFAULT_MAX_DEGRADATION_PERCENT,
  ),
  device: deviceOption,
  weights: withDefault(
    choiceOption(
      '--weights <where>',
      'in-memory, on-demand (read from the checkpoint a block at a time: never the whole model, but slower), or auto (on-demand when the float32 weights pass a quarter of this machine memory)',
      WEIGHT_CHOICES,
    ),
    'auto' as WeightChoice,
  ),
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
    const { checkDataset } = await import('../model/check-dataset');
    const { HELD_OUT_DATASET } = await import('../model/evaluation-text');
    const isInt4 = options.mode === 'int4-weight-only';
    // --algorithm auto chooses on held-out text, so it measures even with --check none.
    const checkLevel: CheckLevel =
      options.check === 'none' && isInt4 && options.algorithm === 'auto' ? 'fast' : options.check;
    // The check reads --dataset's texts after the calibration samples, unless --check-dataset is given.
    const checkReadsDataset = checkLevel !== 'none' && options.checkDataset === undefined;
    const readsDataset = needsCalibrationData(options.mode) || checkReadsDataset;
    // A dataset nothing reads is not checked (its flags are reported as ignored).
    if (readsDataset) await checkDataset(options.dataset);
    if (checkLevel !== 'none' && options.checkDataset !== undefined) {
      await checkDataset(options.checkDataset, [HELD_OUT_DATASET]);
    }
    const dtypeIgnored = options.format === 'modelopt-hf' && givenFlags.has('--dtype');
    const algorithmIgnored = !isInt4 && givenFlags.has('--algorithm');
    noticeIgnoredFlags(
      context,
      dtypeIgnored ? ['--dtype'] : [],
      'to --format modelopt-hf, whose float tensors are float32',
    );
    noticeIgnoredFlags(context, algorithmIgnored ? ['--algorithm'] : [], `to --mode ${options.mode}`);
    const checkIgnored = [...(checkLevel === 'none' ? ['--check-dataset', '--max-degradation'] : [])].filter(
      (flag) => givenFlags.has(flag),
    );
    noticeIgnoredFlags(context, checkIgnored, 'with --check none');
    const { detectExportFolder } = await import('../model/export-formats');
    const { resolveModelSource } = await import('../model/model-source');
    const source = await resolveModelSource(options.model, detectExportFolder);
    if (source.kind === 'export') {
      throw new UnsupportedModelError(
        source.label,
        `is already a ${source.format} export; quantize the Hugging Face model it came from`,
      );
    }
    const { chooseDevice } = await import('../model/device-choice');
    const device = await chooseDevice(options.device, context);
    // From here on a signal also removes what the quality check writes to the temporary folder (its
    // large sessions' external data), not only the export's half-written folder.
    const { setSignalCleanup } = await import('../signals/exit-on-signal');
    const { removeTemporaryOutputs } = await import('@ptq/files');
    setSignalCleanup(removeTemporaryOutputs);

    const { loadHfGpt2, readGpt2Config, resolveModelFolder } = await import('@ptq/hf-gpt2');
    let phaseStart = performance.now();
    const { folder } = await resolveModelFolder(source.location, { onNotice: context.status });
    // The flags are checked against the model's config before its weights are read.
    const { calibrationSettings, forwardLoopOver, inFlagTerms } = await import(
      '../model/calibration-settings'
    );
    const config = await readGpt2Config(folder);
    const textFlags = ['--dataset', '--dataset-field', '--dataset-split', '--encoding'];
    const calibrationFlagsGiven = flagsGiven(givenFlags, CALIBRATION_FLAGS).filter(
      // The check reads the dataset even where calibration does not.
      (flag) => !(checkReadsDataset && textFlags.includes(flag)),
    );
    const calibration = calibrationSettings(
      options.mode,
      { ...options, calibrationFlagsGiven },
      device,
      context,
      { nPositions: config.n_positions },
    );
    const textOptions = {
      field: options.datasetField,
      split: options.datasetSplit,
      encoding: options.encoding,
    };
    // Read on demand, weights come from the checkpoint when a step needs them and go after:
    // calibration, the checks and the export each hold a block or a segment, never the whole model.
    const weights = chooseWeightResidence(options.weights, config);
    const loadHf = () => loadHfGpt2(folder, { device, onNotice: context.status, weights });
    const hf = await loadHf();
    if (hf.tokenizer === undefined) throw new UnsupportedModelError(source.label, 'has no tokenizer');
    const tokenizer = hf.tokenizer;
    const loadSeconds = secondsSince(phaseStart);
    const residence = weights === 'on-demand' ? ', weights read on demand' : '';
    context.status(`ptq: load ${formatSeconds(loadSeconds)} (${source.label}, ${device}${residence})`);

    // Calibration and the held-out slice come from one read of the dataset; a mode that calibrates
    // on nothing holds out every text.
    const calibratedSamples = calibration.usesData ? calibration.numSamples : 0;
    const { loadCalibrationAndHeldOut } = await import('../model/calibration-texts');
    let texts: Awaited<ReturnType<typeof loadCalibrationAndHeldOut>> | undefined;
    if (readsDataset) {
      try {
        texts = await loadCalibrationAndHeldOut(
          options.dataset,
          calibratedSamples,
          textOptions,
          context.status,
        );
      } catch (error) {
        throw inFlagTerms(error);
      }
    }

    const quality = await import('../model/quality-check');
    const { defaultDtypeFor } = await import('../model/load-runtime-model');
    const checkDtype = defaultDtypeFor(device);
    let check: ReturnType<typeof quality.checkTokens>;
    let checkSeconds = 0;
    let unquantized: Awaited<ReturnType<typeof quality.checkPerplexity>> | undefined;
    let unquantizedFromCache = false;
    if (checkLevel !== 'none') {
      phaseStart = performance.now();
      const { loadEvaluationText } = await import('../model/evaluation-text');
      const held =
        options.checkDataset === undefined
          ? {
              texts: texts!.heldOut,
              source:
                calibratedSamples === 0
                  ? texts!.description
                  : `${texts!.description}, after the ${calibratedSamples} calibration texts`,
            }
          : await loadEvaluationText(options.checkDataset, context.status, textOptions).then((loaded) => ({
              texts: [loaded.text],
              source: loaded.description,
            }));
      check = quality.checkTokens(
        (text) => tokenizer.encode(text),
        held.texts,
        checkLevel,
        held.source,
        config.n_positions,
      );
      if (check === undefined) {
        context.status(`ptq: no held-out text to check on (${held.source} has none); pass --check-dataset`);
      } else {
        const cache = await import('../model/unquantized-check-cache');
        const cacheDir = cache.checkCacheDir();
        const cacheKey = {
          modelFolder: folder,
          tokens: check.tokens,
          window: check.window,
          device,
          dtype: checkDtype,
        };
        unquantized =
          cacheDir === undefined ? undefined : await cache.readCachedPerplexity(cacheDir, cacheKey);
        unquantizedFromCache = unquantized !== undefined;
        if (unquantized === undefined) {
          const { hfRuntimeSegments } = await import('@ptq/tripy-loader');
          unquantized = await quality.checkPerplexity(
            hfRuntimeSegments(hf, checkDtype),
            device,
            check,
            'check unquantized',
            context.progress,
            context.status,
          );
          if (cacheDir !== undefined) {
            await cache.writeCachedPerplexity(cacheDir, cacheKey, unquantized, context.status);
          }
        }
      }
      checkSeconds += secondsSince(phaseStart);
    }

    const { INT4_AWQ_CFG, modelOptQuantize } = await import('@ptq/quant-core');
    const algorithms: (Int4Algorithm | undefined)[] = !isInt4
      ? [undefined]
      : options.algorithm === 'auto'
        ? unquantized === undefined
          ? ['awq_lite']
          : ['max', 'awq_lite']
        : [options.algorithm];
    let calibrateSeconds = 0;
    type Candidate = {
      algorithm: Int4Algorithm | undefined;
      quantized: Awaited<ReturnType<typeof modelOptQuantize>>;
      perplexity?: Awaited<ReturnType<typeof quality.checkPerplexity>>;
    };
    const candidates: Candidate[] = [];
    const measureQuantized = async (candidate: Candidate): Promise<void> => {
      if (check === undefined || unquantized === undefined) return;
      const checkStart = performance.now();
      const { quantizedRuntimeSegments } = await import('@ptq/tripy-loader');
      candidate.perplexity = await quality.checkPerplexity(
        quantizedRuntimeSegments(candidate.quantized, checkDtype),
        device,
        check,
        `check ${candidate.algorithm ?? 'quantized'}`,
        context.progress,
        context.status,
      );
      checkSeconds += secondsSince(checkStart);
    };
    for (const [index, algorithm] of algorithms.entries()) {
      phaseStart = performance.now();
      // Quantization changes the model in place: each algorithm gets a fresh copy.
      const model = index === 0 ? hf : await loadHf();
      let quantized: Candidate['quantized'];
      try {
        quantized = await modelOptQuantize(model, options.mode, {
          ...calibration.options,
          ...(algorithm === 'max' ? { config: { ...INT4_AWQ_CFG, algorithm: 'max' as const } } : {}),
          ...(texts !== undefined && calibration.usesData
            ? { forwardLoop: forwardLoopOver(texts.calibration, calibration, device) }
            : {}),
        });
      } catch (error) {
        calibration.finish();
        throw inFlagTerms(error);
      }
      if (index === algorithms.length - 1) calibration.finish();
      if (algorithm === 'max') {
        const { withUnitPreQuantScales } = await import('../model/unit-pre-quant-scales');
        withUnitPreQuantScales(quantized);
      }
      const seconds = secondsSince(phaseStart);
      calibrateSeconds += seconds;
      context.status(
        `ptq: calibrate ${formatSeconds(seconds)} (${options.mode}${algorithm === undefined ? '' : ` ${algorithm}`}, ${calibration.description})`,
      );
      const candidate: Candidate = { algorithm, quantized };
      // `auto` chooses by the check, so it measures each candidate before anything is written.
      if (algorithms.length > 1) await measureQuantized(candidate);
      candidates.push(candidate);
    }
    // The better on the held-out text; AWQ-lite, ModelOpt's own choice, on a tie.
    const chosen = candidates.reduce((best, next) =>
      (next.perplexity?.perplexity ?? Number.POSITIVE_INFINITY) <=
      (best.perplexity?.perplexity ?? Number.POSITIVE_INFINITY)
        ? next
        : best,
    );

    const { writeExport } = await import('../model/export-formats');
    phaseStart = performance.now();
    const written = await writeExport(options.format, chosen.quantized, {
      outDir: output.path,
      sourceDir: folder,
      overwrite: options.force,
      dtype: options.dtype,
    });
    if (readsDataset) {
      const { recordCalibration } = await import('../model/calibration-record');
      const { textOptions: givenTextOptions } = await import('../model/calibration-texts');
      await recordCalibration(written.directory, {
        dataset: options.dataset,
        samples: calibratedSamples,
        ...givenTextOptions(textOptions),
      });
    }
    // The record changed the manifest's size.
    const { folderFiles } = await import('../paths/folder-size');
    const { files, bytes } = readsDataset ? await folderFiles(written.directory) : written;
    const exportSeconds = secondsSince(phaseStart);
    context.status(`ptq: export ${formatSeconds(exportSeconds)} (${options.format})`);
    // One algorithm: the model is written first, so a check that fails (or is stopped) after a long
    // calibration leaves the output in place.
    if (algorithms.length === 1) {
      setSignalCleanup(removeTemporaryOutputs, `${options.out} was written`);
      try {
        await measureQuantized(chosen);
      } catch (error) {
        context.status(`ptq: wrote ${options.out}; measuring its perplexity failed`);
        throw error;
      }
    }

    const report =
      check !== undefined && unquantized !== undefined && chosen.perplexity !== undefined
        ? quality.qualityReport(
            check,
            unquantized,
            chosen.perplexity,
            options.maxDegradation,
            unquantizedFromCache,
          )
        : undefined;
    const totalSeconds = secondsSince(started);
    context.print(
      `Wrote ${options.out} (${options.format}, ${options.mode}${chosen.algorithm === undefined ? '' : `, ${chosen.algorithm}`}): ${files.length} files, ${formatBytes(bytes)}`,
    );
    if (candidates.length > 1) {
      for (const candidate of candidates) {
        context.print(
          `${candidate.algorithm}: perplexity ${candidate.perplexity!.perplexity.toFixed(3)}${candidate === chosen ? ' (kept)' : ''}`,
        );
      }
    }
    if (report !== undefined) {
      const lines = quality.reportLines(report);
      context.print(lines.result);
      if (lines.warning !== undefined) context.status(lines.warning);
    }
    return {
      command: 'quantize',
      model: modelNameForJson(options.model),
      mode: options.mode,
      ...(isInt4 ? { algorithm: chosen.algorithm } : {}),
      format: options.format,
      device,
      out: written.directory,
      files,
      sizeBytes: bytes,
      calibration: calibration.usesData
        ? {
            dataset: options.dataset,
            samples: calibration.numSamples,
            batchSize: calibration.batchSize,
            maxSampleLength: calibration.maxSampleLength,
          }
        : null,
      quality: report ?? null,
      ...(candidates.length > 1
        ? {
            algorithms: candidates.map((candidate) => ({
              algorithm: candidate.algorithm,
              perplexity: candidate.perplexity!.perplexity,
              changePercent:
                ((candidate.perplexity!.perplexity - unquantized!.perplexity) / unquantized!.perplexity) *
                100,
              kept: candidate === chosen,
            })),
          }
        : {}),
      ...(options.format === 'modelopt-hf' ? {} : { dtype: options.dtype }),
      ignoredFlags: [
        ...calibration.ignoredFlags,
        ...(dtypeIgnored ? ['--dtype'] : []),
        ...(algorithmIgnored ? ['--algorithm'] : []),
        ...checkIgnored,
      ],
      timings: { loadSeconds, calibrateSeconds, checkSeconds, exportSeconds, totalSeconds },
    };
  },
});

/** `--model` as a folder on disk, when it is one (a hub id is not). */
async function localFolder(model: string): Promise<string | undefined> {
  const stats = await stat(model).catch(() => undefined);
  return stats?.isDirectory() ? path.resolve(model) : undefined;
}
