import { access, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MissingTokenizerError, TOKENIZER_FILES } from '@ptq/hf-gpt2';
import { ExportWriteError, NotModelOptCheckpointError } from './errors';

/** Tokenizer files copied into an export when the source folder has them (the first two are required). */
export const TOKENIZER_FILE_NAMES: readonly string[] = [
  ...TOKENIZER_FILES,
  'vocab.json',
  'merges.txt',
  'special_tokens_map.json',
  'added_tokens.json',
];

export const CONFIG_FILE = 'config.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';

// A config.json bigger than this is not a config; refusing it keeps a wrong path from reading gigabytes.
const MAX_JSON_BYTES = 16 * 1024 * 1024;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks the folder an export copies its tokenizer from, before any work: it must hold the files
 * `@huggingface/transformers` builds a tokenizer from.
 */
export async function checkTokenizerFiles(sourceDir: string): Promise<void> {
  const folder = resolve(sourceDir);
  const absent: string[] = [];
  for (const name of TOKENIZER_FILES) {
    if (!(await exists(join(folder, name)))) absent.push(name);
  }
  if (absent.length > 0) {
    throw new MissingTokenizerError(
      folder,
      TOKENIZER_FILES,
      `${absent.join(' and ')} not found; an export must carry the tokenizer to be loadable again`,
    );
  }
}

/** Copies the tokenizer files and `generation_config.json` the source folder has into `targetDir`. */
export async function copyTokenizerAndGenerationFiles(
  sourceDir: string,
  targetDir: string,
): Promise<string[]> {
  await checkTokenizerFiles(sourceDir);
  const copied: string[] = [];
  for (const name of [...TOKENIZER_FILE_NAMES, GENERATION_CONFIG_FILE]) {
    const source = join(sourceDir, name);
    if (!(await exists(source))) continue;
    try {
      await copyFile(source, join(targetDir, name));
    } catch (error) {
      throw new ExportWriteError(
        join(targetDir, name),
        `cannot copy from ${source} (${(error as Error).message})`,
        {
          cause: error,
        },
      );
    }
    copied.push(name);
  }
  return copied;
}

/** Reads a JSON object file, naming the file in every error. `missing` builds the error for an absent file. */
export async function readJsonObject(
  path: string,
  missing: (path: string) => Error = (file) => new NotModelOptCheckpointError(file, 'does not exist'),
): Promise<Record<string, unknown>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw missing(path);
    throw new NotModelOptCheckpointError(path, `cannot be read (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (bytes.byteLength > MAX_JSON_BYTES) {
    throw new NotModelOptCheckpointError(
      path,
      `is ${bytes.byteLength} bytes, over the ${MAX_JSON_BYTES}-byte limit`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new NotModelOptCheckpointError(path, `is not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new NotModelOptCheckpointError(path, 'must hold a JSON object');
  }
  return json as Record<string, unknown>;
}

/** Writes `value` as indented JSON with a final newline, as `save_pretrained` does. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
