import { PtqError, type PtqErrorOptions } from '@ptq/errors';

/**
 * A module path does not lead anywhere in a module tree. The message starts with the full path in
 * quotes and names the failing segment, the container it was looked up in and what was there.
 */
export class ModulePathError extends PtqError {
  /** The full path that was asked for, e.g. `transformer.h.12.attn`. */
  readonly path: string;
  /** The segment that could not be resolved (empty for an empty segment or the root). */
  readonly segment: string;

  constructor(path: string, segment: string, detail: string, options: PtqErrorOptions = {}) {
    super('PTQ_MODULE_PATH', `"${path}": ${detail}`, options);
    this.path = path;
    this.segment = segment;
  }
}
