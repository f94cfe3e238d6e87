import { PtqError, type PtqErrorOptions } from '@ptq/errors';

/** One reason a state dict does not fit the model. */
export interface StateDictProblem {
  readonly kind: 'unexpected' | 'missing' | 'shape' | 'dtype' | 'invalid';
  readonly key: string;
  /** The full sentence shown in the error message. */
  readonly message: string;
}

/** A state dict that does not fit the model; `problems` lists every unknown, missing and mismatched key. */
export class StateDictError extends PtqError {
  readonly problems: readonly StateDictProblem[];

  constructor(problems: readonly StateDictProblem[], options: PtqErrorOptions = {}) {
    const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
    super(
      'PTQ_STATE_DICT',
      `state dict does not fit the GPT model (${count}):\n${problems.map((problem) => `  - ${problem.message}`).join('\n')}`,
      options,
    );
    this.problems = problems;
  }
}

/** A weight or scale whose values cannot be compiled: NaN, ±Inf, or a negative scale. */
export class WeightValueError extends PtqError {
  readonly parameter: string;

  constructor(parameter: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_WEIGHT_VALUE', `${parameter}: ${message}`, options);
    this.parameter = parameter;
  }
}

/**
 * The kernels' device reported errors while running work (a validation error, memory it could not
 * allocate): what it computed cannot be trusted. `messages` are Dawn's, first ones first.
 */
export class KernelDeviceError extends PtqError {
  readonly work: string;
  readonly messages: readonly string[];

  constructor(work: string, messages: readonly string[], options: PtqErrorOptions = {}) {
    const shown = messages.slice(0, 3).map((message) => `  - ${message.split('\n')[0]}`);
    const more = messages.length > 3 ? [`  (and ${messages.length - 3} more)`] : [];
    super(
      'PTQ_KERNEL_DEVICE',
      `the kernels' device reported ${messages.length} error${messages.length === 1 ? '' : 's'} during ${work}:\n${[...shown, ...more].join('\n')}`,
      options,
    );
    this.work = work;
    this.messages = messages;
  }
}
