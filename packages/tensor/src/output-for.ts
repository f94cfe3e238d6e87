import { InvalidArgumentError } from '@ptq/errors';

interface ArrayLike {
  readonly length: number;
}

/** Returns `output` when given and as long as the input, or a fresh array made by `allocate`. */
export function outputFor<T extends ArrayLike>(
  output: T | undefined,
  length: number,
  allocate: (length: number) => T,
): T {
  if (output === undefined) {
    return allocate(length);
  }
  if (output.length !== length) {
    throw new InvalidArgumentError('output', `must have the input's length ${length}, got ${output.length}`);
  }
  return output;
}
