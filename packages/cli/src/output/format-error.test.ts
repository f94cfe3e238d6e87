import { FileFormatError, InvalidArgumentError, PtqError } from '@ptq/errors';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../cli-errors';
import { EXIT_FAILURE, EXIT_USAGE, formatError } from './format-error';

describe('formatError', () => {
  test.each([
    [
      new UsageError('--seed must be a non-negative integer, got "x"'),
      EXIT_USAGE,
      'ptq: --seed must be a non-negative integer, got "x"\n',
    ],
    [
      new FileFormatError('PTQ_X', '/m/config.json', 'field "n_layer": missing'),
      EXIT_FAILURE,
      'ptq: /m/config.json: field "n_layer": missing\n',
    ],
    [
      new InvalidArgumentError('numSamples', 'must be a positive integer, got 0'),
      EXIT_FAILURE,
      'ptq: Invalid argument "numSamples": must be a positive integer, got 0\n',
    ],
    [new PtqError('PTQ_X', 'ptq: already prefixed'), EXIT_FAILURE, 'ptq: already prefixed\n'],
    [
      new TypeError('Cannot read properties of undefined'),
      EXIT_FAILURE,
      'ptq: unexpected error: Cannot read properties of undefined\n',
    ],
    ['a thrown string', EXIT_FAILURE, 'ptq: unexpected error: a thrown string\n'],
  ])('%s', (error, exitCode, text) => {
    expect(formatError(error, false)).toEqual({ exitCode, text });
  });

  test('a multi-line message is cut to its first line, with a pointer to --verbose', () => {
    const error = new PtqError('PTQ_STATE_DICT', 'state dict does not fit (2 problems):\n  - a\n  - b');
    expect(formatError(error, false).text).toBe(
      'ptq: state dict does not fit (2 problems): (more with --verbose)\n',
    );
  });

  test('verbose: the line, then the stack, then each cause', () => {
    const cause = new Error('disk full');
    const error = new PtqError('PTQ_X', 'could not write', { cause });
    const lines = formatError(error, true).text.split('\n');
    expect(lines[0]).toBe('ptq: could not write');
    expect(lines[1]).toBe('PtqError: could not write');
    expect(lines).toContain('caused by: Error: disk full');
  });

  test('a usage error from another copy of the package is still a usage error (by code)', () => {
    const foreign = Object.assign(new PtqError('PTQ_CLI_USAGE', '--x is wrong'), {});
    expect(formatError(foreign, false).exitCode).toBe(EXIT_USAGE);
  });
});
