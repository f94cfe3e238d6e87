import { describe, expect, expectTypeOf, test } from 'vitest';
import { UsageError } from '../cli-errors';
import {
  booleanOption,
  choiceOption,
  helpDescription,
  longFlagOf,
  type OptionValues,
  parseOptionValues,
  requiredOption,
  valueOption,
  withDefault,
} from './option-spec';
import { parsePositiveInteger, parseText } from './parse-values';

const TABLE = {
  mode: requiredOption(choiceOption('--mode <mode>', 'quantization mode', ['int8', 'float8'] as const)),
  calibSize: valueOption('--calib-size <n>', 'calibration samples', parsePositiveInteger),
  maxSampleLength: withDefault(
    valueOption('--max-sample-length <n>', 'tokens per sample', parsePositiveInteger),
    512,
  ),
  model: withDefault(
    valueOption('--model <id|path>', 'model', parseText),
    '/models/default',
    'the bundled model',
  ),
  quiet: booleanOption('-q, --quiet', 'no progress'),
} as const;

describe('parseOptionValues', () => {
  test('values are typed by the table: present, optional, defaulted, boolean', () => {
    const values = parseOptionValues(TABLE, { mode: 'float8', calibSize: '8', quiet: true });
    expect(values).toEqual({
      mode: 'float8',
      calibSize: 8,
      maxSampleLength: 512,
      model: '/models/default',
      quiet: true,
    });
    expectTypeOf(values).toEqualTypeOf<OptionValues<typeof TABLE>>();
    expectTypeOf(values.mode).toEqualTypeOf<'int8' | 'float8'>();
    expectTypeOf(values.calibSize).toEqualTypeOf<number | undefined>();
    expectTypeOf(values.maxSampleLength).toEqualTypeOf<number>();
    expectTypeOf(values.quiet).toEqualTypeOf<boolean>();
  });

  test('absent switches are false and absent optional values undefined', () => {
    expect(parseOptionValues(TABLE, { mode: 'int8' })).toEqual({
      mode: 'int8',
      calibSize: undefined,
      maxSampleLength: 512,
      model: '/models/default',
      quiet: false,
    });
  });

  test('a missing required flag names its choices', () => {
    expect(() => parseOptionValues(TABLE, {})).toThrow(
      new UsageError('--mode is required (one of int8, float8)'),
    );
  });

  test('a bad value is reported by its long flag', () => {
    expect(() => parseOptionValues(TABLE, { mode: 'int8', maxSampleLength: '-3' })).toThrow(
      new UsageError('--max-sample-length must be a positive integer, got "-3"'),
    );
  });
});

describe('help text', () => {
  test.each([
    [TABLE.mode, 'quantization mode: int8, float8 (required)'],
    [TABLE.calibSize, 'calibration samples'],
    [TABLE.maxSampleLength, 'tokens per sample (default: 512)'],
    [TABLE.model, 'model (default: the bundled model)'],
    [TABLE.quiet, 'no progress'],
  ])('%#', (spec, text) => {
    expect(helpDescription(spec)).toBe(text);
  });

  test('the long flag is found whatever the order of the flags', () => {
    expect(longFlagOf(TABLE.quiet)).toBe('--quiet');
    expect(longFlagOf(TABLE.calibSize)).toBe('--calib-size');
    expect(() => longFlagOf(booleanOption('-x', 'short only'))).toThrow(TypeError);
  });
});
