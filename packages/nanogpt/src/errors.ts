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
