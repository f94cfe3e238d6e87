import type { PtqErrorCode } from './error-codes';

const MARKER = 'ptq.error';
const SYMBOL = Symbol.for(MARKER);
// The names of the classes an error was built from (its own first), so that each subclass's
// `isInstance` works across copies of a package too, where `instanceof` would not.
const CLASSES = Symbol.for('ptq.error.classes');

export interface PtqErrorOptions {
  /** What caused this error, kept for `--verbose` output and debugging. */
  cause?: unknown;
}

/** The class names from `errorClass` up to and including `PtqError` (of whichever copy). */
function classNames(errorClass: abstract new (...args: never[]) => unknown): readonly string[] {
  const names: string[] = [];
  for (
    let current: unknown = errorClass;
    typeof current === 'function' && current !== Error;
    current = Object.getPrototypeOf(current)
  ) {
    names.push((current as { name: string }).name);
  }
  return names;
}

/**
 * Base class of every error ptq throws on purpose. The `Symbol.for` marker makes `isInstance` work
 * across duplicated copies of this package (two versions in one `node_modules`), where `instanceof`
 * would not.
 */
export class PtqError extends Error {
  protected readonly [SYMBOL] = true;

  /** Stable, machine-readable error code, e.g. `PTQ_SAFETENSORS_FORMAT`. */
  readonly code: PtqErrorCode;

  constructor(code: PtqErrorCode, message: string, options: PtqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    Object.defineProperty(this, CLASSES, { value: classNames(new.target), enumerable: false });
  }

  /**
   * Whether `error` is an error of this class or of a subclass, also when it comes from another copy
   * of the package that defines the class: `SafetensorsFormatError.isInstance(error)` narrows
   * `error` to `SafetensorsFormatError`. On `PtqError` itself, any error carrying ptq's marker.
   */
  static isInstance<T extends PtqError>(
    this: abstract new (
      ...args: never[]
    ) => T,
    error: unknown,
  ): error is T {
    if (typeof error !== 'object' || error === null) return false;
    if ((error as Record<symbol, unknown>)[SYMBOL] !== true) return false;
    // `this` is the class `isInstance` was called on: the point of a static every subclass inherits.
    // biome-ignore lint/complexity/noThisInStatic: the class called on, not PtqError
    if ((this as unknown) === PtqError) return true;
    const names = (error as Record<symbol, unknown>)[CLASSES];
    // biome-ignore lint/complexity/noThisInStatic: the class called on, not PtqError
    return Array.isArray(names) && names.includes(this.name);
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

  constructor(code: PtqErrorCode, file: string, message: string, options: PtqErrorOptions = {}) {
    super(code, `${file}: ${message}`, options);
    this.file = file;
  }
}
