import { InvalidArgumentError, PtqError } from '@ptq/errors';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModulePathError } from './module-path-error';
import { isAddressableName, joinModulePath, parseListIndex, splitModulePath } from './split-module-path';

const DOTS_MESSAGE =
  'a module path is dot-separated names such as "transformer.h.0.attn", with no leading, trailing or doubled dots';

describe('splitModulePath', () => {
  it('splits on dots and maps the empty path to no segments', () => {
    expect(splitModulePath('')).toEqual([]);
    expect(splitModulePath('lm_head')).toEqual(['lm_head']);
    expect(splitModulePath('transformer.h.0.attn.c_attn')).toEqual([
      'transformer',
      'h',
      '0',
      'attn',
      'c_attn',
    ]);
    expect(splitModulePath(' a . b ')).toEqual([' a ', ' b ']);
  });

  it.each([
    ['transformer..h', 2, 3],
    ['.transformer', 1, 2],
    ['transformer.', 2, 2],
    ['.', 1, 2],
    ['a.b..', 3, 4],
  ])('rejects the empty segment in %j (segment %i of %i)', (path, position, count) => {
    const error = catchError(() => splitModulePath(path));
    expect(error).toBeInstanceOf(ModulePathError);
    expect(PtqError.isInstance(error)).toBe(true);
    expect((error as ModulePathError).code).toBe('PTQ_MODULE_PATH');
    expect((error as ModulePathError).path).toBe(path);
    expect((error as ModulePathError).segment).toBe('');
    expect((error as Error).message).toBe(
      `"${path}": segment ${position} of ${count} is empty; ${DOTS_MESSAGE}`,
    );
  });

  it('rejects a path that is not a string', () => {
    const error = catchError(() => splitModulePath(3 as unknown as string));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe('Invalid argument "path": must be a string, got the number 3');
  });

  it('round-trips any list of non-empty, dot-free names', () => {
    const name = fc.string({ minLength: 1 }).filter((text) => !text.includes('.'));
    fc.assert(
      fc.property(fc.array(name, { minLength: 1 }), (names) => {
        expect(splitModulePath(names.join('.'))).toEqual(names);
      }),
    );
  });
});

describe('parseListIndex', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['9', 9],
    ['10', 10],
    ['11', 11],
    ['1234567', 1234567],
  ])('reads %j as %i', (segment, index) => {
    expect(parseListIndex(segment)).toBe(index);
  });

  it.each([
    '',
    '00',
    '01',
    '-1',
    '-0',
    '+1',
    '1.5',
    ' 1',
    '1 ',
    '1e0',
    '0x1',
    '0b1',
    'Infinity',
    'NaN',
    'one',
    '١',
  ])('refuses %j', (segment) => {
    expect(parseListIndex(segment)).toBeUndefined();
  });

  it('accepts exactly the decimal spelling String(n) of non-negative integers', () => {
    fc.assert(
      fc.property(fc.nat(), (index) => {
        expect(parseListIndex(String(index))).toBe(index);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (segment) => {
        const index = parseListIndex(segment);
        if (index !== undefined) {
          expect(String(index)).toBe(segment);
        }
      }),
    );
  });
});

describe('joinModulePath and isAddressableName', () => {
  it('joins like PyTorch prefixes', () => {
    expect(joinModulePath('', 'transformer')).toBe('transformer');
    expect(joinModulePath('transformer.h', '0')).toBe('transformer.h.0');
  });

  it('accepts only names that are one non-empty segment', () => {
    expect(isAddressableName('c_attn')).toBe(true);
    expect(isAddressableName('0')).toBe(true);
    expect(isAddressableName('')).toBe(false);
    expect(isAddressableName('a.b')).toBe(false);
  });
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
