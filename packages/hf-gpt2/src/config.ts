import path from 'node:path';
import {
  decodeText,
  FileTooLargeError,
  NotARegularFileError,
  readRegularFile,
  TextEncodingError,
} from '@ptq/files';
import { ConfigError } from './errors';

/**
 * The fields of a Hugging Face `GPT2Config` this package uses, with GPT2Config's defaults filled
 * in. Names follow `config.json` so they read the same as in transformers.
 */
export interface Gpt2Config {
  readonly model_type: 'gpt2';
  readonly vocab_size: number;
  readonly n_positions: number;
  readonly n_embd: number;
  readonly n_layer: number;
  readonly n_head: number;
  /** Width of the MLP's hidden layer (`n_inner` or, when null, 4·n_embd). */
  readonly n_inner: number;
  readonly activation_function: 'gelu_new';
  readonly layer_norm_epsilon: number;
  readonly scale_attn_weights: true;
  readonly scale_attn_by_inverse_layer_idx: false;
  readonly reorder_and_upcast_attn: false;
  readonly tie_word_embeddings: boolean;
  readonly bos_token_id: number | undefined;
  readonly eos_token_id: number | undefined;
  /** The parsed `config.json`, untouched, for fields this package does not interpret. */
  readonly raw: Readonly<Record<string, unknown>>;
}

// A config.json bigger than this is not a config; refusing it keeps a wrong path from reading gigabytes.
const MAX_CONFIG_BYTES = 1024 * 1024;
const REQUIRED_INTEGERS = ['n_layer', 'n_head', 'n_embd', 'n_positions', 'vocab_size'] as const;
/**
 * Largest value of a size field. A tensor dimension cannot exceed it (the safetensors reader's own
 * limit), so a larger value can never match a checkpoint; bounding it keeps every count derived
 * from it (12 tensors per layer, 4·n_embd) an exact integer.
 */
export const MAX_CONFIG_SIZE = 2 ** 32;

/** Reads and validates `<folder>/config.json` (a regular file of at most 1 MiB, strict UTF-8). */
export async function readGpt2Config(folder: string): Promise<Gpt2Config> {
  const file = path.join(folder, 'config.json');
  let text: string;
  try {
    const bytes = await readRegularFile(file, { maxBytes: MAX_CONFIG_BYTES, what: 'config.json' });
    text = decodeText(bytes, file);
  } catch (error) {
    throw new ConfigError(file, '(file)', describeReadFailure(error), { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, '(file)', `is not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  return parseGpt2Config(json, file);
}

function describeReadFailure(error: unknown): string {
  if (error instanceof FileTooLargeError) {
    return `is ${error.size} bytes, over the ${error.maxBytes}-byte limit`;
  }
  if (error instanceof NotARegularFileError || error instanceof TextEncodingError) {
    // Their message is "<file>: <what is wrong>"; the file is named once already.
    return error.message.slice(error.file.length + 2);
  }
  return `cannot be read (${(error as Error).message})`;
}

/**
 * Validates a parsed `config.json` as a GPT-2 config this package can run and fills in GPT2Config's
 * defaults. `file` only names the source in errors.
 */
export function parseGpt2Config(json: unknown, file = 'config.json'): Gpt2Config {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(file, '(file)', 'must hold a JSON object');
  }
  const raw = json as Record<string, unknown>;

  const architectures = Array.isArray(raw.architectures) ? raw.architectures : [];
  if (raw.model_type !== 'gpt2' && !architectures.includes('GPT2LMHeadModel')) {
    throw new ConfigError(
      file,
      'model_type',
      `is ${JSON.stringify(raw.model_type)} (architectures ${JSON.stringify(raw.architectures)}); expected "gpt2" or architectures including "GPT2LMHeadModel"`,
    );
  }

  const integers = {} as Record<(typeof REQUIRED_INTEGERS)[number], number>;
  for (const field of REQUIRED_INTEGERS) {
    const value = raw[field];
    if (value === undefined) throw new ConfigError(file, field, 'is required and missing');
    integers[field] = positiveInteger(file, field, value);
  }
  if (integers.n_embd % integers.n_head !== 0) {
    throw new ConfigError(
      file,
      'n_embd',
      `${integers.n_embd} is not divisible by n_head ${integers.n_head} (attention heads need equal widths)`,
    );
  }

  const epsilon = raw.layer_norm_epsilon;
  if (epsilon === undefined) throw new ConfigError(file, 'layer_norm_epsilon', 'is required and missing');
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    throw new ConfigError(
      file,
      'layer_norm_epsilon',
      `must be a positive finite number, got ${JSON.stringify(epsilon)}`,
    );
  }

  const nInner =
    raw.n_inner === undefined || raw.n_inner === null
      ? 4 * integers.n_embd
      : positiveInteger(file, 'n_inner', raw.n_inner);

  const activation = raw.activation_function ?? 'gelu_new';
  if (activation !== 'gelu_new') {
    throw new ConfigError(
      file,
      'activation_function',
      `is ${JSON.stringify(activation)}; only "gelu_new" (GPT-2's tanh approximation) is supported`,
    );
  }

  requireFlag(file, raw, 'scale_attn_weights', true);
  requireFlag(file, raw, 'scale_attn_by_inverse_layer_idx', false);
  requireFlag(file, raw, 'reorder_and_upcast_attn', false);
  requireFlag(file, raw, 'add_cross_attention', false);

  const tie = raw.tie_word_embeddings ?? true;
  if (typeof tie !== 'boolean') {
    throw new ConfigError(file, 'tie_word_embeddings', `must be a boolean, got ${JSON.stringify(tie)}`);
  }

  return {
    model_type: 'gpt2',
    ...integers,
    n_inner: nInner,
    activation_function: 'gelu_new',
    layer_norm_epsilon: epsilon,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: tie,
    bos_token_id: optionalTokenId(file, raw, 'bos_token_id', integers.vocab_size),
    eos_token_id: optionalTokenId(file, raw, 'eos_token_id', integers.vocab_size),
    raw,
  };
}

function positiveInteger(file: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(file, field, `must be a positive integer, got ${JSON.stringify(value)}`);
  }
  if (value > MAX_CONFIG_SIZE) {
    throw new ConfigError(file, field, `is ${value}, over the limit of ${MAX_CONFIG_SIZE}`);
  }
  return value;
}

/** GPT-2 variants this graph does not build are refused rather than silently run wrong. */
function requireFlag(file: string, raw: Record<string, unknown>, field: string, supported: boolean): void {
  const value = raw[field];
  if (value === undefined || value === null) return;
  if (typeof value !== 'boolean') {
    throw new ConfigError(file, field, `must be a boolean, got ${JSON.stringify(value)}`);
  }
  if (value !== supported) {
    throw new ConfigError(file, field, `is ${value}; only ${supported} is supported`);
  }
}

/** A special token id; one at or past vocab_size would index past the embedding (and end up in exports). */
function optionalTokenId(
  file: string,
  raw: Record<string, unknown>,
  field: string,
  vocabSize: number,
): number | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(file, field, `must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  if (value >= vocabSize) {
    throw new ConfigError(
      file,
      field,
      `is ${value}, outside the vocabulary (vocab_size ${vocabSize}: ids 0 to ${vocabSize - 1})`,
    );
  }
  return value;
}
