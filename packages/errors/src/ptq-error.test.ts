import { describe, expect, it } from 'vitest';
import { FileFormatError, InvalidArgumentError, PtqError } from './ptq-error';

describe('PtqError', () => {
  it('carries code, name and cause', () => {
    const cause = new Error('inner');
    const error = new PtqError('PTQ_TEST', 'outer', { cause });
    expect(error.code).toBe('PTQ_TEST');
    expect(error.name).toBe('PtqError');
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
  });

  it('names subclasses after themselves and recognises them by marker', () => {
    const error = new InvalidArgumentError('batchSize', 'must be a positive integer, got 0');
    expect(error.name).toBe('InvalidArgumentError');
    expect(error.message).toBe('Invalid argument "batchSize": must be a positive integer, got 0');
    expect(PtqError.isInstance(error)).toBe(true);
    expect(PtqError.isInstance(new Error('plain'))).toBe(false);
    expect(PtqError.isInstance(null)).toBe(false);
    // A structurally identical object from another copy of the package is recognised too.
    const foreign = Object.assign(new Error('x'), { [Symbol.for('ptq.error')]: true });
    expect(PtqError.isInstance(foreign)).toBe(true);
  });

  it('prefixes file errors with the file', () => {
    const error = new FileFormatError('PTQ_FORMAT', 'model.safetensors', 'header is truncated');
    expect(error.message).toBe('model.safetensors: header is truncated');
    expect(error.file).toBe('model.safetensors');
  });
});
