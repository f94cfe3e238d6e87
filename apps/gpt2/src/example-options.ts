import { parseArgs } from 'node:util';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import {
  DEVICES,
  type Device,
  ENGINES,
  type Engine,
  MODEL_DTYPES,
  type ModelDType,
  QUANT_MODES,
  type QuantMode,
} from '@ptq/types';
import { ExampleUsageError } from './example-errors';

// @ptq/types imports nothing at run time, so a bad flag is reported without loading onnxruntime.
export { DEVICES, ENGINES, QUANT_MODES };
/** `--dtype`: `MODEL_DTYPES` of @ptq/types. */
export const DTYPES = MODEL_DTYPES;

export const MODEL_TYPES = ['gpt2', 'gpt2-medium', 'gpt2-large', 'gpt2-xl'] as const;
/** `none` runs the model unquantized, for comparison. */
export const QUANT_MODE_CHOICES = [...QUANT_MODES, 'none'] as const;

export const CHECK_LEVELS = ['fast', 'none'] as const;

export const DEFAULT_INPUT_TEXT = 'It was a bright cold day in April, and';

/** The example's flags, parsed and checked. */
export interface ExampleOptions {
  readonly inputText: string;
  /** A hub id (`gpt2` … `gpt2-xl`) or a model folder; the bundled model by default. */
  readonly model: string;
  /** How messages name the model. */
  readonly modelLabel: string;
  readonly quantMode: QuantMode | undefined;
  readonly seed: number;
  readonly maxNewTokens: number;
  readonly temperature: number;
  readonly device: Device;
  /** What runs the compiled model: onnxruntime (default), ptq's WebGPU kernels, or auto. */
  readonly engine: Engine;
  /** Undefined: float16 on a GPU, float32 on the CPU. */
  readonly dtype: ModelDType | undefined;
  /** Measure perplexity before and after quantization on held-out text (`--check fast`, the default). */
  readonly check: boolean;
  readonly help: boolean;
  /** Print the stack trace of an error. */
  readonly verbose: boolean;
}

export const USAGE = `Usage: gpt2 [options]

The seed's example.py end to end: load a GPT-2, quantize it ModelOpt-style, compile it, generate.

Options:
  --input-text <text>     the prompt (default: "${DEFAULT_INPUT_TEXT}")
  --model-type <type>     ${MODEL_TYPES.join(', ')} (from the hub or its cache), or a model folder
                          (default: the bundled model)
  --quant-mode <mode>     ${QUANT_MODE_CHOICES.join(', ')} (default: int4-weight-only)
  --seed <n>              seed of the sampler (default: 0)
  --max-new-tokens <n>    tokens to generate (default: 32)
  --temperature <t>       0 is greedy (default: 0)
  --device <device>       ${DEVICES.join(', ')} (default: auto, a GPU when present)
  --engine <engine>       ${ENGINES.join(', ')}: onnxruntime's session, ptq's own WebGPU kernels,
                          or the kernels on a GPU adapter (default: auto)
  --dtype <dtype>         ${DTYPES.join(', ')} (default: float16 on a GPU, float32 on the CPU)
  --check <level>         fast: perplexity before and after quantization on 512 held-out
                          tokens of cnn_dailymail; none: skip it (default: fast)
  --verbose               print the stack trace of an error
  -h, --help              print this help

Example:
  $ gpt2 --model-type gpt2 --quant-mode int8-weight-only --input-text "The old man said"
`;

function choice<Choice extends string>(flag: string, raw: string, choices: readonly Choice[]): Choice {
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ExampleUsageError(`${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as Choice;
}

function integer(flag: string, raw: string, minimum: number): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < minimum) {
    const what = minimum === 0 ? 'a non-negative integer' : 'a positive integer';
    throw new ExampleUsageError(`${flag} must be ${what}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function nonNegativeNumber(flag: string, raw: string): number {
  const value = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value))
    throw new ExampleUsageError(`${flag} must be a number >= 0, got ${JSON.stringify(raw)}`);
  return value;
}

const VALUE_FLAGS = new Set(['--seed', '--max-new-tokens', '--temperature']);

/**
 * `--seed -1` as `--seed=-1`: node:util would take `-1` for a flag and report an ambiguity; joined,
 * the value reaches the range check, which says what is wrong with it.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    const next = argv[index + 1];
    if (VALUE_FLAGS.has(argument) && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${argument}=${next}`);
      index++;
    } else {
      joined.push(argument);
    }
  }
  return joined;
}

/** Parses the example's command line; every mistake is one `ExampleUsageError` naming the flag. */
export function parseExampleOptions(argv: readonly string[]): ExampleOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: joinNegativeValues(argv),
      strict: true,
      allowPositionals: false,
      options: {
        'input-text': { type: 'string' },
        'model-type': { type: 'string' },
        'quant-mode': { type: 'string' },
        seed: { type: 'string' },
        'max-new-tokens': { type: 'string' },
        temperature: { type: 'string' },
        device: { type: 'string' },
        engine: { type: 'string' },
        dtype: { type: 'string' },
        check: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        verbose: { type: 'boolean' },
      },
    }));
  } catch (error) {
    // node:util's first line says what is wrong; the rest is advice.
    const message = (error as Error).message.split('\n')[0]!.replace(/\.$/, '');
    throw new ExampleUsageError(message, { cause: error });
  }
  const text = (flag: string): string | undefined => {
    const value = values[flag];
    if (value === '') throw new ExampleUsageError(`--${flag} must not be empty`);
    return typeof value === 'string' ? value : undefined;
  };
  const modelType = text('model-type');
  const quantMode = choice('--quant-mode', text('quant-mode') ?? 'int4-weight-only', QUANT_MODE_CHOICES);
  const dtype = text('dtype');
  return {
    inputText: text('input-text') ?? DEFAULT_INPUT_TEXT,
    model: modelType ?? DEFAULT_MODEL_DIR,
    modelLabel: modelType ?? 'the bundled model',
    quantMode: quantMode === 'none' ? undefined : quantMode,
    seed: integer('--seed', text('seed') ?? '0', 0),
    maxNewTokens: integer('--max-new-tokens', text('max-new-tokens') ?? '32', 1),
    temperature: nonNegativeNumber('--temperature', text('temperature') ?? '0'),
    device: choice('--device', text('device') ?? 'auto', DEVICES),
    engine: choice('--engine', text('engine') ?? 'auto', ENGINES),
    dtype: dtype === undefined ? undefined : choice('--dtype', dtype, DTYPES),
    check: choice('--check', text('check') ?? 'fast', CHECK_LEVELS) === 'fast',
    help: values.help === true,
    verbose: values.verbose === true,
  };
}
