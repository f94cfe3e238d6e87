const MODULE_MARKER = Symbol.for('ptq.module');

/**
 * Base class of the objects ptq addresses by dotted path: the Hugging Face model, its layers,
 * quantized linears, quantizers and the runtime model all extend it.
 *
 * Arrays and `Map`s are not modules; they are the containers that play the part of PyTorch's
 * `ModuleList` and `ModuleDict`.
 */
export class Module {
  /**
   * Read by `isModule`. A prototype getter rather than an instance field, so a copy made with
   * object spread (`{ ...module }`) is a plain record, not a module.
   */
  protected get [MODULE_MARKER](): true {
    return true;
  }

  /** Name of the layer kind in messages and listings; subclasses may override it. */
  get moduleType(): string {
    return this.constructor.name;
  }

  /**
   * Whether `value` is a `Module`. Checks a `Symbol.for('ptq.module')` marker rather than
   * `instanceof`, so modules built from another copy of this package are recognised too.
   */
  static isModule(value: unknown): value is Module {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[MODULE_MARKER] === true
    );
  }
}
