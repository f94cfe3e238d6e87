import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { ENGINES as NANOGPT_ENGINES } from '@ptq/nanogpt';
import { AUTO_DEVICE_ORDER } from '@ptq/onnx';
import { QUANT_MODES as CORE_QUANT_MODES } from '@ptq/quant-core';
import { MODEL_DTYPES, DEVICES as TYPES_DEVICES, QUANT_MODES as TYPES_QUANT_MODES } from '@ptq/types';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ExampleUsageError } from './example-errors';
import { DEVICES, ENGINES, parseExampleOptions, QUANT_MODES, USAGE } from './example-options';

describe('parseExampleOptions', () => {
  test("defaults are the seed example's, on the bundled model", () => {
    expect(parseExampleOptions([])).toEqual({
      inputText: 'It was a bright cold day in April, and',
      model: DEFAULT_MODEL_DIR,
      modelLabel: 'the bundled model',
      quantMode: 'int4-weight-only',
      seed: 0,
      maxNewTokens: 32,
      temperature: 0,
      device: 'auto',
      engine: 'auto',
      dtype: undefined,
      check: true,
      help: false,
      verbose: false,
    });
  });

  test('every flag is read', () => {
    expect(
      parseExampleOptions([
        '--input-text',
        'Hello',
        '--model-type',
        'gpt2-medium',
        '--quant-mode',
        'float8',
        '--seed',
        '7',
        '--max-new-tokens',
        '5',
        '--temperature',
        '0.8',
        '--device',
        'cpu',
        '--engine',
        'kernels',
        '--dtype',
        'float16',
        '--check',
        'none',
        '--verbose',
      ]),
    ).toEqual({
      inputText: 'Hello',
      model: 'gpt2-medium',
      modelLabel: 'gpt2-medium',
      quantMode: 'float8',
      seed: 7,
      maxNewTokens: 5,
      temperature: 0.8,
      device: 'cpu',
      engine: 'kernels',
      dtype: 'float16',
      check: false,
      help: false,
      verbose: true,
    });
  });

  test('--quant-mode none runs unquantized', () => {
    expect(parseExampleOptions(['--quant-mode', 'none']).quantMode).toBeUndefined();
  });

  const bad: [string[], string][] = [
    [['--check', 'full'], '--check must be one of fast, none, got "full"'],
    [
      ['--quant-mode', 'int3'],
      '--quant-mode must be one of int8-weight-only, int4-weight-only, float8, none, got "int3"',
    ],
    [['--seed', '-1'], '--seed must be a non-negative integer, got "-1"'],
    [['--seed', '1.5'], '--seed must be a non-negative integer, got "1.5"'],
    [['--max-new-tokens', '0'], '--max-new-tokens must be a positive integer, got "0"'],
    [['--max-new-tokens', 'ten'], '--max-new-tokens must be a positive integer, got "ten"'],
    [['--temperature', '-0.1'], '--temperature must be a number >= 0, got "-0.1"'],
    [['--temperature', 'Infinity'], '--temperature must be a number >= 0, got "Infinity"'],
    [['--device', 'tpu'], '--device must be one of auto, cpu, webgpu, cuda, got "tpu"'],
    [['--engine', 'tvm'], '--engine must be one of onnxruntime, kernels, auto, got "tvm"'],
    [['--dtype', 'bfloat16'], '--dtype must be one of float32, float16, got "bfloat16"'],
    [['--input-text', ''], '--input-text must not be empty'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['extra'], "Unexpected argument 'extra'. This command does not take positional arguments"],
    [['--seed'], "Option '--seed <value>' argument missing"],
  ];
  test.each(bad)('%j is refused: %s', (argv, message) => {
    expect(() => parseExampleOptions(argv)).toThrow(new ExampleUsageError(message));
  });

  test('any decimal seed in the safe range is read back exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (seed) => {
        expect(parseExampleOptions(['--seed', String(seed)]).seed).toBe(seed);
      }),
    );
  });

  test('the local lists match the packages they stand in for', () => {
    expect(QUANT_MODES).toEqual(CORE_QUANT_MODES);
    expect(new Set(DEVICES)).toEqual(new Set(['auto', ...AUTO_DEVICE_ORDER]));
    expect(ENGINES).toBe(NANOGPT_ENGINES);
  });

  test('--quant-mode, --device and --dtype accept exactly the lists of @ptq/types', () => {
    const flags: [flag: string, list: readonly string[], key: 'quantMode' | 'device' | 'dtype'][] = [
      ['--quant-mode', TYPES_QUANT_MODES, 'quantMode'],
      ['--device', TYPES_DEVICES, 'device'],
      ['--dtype', MODEL_DTYPES, 'dtype'],
    ];
    for (const [flag, list, key] of flags) {
      for (const value of list) expect(parseExampleOptions([flag, value])[key]).toBe(value);
      const extra = flag === '--quant-mode' ? ', none' : '';
      expect(() => parseExampleOptions([flag, 'int3'])).toThrow(
        new ExampleUsageError(`${flag} must be one of ${list.join(', ')}${extra}, got "int3"`),
      );
      expect(USAGE).toContain(`${list.join(', ')}${extra} (default: `);
    }
  });
});
