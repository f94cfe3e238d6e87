import { FileFormatError, PtqError, type PtqErrorOptions } from '@ptq/errors';

/** The export folder already exists and is not empty, and `overwrite` was not given. */
export class ExportTargetExistsError extends PtqError {
  readonly path: string;

  constructor(path: string, options: PtqErrorOptions = {}) {
    super(
      'PTQ_EXPORT_TARGET_EXISTS',
      `${path}: already exists and is not empty; pass overwrite: true to replace it`,
      options,
    );
    this.path = path;
  }
}

/** Writing or renaming the export folder failed; nothing was left at the target. */
export class ExportWriteError extends PtqError {
  readonly path: string;

  constructor(path: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_EXPORT_WRITE', `${path}: ${message}`, options);
    this.path = path;
  }
}

/** The model's quantization has no counterpart in the requested export format. */
export class UnsupportedExportError extends PtqError {
  constructor(message: string, options: PtqErrorOptions = {}) {
    super('PTQ_EXPORT_UNSUPPORTED', message, options);
  }
}

/** A folder is not a ModelOpt unified HF checkpoint: no `hf_quant_config.json` and no modelopt `quantization_config`. */
export class NotModelOptCheckpointError extends FileFormatError {
  constructor(file: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_MODELOPT_CHECKPOINT', file, message, options);
  }
}

/** A ModelOpt checkpoint names a `quant_algo` ptq does not read. */
export class UnknownQuantAlgoError extends FileFormatError {
  readonly quantAlgo: unknown;

  constructor(file: string, quantAlgo: unknown, supported: readonly string[], options: PtqErrorOptions = {}) {
    super(
      'PTQ_MODELOPT_QUANT_ALGO',
      file,
      `field "quant_algo" is ${JSON.stringify(quantAlgo)}; ptq reads ${supported.join(', ')}`,
      options,
    );
    this.quantAlgo = quantAlgo;
  }
}

/** A checkpoint tensor is missing, or has a dtype or shape its quantization format does not allow. */
export class CheckpointTensorError extends FileFormatError {
  readonly tensor: string;

  constructor(file: string, tensor: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_MODELOPT_TENSOR', file, `tensor "${tensor}" ${message}`, options);
    this.tensor = tensor;
  }
}

/** A folder holds none of the exports ptq reads. */
export class UnknownExportError extends FileFormatError {
  constructor(file: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_EXPORT_UNKNOWN', file, message, options);
  }
}
