import { FileFormatError, PtqError, type PtqErrorOptions, summarizeNames } from '@ptq/errors';

/** `config.json` is not a GPT-2 config, lacks a field, or asks for a variant this package cannot run. */
export class ConfigError extends FileFormatError {
  readonly field: string;

  constructor(file: string, field: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_HF_GPT2_CONFIG', file, `field "${field}": ${message}`, options);
    this.field = field;
  }
}

export interface MissingWeightsDetails {
  /** How many tensors are missing in all, when `missing` lists only the first of them. */
  readonly missingCount?: number;
  /** Why they are needed, when the config decides it (`tie_word_embeddings`, `n_layer`). */
  readonly note?: string;
}

// Names shown in the message; a config claiming 100,000 layers must not print a million names.
const LISTED_NAMES = 5;

/**
 * The checkpoint lacks parameters the config needs. `missing` holds the first of them (all when few);
 * `missingCount` counts them all; the message lists the first few and the count of the rest.
 */
export class MissingWeightsError extends FileFormatError {
  readonly missing: readonly string[];
  readonly missingCount: number;

  constructor(
    file: string,
    missing: readonly string[],
    details: MissingWeightsDetails = {},
    options: PtqErrorOptions = {},
  ) {
    const missingCount = details.missingCount ?? missing.length;
    const listed =
      missingCount === missing.length
        ? summarizeNames(missing, LISTED_NAMES)
        : `${summarizeNames(missing.slice(0, LISTED_NAMES), LISTED_NAMES)} and ${missingCount - Math.min(missing.length, LISTED_NAMES)} more`;
    super(
      'PTQ_HF_GPT2_MISSING_WEIGHTS',
      file,
      `${missingCount} tensor(s) missing from the checkpoint: ${listed}` +
        (details.note === undefined ? '' : ` (${details.note})`),
      options,
    );
    this.missing = [...missing];
    this.missingCount = missingCount;
  }
}

/**
 * The checkpoint holds tensors a GPT2LMHeadModel has no place for (pass `strict: false` to ignore
 * them). `unexpected` lists them all; the message the first few.
 */
export class UnexpectedWeightsError extends FileFormatError {
  readonly unexpected: readonly string[];

  constructor(file: string, unexpected: readonly string[], options: PtqErrorOptions = {}) {
    super(
      'PTQ_HF_GPT2_UNEXPECTED_WEIGHTS',
      file,
      `${unexpected.length} unexpected tensor(s) in the checkpoint (pass strict: false to ignore): ${summarizeNames(unexpected)}`,
      options,
    );
    this.unexpected = [...unexpected];
  }
}

/** A checkpoint tensor's shape disagrees with the shape the config implies. */
export class ShapeMismatchError extends FileFormatError {
  readonly tensor: string;
  readonly expected: readonly number[];
  readonly found: readonly number[];

  constructor(
    file: string,
    tensor: string,
    expected: readonly number[],
    found: readonly number[],
    options: PtqErrorOptions = {},
  ) {
    super(
      'PTQ_HF_GPT2_SHAPE',
      file,
      `tensor "${tensor}" has shape [${found.join(', ')}], the config implies [${expected.join(', ')}]`,
      options,
    );
    this.tensor = tensor;
    this.expected = [...expected];
    this.found = [...found];
  }
}

/** A checkpoint tensor is stored in a dtype this loader does not read as a float weight. */
export class WeightDtypeError extends FileFormatError {
  readonly tensor: string;
  readonly dtype: string;

  constructor(file: string, tensor: string, dtype: string, options: PtqErrorOptions = {}) {
    super(
      'PTQ_HF_GPT2_WEIGHT_DTYPE',
      file,
      `tensor "${tensor}" is stored as ${dtype}; only float32, float16 and bfloat16 weights are supported`,
      options,
    );
    this.tensor = tensor;
    this.dtype = dtype;
  }
}

/** A checkpoint tensor holds NaN or an infinity: every output computed from it would be meaningless. */
export class NonFiniteWeightError extends FileFormatError {
  readonly tensor: string;
  /** Flat (row-major) index of the first non-finite element. */
  readonly element: number;
  readonly value: 'NaN' | '+Inf' | '-Inf';

  constructor(
    file: string,
    tensor: string,
    value: 'NaN' | '+Inf' | '-Inf',
    element: number,
    position: string,
    options: PtqErrorOptions = {},
  ) {
    super(
      'PTQ_HF_GPT2_NON_FINITE_WEIGHT',
      file,
      `tensor "${tensor}" has ${value} at element ${element}${position}`,
      options,
    );
    this.tensor = tensor;
    this.element = element;
    this.value = value;
  }
}

/**
 * The tokenizer does not fit the model: ids past the embedding, an empty vocabulary, or a special
 * token (from config.json or tokenizer_config.json) the vocabulary does not hold.
 */
export class TokenizerMismatchError extends FileFormatError {
  constructor(file: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_HF_GPT2_TOKENIZER_MISMATCH', file, message, options);
  }
}

/** The model folder has no tokenizer that `@huggingface/transformers` can load. */
export class MissingTokenizerError extends PtqError {
  readonly folder: string;
  readonly lookedFor: readonly string[];

  constructor(folder: string, lookedFor: readonly string[], detail: string, options: PtqErrorOptions = {}) {
    super(
      'PTQ_HF_GPT2_TOKENIZER',
      `${folder}: no usable tokenizer (looked for ${lookedFor.join(', ')}): ${detail}`,
      options,
    );
    this.folder = folder;
    this.lookedFor = [...lookedFor];
  }
}

/** `loadHfGpt2` got a path that is neither a model folder nor a Hugging Face repo id. */
export class ModelNotFoundError extends PtqError {
  readonly location: string;

  constructor(location: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_HF_GPT2_NOT_FOUND', `${location}: ${message}`, options);
    this.location = location;
  }
}

/** A linear's path in the module tree holds something that does not implement `GraphLinear`. */
export class NotGraphLinearError extends PtqError {
  readonly path: string;

  constructor(path: string, found: string, options: PtqErrorOptions = {}) {
    super(
      'PTQ_HF_GPT2_NOT_LINEAR',
      `module "${path}" is ${found}, which does not implement GraphLinear (inFeatures, outFeatures, graphWeight)`,
      options,
    );
    this.path = path;
  }
}
