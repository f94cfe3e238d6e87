import { PtqError, type PtqErrorOptions } from '@ptq/errors';

/**
 * The command line itself is wrong: an unknown command or flag, a missing or malformed value. The
 * message reads as the one line the user sees after `ptq: `; `ptq` exits with code 2.
 */
export class UsageError extends PtqError {
  constructor(message: string, options: PtqErrorOptions = {}) {
    super('PTQ_CLI_USAGE', message, options);
  }
}

/** `--out` cannot be written: its parent is missing, not a folder or not writable, or it already exists. */
export class OutputPathError extends PtqError {
  readonly path: string;

  constructor(path: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_CLI_OUTPUT_PATH', `--out ${path}: ${message}`, options);
    this.path = path;
  }
}

/** A folder `ptq` recognizes but cannot run a command on (an export format the command does not read). */
export class UnsupportedModelError extends PtqError {
  readonly location: string;

  constructor(location: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_CLI_UNSUPPORTED_MODEL', `${location}: ${message}`, options);
    this.location = location;
  }
}
