import { stat } from 'node:fs/promises';
import path from 'node:path';
import * as transformers from '@huggingface/transformers';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { decodeText, readRegularFile } from '@ptq/files';
import type { Gpt2Config } from './config';
import { MissingTokenizerError } from './errors';
import { checkTokenizerFitsModel } from './tokenizer-fits-model';

/** The files `@huggingface/transformers` needs to build a tokenizer from a folder. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/**
 * Size caps far above real tokenizer files (a few MB; tens for large multilingual vocabularies) that
 * still keep a wrong path from being read whole.
 */
export const MAX_TOKENIZER_JSON_BYTES = 128 * 1024 * 1024;
export const MAX_TOKENIZER_CONFIG_BYTES = 16 * 1024 * 1024;

/**
 * Loads the folder's tokenizer with transformers.js, set up as calibration and batching expect: left
 * padding, pad token = EOS, `model_max_length` = `n_positions`. Both files are read only when they
 * are regular files within their size caps, as strict UTF-8. The tokenizer is then checked against
 * the model (`checkTokenizerFitsModel`): no id past the embedding, a non-empty vocabulary, and every
 * special token inside it.
 */
export async function loadGpt2Tokenizer(folder: string, config: Gpt2Config): Promise<PreTrainedTokenizer> {
  const absolute = path.resolve(folder);
  const absent: string[] = [];
  for (const file of TOKENIZER_FILES) {
    if ((await stat(path.join(absolute, file)).catch(() => undefined)) === undefined) absent.push(file);
  }
  if (absent.length > 0) {
    throw new MissingTokenizerError(absolute, TOKENIZER_FILES, `${absent.join(' and ')} not found`);
  }
  const tokenizerFile = path.join(absolute, 'tokenizer.json');
  const configFile = path.join(absolute, 'tokenizer_config.json');
  const tokenizerJson = await readJson(absolute, tokenizerFile, MAX_TOKENIZER_JSON_BYTES);
  const tokenizerConfig = await readJson(absolute, configFile, MAX_TOKENIZER_CONFIG_BYTES);

  let tokenizer: PreTrainedTokenizer;
  try {
    const TokenizerClass = tokenizerClass(tokenizerConfig.tokenizer_class);
    tokenizer = new TokenizerClass(tokenizerJson, tokenizerConfig);
  } catch (error) {
    throw new MissingTokenizerError(
      absolute,
      TOKENIZER_FILES,
      `transformers.js could not load it (${(error as Error).message})`,
      { cause: error },
    );
  }
  checkTokenizerFitsModel(tokenizer, config, {
    tokenizerFile,
    configFile,
    modelConfigFile: path.join(absolute, 'config.json'),
  });

  tokenizer.padding_side = 'left';
  const eosToken = tokenizer.eos_token ?? tokenIdToString(tokenizer, config.eos_token_id);
  if (eosToken !== undefined) {
    tokenizer.pad_token = eosToken;
    tokenizer.pad_token_id = tokenizer.convert_tokens_to_ids(eosToken);
  }
  // `model_max_length` is a getter over the tokenizer config; give this tokenizer its own copy of the
  // config with n_positions there.
  const ownConfig = { ...tokenizer._tokenizerConfig, model_max_length: config.n_positions };
  tokenizer._tokenizerConfig = ownConfig;
  tokenizer.config = ownConfig;
  return tokenizer;
}

/** A tokenizer file's JSON object; size, file kind and encoding errors pass on as they are. */
async function readJson(folder: string, file: string, maxBytes: number): Promise<Record<string, unknown>> {
  const text = decodeText(await readRegularFile(file, { maxBytes, what: path.basename(file) }), file);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new MissingTokenizerError(
      folder,
      TOKENIZER_FILES,
      `${path.basename(file)} is not valid JSON (${(error as Error).message})`,
      { cause: error },
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new MissingTokenizerError(
      folder,
      TOKENIZER_FILES,
      `${path.basename(file)} must hold a JSON object`,
    );
  }
  return json as Record<string, unknown>;
}

type TokenizerClass = new (tokenizerJson: unknown, tokenizerConfig: unknown) => PreTrainedTokenizer;

/** The class `AutoTokenizer` would pick for `tokenizer_class` ("GPT2TokenizerFast" → GPT2Tokenizer). */
function tokenizerClass(name: unknown): TokenizerClass {
  if (typeof name !== 'string') return PreTrainedTokenizer;
  const candidate = (transformers as Record<string, unknown>)[name.replace(/Fast$/, '')];
  return typeof candidate === 'function' && candidate.prototype instanceof PreTrainedTokenizer
    ? (candidate as TokenizerClass)
    : PreTrainedTokenizer;
}

function tokenIdToString(tokenizer: PreTrainedTokenizer, id: number | undefined): string | undefined {
  if (id === undefined) return undefined;
  return tokenizer.decode([id], { skip_special_tokens: false }) || undefined;
}
