import { stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeText, readRegularFile } from '@ptq/files';
import type { Gpt2Config } from './config';
import { ConfigError } from './errors';

export const GENERATION_CONFIG_FILE = 'generation_config.json';
const MAX_GENERATION_CONFIG_BYTES = 1024 * 1024;
const TOKEN_ID_FIELDS = ['bos_token_id', 'eos_token_id', 'pad_token_id', 'decoder_start_token_id'] as const;

/**
 * Checks the folder's `generation_config.json`, when it has one: its special token ids (a number or a
 * list of numbers, as transformers allows) must lie inside the model's vocabulary (`vocab_size`),
 * as config.json's must. Exports copy this file,
 * so an id outside the vocabulary is refused at load rather than carried into them.
 */
export async function checkGenerationConfig(folder: string, config: Gpt2Config): Promise<void> {
  const file = path.join(folder, GENERATION_CONFIG_FILE);
  if ((await stat(file).catch(() => undefined)) === undefined) return;
  let json: unknown;
  try {
    const bytes = await readRegularFile(file, {
      maxBytes: MAX_GENERATION_CONFIG_BYTES,
      what: GENERATION_CONFIG_FILE,
    });
    json = JSON.parse(decodeText(bytes, file));
  } catch (error) {
    const message = (error as Error).message;
    // @ptq/files errors start with the file; the ConfigError names it once.
    const detail = message.startsWith(`${file}: `)
      ? message.slice(file.length + 2)
      : `is not valid JSON (${message})`;
    throw new ConfigError(file, '(file)', detail, { cause: error });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(file, '(file)', 'must hold a JSON object');
  }
  const raw = json as Record<string, unknown>;
  for (const field of TOKEN_ID_FIELDS) {
    const value = raw[field];
    if (value === undefined || value === null) continue;
    const ids = Array.isArray(value) ? value : [value];
    for (const id of ids) {
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        throw new ConfigError(
          file,
          field,
          `must be a non-negative integer or a list of them, got ${JSON.stringify(value)}`,
        );
      }
      if (id >= config.vocab_size) {
        throw new ConfigError(
          file,
          field,
          `${id} is outside the vocabulary (vocab_size ${config.vocab_size}: ids 0 to ${config.vocab_size - 1})`,
        );
      }
    }
  }
}
