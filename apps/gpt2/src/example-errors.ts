import { PtqError, type PtqErrorOptions } from '@ptq/errors';

/** A flag of the example is unknown, missing its value, or out of range; it exits with code 2. */
export class ExampleUsageError extends PtqError {
  constructor(message: string, options: PtqErrorOptions = {}) {
    super('PTQ_GPT2_APP_USAGE', message, options);
  }
}
