import { InvalidArgumentError } from '@ptq/errors';
import {
  type CalibrationModel,
  DEVICES,
  type Device,
  type ForwardLoop as PlainForwardLoop,
} from '@ptq/types';
import {
  buildBatches,
  type CalibrationBatch,
  type CalibrationTokenizer,
  padTokenIdOf,
  tokenizeTexts,
} from './calibration-batches';
import { NotEnoughSamplesError } from './calibration-errors';
import {
  type CalibrationTextSource,
  type LoadCalibrationTextsOptions,
  loadCalibrationTexts,
} from './load-calibration-texts';

// Defined once in @ptq/types; exported here too, where it always was.
export type { CalibrationModel };

/** Where the model runs. Batches are host tensors either way; the model's session uploads them. */
export type CalibrationDevice = Device;

export const CALIBRATION_DEVICES: readonly CalibrationDevice[] = DEVICES;

export interface CalibrationProgress {
  /** Batches done (1-based count). */
  batch: number;
  batches: number;
  /** Samples done. */
  samples: number;
  totalSamples: number;
  /** Real (unpadded) tokens done. */
  tokens: number;
}

export interface CreateForwardLoopOptions extends Omit<LoadCalibrationTextsOptions, 'numSamples'> {
  /**
   * Tokens kept per sample (the first ones). More than the model's `config.n_positions` is an
   * error, except the default, which is capped there (see `resolveMaxSampleLength`). @default 512
   */
  maxSampleLength?: number;
  /** Called after each batch's forward. */
  onProgress?: (progress: CalibrationProgress) => void;
}

/**
 * What `createForwardLoop` returns: a forward loop (`forwardLoop(model)` runs every batch through
 * `model.forward`, in order, one at a time) that also describes the dataset batches it feeds.
 */
export interface DatasetForwardLoop extends PlainForwardLoop {
  readonly device: CalibrationDevice;
  readonly batches: readonly CalibrationBatch[];
  readonly sampleCount: number;
  /** Real (unpadded) tokens over all batches. */
  readonly tokenCount: number;
  /** Tokens kept per sample, as used: the default capped at the model's `config.n_positions`. */
  readonly maxSampleLength: number;
  readonly source: CalibrationTextSource;
  readonly description: string;
}

/** @deprecated Use `DatasetForwardLoop`; `ForwardLoop` of `@ptq/types` names the plain loop. */
export type ForwardLoop = DatasetForwardLoop;

export const DEFAULT_MAX_SAMPLE_LENGTH = 512;

function checkPositiveInteger(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(argument, `must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** `config.n_positions` of a GPT-2-like model, when it exposes one. */
function maxPositionsOf(model: unknown): number | undefined {
  if (typeof model !== 'object' || model === null) return undefined;
  const config = (model as { config?: unknown }).config;
  if (typeof config !== 'object' || config === null) return undefined;
  const positions = (config as { n_positions?: unknown }).n_positions;
  return typeof positions === 'number' && Number.isSafeInteger(positions) && positions > 0
    ? positions
    : undefined;
}

/**
 * The tokens kept per sample for `model`: `requested`, or the default (512) capped at the model's
 * `config.n_positions`. A value the caller chose above `n_positions` is refused, not capped, so what
 * is reported is what is used.
 */
export function resolveMaxSampleLength(model: unknown, requested?: number): number {
  return capSampleLength(maxPositionsOf(model), requested);
}

function capSampleLength(maxPositions: number | undefined, requested: number | undefined): number {
  const value = checkPositiveInteger('maxSampleLength', requested ?? DEFAULT_MAX_SAMPLE_LENGTH);
  if (maxPositions === undefined || value <= maxPositions) return value;
  if (value === DEFAULT_MAX_SAMPLE_LENGTH) return maxPositions;
  throw new InvalidArgumentError(
    'maxSampleLength',
    `is ${value}, more than the model's ${maxPositions} positions (config.n_positions); use at most ${maxPositions}`,
  );
}

/** What `createForwardLoop` takes: the texts, how to tokenize and batch them, and where they come from. */
export interface ForwardLoopParameters extends CreateForwardLoopOptions {
  /** A dataset name (`cnn_dailymail`), a path to a dataset file, or the texts themselves. */
  readonly dataset: string | readonly string[];
  /** Any tokenizer with `encode(text)` (a transformers.js tokenizer); EOS pads. */
  readonly tokenizer: CalibrationTokenizer;
  /** Samples per forward. */
  readonly batchSize: number;
  /** The first `numSamples` texts of the dataset are used. */
  readonly numSamples: number;
  /**
   * The model's position count (`config.n_positions`): the default `maxSampleLength` is capped
   * there, and a larger one chosen is refused.
   */
  readonly maxPositions?: number;
  /** Reported as `forwardLoop.device`; batches are host tensors either way. @default 'auto' */
  readonly device?: CalibrationDevice;
}

/**
 * Loads the first `numSamples` texts of `dataset` (a name, a path, or the texts themselves), tokenizes
 * them once, and returns a loop that feeds them, `batchSize` at a time and left-padded with EOS, with
 * an attention mask, to the model passed to the loop.
 */
