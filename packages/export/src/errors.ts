import { FileFormatError, PtqError, type PtqErrorCode, type PtqErrorOptions } from '@ptq/errors';

/**
 * The export folder exists and was not replaced: it holds an earlier ptq output and `overwrite` was
 * not given (or, as `ExportTargetProtectedError`, it is a folder ptq never replaces).
 */
export class ExportTargetExistsError extends PtqError {
  readonly path: string;

  constructor(
    path: string,
    options: PtqErrorOptions = {},
    refusal: { readonly code: PtqErrorCode; readonly message: string } = {
      code: 'PTQ_EXPORT_TARGET_EXISTS',
      message: 'already holds an earlier ptq output; pass overwrite: true to replace it',
    },
  ) {
    super(refusal.code, `${path}: ${refusal.message}`, options);
    this.path = path;
  }
}

/**
 * The export folder is one ptq never replaces, overwrite or not: the working folder or one holding
 * it, the model's own folder (or one inside or around it), a link, or a folder holding files ptq
 * did not write.
 */
export class ExportTargetProtectedError extends ExportTargetExistsError {
  readonly reason: string;

  constructor(path: string, reason: string, options: PtqErrorOptions = {}) {
    super(path, options, {
      code: 'PTQ_EXPORT_TARGET_PROTECTED',
      message: `${reason}; choose another output folder`,
    });
    this.reason = reason;
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
