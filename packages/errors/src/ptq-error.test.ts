import { describe, expect, it } from 'vitest';
import { PTQ_ERROR_CODES, PTQ_TEST_ERROR_CODES, type PtqErrorCode } from './error-codes';
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

  it('gives each subclass its own isInstance: the class and its subclasses, never a sibling', () => {
    class LeafFormatError extends FileFormatError {
      constructor(file: string) {
        super('PTQ_SAFETENSORS_FORMAT', file, 'broken');
      }
    }
    const leaf = new LeafFormatError('a.bin');
    const argument = new InvalidArgumentError('x', 'bad');
    expect(LeafFormatError.isInstance(leaf)).toBe(true);
    expect(FileFormatError.isInstance(leaf)).toBe(true);
    expect(PtqError.isInstance(leaf)).toBe(true);
    expect(InvalidArgumentError.isInstance(leaf)).toBe(false);
    expect(InvalidArgumentError.isInstance(argument)).toBe(true);
    expect(FileFormatError.isInstance(argument)).toBe(false);
    expect(LeafFormatError.isInstance(new FileFormatError('PTQ_FORMAT', 'a.bin', 'broken'))).toBe(false);
    expect(InvalidArgumentError.isInstance(new Error('plain'))).toBe(false);
    expect(InvalidArgumentError.isInstance(undefined)).toBe(false);
    // `isInstance` narrows: `argument` is read below without a cast.
    const unknownError: unknown = argument;
    if (InvalidArgumentError.isInstance(unknownError)) expect(unknownError.argument).toBe('x');
  });

  it('recognises subclasses from another copy of the package by class name and marker', () => {
    // A second copy's classes: same names, a different `PtqError` at the root of the chain.
    class ForeignPtqError extends Error {
      constructor(message: string) {
        super(message);
        Object.assign(this, { [Symbol.for('ptq.error')]: true });
        Object.defineProperty(this, Symbol.for('ptq.error.classes'), {
          value: ['InvalidArgumentError', 'PtqError'],
        });
      }
    }
    const foreign = new ForeignPtqError('Invalid argument "x": bad');
    expect(foreign).not.toBeInstanceOf(InvalidArgumentError);
    expect(InvalidArgumentError.isInstance(foreign)).toBe(true);
    expect(FileFormatError.isInstance(foreign)).toBe(false);
    expect(PtqError.isInstance(foreign)).toBe(true);
    // Without the marker, the class names alone are not enough.
    const unmarked = Object.assign(new Error('x'), {});
    Object.defineProperty(unmarked, Symbol.for('ptq.error.classes'), { value: ['InvalidArgumentError'] });
    expect(InvalidArgumentError.isInstance(unmarked)).toBe(false);
  });

  it('keeps the class list out of enumeration', () => {
    const error = new InvalidArgumentError('x', 'bad');
    const descriptor = Object.getOwnPropertyDescriptor(error, Symbol.for('ptq.error.classes'));
    expect(descriptor?.value).toEqual(['InvalidArgumentError', 'PtqError']);
    expect(descriptor?.enumerable).toBe(false);
  });
});

describe('PtqErrorCode', () => {
  it('lists every code once, each PTQ_ and upper snake case, test placeholders apart', () => {
    const all: readonly PtqErrorCode[] = [...PTQ_ERROR_CODES, ...PTQ_TEST_ERROR_CODES];
    expect(new Set(all).size).toBe(all.length);
    for (const code of all) expect(code).toMatch(/^PTQ_[A-Z0-9]+(_[A-Z0-9]+)*$/);
    expect([...PTQ_ERROR_CODES]).toEqual([...PTQ_ERROR_CODES].sort());
    expect(PTQ_ERROR_CODES).toContain('PTQ_INVALID_ARGUMENT');
  });
});
