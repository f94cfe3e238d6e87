import { FileFormatError, PtqError, type PtqErrorOptions } from '@ptq/errors';
import { systemErrorSuffix } from '@ptq/files';

/** A safetensors file or index breaks the format: bad lengths, header JSON, dtypes, shapes or offsets. */
export class SafetensorsFormatError extends FileFormatError {
  constructor(file: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_SAFETENSORS_FORMAT', file, message, options);
  }
}

/** The operating system refused a read or write: missing file, no permission, disk full. */
export class SafetensorsIoError extends FileFormatError {
  constructor(file: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_SAFETENSORS_IO', file, message, options);
  }
}

/** A tensor name asked for is not in the file or checkpoint; lists the closest names it holds. */
export class MissingTensorError extends FileFormatError {
  readonly tensorName: string;
  readonly closeNames: readonly string[];

  constructor(file: string, tensorName: string, closeNames: readonly string[], tensorCount: number) {
    const hint =
      closeNames.length > 0
        ? `close names: ${closeNames.map((name) => JSON.stringify(name)).join(', ')}`
        : `none of its ${tensorCount} tensor names is close`;
    super('PTQ_SAFETENSORS_MISSING_TENSOR', file, `no tensor named ${JSON.stringify(tensorName)}; ${hint}`);
    this.tensorName = tensorName;
    this.closeNames = closeNames;
  }
}

/**
 * A dtype exists on one side but not the other: a safetensors dtype ptq has no tensor type for
 * (F64, F8_E5M2, I16, U16, U32, U64), or ptq's int4, which safetensors cannot hold.
 */
export class UnsupportedDTypeError extends PtqError {
  readonly dtype: string;
  readonly tensorName: string;

  constructor(dtype: string, tensorName: string, message: string) {
    super('PTQ_SAFETENSORS_UNSUPPORTED_DTYPE', message);
    this.dtype = dtype;
    this.tensorName = tensorName;
  }
}

/** A read was attempted after `close()`. */
export class SafetensorsClosedError extends PtqError {
  readonly file: string;

  constructor(file: string) {
    super('PTQ_SAFETENSORS_CLOSED', `${file}: the file was closed; open it again to read tensors`);
    this.file = file;
  }
}

/**
 * Passes ptq errors through and wraps anything else (an OS error from `fs`) in a
 * `SafetensorsIoError` that names the file, the action and the OS code.
 */
export function wrapIoError(file: string, action: string, cause: unknown): PtqError {
  if (PtqError.isInstance(cause)) return cause;
  return new SafetensorsIoError(file, `${action}${systemErrorSuffix(cause)}`, { cause });
}

/**
 * A checkpoint file changed after it was opened (another size, modification time or file): ptq
 * reads weights from it again while it works, and would mix two checkpoints.
 */
export class SafetensorsChangedError extends FileFormatError {
  constructor(file: string, what: string) {
    super(
      'PTQ_SAFETENSORS_CHANGED',
      file,
      `changed while ptq was reading weights from it (${what}); leave the checkpoint as it is until the command ends, then run it again`,
    );
  }
}
