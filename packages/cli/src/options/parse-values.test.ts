import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../cli-errors';
import {
  choiceParser,
  parseNonNegativeInteger,
  parseNonNegativeNumber,
  parsePositiveInteger,
  parseText,
} from './parse-values';

describe('parsePositiveInteger', () => {
  test.each([
    ['1', 1],
    ['64', 64],
    ['007', 7],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('%s → %d', (raw, value) => {
    expect(parsePositiveInteger(raw, '--calib-size')).toBe(value);
  });

  test.each([
    '0',
    '00',
    '-1',
    '+1',
    '1.5',
    '1.0',
    '1e3',
    '0x10',
    ' 3',
    '3 ',
    '',
    'abc',
    'Infinity',
    'NaN',
    '9007199254740992',
  ])('%j is refused with the flag and the text in one line', (raw) => {
    expect(() => parsePositiveInteger(raw, '--calib-size')).toThrow(
      new UsageError(`--calib-size must be a positive integer, got ${JSON.stringify(raw)}`),
    );
  });

  test('every safe integer ≥ 1 written in decimal reads back as itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (value) => {
        expect(parsePositiveInteger(String(value), '--n')).toBe(value);
      }),
    );
  });

  test('any text with a character other than a digit is refused', () => {
    fc.assert(
      fc.property(
        fc.string().filter((raw) => !/^\d+$/.test(raw)),
        (raw) => {
          expect(() => parsePositiveInteger(raw, '--n')).toThrow(UsageError);
        },
      ),
    );
  });
});

describe('parseNonNegativeInteger', () => {
  test('0 is a seed', () => {
    expect(parseNonNegativeInteger('0', '--seed')).toBe(0);
  });

  test.each(['-1', '1.5', 'x', ''])('%j is refused', (raw) => {
    expect(() => parseNonNegativeInteger(raw, '--seed')).toThrow(
      new UsageError(`--seed must be a non-negative integer, got ${JSON.stringify(raw)}`),
    );
  });
});

describe('parseNonNegativeNumber', () => {
  test.each([
    ['0', 0],
    ['0.8', 0.8],
    ['.5', 0.5],
    ['2.', 2],
    ['1e-3', 0.001],
    ['1.5E+2', 150],
  ])('%s → %d', (raw, value) => {
    expect(parseNonNegativeNumber(raw, '--temperature')).toBe(value);
  });

  test.each(['-0.5', '-0', '+1', 'abc', 'NaN', 'Infinity', '1e999', '', '.', '0x1', '1,5'])(
    '%j is refused',
    (raw) => {
      expect(() => parseNonNegativeNumber(raw, '--temperature')).toThrow(
        new UsageError(`--temperature must be a number >= 0, got ${JSON.stringify(raw)}`),
      );
    },
  );

  test('every finite number ≥ 0, as JavaScript prints it, reads back as itself', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), (value) => {
        fc.pre(!Object.is(value, -0));
        expect(parseNonNegativeNumber(String(value), '--t')).toBe(value);
      }),
    );
  });
});

describe('choiceParser and parseText', () => {
  const parseMode = choiceParser(['int8-weight-only', 'float8'] as const);

  test('a listed value is returned', () => {
    expect(parseMode('float8', '--mode')).toBe('float8');
  });

  test.each(['FLOAT8', 'float8 ', '', 'int4'])('%j is refused, naming every choice', (raw) => {
    expect(() => parseMode(raw, '--mode')).toThrow(
      new UsageError(`--mode must be one of int8-weight-only, float8, got ${JSON.stringify(raw)}`),
    );
  });

  test('text must not be empty', () => {
    expect(parseText('gpt2', '--model')).toBe('gpt2');
    expect(() => parseText('', '--model')).toThrow(new UsageError('--model must not be empty'));
  });
});