export function createForwardLoop(parameters: ForwardLoopParameters): Promise<DatasetForwardLoop>;
/**
 * The seed's shape, `create_forward_loop(model, dataset_name, tokenizer, device, batch_size,
 * num_samples)`, kept for code ported from it: `model` here only bounds the sample length by its
 * `config.n_positions` (`maxPositions` of the object form), and `device` is only reported. Same as
 * `createForwardLoop({ dataset: datasetName, tokenizer, device, batchSize, numSamples, ...options })`.
 */
export function createForwardLoop(
  model: unknown,
  datasetName: string | readonly string[],
  tokenizer: CalibrationTokenizer,
  device: CalibrationDevice,
  batchSize: number,
  numSamples: number,
  options?: CreateForwardLoopOptions,
): Promise<DatasetForwardLoop>;
export async function createForwardLoop(
  first: unknown,
  ...rest: readonly unknown[]
): Promise<DatasetForwardLoop> {
  if (rest.length === 0) {
    if (typeof first !== 'object' || first === null || !('dataset' in first)) {
      throw new InvalidArgumentError(
        'parameters',
        'must be an object with dataset, tokenizer, batchSize and numSamples',
      );
    }
    const { dataset, tokenizer, batchSize, numSamples, maxPositions, device, ...options } =
      first as ForwardLoopParameters;
    if (maxPositions !== undefined) checkPositiveInteger('maxPositions', maxPositions);
    return buildForwardLoop(
      { dataset, tokenizer, device: device ?? 'auto', batchSize, numSamples, maxPositions, options },
      'dataset',
    );
  }
  const [datasetName, tokenizer, device, batchSize, numSamples, options = {}] = rest as [
    string | readonly string[],
    CalibrationTokenizer,
    CalibrationDevice,
    number,
    number,
    CreateForwardLoopOptions?,
  ];
  return buildForwardLoop(
    {
      dataset: datasetName,
      tokenizer,
      device,
      batchSize,
      numSamples,
      maxPositions: maxPositionsOf(first),
      options,
    },
    'datasetName',
  );
}

interface ResolvedParameters {
  readonly dataset: string | readonly string[];
  readonly tokenizer: CalibrationTokenizer;
  readonly device: CalibrationDevice;
  readonly batchSize: number;
  readonly numSamples: number;
  readonly maxPositions: number | undefined;
  readonly options: CreateForwardLoopOptions;
}

async function buildForwardLoop(
  parameters: ResolvedParameters,
  datasetArgument: string,
): Promise<DatasetForwardLoop> {
  const { dataset, tokenizer, device, batchSize, numSamples, maxPositions, options } = parameters;
  checkPositiveInteger('batchSize', batchSize);
  checkPositiveInteger('numSamples', numSamples);
  if (!CALIBRATION_DEVICES.includes(device)) {
    throw new InvalidArgumentError(
      'device',
      `must be one of ${CALIBRATION_DEVICES.map((name) => `"${name}"`).join(', ')}, got ${JSON.stringify(device)}`,
    );
  }
  const maxSampleLength = capSampleLength(maxPositions, options.maxSampleLength);
  if (typeof tokenizer?.encode !== 'function') {
    throw new InvalidArgumentError(
      'tokenizer',
      'must have an encode(text) method (a transformers.js tokenizer)',
    );
  }
  const padTokenId = padTokenIdOf(tokenizer);

  const { maxSampleLength: _, onProgress, ...loadOptions } = options;
  const { texts, source, description } = await loadTexts(dataset, numSamples, loadOptions, datasetArgument);
  const samples = tokenizeTexts(texts, tokenizer, maxSampleLength, description);
  const batches = Object.freeze(buildBatches(samples, batchSize, padTokenId));
  const tokenCount = batches.reduce((sum, batch) => sum + batch.tokenCount, 0);

  const forwardLoop = async (target: CalibrationModel): Promise<void> => {
    if (typeof target?.forward !== 'function') {
      throw new InvalidArgumentError(
        'model',
        'the forward loop needs a model with a forward(inputIds, attentionMask) method',
      );
    }
    let samplesDone = 0;
    let tokensDone = 0;
    for (const [index, batch] of batches.entries()) {
      await target.forward(batch.inputIds, batch.attentionMask);
      samplesDone += batch.sampleCount;
      tokensDone += batch.tokenCount;
      onProgress?.({
        batch: index + 1,
        batches: batches.length,
        samples: samplesDone,
        totalSamples: samples.length,
        tokens: tokensDone,
      });
    }
  };
  return Object.freeze(
    Object.assign(forwardLoop, {
      device,
      batches,
      sampleCount: samples.length,
      tokenCount,
      maxSampleLength,
      source,
      description,
    }),
  );
}

async function loadTexts(
  datasetName: string | readonly string[],
  numSamples: number,
  options: Omit<LoadCalibrationTextsOptions, 'numSamples'>,
  datasetArgument: string,
): Promise<{ texts: string[]; source: CalibrationTextSource; description: string }> {
  if (typeof datasetName === 'string') return loadCalibrationTexts(datasetName, { ...options, numSamples });
  if (!Array.isArray(datasetName) || datasetName.some((text) => typeof text !== 'string')) {
    throw new InvalidArgumentError(datasetArgument, 'must be a dataset name, a path, or an array of texts');
  }
  const description = 'the array of texts passed in';
  if (datasetName.length < numSamples)
    throw new NotEnoughSamplesError(description, numSamples, datasetName.length);
  return { texts: datasetName.slice(0, numSamples), source: 'local', description };
}
