import { FileFormatError, PtqError, type PtqErrorOptions } from '@ptq/errors';

/** `config.json` is not a GPT-2 config, lacks a field, or asks for a variant this package cannot run. */
export class ConfigError extends FileFormatError {
  readonly field: string;

  constructor(file: string, field: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_HF_GPT2_CONFIG', file, `field "${field}": ${message}`, options);
    this.field = field;
  }
}

/** The checkpoint lacks parameters the config needs; lists every missing name at once. */
export class MissingWeightsError extends FileFormatError {
  readonly missing: readonly string[];

  constructor(file: string, missing: readonly string[], options: PtqErrorOptions = {}) {
    super(
      'PTQ_HF_GPT2_MISSING_WEIGHTS',
      file,
      `${missing.length} tensor(s) missing from the checkpoint: ${missing.join(', ')}`,
      options,
    );
    this.missing = [...missing];
  }
}

/** The checkpoint holds tensors a GPT2LMHeadModel has no place for (pass `strict: false` to ignore them). */
export class UnexpectedWeightsError extends FileFormatError {
  readonly unexpected: readonly string[];

  constructor(file: string, unexpected: readonly string[], options: PtqErrorOptions = {}) {
    super(
      'PTQ_HF_GPT2_UNEXPECTED_WEIGHTS',
      file,
      `${unexpected.length} unexpected tensor(s) in the checkpoint (pass strict: false to ignore): ${unexpected.join(', ')}`,
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
