const MARKER = 'ptq.error';
const SYMBOL = Symbol.for(MARKER);

export interface PtqErrorOptions {
  /** What caused this error, kept for `--verbose` output and debugging. */
  cause?: unknown;
}

/**
 * Base class of every error ptq throws on purpose. The `Symbol.for` marker makes `isInstance` work
 * across duplicated copies of this package (two versions in one `node_modules`), where `instanceof`
 * would not.
 */
export class PtqError extends Error {
  protected readonly [SYMBOL] = true;

  /** Stable, machine-readable error code, e.g. `PTQ_SAFETENSORS_FORMAT`. */
  readonly code: string;

  constructor(code: string, message: string, options: PtqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }

  static isInstance(error: unknown): error is PtqError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[SYMBOL] === true;
  }
}

/** A caller passed an argument outside its documented range or type. */
export class InvalidArgumentError extends PtqError {
  readonly argument: string;

  constructor(argument: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_INVALID_ARGUMENT', `Invalid argument "${argument}": ${message}`, options);
    this.argument = argument;
  }
}

/** A file is missing, unreadable, or its content breaks its format. Names the file. */
export class FileFormatError extends PtqError {
  readonly file: string;

  constructor(code: string, file: string, message: string, options: PtqErrorOptions = {}) {
    super(code, `${file}: ${message}`, options);
    this.file = file;
  }
}
